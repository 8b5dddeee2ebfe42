"""Store objects -> API models. Everything URL-like or free text from the daemon is masked on the
way out (stream URLs are stored without credentials; masking again costs nothing and guards
against a row written by something else)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from camcheck.exporters.api import models as m
from camcheck.exporters.api.reason_words import reason_pair
from camcheck.exporters.api.words import (
    STATE_WORDS,
    finding_code,
    finding_detail,
    finding_text,
    national_label_code,
)
from camcheck.registry.models import RECORD_FIELDS, CheckRecord, MaintenanceWindow, StoredCamera, TransitionRecord
from camcheck.secrets import mask_text, mask_url
from camcheck.verdict.claims import MeasuredFacts, RegisteredClaims, compare_claims
from camcheck.verdict.labels import LABELS

API_PREFIX = "/api/v1"


def _mask(v: str | None) -> str | None:
    return mask_url(v) if v else v


def label(code: str) -> m.Label:
    lab = LABELS[code]  # type: ignore[index]
    return m.Label(code=lab.code, th=lab.th, en=lab.en, national=lab.national)


def findings(items: list[Any] | None, reason: str | None = None) -> list[m.Finding]:
    out: list[m.Finding] = []
    seen: set[str] = set()
    for item in items or []:
        code = finding_code(item)
        if not code or code in seen:
            continue
        seen.add(code)
        out.append(m.Finding(code=code, th=finding_text(code, "th"), en=finding_text(code, "en"),
                             detail=finding_detail(item)))
    return out


def camera(cam: StoredCamera) -> m.Camera:
    data = {f: getattr(cam, f) for f in RECORD_FIELDS}
    for f in ("main_stream_url", "sub_stream_url", "onvif_endpoint"):
        data[f] = _mask(data[f])
    return m.Camera(
        **data,
        created_at=cam.created_at, updated_at=cam.updated_at,
        status=cam.status, status_since=cam.status_since,
        status_reason=mask_text(cam.status_reason) if cam.status_reason else None,
        label=label(national_label_code(cam.status.value, cam.findings, cam.status_reason)),
        findings=findings(cam.findings),
        last_check_at=cam.last_check_at, last_success_at=cam.last_success_at,
        measured=cam.measured,
    )


def maintenance(w: MaintenanceWindow, now: datetime | None = None) -> m.MaintenanceOut:
    assert w.id is not None
    return m.MaintenanceOut(
        id=w.id, scope=w.scope, target_id=w.target_id, reason=w.reason, owner=w.owner, starts_at=w.starts_at,
        expires_at=w.expires_at, created_at=w.created_at, created_by=w.created_by, ended_at=w.ended_at,
        ended_by=w.ended_by, active=w.active_at(now or datetime.now(timezone.utc)),
    )


def state(cam: StoredCamera, windows: list[MaintenanceWindow]) -> m.State:
    words = STATE_WORDS.get(cam.status.value, (cam.status.value, cam.status.value))
    return m.State(
        id=cam.id, status=cam.status, status_text=m.Text(th=words[0], en=words[1]),
        label=label(national_label_code(cam.status.value, cam.findings, cam.status_reason)),
        since=cam.status_since, reason=mask_text(cam.status_reason) if cam.status_reason else None,
        reason_text=reason_pair(cam.status_reason, cam.status_reason_data),
        findings=findings(cam.findings, cam.status_reason), last_check_at=cam.last_check_at,
        last_success_at=cam.last_success_at, consecutive_failures=cam.consecutive_failures,
        consecutive_successes=cam.consecutive_successes, measured=cam.measured,
        maintenance=[maintenance(w) for w in windows],
    )


def check(c: CheckRecord) -> m.CheckOut:
    items = list(c.findings)
    if c.failure:
        items.insert(0, c.failure)
    return m.CheckOut(checked_at=c.checked_at, verdict=c.verdict, failure=c.failure, findings=findings(items),
                      measured=c.measured, duration_s=c.duration_s, node_id=c.node_id, stream=c.stream)


def transition(t: TransitionRecord) -> m.TransitionOut:
    return m.TransitionOut(id=t.id, at=t.at, from_state=t.from_state, to_state=t.to_state,
                           reason=mask_text(t.reason) if t.reason else None,
                           reason_text=reason_pair(t.reason, t.reason_data), findings=findings(t.findings),
                           evidence_ids=t.evidence_ids)


def evidence_meta(row: dict[str, Any]) -> m.EvidenceMeta:
    return m.EvidenceMeta(id=row["id"], kind=row["kind"], taken_at=row["taken_at"], width=row["width"],
                          height=row["height"], transition_id=row["transition_id"],
                          url=f"{API_PREFIX}/evidence/{row['id']}")


def _res(w: int | None, h: int | None) -> str | None:
    return f"{w}x{h}" if w and h else None


_TITLES: dict[str, tuple[str, str]] = {
    "resolution": ("ความละเอียดของภาพที่บันทึก", "recorded resolution"),
    "max_resolution": ("ความละเอียดของการบันทึกสูงสุด", "maximum recording resolution"),
    "fps": ("จำนวนภาพต่อวินาที", "frame rate"),
    "retention_days": ("จำนวนวันในการเก็บการบันทึก", "days of recording kept"),
    "codec": ("รูปแบบการเข้ารหัสภาพ", "video codec"),
    "recording_format": ("รูปแบบไฟล์ที่บันทึก", "recording file format"),
    "recording_active": ("กำลังบันทึก", "recording active"),
    "bitrate_bps": ("อัตราบิต (บิต/วินาที)", "bitrate (bit/s)"),
    "clock_offset_s": ("เวลาคลาดเคลื่อน (วินาที)", "clock offset (s)"),
    "main_stream_url": ("ที่อยู่สตรีมหลัก", "main stream URL"),
    "sub_stream_url": ("ที่อยู่สตรีมรอง", "sub stream URL"),
    "onvif_endpoint": ("ที่อยู่ ONVIF", "ONVIF endpoint"),
    "credentials_ref": ("ชื่ออ้างอิงรหัสผ่าน", "credentials reference"),
    "enabled": ("เปิดการตรวจสอบ", "checking enabled"),
}


def comparison(cam: StoredCamera) -> m.Comparison:
    """Registered claims vs measured facts (findings from camcheck.verdict.claims), plus how camcheck
    is configured to reach the camera."""
    me = cam.measured
    claims = RegisteredClaims(
        width=cam.recorded_width, height=cam.recorded_height, max_width=cam.max_width, max_height=cam.max_height,
        fps=cam.frame_rate, retention_days=cam.retention_days or None, recording_format=cam.file_format,
    )
    facts = MeasuredFacts(
        width=me.width or None, height=me.height or None, fps=me.fps, codec=me.codec,
        retention_days=max(0.0, me.retention_days) if me.retention_days is not None else None,
    )
    gaps = {g.field: g for g in compare_claims(claims, facts)}

    rows: list[m.ComparisonRow] = []

    def add(key: str, registered: Any, measured: Any, configured: Any = None) -> None:
        g = gaps.get(key)
        if g is not None:
            result = "mismatch"
        elif registered is None and measured is None:
            result = "info" if configured is not None else "not_registered"
        elif registered is None:
            result = "not_registered"
        elif measured is None:
            result = "not_measured"
        else:
            result = "match"
        th, en = _TITLES[key]
        rows.append(m.ComparisonRow(field=key, title=m.Text(th=th, en=en), registered=registered,
                                    configured=configured, measured=measured, result=result,
                                    finding=g.key if g else None, message=g.message if g else None))

    add("resolution", _res(cam.recorded_width, cam.recorded_height), _res(me.width, me.height))
    add("max_resolution", _res(cam.max_width, cam.max_height), None)
    add("fps", cam.frame_rate, round(me.fps, 2) if me.fps is not None else None)
    add("retention_days", cam.retention_days, round(me.retention_days, 2) if me.retention_days is not None else None)
    add("recording_format", cam.file_format, None)
    add("codec", None, me.codec)
    add("recording_active", None, me.recording_active)
    add("bitrate_bps", None, me.bitrate_bps)
    add("clock_offset_s", None, me.clock_offset_s)
    for key in ("main_stream_url", "sub_stream_url", "onvif_endpoint", "credentials_ref", "enabled"):
        value = getattr(cam, key)
        if isinstance(value, str) and key != "credentials_ref":
            value = mask_url(value)
        add(key, None, None, value)
    return m.Comparison(camera_id=cam.id, rows=rows, mismatches=sum(1 for r in rows if r.result == "mismatch"))


def parent(row: dict[str, Any]) -> m.ParentOut:
    """A parents row (queries.list_parents) with its incident (ParentIncident JSON, as the daemon
    stores it): times as datetimes, the reason in Thai and English."""
    inc = row.get("incident") or None
    data = inc.get("reason_data") if isinstance(inc, dict) else None
    reason = row.get("status_reason")  # the daemon writes it with an open incident, clears it at the end
    incident = m.Incident(**_incident_fields(inc)) if isinstance(inc, dict) and inc.get("started_at") is not None else None
    return m.ParentOut(
        id=row["id"], kind=row.get("kind") or "other", name=row.get("name"), host=row.get("host"),
        parent_id=row.get("parent_id"),
        district=row.get("district"), province=row.get("province"), cameras=int(row.get("cameras") or 0),
        status="suspected_down" if row.get("status") == "suspected_down" else None,
        status_since=row.get("status_since") if row.get("status") == "suspected_down" else None,
        reason=mask_text(reason) if reason else None,
        reason_text=reason_pair(reason, data) if reason else None,
        incident=incident,
    )


def _incident_fields(inc: dict[str, Any]) -> dict[str, Any]:
    """A stored ParentIncident (JSON) as the API's Incident fields."""
    return {
        "started_at": _utc_ts(inc["started_at"]), "ended_at": _utc_ts(inc["ended_at"]) if inc.get("ended_at") else None,
        "cameras_behind": int(inc.get("children_total") or 0), "affected": list(inc.get("affected") or []),
        "still_failing_at_end": list(inc.get("still_failing_at_end") or []),
        "cameras_affected": int(inc.get("cameras_affected") or len(inc.get("affected") or [])),
        "covered_by": inc.get("covered_by"),
    }


def past_incident(inc: dict[str, Any]) -> m.PastIncident:
    """One entry of a parent's incident history (registry.incidents): why, in Thai and English."""
    reason = inc.get("reason")
    ended = inc.get("ended_at")
    return m.PastIncident(
        **_incident_fields(inc), reason=mask_text(reason) if reason else None,
        reason_text=reason_pair(reason, inc.get("reason_data")) if reason else None,
        duration_s=round(float(ended) - float(inc["started_at"]), 3) if ended is not None else None)


def _utc_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=timezone.utc)
