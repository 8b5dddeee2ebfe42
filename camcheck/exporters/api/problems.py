"""Errors as RFC 7807/9457 problem objects (``application/problem+json``) and bounded body reading."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from camcheck.secrets import mask_text

PROBLEM_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid data",
    500: "Internal error",
    503: "Unavailable",
}


class Problem(Exception):
    """Raise inside a handler to answer with a problem object."""

    def __init__(self, status: int, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = mask_text(detail)
        self.errors = errors
        self.headers = headers or {}


def problem_response(status: int, detail: str, *, instance: str | None = None,
                     errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": mask_text(detail),
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return web.Response(status=status, body=json.dumps(body, ensure_ascii=False).encode(),
                        content_type=PROBLEM_TYPE, charset="utf-8", headers=headers)


def pydantic_errors(exc: Any) -> list[dict[str, Any]]:
    """Field errors of a pydantic ValidationError, without the rejected input (it may hold a secret)."""
    out = []
    for e in exc.errors(include_input=False, include_url=False, include_context=False):
        out.append({"field": ".".join(str(p) for p in e["loc"]) or None, "message": mask_text(str(e["msg"]))})
    return out


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes whatever the app's client_max_size."""
    length = request.content_length
    if length is not None and length > limit:
        raise Problem(413, f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, limit: int) -> Any:
    ctype = request.content_type
    if ctype not in ("application/json", "application/merge-patch+json"):
        raise Problem(415, "send the body as application/json")
    raw = await read_body(request, limit)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, f"the body is not valid UTF-8 JSON: {type(exc).__name__}") from None
