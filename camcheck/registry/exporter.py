"""Exporting the registry: the survey columns (Thai or English headers) with camcheck's measured
values and verified status beside the registered claims. Never a secret: URLs are stored without
credentials and are masked again on the way out; only the credentials *reference* is written."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

from camcheck.registry.columns import COLUMNS, Column
from camcheck.registry.models import CameraFilter, StoredCamera
from camcheck.registry.normalize import BE_OFFSET
from camcheck.registry.sheets import SheetFormat, detect_format, write_sheet
from camcheck.secrets import mask_url

Lang = Literal["th", "en"]

# Columns only the import understands (a "lat, lon" cell) are not exported: lat and lon are.
EXPORT_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.key != "coordinates")

_YES_NO = {"th": ("ใช่", "ไม่ใช่"), "en": ("yes", "no")}


def _bool(v: bool | None, lang: Lang) -> str | None:
    if v is None:
        return None
    return _YES_NO[lang][0 if v else 1]


def _res(w: int | None, h: int | None) -> str | None:
    return f"{w}x{h}" if w and h else None


def _num(v: float | None) -> float | int | None:
    if v is None:
        return None
    return int(v) if float(v).is_integer() else v


def _ts(v: Any) -> str | None:
    return v.isoformat(timespec="seconds") if v is not None else None


def camera_cells(cam: StoredCamera, lang: Lang) -> list[Any]:
    verified = cam.verified_status
    m = cam.measured
    values: dict[str, Any] = {
        **{f: getattr(cam, f) for f in ("id", "name", "owner_agency", "point_id", "point_name", "district",
                                        "province", "control_centre", "network_type", "network_provider",
                                        "brand", "recorder_brand", "recorder_model", "file_format",
                                        "police_station", "contact_person", "contact_phone", "project_name",
                                        "credentials_ref", "parent_id", "onvif_endpoint", "retention_days")},
        # Thai readers expect Buddhist-era years (the header says so); import reads both eras.
        "year_installed": (cam.year_installed + BE_OFFSET if lang == "th" and cam.year_installed else cam.year_installed),
        "lat": cam.lat,
        "lon": cam.lon,
        "purposes": ", ".join(p.label(lang) for p in cam.purposes) or None,
        "connected": _bool(cam.connected, lang),
        "recorded_resolution": _res(cam.recorded_width, cam.recorded_height),
        "max_resolution": _res(cam.max_width, cam.max_height),
        "frame_rate": _num(cam.frame_rate),
        "registry_status": cam.registry_status.label(lang) if cam.registry_status else None,
        "internet_viewable": _bool(cam.internet_viewable, lang),
        "main_stream_url": mask_url(cam.main_stream_url) if cam.main_stream_url else None,
        "sub_stream_url": mask_url(cam.sub_stream_url) if cam.sub_stream_url else None,
        "tags": ", ".join(cam.tags) or None,
        "enabled": _bool(cam.enabled, lang),
        "verified_status": verified.label(lang) if verified else None,
        "camcheck_state": cam.status.value,
        "status_since": _ts(cam.status_since),
        "status_reason": cam.status_reason,
        "findings": ", ".join(str(f) for f in cam.findings) or None,
        "last_check_at": _ts(cam.last_check_at),
        "last_success_at": _ts(cam.last_success_at),
        "measured_resolution": _res(m.width, m.height),
        "measured_fps": _num(m.fps),
        "measured_codec": m.codec,
        "measured_bitrate_bps": m.bitrate_bps,
        "measured_gop": _num(m.gop),
        "measured_retention_days": _num(m.retention_days),
        "recording_active": _bool(m.recording_active, lang),
        "clock_offset_s": _num(m.clock_offset_s),
    }
    return [values.get(c.key) for c in EXPORT_COLUMNS]


_HEADER_NOTES = {("th", "year_installed"): " (พ.ศ.)", ("en", "year_installed"): " (CE)"}


def headers(lang: Lang) -> list[str]:
    return [(c.th if lang == "th" else c.en) + _HEADER_NOTES.get((lang, c.key), "") for c in EXPORT_COLUMNS]


async def export_file(
    path: str | os.PathLike[str],
    store: Any,
    *,
    lang: Lang = "th",
    fmt: SheetFormat | None = None,
    filters: CameraFilter | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every matching camera to ``path``; returns the number of cameras written."""
    if lang not in ("th", "en"):
        raise ValueError("lang must be 'th' or 'en'")
    cams = [c async for c in store.iter_cameras(filters)]

    def rows() -> Any:
        for i, cam in enumerate(cams, start=1):
            if progress and i % 1000 == 0:
                progress(i)
            yield camera_cells(cam, lang)

    return write_sheet(path, detect_format(path, fmt), headers(lang), rows())
