"""What exporters see of a camera: built from the registry row and the verdict state, never secrets."""

from __future__ import annotations

from datetime import datetime

from camcheck.exporters.events import CameraView
from camcheck.registry.models import StoredCamera
from camcheck.verdict import CameraState, Status, label_for, label_for_status

# Registry fields offered as metric labels / MQTT labels (a small, bounded set chosen in the config).
LABEL_FIELDS: dict[str, str] = {
    "district": "district",
    "province": "province",
    "agency": "owner_agency",
    "parent": "parent_id",
    "police_station": "police_station",
    "network": "network_type",
}


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def camera_view(
    cam: StoredCamera,
    state: CameraState | None,
    *,
    label_keys: tuple[str, ...] = ("district", "agency"),
    last_check_duration: float | None = None,
) -> CameraView:
    status = state.status.value if state is not None else cam.status.value
    if state is not None:
        label = label_for(state)
    else:
        label = label_for_status(Status(status))
    m = cam.measured
    measured: dict[str, float | str | bool | None] = {
        "width": m.width,
        "height": m.height,
        "fps": m.fps,
        "codec": m.codec,
        "bitrate_kbps": m.bitrate_bps / 1000 if m.bitrate_bps is not None else None,
        "gop_s": m.gop,
        "retention_days": m.retention_days,
        "recording_active": m.recording_active,
        "clock_offset_s": m.clock_offset_s,
        # how long the picture has stayed the same (verdict.unchanged): a warning before the finding
        "unchanged_s": max((r.last - r.since for r in state.pictures.values()), default=None) if state else None,
    }
    info = {
        k: str(v)
        for k, v in (
            ("brand", cam.brand),
            ("model", cam.recorder_model),
            ("codec", m.codec),
            ("resolution", f"{m.width}x{m.height}" if m.width and m.height else None),
        )
        if v
    }
    labels = {}
    for key in label_keys:
        field = LABEL_FIELDS.get(key)
        value = getattr(cam, field, None) if field else None
        if value:
            labels[key] = str(value)
    findings = tuple(str(f) for f in (cam.findings or []) if isinstance(f, str))
    if state is not None:
        findings = tuple(dict.fromkeys([*state_findings(state)]))
    return CameraView(
        camera_id=cam.id,
        name=cam.name,
        parent_id=cam.parent_id,
        site=cam.parent_id,
        labels=labels,
        status=status,
        status_since=(state.since if state is not None else _ts(cam.status_since)),
        reason=(state.reason if state is not None else cam.status_reason) or None,
        findings=findings,
        measured=measured,
        info=info,
        last_check_at=(state.last_check_at if state is not None else _ts(cam.last_check_at)),
        last_success_at=(state.last_success_at if state is not None else _ts(cam.last_success_at)),
        last_check_duration=last_check_duration,
        registry_label_th=label.th if label else None,
        registry_label_en=label.en if label else None,
        reason_data=(state.reason_data.model_dump() if state.reason_data else None) if state is not None
        else cam.status_reason_data,
    )


def state_findings(state: CameraState) -> list[str]:
    """Confirmed findings plus the keys that make a source broken (failures such as `refused`)."""
    out = list(state.confirmed_findings())
    for src in state.sources.values():
        if src.broken:
            out.extend(src.broken_keys)
    return out
