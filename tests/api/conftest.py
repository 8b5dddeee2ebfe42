"""API test fixtures: a live server per database kind (module scope: seeding is the slow part) and
an HTTP client that validates EVERY response it receives against the served OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api.fleet_seed import READ_TOKEN, WRITE_TOKEN, Live, database, live_server


class CheckedClient:
    """requests + openapi-core: a response the document does not describe fails the test."""

    def __init__(self, live: Live, token: str | None = WRITE_TOKEN) -> None:
        from openapi_core import Config, OpenAPI
        from openapi_core.deserializing.media_types.util import json_loads

        self.live = live
        self.base = live.url + "/api/v1"
        self.token = token
        self.session = requests.Session()
        doc = requests.get(self.base + "/openapi.json", timeout=30).json()
        doc["servers"] = [{"url": self.base}]
        # problem objects are JSON; openapi-core only knows application/json by name
        self.openapi = OpenAPI.from_dict(doc, config=Config(
            extra_media_type_deserializers={"application/problem+json": json_loads}))
        self.seen: list[bytes] = []  # every body received, to scan for secrets

    def request(self, method: str, path: str, *, token: str | None | bool = True, validate: bool = True,
                **kw: Any) -> requests.Response:
        from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

        headers = dict(kw.pop("headers", {}) or {})
        tok = self.token if token is True else (token or None)
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        resp = self.session.request(method, self.base + path, headers=headers, timeout=60, **kw)
        self.seen.append(resp.content)
        if validate:
            self.openapi.validate_response(RequestsOpenAPIRequest(resp.request), RequestsOpenAPIResponse(resp))
        return resp

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp: Path = tmp_path_factory.mktemp(f"api-{request.param}")
    with database(request.param, tmp) as url, live_server(url, dashboard=False) as srv:
        yield srv


@pytest.fixture
def client(live: Live) -> CheckedClient:
    return CheckedClient(live)


@pytest.fixture
def reader(live: Live) -> CheckedClient:
    return CheckedClient(live, READ_TOKEN)
