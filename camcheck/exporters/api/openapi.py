"""The OpenAPI 3.1 document of /api/v1, generated from the request/response models.

Served at /api/v1/openapi.json; tests/api validate real responses against it (schemathesis and
openapi-core), so a handler that answers something the document does not say fails the tests.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from camcheck import __version__
from camcheck.exporters.api import models as m
from camcheck.exporters.api.routes import PREFIX, XLSX
from camcheck.registry.models import CameraState, NationalStatus, Purpose

_REF = "#/components/schemas/{model}"

_MODELS: list[tuple[type[BaseModel], str]] = [
    (m.Camera, "serialization"), (m.CameraPage, "serialization"), (m.CameraWrite, "validation"),
    (m.State, "serialization"), (m.CheckList, "serialization"), (m.TransitionList, "serialization"),
    (m.Comparison, "serialization"), (m.EvidenceList, "serialization"), (m.MaintenanceList, "serialization"),
    (m.MaintenanceOut, "serialization"), (m.MaintenanceCreate, "validation"), (m.Accepted, "serialization"),
    (m.Summary, "serialization"), (m.MapData, "serialization"), (m.Facets, "serialization"),
    (m.ImportResult, "serialization"), (m.AuditList, "serialization"), (m.WhoAmI, "serialization"),
    (m.ProblemOut, "serialization"), (m.ParentList, "serialization"), (m.ParentOut, "serialization"),
    (m.IncidentList, "serialization"),
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel], desc: str = "OK") -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": _ref(model)}}}


_PROBLEM = {"application/problem+json": {"schema": {"$ref": _REF.format(model="ProblemOut")}}}


def _problems(*codes: int) -> dict[str, Any]:
    words = {400: "Bad request (a query parameter is wrong)", 401: "No or invalid credentials",
             403: "A read-only token tried to write", 404: "Not found", 405: "Method not allowed",
             409: "Conflict", 413: "Body too large", 415: "Wrong content type", 422: "Invalid data",
             500: "Internal error", 503: "The checking daemon is not attached"}
    return {str(c): {"description": words[c], "content": _PROBLEM} for c in codes}


def _q(name: str, schema: dict[str, Any], desc: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}


def _path(name: str, desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": desc,
            "schema": schema or {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[^/\\]+$"}}


CAMERA_ID = _path("camera_id", "camera id (as registered)")
STR = {"type": "string", "maxLength": 200}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 500}
HISTORY_LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}
FILTERS = [
    _q("status", {"type": "string", "pattern": "^(" + "|".join(s.value for s in CameraState) + ")(,(" +
                  "|".join(s.value for s in CameraState) + "))*$"}, "camcheck states, comma-separated"),
    _q("registry_status", {"type": "string", "enum": [s.value for s in NationalStatus]}, "registered national status"),
    _q("district", STR, "district (exact)"),
    _q("province", STR, "province (exact)"),
    _q("agency", STR, "owner agency (exact)"),
    _q("purpose", {"type": "string", "enum": [p.value for p in Purpose]}, "has this purpose"),
    _q("parent", STR, "parent device/site id"),
    _q("tag", STR, "has this tag"),
    _q("q", STR, "text search in id, name, installation point and agency (case-insensitive)"),
    _q("enabled", {"type": "boolean"}, "checking enabled"),
]
READ = _problems(400, 401, 404)
WRITE = _problems(400, 401, 403, 404, 413, 415, 422)


def _op(op_id: str, summary: str, responses: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, tags: list[str], secure: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": tags, "responses": responses}
    if params:
        out["parameters"] = params
    if body:
        out["requestBody"] = body
    if not secure:
        out["security"] = []
    return out


def _paths() -> dict[str, Any]:
    # OpenAPI 3.1: binary bodies are described by their media type, not as a JSON string
    jpeg = {"description": "JPEG picture", "content": {"image/jpeg": {"schema": {"contentMediaType": "image/jpeg"}}}}
    json_body = lambda model: {"required": True, "content": {"application/json": {"schema": _ref(model)}}}  # noqa: E731
    p: dict[str, Any] = {
        "/openapi.json": {"get": _op("openapi", "This document", {"200": {"description": "OpenAPI 3.1 document",
                                     "content": {"application/json": {"schema": {"type": "object"}}}}},
                                     tags=["meta"], secure=False)},
        "/whoami": {"get": _op("whoami", "Who the credentials belong to", {"200": _json(m.WhoAmI), **_problems(400, 401)},
                               tags=["meta"])},
        "/cameras": {
            "get": _op("listCameras", "List cameras with filters and paging",
                       {"200": _json(m.CameraPage), **_problems(400, 401)}, tags=["cameras"],
                       params=[*FILTERS, _q("limit", LIMIT, "page size (default 50, max 500)"),
                               _q("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}, "skip this many")]),
            "post": _op("createCamera", "Register a camera (validated like an imported row)",
                        {"201": _json(m.Camera, "Created"), **WRITE, **_problems(409)}, body=json_body(m.CameraWrite),
                        tags=["cameras"]),
        },
        "/cameras/import": {"post": _op(
            "importCameras", "Import a CSV/XLSX registry sheet (errors reported per line and column)",
            {"200": _json(m.ImportResult, "Import report (ok=false when any cell was rejected)"), **WRITE},
            params=[_q("dry_run", {"type": "boolean"}, "validate and count, write nothing"),
                    _q("filename", STR, "original file name (raw uploads)"),
                    _q("format", {"type": "string", "enum": ["csv", "xlsx"]}, "sheet format (default: from name/content)")],
            body={"required": True, "content": {
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                   "properties": {"file": {"type": "string", "format": "binary"}}}},
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"contentMediaType": XLSX}},
            }}, tags=["cameras"])},
        "/cameras/{camera_id}": {
            "parameters": [CAMERA_ID],
            "get": _op("getCamera", "One camera", {"200": _json(m.Camera), **READ}, tags=["cameras"]),
            "put": _op("putCamera", "Create or replace a camera (fields not given become empty)",
                       {"200": _json(m.Camera), "201": _json(m.Camera, "Created"), **WRITE}, body=json_body(m.CameraWrite),
                       tags=["cameras"]),
            "patch": _op("patchCamera", "Change some fields of a camera", {"200": _json(m.Camera), **WRITE},
                         body={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                         tags=["cameras"]),
            "delete": _op("deleteCamera", "Delete a camera and its history", {"204": {"description": "Deleted"}, **WRITE},
                          tags=["cameras"]),
        },
        "/cameras/{camera_id}/state": {"parameters": [CAMERA_ID], "get": _op(
            "getState", "Current verified state, findings in plain words, active maintenance",
            {"200": _json(m.State), **READ}, tags=["state"])},
        "/cameras/{camera_id}/checks": {"parameters": [CAMERA_ID], "get": _op(
            "listChecks", "Recent check results, newest first", {"200": _json(m.CheckList), **READ},
            params=[_q("limit", HISTORY_LIMIT, "how many (default 100)")], tags=["state"])},
        "/cameras/{camera_id}/transitions": {"parameters": [CAMERA_ID], "get": _op(
            "listTransitions", "Status changes, newest first", {"200": _json(m.TransitionList), **READ},
            params=[_q("limit", HISTORY_LIMIT, "how many (default 100)")], tags=["state"])},
        "/cameras/{camera_id}/comparison": {"parameters": [CAMERA_ID], "get": _op(
            "getComparison", "Registered vs configured vs measured values", {"200": _json(m.Comparison), **READ},
            tags=["state"])},
        "/cameras/{camera_id}/evidence": {"parameters": [CAMERA_ID], "get": _op(
            "listEvidence", "Evidence pictures of a camera (metadata)", {"200": _json(m.EvidenceList), **READ},
            tags=["evidence"])},
        "/cameras/{camera_id}/evidence/{kind}": {
            "parameters": [CAMERA_ID, _path("kind", "which picture",
                                            {"type": "string", "enum": ["latest", "last_good", "reference"]})],
            "get": _op("getEvidenceImage", "The latest, last good or reference picture", {"200": jpeg, **READ},
                       tags=["evidence"])},
        "/cameras/{camera_id}/maintenance": {"parameters": [CAMERA_ID], "get": _op(
            "listCameraMaintenance", "Maintenance windows of a camera (and those covering its parent)",
            {"200": _json(m.MaintenanceList), **READ}, tags=["maintenance"])},
        "/cameras/{camera_id}/check": {"parameters": [CAMERA_ID], "post": _op(
            "checkNow", "Check this camera now", {"202": _json(m.Accepted, "Queued"), **WRITE, **_problems(409, 503)},
            tags=["actions"])},
        "/cameras/{camera_id}/reference": {"parameters": [CAMERA_ID], "put": _op(
            "setReference", "Set the reference view (the camera's normal picture)",
            {"202": _json(m.Accepted, "Accepted"), **WRITE, **_problems(409, 503)},
            body={"required": True, "content": {"image/jpeg": {"schema": {"contentMediaType": "image/jpeg"}}}},
            tags=["actions"])},
        "/cameras/{camera_id}/reference/rebaseline": {"parameters": [CAMERA_ID], "post": _op(
            "rebaseline", "Take the reference view from the latest snapshot",
            {"202": _json(m.Accepted, "Accepted"), **WRITE, **_problems(409, 503)}, tags=["actions"])},
        "/evidence/{evidence_id}": {
            "parameters": [_path("evidence_id", "evidence id", {"type": "integer", "minimum": 1})],
            "get": _op("getEvidence", "One evidence picture", {"200": jpeg, **READ}, tags=["evidence"])},
        "/parents": {"get": _op(
            "listParents", "Parent devices and sites (NVRs, switches, sites) and their incidents",
            {"200": _json(m.ParentList), **_problems(400, 401)}, tags=["fleet"],
            params=[_q("suspected_down", {"type": "boolean"},
                       "only parents whose incident is open (true) / not (false)")])},
        "/parents/{parent_id}": {
            "parameters": [_path("parent_id", "parent device or site id (as registered)")],
            "get": _op("getParent", "One parent device or site and its latest incident", {"200": _json(m.ParentOut), **READ},
                       tags=["fleet"]),
            "put": _op("putParent", "Create or replace a parent device or site (kind, name, address, upstream device)",
                       {"200": _json(m.ParentOut), "201": _json(m.ParentOut, "Created"), **WRITE},
                       body=json_body(m.ParentIn), tags=["fleet"]),
            "patch": _op("patchParent", "Change some fields of a parent device (what is not given is kept)",
                         {"200": _json(m.ParentOut), **WRITE},
                         body={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                         tags=["fleet"]),
            "delete": _op("deleteParent", "Delete a parent device nothing depends on (no camera or device behind it, "
                          "not suspected down)", {"204": {"description": "Deleted"}, **WRITE, **_problems(409)},
                          tags=["fleet"])},
        "/parents/{parent_id}/incidents": {
            "parameters": [_path("parent_id", "parent device or site id (as registered)")],
            "get": _op("listParentIncidents", "A parent's incidents, newest first: open ones and those ended in the "
                       "last `days` days (how often and how long a recorder, switch or site was down)",
                       {"200": _json(m.IncidentList), **READ}, tags=["fleet"],
                       params=[_q("days", {"type": "integer", "minimum": 1, "maximum": 3660}, "ended within (default 30)"),
                               _q("limit", HISTORY_LIMIT, "how many (default 100)")])},
        "/maintenance": {
            "get": _op("listMaintenance", "Maintenance windows", {"200": _json(m.MaintenanceList), **_problems(400, 401)},
                       params=[_q("active", {"type": "boolean"}, "only windows active (true) / not active (false) now"),
                               _q("scope", {"type": "string", "enum": ["camera", "parent", "site"]}, "scope"),
                               _q("target_id", STR, "camera/parent/site id")], tags=["maintenance"]),
            "post": _op("createMaintenance", "Open a maintenance window (reason, owner, expiry)",
                        {"201": _json(m.MaintenanceOut, "Created"), **WRITE}, body=json_body(m.MaintenanceCreate),
                        tags=["maintenance"]),
        },
        "/maintenance/{window_id}": {
            "parameters": [_path("window_id", "window id", {"type": "integer", "minimum": 1})],
            "get": _op("getMaintenance", "One maintenance window", {"200": _json(m.MaintenanceOut), **READ},
                       tags=["maintenance"])},
        "/maintenance/{window_id}/end": {
            "parameters": [_path("window_id", "window id", {"type": "integer", "minimum": 1})],
            "post": _op("endMaintenance", "End a maintenance window early",
                        {"200": _json(m.MaintenanceOut), **WRITE, **_problems(409)}, tags=["maintenance"])},
        "/summary": {"get": _op(
            "getSummary", "Fleet counts for the national dashboard and the confirmation form",
            {"200": _json(m.Summary), **_problems(400, 401)}, tags=["fleet"],
            params=[_q("province", STR, "only this province"), _q("district", STR, "only this district"),
                    _q("agency", STR, "only this owner agency")])},
        "/map": {"get": _op("getMap", "Cameras with GPS, coloured by status", {"200": _json(m.MapData), **_problems(400, 401)},
                            params=FILTERS, tags=["fleet"])},
        "/facets": {"get": _op("getFacets", "Values for filter menus", {"200": _json(m.Facets), **_problems(400, 401)},
                               tags=["fleet"])},
        "/audit": {"get": _op("listAudit", "Audit log, newest first", {"200": _json(m.AuditList), **_problems(400, 401)},
                              params=[_q("limit", HISTORY_LIMIT, "how many (default 100)"),
                                      _q("action", STR, "only this action")], tags=["meta"])},
    }
    return p


@functools.lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    _, defs = models_json_schema([(model, mode) for model, mode in _MODELS], ref_template=_REF)  # type: ignore[arg-type]
    schemas = defs.get("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "camcheck API",
            "version": __version__,
            "description": "Registry, verified state and evidence of a province's CCTV cameras. Every write is "
                           "audited with the token's name. Errors are RFC 9457 problem objects.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": _paths(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "API token from the daemon config (role read or write)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "camcheck_session",
                            "description": "dashboard login; unsafe methods also need header X-Camcheck-Request: 1"},
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    import copy

    return copy.deepcopy(_document())
