"""The web dashboard (/ui/): overview, camera table, map, camera page — Thai and English.

Served by the daemon from the same aiohttp app as the API; mount the API first::

    add_api_routes(app, store=store, control=control, auth=auth_cfg)
    add_dashboard_routes(app, store=store, settings=DashboardSettings.model_validate(cfg.get("dashboard", {})))

Auth: the pages and their API calls use the API's credentials. A person logs in once on /ui/login
with an API token; the browser keeps a signed HttpOnly session cookie (never the token). With
``api.anonymous_read: true`` the pages and read endpoints open without logging in (closed
control-room networks). Writes from the page (maintenance, check now) need a write token's session.
"""

from __future__ import annotations

import logging
import mimetypes
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from camcheck.exporters.api import API_KEY, views
from camcheck.exporters.api import models as m
from camcheck.exporters.api import queries, summary
from camcheck.exporters.api.auth import SESSION_COOKIE, Principal
from camcheck.exporters.api.control import status_counts
from camcheck.exporters.web import pages
from camcheck.exporters.web.i18n import LANG_COOKIE, request_lang
from camcheck.registry.models import CameraState, MaintenanceScope, Purpose
from camcheck.registry.store import Store
from camcheck.secrets import mask_text

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
HISTORY_DAYS = 90  # a parent's page lists its outages over this many days
RECENT_CHECKS = 20  # the camera page's check table; the API's /checks goes further back
mimetypes.add_type("font/woff2", ".woff2")  # not in every mime.types; browsers want the right type


class DashboardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    tile_url: str | None = Field(
        None, description="map tile URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; "
                          "None: no background map (markers only, nothing external is loaded)")
    tile_attribution: str | None = Field(None, description="attribution shown with the tiles (required by most tile servers)")
    cookie_secure: bool = Field(False, description="mark the session cookie Secure (when served over HTTPS)")

    @field_validator("tile_url")
    @classmethod
    def _tiles(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.startswith(("https://", "http://", "/")) or "{z}" not in v or "@" in v.split("/")[2 if "://" in v else 0]:
            raise ValueError("tile_url must be an http(s) URL template with {z}/{x}/{y} and no credentials")
        return v


SETTINGS_KEY: web.AppKey[DashboardSettings] = web.AppKey("camcheck_dashboard", DashboardSettings)


def _csp(settings: DashboardSettings) -> str:
    img = "'self' data:"
    if settings.tile_url and "://" in settings.tile_url:
        scheme, rest = settings.tile_url.split("://", 1)
        host = rest.split("/", 1)[0].replace("{s}", "*")
        img += f" {scheme}://{host}"
    return (f"default-src 'self'; img-src {img}; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _html(request: web.Request, text: str, settings: DashboardSettings, status: int = 200) -> web.Response:
    resp = web.Response(text=text, content_type="text/html", charset="utf-8", status=status)
    resp.headers["Content-Security-Policy"] = _csp(settings)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Cache-Control"] = "no-store"
    lang = request.query.get("lang")
    if lang in ("th", "en"):
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="Lax")
    return resp


def _who(request: web.Request) -> Principal | None:
    p, _why = request.app[API_KEY].auth.identify(request)
    return p


def _login_redirect(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound(f"/ui/login?next={quote(request.path_qs, safe='')}")


def _safe_next(value: str | None) -> str:
    # only local dashboard paths: never an open redirect
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


def add_dashboard_routes(app: web.Application, *, store: Store, settings: DashboardSettings) -> None:
    if API_KEY not in app:
        raise RuntimeError("add_api_routes(app, ...) must be called before add_dashboard_routes")
    if not settings.enabled:
        return
    app[SETTINGS_KEY] = settings

    def page(fn):  # type: ignore[no-untyped-def]
        async def handler(request: web.Request) -> web.StreamResponse:
            who = _who(request)
            if who is None:
                raise _login_redirect(request)
            lang = request_lang(request)
            try:
                return await fn(request, who, lang)
            except web.HTTPException:
                raise
            except Exception as exc:
                log.error("dashboard %s failed: %s", request.path, mask_text(repr(exc)))
                return web.Response(status=500, text="internal error; see the daemon log", content_type="text/plain")
        return handler

    async def overview(request: web.Request, who: Principal, lang: str) -> web.StreamResponse:
        fleet = await summary.collect_cached(store)
        s = summary.summary(fleet, status_counts(request.app[API_KEY].control))
        down = [views.parent(r) for r in await queries.list_parents(store, suspected_down=True)]
        return _html(request, pages.overview_page(s, lang, who, down), settings)

    async def cameras(request: web.Request, who: Principal, lang: str) -> web.StreamResponse:
        f = await queries.facets(store)
        facets = m.Facets(states=[s.value for s in CameraState], labels=[], purposes=list(Purpose), **f)
        names = {r["id"]: r["name"] for r in await store.list_parents() if r["name"]}
        return _html(request, pages.cameras_page(facets, lang, who, parent_names=names), settings)

    async def parents_(request: web.Request, who: Principal, lang: str) -> web.StreamResponse:
        from camcheck.registry import incidents

        rows = await queries.list_parents(store)
        async with store.engine.connect() as conn:  # how often and how long each was down lately
            outages = await incidents.outages_since(
                conn, datetime.now(timezone.utc) - timedelta(days=incidents.RECENT_DAYS))
        return _html(request, pages.parents_page([views.parent(r) for r in rows], lang, who, outages=outages,
                                                 days=incidents.RECENT_DAYS), settings)

    async def parent(request: web.Request, who: Principal, lang: str) -> web.StreamResponse:
        from camcheck.registry import incidents

        pid = request.match_info["parent_id"]
        rows = await queries.list_parents(store, parent_id=pid)
        if not rows:
            return _html(request, pages.not_found_page(lang, who, pid), settings, status=404)
        behind = [views.parent(r) for r in await queries.list_parents(store) if r["parent_id"] == pid]
        async with store.engine.connect() as conn:
            past = await incidents.list_for(conn, pid, since=datetime.now(timezone.utc) - timedelta(days=HISTORY_DAYS))
        return _html(request, pages.parent_page(views.parent(rows[0]), behind,
                                                [views.past_incident(r["incident"]) for r in past], HISTORY_DAYS,
                                                lang, who), settings)

    async def map_(request: web.Request, who: Principal, lang: str) -> web.StreamResponse:
        return _html(request, pages.map_page(lang, who, tile_url=settings.tile_url,
                                             attribution=settings.tile_attribution), settings)

    async def camera(request: web.Request, who: Principal, lang: str) -> web.StreamResponse:
        cid = request.match_info["camera_id"]
        cam = await store.get_camera(cid)
        if cam is None:
            return _html(request, pages.not_found_page(lang, who, cid), settings, status=404)
        windows_active = await store.maintenance_for_camera(cid)
        state = views.state(cam, windows_active)
        own = await store.list_maintenance(scope=MaintenanceScope.CAMERA, target_id=cid)
        ids = {w.id for w in own}
        windows = [views.maintenance(w) for w in own] + [views.maintenance(w) for w in windows_active if w.id not in ids]
        # A picture that has not changed for hours: the run's first picture, and a good one only
        # from before it (the good picture kept during the run shows the same unchanged view).
        same = (await queries.latest_picture(store, cid, ("unchanged_since",))
                if any(f.code == "unchanged" for f in state.findings) else None)
        pictures = {
            "latest": await queries.latest_picture(store, cid, ("at_change", "last_good")),
            "last_good": await queries.latest_picture(store, cid, ("last_good",), before=same.taken_at if same else None),
            "unchanged_since": same,
            "reference": await queries.latest_picture(store, cid, ("reference",)),
        }
        transitions = await store.list_transitions(cid, limit=50)
        checks = [views.check(c) for c in await store.list_checks(cid, limit=RECENT_CHECKS)]
        parent = ([views.parent(r) for r in await queries.list_parents(store, parent_id=cam.parent_id)] or [None])[0] \
            if cam.parent_id else None
        return _html(request, pages.camera_page(cam, state, views.comparison(cam), transitions, windows, pictures,
                                                lang, who, checks=checks, parent=parent), settings)

    async def login_get(request: web.Request) -> web.StreamResponse:
        lang = request_lang(request)
        return _html(request, pages.login_page(lang, failed=False, next_url=_safe_next(request.query.get("next"))),
                     settings)

    async def login_post(request: web.Request) -> web.StreamResponse:
        lang = request_lang(request)
        if (request.content_length or 0) > 8192:
            return _html(request, pages.login_page(lang, failed=True, next_url="/ui/"), settings, status=413)
        form = await request.post()
        token = str(form.get("token") or "")
        nxt = _safe_next(str(form.get("next") or ""))
        api = request.app[API_KEY]
        p = api.auth.check_token(token) if token else None
        if p is None:
            log.info("dashboard login refused from %s", request.remote)
            return _html(request, pages.login_page(lang, failed=True, next_url=nxt), settings, status=401)
        resp = web.HTTPSeeOther(nxt)
        resp.set_cookie(SESSION_COOKIE, api.auth.issue_session(p), max_age=int(api.auth.session_seconds), path="/",
                        httponly=True, samesite="Strict", secure=settings.cookie_secure)
        await store.audit(p.actor, "dashboard.login", None, {"remote": request.remote})
        raise resp

    async def logout(request: web.Request) -> web.StreamResponse:
        resp = web.HTTPSeeOther("/ui/login")
        resp.del_cookie(SESSION_COOKIE, path="/")
        raise resp

    async def root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/ui/")

    app.router.add_get("/ui/", page(overview))
    app.router.add_get("/ui", root)
    app.router.add_get("/ui/cameras", page(cameras))
    app.router.add_get("/ui/cameras/{camera_id}", page(camera))
    app.router.add_get("/ui/parents", page(parents_))
    app.router.add_get("/ui/parents/{parent_id}", page(parent))
    app.router.add_get("/ui/map", page(map_))
    app.router.add_get("/ui/login", login_get)
    app.router.add_post("/ui/login", login_post)
    app.router.add_post("/ui/logout", logout)
    app.router.add_static("/ui/static/", STATIC_DIR, follow_symlinks=False, append_version=False)
    # "/" -> dashboard, unless the daemon serves something there already
    if not any(getattr(r, "canonical", None) == "/" for r in app.router.resources()):
        app.router.add_get("/", root)


__all__ = ["DashboardSettings", "add_dashboard_routes"]
