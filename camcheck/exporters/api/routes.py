"""The REST API's handlers under /api/v1 (mounted into the daemon's aiohttp app by add_api_routes)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from pydantic import BaseModel, ValidationError

from camcheck.exporters.api import models as m
from camcheck.exporters.api import queries, summary, views
from camcheck.exporters.api.auth import Authenticator, Principal, Role
from camcheck.exporters.api.control import CameraNotScheduled, DaemonControl, status_counts
from camcheck.exporters.api.problems import Problem, problem_response, pydantic_errors, read_body, read_json
from camcheck.registry.models import (
    RECORD_FIELDS,
    CameraFilter,
    CameraRecord,
    CameraState,
    MaintenanceScope,
    MaintenanceWindow,
    NationalStatus,
    Purpose,
)
from camcheck.registry.store import RegistryError, Store
from camcheck.secrets import mask_text

log = logging.getLogger(__name__)

PREFIX = views.API_PREFIX
JPEG = "image/jpeg"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ApiLimits(BaseModel):
    max_page: int = 500
    default_page: int = 50
    max_json_bytes: int = 256 * 1024
    max_import_bytes: int = 32 * 1024 * 1024
    max_jpeg_bytes: int = 8 * 1024 * 1024
    max_history: int = 1000


@dataclass
class Api:
    store: Store
    control: DaemonControl | None
    auth: Authenticator
    limits: ApiLimits
    routes: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)


Handler = Callable[[web.Request, Api, Principal], Awaitable[web.StreamResponse]]


def json_response(model: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    data = model.model_dump(mode="json") if isinstance(model, BaseModel) else model
    return web.Response(status=status, body=json.dumps(data, ensure_ascii=False).encode(),
                        content_type="application/json", charset="utf-8")


def _wrap(api: Api, role: Role | None, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            principal = Principal("anonymous", "read", "anonymous")
            if role is not None:
                found, why = api.auth.identify(request)
                if found is None:
                    return problem_response(401, why or "authentication required", instance=request.path,
                                            headers={"WWW-Authenticate": 'Bearer realm="camcheck"'})
                if not found.may(role):
                    return problem_response(403, f"the token {found.name!r} may only read; this needs a write token",
                                            instance=request.path)
                principal = found
            return await handler(request, api, principal)
        except Problem as p:
            return problem_response(p.status, p.detail, instance=request.path, errors=p.errors, headers=p.headers)
        except ValidationError as exc:
            return problem_response(422, "the data is not valid", instance=request.path, errors=pydantic_errors(exc))
        except web.HTTPException:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never leak internals (or a secret inside them) to the client
            log.error("API %s %s failed: %s", request.method, request.path, mask_text(repr(exc)))
            return problem_response(500, "internal error; see the daemon log", instance=request.path)
    return wrapped


# --- parameters ---------------------------------------------------------------------------------

def _query(request: web.Request, allowed: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.query.items():
        if k not in allowed:
            raise Problem(400, f"unknown query parameter {k!r} (allowed: {', '.join(sorted(allowed))})")
        out.setdefault(k, []).append(v)
    return out


def _one(q: dict[str, list[str]], key: str) -> str | None:
    vals = q.get(key)
    if not vals:
        return None
    if len(vals) > 1:
        raise Problem(400, f"query parameter {key!r} given more than once")
    return vals[0]


def _int(q: dict[str, list[str]], key: str, default: int, lo: int, hi: int) -> int:
    raw = _one(q, key)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise Problem(400, f"{key} must be an integer") from None
    if not lo <= v <= hi:
        raise Problem(400, f"{key} must be between {lo} and {hi}")
    return v


def _bool(q: dict[str, list[str]], key: str) -> bool | None:
    raw = _one(q, key)
    if raw is None:
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise Problem(400, f"{key} must be true or false")


FILTER_PARAMS = {"status", "registry_status", "district", "province", "agency", "purpose", "parent", "tag", "q", "enabled"}


def _filters(q: dict[str, list[str]]) -> CameraFilter:
    def many(key: str, enum: Any) -> list[Any] | None:
        vals = [s.strip() for v in q.get(key, []) for s in v.split(",") if s.strip()]
        if not vals:
            return None
        try:
            return [enum(v) for v in vals]
        except ValueError:
            raise Problem(400, f"{key} must be one or more of {', '.join(e.value for e in enum)}") from None

    purpose = _one(q, "purpose")
    try:
        p = Purpose(purpose) if purpose else None
    except ValueError:
        raise Problem(400, f"purpose must be one of {', '.join(x.value for x in Purpose)}") from None
    text = _one(q, "q")
    if text is not None and len(text) > 200:
        raise Problem(400, "q is longer than 200 characters")
    return CameraFilter(
        status=many("status", CameraState), registry_status=many("registry_status", NationalStatus),
        district=_one(q, "district") or None, province=_one(q, "province") or None,
        agency=_one(q, "agency") or None, purpose=p, parent_id=_one(q, "parent") or None,
        tag=(_one(q, "tag") or "").strip() or None, text=(text or "").strip() or None, enabled=_bool(q, "enabled"),
    )


async def _camera(api: Api, request: web.Request) -> Any:
    cid = request.match_info["camera_id"]
    cam = await api.store.get_camera(cid)
    if cam is None:
        raise Problem(404, f"no camera with id {cid!r}")
    return cam


# --- cameras ------------------------------------------------------------------------------------

async def list_cameras(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, FILTER_PARAMS | {"limit", "offset"})
    f = _filters(q)
    limit = _int(q, "limit", api.limits.default_page, 1, api.limits.max_page)
    offset = _int(q, "offset", 0, 0, 10_000_000)
    total = await api.store.count_cameras(f)
    cams = await api.store.list_cameras(f, limit=limit, offset=offset)
    nxt = offset + limit if offset + limit < total else None
    return json_response(m.CameraPage(items=[views.camera(c) for c in cams], total=total, limit=limit,
                                      offset=offset, next_offset=nxt))


async def get_camera(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    return json_response(views.camera(await _camera(api, request)))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _record(data: Any, *, path_id: str | None = None) -> CameraRecord:
    if not isinstance(data, dict):
        raise Problem(422, "the body must be a JSON object with camera fields")
    cid = path_id if path_id is not None else data.get("id")
    if isinstance(cid, str) and _CONTROL.search(cid):
        # ids end up in URLs, headers, file names and sheets: no control characters
        raise Problem(422, "the camera id contains control characters",
                      errors=[{"field": "id", "message": "no control characters"}])
    if path_id is not None:
        if "id" in data and data["id"] != path_id:
            raise Problem(422, "the id in the body differs from the id in the path",
                          errors=[{"field": "id", "message": "must equal the path id"}])
        data = {**data, "id": path_id}
    return CameraRecord.model_validate(data)


async def create_camera(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    rec = _record(await read_json(request, api.limits.max_json_bytes))
    if await api.store.get_camera(rec.id) is not None:
        raise Problem(409, f"camera {rec.id!r} already exists; use PUT or PATCH /cameras/{{id}} to change it")
    await api.store.upsert_cameras([rec])
    await api.store.audit(who.actor, "camera.create", rec.id, {"fields": sorted(rec.model_fields_set - {"id"})})
    cam = await api.store.get_camera(rec.id)
    resp = json_response(views.camera(cam), status=201)
    resp.headers["Location"] = f"{PREFIX}/cameras/{quote(rec.id, safe='')}"
    return resp


async def put_camera(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    rec = _record(await read_json(request, api.limits.max_json_bytes), path_id=request.match_info["camera_id"])
    res = await api.store.upsert_cameras([rec])  # every field: what is not given becomes empty
    created = bool(res.inserted)
    await api.store.audit(who.actor, "camera.create" if created else "camera.replace", rec.id,
                          {"changed": bool(res.inserted or res.updated)})
    return json_response(views.camera(await api.store.get_camera(rec.id)), status=201 if created else 200)


async def patch_camera(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cam = await _camera(api, request)
    data = await read_json(request, api.limits.max_json_bytes)
    if not isinstance(data, dict):
        raise Problem(422, "the body must be a JSON object with the fields to change")
    unknown = sorted(set(data) - set(RECORD_FIELDS))
    if unknown:
        raise Problem(422, "unknown or read-only fields", errors=[{"field": f, "message": "not a camera field"} for f in unknown])
    if "id" in data and data["id"] != cam.id:
        raise Problem(422, "a camera's id cannot be changed", errors=[{"field": "id", "message": "read-only"}])
    current = {f: getattr(cam, f) for f in RECORD_FIELDS}
    rec = CameraRecord.model_validate({**current, **data})
    changed = sorted(f for f in data if f != "id")
    res = await api.store.upsert_cameras([rec], fields=changed or ["name"])
    await api.store.audit(who.actor, "camera.update", cam.id, {"fields": changed, "changed": bool(res.updated)})
    return json_response(views.camera(await api.store.get_camera(cam.id)))


async def delete_camera(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cid = request.match_info["camera_id"]
    if not await api.store.delete_camera(cid, actor=who.actor):  # the store audits the delete
        raise Problem(404, f"no camera with id {cid!r}")
    return web.Response(status=204)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._\-\u0E00-\u0E7F]+")


async def import_cameras(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, {"dry_run", "filename", "format"})
    dry_run = bool(_bool(q, "dry_run"))
    name = _one(q, "filename")
    fmt = _one(q, "format")
    limit = api.limits.max_import_bytes
    ctype = request.content_type
    if ctype == "multipart/form-data":
        try:
            data = await _multipart_file(request, limit)
        except (ValueError, BadHttpMessage) as exc:  # malformed multipart: the client's fault
            raise Problem(400, f"the multipart body cannot be read: {type(exc).__name__}") from None
        if data is None:
            raise Problem(400, "send the sheet in a form field named 'file'")
        data, part_name = data
        name = name or part_name
    elif ctype in ("text/csv", XLSX, "application/octet-stream"):
        data = await read_body(request, limit)
        if fmt is None:
            fmt = "csv" if ctype == "text/csv" else ("xlsx" if ctype == XLSX else None)
    else:
        raise Problem(415, "upload a CSV or XLSX sheet as multipart/form-data (field 'file'), text/csv or "
                           f"{XLSX}")
    return await _import_bytes(api, who, data, name=name, fmt=fmt, dry_run=dry_run)


async def _multipart_file(request: web.Request, limit: int) -> tuple[bytes, str | None] | None:
    reader = await request.multipart()
    found: tuple[bytes, str | None] | None = None
    for _ in range(32):  # bounded: a form with more parts than this is not an upload form
        part = await reader.next()
        if part is None:
            break
        if getattr(part, "name", None) == "file" and found is None:
            chunks, size = [], 0
            while True:
                chunk = await part.read_chunk(64 * 1024)  # type: ignore[union-attr]
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise Problem(413, f"the uploaded file is larger than {limit} bytes")
                chunks.append(chunk)
            found = (b"".join(chunks), part.filename)  # type: ignore[union-attr]
        else:
            await part.release()
    return found


async def _import_bytes(api: Api, who: Principal, data: bytes, *, name: str | None, fmt: str | None,
                        dry_run: bool) -> web.StreamResponse:
    from camcheck.registry.importer import import_file
    from camcheck.registry.sheets import SheetError

    if not data:
        raise Problem(400, "the uploaded sheet is empty")
    if fmt is not None and fmt not in ("csv", "xlsx"):
        raise Problem(400, "format must be csv or xlsx")
    # the client's file name only labels the audit entry; never a path ("..", "/etc/x")
    safe = _SAFE_NAME.sub("_", os.path.basename(name or "upload")).lstrip(".")[:100] or "upload"
    if fmt is None:
        low = safe.lower()
        fmt = "xlsx" if low.endswith(".xlsx") else "csv" if low.endswith(".csv") else None
        if fmt is None:
            fmt = "xlsx" if data[:2] == b"PK" else "csv"  # an XLSX file is a zip
    with tempfile.TemporaryDirectory(prefix="camcheck-import-") as tmp:
        path = Path(tmp) / safe
        await asyncio.to_thread(path.write_bytes, data)
        try:
            report = await import_file(path, api.store, fmt=fmt, dry_run=dry_run, actor=who.actor)  # type: ignore[arg-type]
        except SheetError as exc:
            raise Problem(422, f"the sheet cannot be read: {exc}") from None
    d = report.as_dict()
    return json_response(m.ImportResult(
        ok=report.ok, **{k: d[k] for k in ("rows_total", "rows_imported", "rows_with_errors", "rows_rejected",
                                           "inserted", "updated", "unchanged", "credentials_found", "dry_run")},
        issues=[m.ImportIssue(line=i.line, column=i.column, severity=i.severity, message=mask_text(i.message),
                              value=i.value) for i in report.issues[:5000]],
    ))


# --- state, history, evidence -------------------------------------------------------------------

async def camera_state(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cam = await _camera(api, request)
    return json_response(views.state(cam, await api.store.maintenance_for_camera(cam.id)))


async def camera_checks(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, {"limit"})
    cam = await _camera(api, request)
    items = await api.store.list_checks(cam.id, limit=_int(q, "limit", 100, 1, api.limits.max_history))
    return json_response(m.CheckList(items=[views.check(c) for c in items]))


async def camera_transitions(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, {"limit"})
    cam = await _camera(api, request)
    items = await api.store.list_transitions(cam.id, limit=_int(q, "limit", 100, 1, api.limits.max_history))
    return json_response(m.TransitionList(items=[views.transition(t) for t in items]))


async def camera_comparison(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    return json_response(views.comparison(await _camera(api, request)))


EVIDENCE_KINDS: dict[str, tuple[str, ...]] = {
    "latest": ("at_change", "last_good"),
    "last_good": ("last_good",),
    "reference": ("reference",),
    "unchanged_since": ("unchanged_since",),
}


async def camera_evidence(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cam = await _camera(api, request)
    rows = await queries.evidence_meta(api.store, cam.id)
    metas = [views.evidence_meta(r) for r in rows]
    pick = {k: next((e for e in metas if e.kind in kinds), None) for k, kinds in EVIDENCE_KINDS.items()}
    if pick["reference"] is None:  # references are never pruned but may be older than the newest 50
        eid = await queries.latest_evidence_id(api.store, cam.id, ("reference",))
        if eid is not None:
            pick["reference"] = next(views.evidence_meta(r) for r in await queries.evidence_meta(api.store, cam.id, limit=100000) if r["id"] == eid)
    return json_response(m.EvidenceList(latest=pick["latest"], last_good=pick["last_good"],
                                        reference=pick["reference"], unchanged_since=pick["unchanged_since"],
                                        items=metas))


async def _jpeg_response(api: Api, evidence_id: int) -> web.Response:
    ev = await api.store.get_evidence(evidence_id)
    if ev is None:
        raise Problem(404, f"no evidence {evidence_id}")
    data = ev.jpeg
    if data is None and ev.path:
        def read() -> bytes | None:
            p = Path(ev.path)  # type: ignore[arg-type]
            if not p.is_file() or p.stat().st_size > api.limits.max_jpeg_bytes * 2:
                return None
            return p.read_bytes()
        data = await asyncio.to_thread(read)
        if data is None:
            raise Problem(404, f"the picture of evidence {evidence_id} is no longer on disk")
    return web.Response(body=data, content_type=JPEG, headers={
        "Cache-Control": "private, max-age=300", "X-Evidence-Taken-At": ev.taken_at.isoformat(),
        "X-Evidence-Kind": ev.kind.value})


async def camera_evidence_image(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    kind = request.match_info["kind"]
    if kind not in EVIDENCE_KINDS:
        raise Problem(404, f"evidence kind must be one of {', '.join(EVIDENCE_KINDS)}")
    cam = await _camera(api, request)
    eid = await queries.latest_evidence_id(api.store, cam.id, EVIDENCE_KINDS[kind])
    if eid is None:
        raise Problem(404, f"camera {cam.id!r} has no {kind.replace('_', ' ')} picture yet")
    return await _jpeg_response(api, eid)


async def evidence_image(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    try:
        eid = int(request.match_info["evidence_id"])
    except ValueError:
        raise Problem(404, "evidence ids are integers") from None
    if not 0 < eid < 2**63:
        raise Problem(404, f"no evidence {eid}")
    return await _jpeg_response(api, eid)


# --- daemon actions -----------------------------------------------------------------------------

def _control(api: Api) -> DaemonControl:
    if api.control is None:
        raise Problem(503, "the checking daemon is not attached to this API (read-only mode)")
    return api.control


async def check_now(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cam = await _camera(api, request)
    control = _control(api)
    try:
        await control.check_now(cam.id)
    except CameraNotScheduled as exc:
        raise Problem(409, f"camera {cam.id!r} is not scheduled on this daemon: {exc}") from None
    await api.store.audit(who.actor, "camera.check_now", cam.id, None)
    return json_response(m.Accepted(camera_id=cam.id, action="check_now", detail="check queued"), status=202)


def _looks_like_jpeg(data: bytes) -> bool:
    if len(data) < 4 or data[:3] != b"\xff\xd8\xff":
        return False
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return img is not None and img.size > 0


async def set_reference(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cam = await _camera(api, request)
    if request.content_type != JPEG:
        raise Problem(415, "send the reference picture as image/jpeg")
    data = await read_body(request, api.limits.max_jpeg_bytes)
    if not await asyncio.to_thread(_looks_like_jpeg, data):
        raise Problem(422, "the body is not a decodable JPEG picture")
    control = _control(api)
    try:
        await control.set_reference(cam.id, data)
    except CameraNotScheduled as exc:
        raise Problem(409, f"camera {cam.id!r} is not scheduled on this daemon: {exc}") from None
    except ValueError as exc:
        raise Problem(409, str(exc)) from None
    await api.store.audit(who.actor, "camera.reference.set", cam.id, {"bytes": len(data)})
    return json_response(m.Accepted(camera_id=cam.id, action="set_reference", detail="reference picture set"),
                         status=202)


async def rebaseline(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cam = await _camera(api, request)
    control = _control(api)
    try:
        await control.set_reference(cam.id, None)
    except CameraNotScheduled as exc:
        raise Problem(409, f"camera {cam.id!r} is not scheduled on this daemon: {exc}") from None
    except ValueError as exc:
        raise Problem(409, str(exc)) from None
    await api.store.audit(who.actor, "camera.reference.rebaseline", cam.id, None)
    return json_response(m.Accepted(camera_id=cam.id, action="rebaseline",
                                    detail="reference will be taken from the latest snapshot"), status=202)


# --- maintenance --------------------------------------------------------------------------------

async def list_maintenance(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, {"active", "scope", "target_id"})
    scope = _one(q, "scope")
    try:
        sc = MaintenanceScope(scope) if scope else None
    except ValueError:
        raise Problem(400, "scope must be camera, parent or site") from None
    active = _bool(q, "active")
    now = datetime.now(timezone.utc)
    items = await api.store.list_maintenance(active_at=now if active else None, scope=sc,
                                             target_id=_one(q, "target_id") or None)
    out = [views.maintenance(w, now) for w in items]
    if active is False:
        out = [w for w in out if not w.active]
    return json_response(m.MaintenanceList(items=out[-1000:]))


async def camera_maintenance(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    cam = await _camera(api, request)
    now = datetime.now(timezone.utc)
    items = await api.store.list_maintenance(scope=MaintenanceScope.CAMERA, target_id=cam.id)
    active = {w.id for w in await api.store.maintenance_for_camera(cam.id, now)}
    extra = [w for w in await api.store.maintenance_for_camera(cam.id, now) if w.scope != MaintenanceScope.CAMERA]
    out = [views.maintenance(w, now) for w in [*items, *extra]]
    for w in out:
        w.active = w.id in active
    return json_response(m.MaintenanceList(items=out[-1000:]))


async def create_maintenance(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    body = m.MaintenanceCreate.model_validate(await read_json(request, api.limits.max_json_bytes))
    now = datetime.now(timezone.utc)
    start = body.starts_at or now
    if start.tzinfo is None:
        raise Problem(422, "starts_at needs a timezone", errors=[{"field": "starts_at", "message": "add Z or +07:00"}])
    if (body.expires_at is None) == (body.duration_hours is None):
        raise Problem(422, "give exactly one of expires_at or duration_hours",
                      errors=[{"field": "expires_at", "message": "give expires_at or duration_hours"}])
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise Problem(422, "expires_at needs a timezone", errors=[{"field": "expires_at", "message": "add Z or +07:00"}])
    expires = body.expires_at or start + timedelta(hours=body.duration_hours or 0)
    window = MaintenanceWindow(scope=body.scope, target_id=body.target_id, reason=body.reason, owner=body.owner,
                               starts_at=start, expires_at=expires)
    try:
        saved = await api.store.create_maintenance(window, actor=who.actor)  # audited by the store
    except RegistryError as exc:
        raise Problem(404, str(exc)) from None
    return json_response(views.maintenance(saved, now), status=201)


async def get_maintenance(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    w = await api.store.get_maintenance(_window_id(request))
    if w is None:
        raise Problem(404, "no such maintenance window")
    return json_response(views.maintenance(w))


def _window_id(request: web.Request) -> int:
    try:
        wid = int(request.match_info["window_id"])
    except ValueError:
        raise Problem(404, "maintenance window ids are integers") from None
    if not 0 < wid < 2**63:
        raise Problem(404, "no such maintenance window")
    return wid


async def end_maintenance(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    wid = _window_id(request)
    w = await api.store.get_maintenance(wid)
    if w is None:
        raise Problem(404, "no such maintenance window")
    if w.ended_at is not None:
        raise Problem(409, f"maintenance window {wid} was already ended")
    ended = await api.store.end_maintenance(wid, actor=who.actor)  # audited by the store
    return json_response(views.maintenance(ended))


# --- fleet --------------------------------------------------------------------------------------

async def get_summary(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, {"province", "district", "agency"})
    f = CameraFilter(province=_one(q, "province") or None, district=_one(q, "district") or None,
                     agency=_one(q, "agency") or None)
    fleet = await summary.collect_cached(api.store, f)
    return json_response(summary.summary(fleet, status_counts(api.control)))


async def get_map(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, FILTER_PARAMS)
    rows, without = await queries.map_rows(api.store, _filters(q))
    from camcheck.exporters.api.words import national_label_code

    points = [m.MapPoint(id=r["id"], name=r["name"], lat=r["lat"], lon=r["lon"], status=r["status"],
                         label=national_label_code(r["status"], r["findings"], r["status_reason"])) for r in rows]
    resp = json_response(m.MapData(points=points, without_gps=without))
    resp.enable_compression()
    return resp


async def get_facets(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    f = await queries.facets(api.store)
    return json_response(m.Facets(states=[s.value for s in CameraState],
                                  labels=[views.label(c) for c in summary.LABEL_ORDER],
                                  purposes=list(Purpose), **f))


async def get_audit(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, {"limit", "action"})
    rows = await api.store.list_audit(limit=_int(q, "limit", 100, 1, api.limits.max_history),
                                      action=_one(q, "action") or None)
    return json_response(m.AuditList(items=[m.AuditEntry(id=r["id"], at=r["at"], actor=r["actor"], action=r["action"],
                                                         target=r["target"], details=r["details"]) for r in rows]))


async def whoami(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    return json_response(m.WhoAmI(name=who.name, role=who.role, via=who.via))


async def openapi_doc(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    from camcheck.exporters.api.openapi import openapi_document

    return json_response(openapi_document())


async def not_found(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    allowed = sorted({meth for meth, rx in api.routes if rx.fullmatch(request.path)})
    if allowed:
        raise Problem(405, f"{request.method} is not allowed here", headers={"Allow": ", ".join(allowed)})
    raise Problem(404, f"no API endpoint {request.path}")


async def list_parents(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    q = _query(request, {"suspected_down"})
    rows = await queries.list_parents(api.store, suspected_down=_bool(q, "suspected_down"))
    return json_response(m.ParentList(items=[views.parent(r) for r in rows], total=len(rows)))


async def get_parent(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    _query(request, set())
    rows = await queries.list_parents(api.store, parent_id=request.match_info["parent_id"])
    if not rows:
        raise Problem(404, "no such parent device or site")
    return json_response(views.parent(rows[0]))


async def parent_incidents(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    """The parent's incidents, newest first: those open, and those that ended in the last `days` days."""
    from camcheck.registry import incidents

    q = _query(request, {"days", "limit"})
    pid = request.match_info["parent_id"]
    if not await queries.list_parents(api.store, parent_id=pid):
        raise Problem(404, "no such parent device or site")
    since = datetime.now(timezone.utc) - timedelta(days=_int(q, "days", 30, 1, 3660))
    async with api.store.engine.connect() as conn:
        rows = await incidents.list_for(conn, pid, since=since, limit=_int(q, "limit", 100, 1, api.limits.max_history))
    return json_response(m.IncidentList(items=[views.past_incident(r["incident"]) for r in rows]))


async def put_parent(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    """Create or replace a parent device or site (as `camcheck import --parents` does for a sheet)."""
    _query(request, set())
    pid = request.match_info["parent_id"]
    if not 0 < len(pid) <= 128 or not pid.isprintable():
        raise Problem(404, "parent ids are 1 to 128 printable characters")
    body = m.ParentIn.model_validate(await read_json(request, api.limits.max_json_bytes))
    return await _save_parent(api, who, pid, body)


async def patch_parent(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    """Change some fields of a parent device (what is not given is kept)."""
    _query(request, set())
    pid = request.match_info["parent_id"]
    rows = await queries.list_parents(api.store, parent_id=pid)
    if not rows:
        raise Problem(404, "no such parent device or site")
    data = await read_json(request, api.limits.max_json_bytes)
    if not isinstance(data, dict):
        raise Problem(422, "the body must be a JSON object with the fields to change")
    unknown = sorted(set(data) - set(m.ParentIn.model_fields))
    if unknown:
        raise Problem(422, "unknown or read-only fields",
                      errors=[{"field": f, "message": "not a parent field"} for f in unknown])
    current = {f: rows[0].get(f) for f in m.ParentIn.model_fields}
    return await _save_parent(api, who, pid, m.ParentIn.model_validate({**current, **data}), fields=sorted(data))


async def _save_parent(api: Api, who: Principal, pid: str, body: m.ParentIn, *,
                       fields: list[str] | None = None) -> web.StreamResponse:
    """Store a parent as `body` says, after the checks a sheet gets (an address without credentials,
    a registered upstream device, no loop); audited. `fields`: a PATCH's changed fields."""
    from camcheck.registry.parent_sheet import parse_host, upstream_loops

    host = None
    if body.host:
        try:
            host, had_credentials = parse_host(body.host)
        except ValueError as exc:
            raise Problem(422, "not an address", errors=[{"field": "host", "message": str(exc)}]) from None
        if had_credentials:  # never stored, never echoed
            raise Problem(422, "an address must not carry credentials",
                          errors=[{"field": "host", "message": "remove user:password@"}])
    known = {r["id"]: r["parent_id"] for r in await api.store.list_parents()}
    if body.parent_id is not None:
        if body.parent_id not in known:
            raise Problem(422, "no such upstream parent", errors=[{"field": "parent_id", "message": "register it first"}])
        if upstream_loops({**known, pid: body.parent_id}, pid):
            raise Problem(422, "the upstream device would be behind this one (a loop)",
                          errors=[{"field": "parent_id", "message": "a loop"}])
    row = {"kind": body.kind, "name": body.name, "host": host, "parent_of": body.parent_id,
           "district": body.district, "province": body.province}
    res = await api.store.upsert_parent_rows({pid: row})
    created = bool(res.inserted)
    action = "parent.update" if fields is not None else "parent.create" if created else "parent.replace"
    await api.store.audit(who.actor, action, pid, {"changed": bool(res.inserted or res.updated),
                                                   **({"fields": fields} if fields is not None else {})})
    (saved,) = await queries.list_parents(api.store, parent_id=pid)
    return json_response(views.parent(saved), status=201 if created else 200)


_KEPT = {"cameras": "cameras are registered behind it: move or delete them first",
         "devices": "other devices are registered behind it: change their upstream device first",
         "incident": "it is suspected down now: its incident must close first"}


async def delete_parent(request: web.Request, api: Api, who: Principal) -> web.StreamResponse:
    """Delete a parent device nothing depends on (a decommissioned recorder)."""
    _query(request, set())
    pid = request.match_info["parent_id"]
    why = await api.store.delete_parent(pid, actor=who.actor)  # the store audits the delete
    if why == "missing":
        raise Problem(404, "no such parent device or site")
    if why is not None:
        raise Problem(409, f"parent {pid!r} is kept: {_KEPT[why]}")
    return web.Response(status=204)


# (method, path, handler, role) — role None: no authentication (the OpenAPI document only)
ROUTES: tuple[tuple[str, str, Handler, Role | None], ...] = (
    ("GET", "/openapi.json", openapi_doc, None),
    ("GET", "/whoami", whoami, "read"),
    ("GET", "/cameras", list_cameras, "read"),
    ("POST", "/cameras", create_camera, "write"),
    ("POST", "/cameras/import", import_cameras, "write"),
    ("GET", "/cameras/{camera_id}", get_camera, "read"),
    ("PUT", "/cameras/{camera_id}", put_camera, "write"),
    ("PATCH", "/cameras/{camera_id}", patch_camera, "write"),
    ("DELETE", "/cameras/{camera_id}", delete_camera, "write"),
    ("GET", "/cameras/{camera_id}/state", camera_state, "read"),
    ("GET", "/cameras/{camera_id}/checks", camera_checks, "read"),
    ("GET", "/cameras/{camera_id}/transitions", camera_transitions, "read"),
    ("GET", "/cameras/{camera_id}/comparison", camera_comparison, "read"),
    ("GET", "/cameras/{camera_id}/evidence", camera_evidence, "read"),
    ("GET", "/cameras/{camera_id}/evidence/{kind}", camera_evidence_image, "read"),
    ("GET", "/cameras/{camera_id}/maintenance", camera_maintenance, "read"),
    ("POST", "/cameras/{camera_id}/check", check_now, "write"),
    ("PUT", "/cameras/{camera_id}/reference", set_reference, "write"),
    ("POST", "/cameras/{camera_id}/reference/rebaseline", rebaseline, "write"),
    ("GET", "/evidence/{evidence_id}", evidence_image, "read"),
    ("GET", "/parents", list_parents, "read"),
    ("GET", "/parents/{parent_id}", get_parent, "read"),
    ("GET", "/parents/{parent_id}/incidents", parent_incidents, "read"),
    ("PUT", "/parents/{parent_id}", put_parent, "write"),
    ("PATCH", "/parents/{parent_id}", patch_parent, "write"),
    ("DELETE", "/parents/{parent_id}", delete_parent, "write"),
    ("GET", "/maintenance", list_maintenance, "read"),
    ("POST", "/maintenance", create_maintenance, "write"),
    ("GET", "/maintenance/{window_id}", get_maintenance, "read"),
    ("POST", "/maintenance/{window_id}/end", end_maintenance, "write"),
    ("GET", "/summary", get_summary, "read"),
    ("GET", "/map", get_map, "read"),
    ("GET", "/facets", get_facets, "read"),
    ("GET", "/audit", get_audit, "read"),
)


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(PREFIX + path)))


def register(app: web.Application, api: Api) -> None:
    for method, path, handler, role in ROUTES:
        if method == "GET":
            app.router.add_get(PREFIX + path, _wrap(api, role, handler))  # HEAD too
            api.routes.append(("HEAD", _pattern(path)))
        else:
            app.router.add_route(method, PREFIX + path, _wrap(api, role, handler))
        api.routes.append((method, _pattern(path)))
    # Last: anything else under the prefix answers with a problem object (404 or 405), not HTML.
    app.router.add_route("*", PREFIX + "/{tail:.*}", _wrap(api, None, not_found))
