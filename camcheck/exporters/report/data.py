"""Everything a committee report shows, gathered once from the registry (shared by XLSX/HTML/CSV)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import cv2
import numpy as np

from camcheck.exporters.api import models as m
from camcheck.exporters.api import queries, summary, views
from camcheck.exporters.api.reason_words import reason_text
from camcheck.exporters.api.summary import Fleet, GroupFigures
from camcheck.exporters.api.words import finding_text, label_text, national_label_code, purpose_text, state_text
from camcheck.registry.models import CameraFilter, StoredCamera
from camcheck.registry.store import Store
from camcheck.secrets import mask_url

Progress = Callable[[str, int, int], None]
Thumbs = Literal["none", "problems", "all"]
THUMB_WIDTH = 240


class ReportError(ValueError):
    """Bad report input (e.g. an unreadable discovery file); the message is for the person."""


@dataclass
class DiscoveredDevice:
    host: str
    address: str
    name: str | None
    hardware: str | None
    xaddrs: list[str]


@dataclass
class CameraRow:
    cam: StoredCamera
    label: str
    mismatches: frozenset[str]  # comparison fields whose measurement contradicts the claim
    measured_values: dict[str, Any]  # comparison field -> measured value shown
    findings: list[str]  # codes
    thumbnail: bytes | None = None  # small JPEG of the latest evidence
    thumbnail_kind: str | None = None

    @classmethod
    def of(cls, cam: StoredCamera) -> "CameraRow":
        # keep only what the writers show: a whole Comparison per camera costs ~25 KB at 10,000 cameras
        comp = views.comparison(cam)
        return cls(cam, national_label_code(cam.status.value, cam.findings, cam.status_reason),
                   frozenset(r.field for r in comp.rows if r.result == "mismatch"),
                   {r.field: r.measured for r in comp.rows if r.measured is not None},
                   [x.code for x in views.findings(cam.findings)])

    def mismatch(self, fld: str) -> bool:
        return fld in self.mismatches

    def measured(self, fld: str) -> Any:
        return self.measured_values.get(fld)


@dataclass
class DeviceOutage:
    """A recorder, switch or site that was suspected down in the report's period: how often, how long."""

    id: str
    name: str | None
    kind: str  # ParentKind value
    district: str | None
    outages: int
    down_s: float  # in all, within the period
    down_now: bool
    cameras: int  # cameras registered behind it, through the devices behind it too


@dataclass
class ReportData:
    generated_at: datetime
    province: str | None
    lang: str
    fleet: Fleet
    summary: m.Summary
    by_district: list[GroupFigures]
    by_agency: list[GroupFigures]
    cameras: list[CameraRow]
    never_verified: list[CameraRow]
    discovered_unregistered: list[DiscoveredDevice] | None  # None: no discovery data given
    discovery_source: str | None = None
    provinces: list[str] = field(default_factory=list)
    device_outages: list[DeviceOutage] = field(default_factory=list)  # the longest down first


def _host(value: str | None) -> str | None:
    if not value:
        return None
    text = value if "://" in value else f"//{value}"
    try:
        return (urlsplit(text).hostname or "").lower() or None
    except ValueError:
        return None


def load_discovery(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read `camcheck discover --json` output: a JSON list of devices (address, xaddrs, name, ...)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot read the discovery file {os.fspath(path)!r}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"the discovery file is not JSON (expected `camcheck discover --json` output): {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("devices"), list):
        data = data["devices"]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ReportError("the discovery file must be a JSON list of devices (`camcheck discover --json`)")
    return data


def unregistered(devices: list[dict[str, Any]], cams: list[StoredCamera]) -> list[DiscoveredDevice]:
    """Devices that answered discovery but whose host is no registered camera's ONVIF/stream host."""
    known: set[str] = set()
    for c in cams:
        for v in (c.onvif_endpoint, c.main_stream_url, c.sub_stream_url):
            h = _host(v)
            if h:
                known.add(h)
    out: list[DiscoveredDevice] = []
    seen: set[str] = set()
    for d in devices:
        xaddrs = [mask_url(str(x)) for x in (d.get("xaddrs") or []) if isinstance(x, str)]
        hosts = {h for h in (_host(x) for x in xaddrs) if h}
        src = _host(str(d.get("source") or "").rsplit(":", 1)[0]) if d.get("source") else None
        if src:
            hosts.add(src)
        if not hosts or hosts & known:
            continue
        host = sorted(hosts)[0]
        if host in seen:
            continue
        seen.add(host)
        out.append(DiscoveredDevice(host=host, address=str(d.get("address") or ""), name=d.get("name"),
                                    hardware=d.get("hardware"), xaddrs=xaddrs))
    return sorted(out, key=lambda x: x.host)


def thumbnail(jpeg: bytes, width: int = THUMB_WIDTH) -> bytes | None:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        return None
    h, w = img.shape[:2]
    if w > width:
        img = cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 75])
    return buf.tobytes() if ok else None


async def collect(store: Store, *, lang: str = "th", province: str | None = None, thumbs: Thumbs = "problems",
                  discovery: list[dict[str, Any]] | None = None, discovery_source: str | None = None,
                  progress: Progress | None = None, now: datetime | None = None) -> ReportData:
    now = now or datetime.now(timezone.utc)
    f = CameraFilter(province=province) if province else None
    fleet = await summary.collect(store, f, now=now, progress=progress)
    s = summary.summary(fleet)
    total = len(fleet.cams)
    evid = await queries.latest_evidence_ids(store, ("at_change", "last_good")) if thumbs != "none" else {}
    rows: list[CameraRow] = []
    done = 0
    async for cam in store.iter_cameras(f):
        row = CameraRow.of(cam)
        label = row.label
        want = thumbs == "all" or (thumbs == "problems" and label not in ("working_normally", "unverified"))
        if want and cam.id in evid:
            ev = await store.get_evidence(evid[cam.id])
            data = ev.jpeg if ev is not None else None
            if data is None and ev is not None and ev.path and Path(ev.path).is_file():
                data = await asyncio.to_thread(Path(ev.path).read_bytes)
            if data:
                row.thumbnail = await asyncio.to_thread(thumbnail, data)
                row.thumbnail_kind = ev.kind.value if ev else None
        rows.append(row)
        done += 1
        if progress and (done % 500 == 0 or done == total):
            progress("per-camera rows", done, total)
    never = [r for r in rows if r.cam.last_check_at is None]
    provinces = (await queries.facets(store, limit=200))["provinces"]  # of the whole registry, for messages
    outages = await device_outages(store, {r.cam.parent_id for r in rows if r.cam.parent_id}, province, now)
    return ReportData(
        generated_at=now, province=province, lang=lang, fleet=fleet, summary=s,
        by_district=summary.groups(fleet, "district"), by_agency=summary.groups(fleet, "owner_agency"),
        cameras=rows, never_verified=never,
        discovered_unregistered=None if discovery is None else unregistered(discovery, [r.cam for r in rows]),
        discovery_source=discovery_source, provinces=provinces, device_outages=outages,
    )


async def device_outages(store: Store, behind: set[str], province: str | None, now: datetime) -> list[DeviceOutage]:
    """The parent devices suspected down lately (incidents.RECENT_DAYS): for a province, those its
    reported cameras are behind (and the devices those are behind) or registered in it."""
    from camcheck.registry import incidents

    devices = {p["id"]: p for p in await store.list_parents()}
    keep = set(devices) if province is None else {pid for pid, p in devices.items() if p.get("province") == province}
    todo, walked = list(behind | keep), set()
    while todo:  # those and every device upstream of them (a province's recorders' site)
        pid = todo.pop()
        if pid in devices and pid not in walked:
            walked.add(pid)
            keep.add(pid)
            if devices[pid].get("parent_id"):
                todo.append(devices[pid]["parent_id"])
    async with store.engine.connect() as conn:
        seen = await incidents.outages_since(conn, now - timedelta(days=incidents.RECENT_DAYS), now)
    below: dict[str, list[str]] = {}
    for pid, p in devices.items():
        if p.get("parent_id"):
            below.setdefault(p["parent_id"], []).append(pid)

    def behind_all(pid: str, path: frozenset[str] = frozenset()) -> int:  # a site: its recorders' cameras too
        here = path | {pid}  # a registry loop (refused on the way in) is not followed round
        return int(devices[pid].get("cameras") or 0) + sum(behind_all(d, here) for d in below.get(pid, []) if d not in here)

    out = [DeviceOutage(id=pid, name=devices[pid].get("name"), kind=devices[pid].get("kind") or "other",
                        district=devices[pid].get("district"), outages=n, down_s=down,
                        down_now=devices[pid].get("status") == "suspected_down", cameras=behind_all(pid))
           for pid, (n, down) in seen.items() if pid in keep and pid in devices]
    return sorted(out, key=lambda o: (-o.down_s, o.id))


# --- cell values shared by the writers --------------------------------------------------------------

def res(w: int | None, h: int | None) -> str | None:
    return f"{w}x{h}" if w and h else None


def num(v: float | int | None) -> float | int | None:
    if v is None:
        return None
    return int(v) if float(v).is_integer() else round(float(v), 2)


def camera_values(row: CameraRow, lang: str) -> dict[str, Any]:
    c = row.cam
    return {
        "id": c.id,
        "name": c.name or c.point_name,
        "agency": c.owner_agency,
        "point": c.point_name,
        "district": c.district,
        "gps": f"{c.lat:.5f}, {c.lon:.5f}" if c.lat is not None and c.lon is not None else None,
        "purposes": ", ".join(purpose_text(p.value, lang) for p in c.purposes) or None,
        "control_centre": c.control_centre,
        "connected": None if c.connected is None else (("ใช่" if c.connected else "ไม่ใช่") if lang == "th"
                                                       else ("yes" if c.connected else "no")),
        "internet_viewable": None if c.internet_viewable is None else (
            ("ใช่" if c.internet_viewable else "ไม่ใช่") if lang == "th" else ("yes" if c.internet_viewable else "no")),
        "brand": c.brand,
        "registry_status": c.registry_status.label(lang) if c.registry_status else None,
        "verified_status": label_text(row.label, lang),
        "state": state_text(c.status.value, lang),
        "last_verified": c.last_success_at,
        "last_check": c.last_check_at,
        "res_reg": res(c.recorded_width, c.recorded_height),
        "res_meas": row.measured("resolution"),
        "maxres_reg": res(c.max_width, c.max_height),
        "fps_reg": num(c.frame_rate),
        "fps_meas": row.measured("fps"),
        "ret_reg": c.retention_days,
        "ret_meas": row.measured("retention_days"),
        "format_reg": c.file_format,
        "codec_meas": row.measured("codec"),
        "findings": "; ".join(finding_text(code, lang) for code in row.findings) or None,
        # why it is not working, in the checks' own words (what answered 404, since when the picture
        # has not changed...); a working camera's reason says nothing the status does not
        "reason": reason_text(c.status_reason, c.status_reason_data, lang)
        if c.status.value not in ("working", "unknown") else None,
    }


# measured column -> comparison field it is checked against
MISMATCH_OF = {"res_meas": "resolution", "fps_meas": "fps", "ret_meas": "retention_days"}
