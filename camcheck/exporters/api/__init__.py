"""camcheck's REST API (/api/v1) with its OpenAPI document, mounted into the daemon's aiohttp app.

    from camcheck.exporters.api import ApiAuthConfig, add_api_routes
    add_api_routes(app, store=store, control=daemon_control, auth=ApiAuthConfig.model_validate(cfg.get("api", {})))

See docs/api.md for endpoints, auth and limits.
"""

from __future__ import annotations

from aiohttp import web

from camcheck.exporters.api.auth import ApiAuthConfig, ApiToken, AuthConfigError, Authenticator, Principal
from camcheck.exporters.api.control import CameraNotScheduled, DaemonControl
from camcheck.exporters.api.routes import Api, ApiLimits, register
from camcheck.registry.store import Store

API_KEY: web.AppKey[Api] = web.AppKey("camcheck_api", Api)


def add_api_routes(
    app: web.Application,
    *,
    store: Store,
    control: DaemonControl | None,
    auth: ApiAuthConfig,
    limits: ApiLimits | None = None,
) -> None:
    """Add /api/v1/... to ``app``. Token values are read now (AuthConfigError names a token that
    cannot be read). The API enforces its own body limits, whatever the app's client_max_size."""
    api = Api(store=store, control=control, auth=Authenticator.from_config(auth), limits=limits or ApiLimits())
    app[API_KEY] = api
    register(app, api)


__all__ = [
    "API_KEY", "ApiAuthConfig", "ApiLimits", "ApiToken", "AuthConfigError", "Authenticator", "CameraNotScheduled",
    "DaemonControl", "Principal", "add_api_routes",
]
