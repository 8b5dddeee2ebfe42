"""One camera's check, from probe facts to what gets committed: no scheduling, no database.

The collector side calls :func:`run_stream_check` / :func:`run_onvif_check`; each returns a
:class:`CheckResult` holding the verdict's evaluation and the records to write. Exactly one RTSP
session (or ONVIF conversation) per call, bounded by one deadline.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from camcheck.probe.observation import Observation, RtspSettings, default_keyframe_wait
from camcheck.probe.onvif import OnvifObservation, OnvifSettings, OnvifTarget, probe_onvif
from camcheck.probe.rtsp import probe_rtsp
from camcheck.secrets import mask_text, mask_url
from camcheck.registry.models import CheckRecord, EvidenceKind, EvidenceRecord, Measured, StoredCamera, TransitionRecord
from camcheck.verdict import (
    CameraState,
    Evaluation,
    MaintenanceInfo,
    StatusPolicy,
    evaluate,
    from_observation,
    from_onvif_observation,
)

from camcheck.daemon.targets import Credentials, StreamRole, onvif_host_port, registered_claims, stream_target


@dataclass
class CheckResult:
    evaluation: Evaluation
    check: CheckRecord
    snapshot: bytes | None = None
    observation: Observation | OnvifObservation | None = None
    camera_facts: Measured | None = None  # what the camera's registry row takes (None: all of check.measured)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


# A keyframe waited for by its measured GOP may come a little late (jitter, a busy host).
GOP_MARGIN = 1.25


def keyframe_wait_s(window: float, gop_s: float | None, gop_min_s: float | None, max_wait: float) -> float | None:
    """How long a stream check waits for a second keyframe (the frozen test needs two); None = the
    probe's default (default_keyframe_wait). `gop_s` is the stream's measured GOP, `gop_min_s` set
    when its last check saw only one keyframe in that long. A longer GOP than the default is waited
    for (with a margin for a late keyframe), up to `max_wait`; after a check that saw one keyframe
    and no GOP longer than that is known, the next waits `max_wait` to measure it."""
    default = default_keyframe_wait(window)
    if max_wait <= default:
        return None
    if gop_min_s is not None and (gop_s is None or gop_s <= gop_min_s):
        return max_wait
    wait = None if gop_s is None else gop_s * GOP_MARGIN + 0.5
    return min(max_wait, wait) if wait is not None and wait > default else None


def stream_deadline_s(timeout: float, window: float, gop_s: float | None, keyframe_wait: float | None = None) -> float:
    """The whole check's budget: the configured timeout, stretched when the camera's keyframe
    interval is long (joined mid-GOP, the probe waits up to one GOP for the first keyframe and
    `keyframe_wait` for the second), capped at a minute."""
    first = max(gop_s or 0.0, keyframe_wait or 0.0)  # a wait longer than the GOP on record: it is stale
    second = keyframe_wait or (min(gop_s, default_keyframe_wait(window)) if gop_s else 0.0)
    need = 4.0 + max(window, first + second)
    return min(60.0, max(timeout, need))


async def run_stream_check(
    cam: StoredCamera,
    state: CameraState,
    creds: Credentials,
    *,
    role_url: tuple[str, StreamRole],
    settings: RtspSettings,
    transport: str,
    timeout: float,
    policy: StatusPolicy,
    maintenance: MaintenanceInfo | None,
    reference: bytes | None,
    node_id: str,
    gop_s: float | None = None,
    sub_down: Observation | None = None,
) -> CheckResult:
    """One stream check. `gop_s`: the stream's keyframe interval as last measured (default: the
    registry's measured GOP), which stretches the deadline (see stream_deadline_s). `sub_down`: the
    failed check of the registered sub-stream this main-stream check is made in place of; when the
    main stream plays, the check carries `sub_stream_down` (the live view is lost, not the footage)."""
    target = stream_target(cam, creds, role_url=role_url, transport=transport, reference=reference)  # type: ignore[arg-type]
    gop = cam.measured.gop if gop_s is None else gop_s
    budget = stream_deadline_s(timeout, settings.window, gop, settings.keyframe_wait)
    loop = asyncio.get_running_loop()
    obs = await probe_rtsp(target, settings, loop.time() + budget)
    role = role_url[1]
    outcome = from_observation(obs, stream_role=role)
    if role == "main":
        outcome = outcome.with_claims(registered_claims(cam))
    sub_failed = sub_down is not None and role == "main" and obs.failure is None
    if sub_failed:
        assert sub_down is not None
        outcome = outcome.with_sub_stream_down(sub_down_words(sub_down))
    ev = evaluate(state, outcome, time.time(), policy, maintenance)
    s = obs.stream
    measured = Measured(  # what this check read, kept with the check (the history shows each stream's)
        width=s.width,
        height=s.height,
        fps=s.fps,
        codec=s.codec,
        bitrate_bps=int(s.bitrate_kbps * 1000) if s.bitrate_kbps is not None else None,
        gop=s.gop_s,
    )
    # The camera's own facts are those of the recorded (main) stream; of a sub-stream check only its
    # GOP when no main stream is registered: it is what the keyframe wait of the next check starts
    # from after a restart (Daemon.keyframe_plan).
    camera_facts = None if role == "main" else Measured(gop=s.gop_s if not cam.main_stream_url else None)
    added = [f for f in ev.findings if f not in outcome.findings] + (["sub_stream_down"] if sub_failed else [])
    check = CheckRecord(
        camera_id=cam.id,
        checked_at=_utc(obs.started_at or time.time()),
        verdict=_with_history(obs.verdict, added, policy),
        failure=obs.failure,
        findings=ev.findings,
        measured=measured,
        # the whole check's cost: the failed sub-stream read too (schedules and metrics budget with it)
        duration_s=obs.duration + (sub_down.duration if sub_down is not None else 0.0),
        node_id=node_id,
        stream=role,
    )
    return CheckResult(evaluation=ev, check=check, snapshot=obs.snapshot_jpeg, observation=obs,
                       camera_facts=camera_facts)


def sub_down_words(obs: Observation) -> str:
    """A failed sub-stream check in one line: its URL (credentials masked) and its own words."""
    said = f": {mask_text(obs.message)}" if obs.message else ""
    return f"sub-stream {mask_url(obs.url)}: {obs.failure or 'failed'}{said}"


def _with_history(verdict: str, extra: list[str], policy: StatusPolicy) -> str:
    """The check's verdict with the findings its history added (e.g. `unchanged`, broken by default)."""
    severities = {policy.severity(f) for f in extra}
    if "broken" in severities:
        return "broken"
    return "degraded" if verdict == "working" and "degraded" in severities else verdict


async def run_onvif_check(
    cam: StoredCamera,
    state: CameraState,
    creds: Credentials,
    *,
    timeout: float,
    policy: StatusPolicy,
    maintenance: MaintenanceInfo | None,
    node_id: str,
) -> CheckResult:
    assert cam.onvif_endpoint
    host, port = onvif_host_port(cam.onvif_endpoint)
    target = OnvifTarget(
        host=host,
        port=port,
        username=creds.username,
        password=creds.password,
        required_retention_days=float(cam.retention_days) if cam.retention_days else None,
    )
    loop = asyncio.get_running_loop()
    obs = await probe_onvif(target, OnvifSettings(), loop.time() + timeout)
    outcome = from_onvif_observation(obs).with_claims(registered_claims(cam))
    ev = evaluate(state, outcome, time.time(), policy, maintenance)
    rec = obs.recording or {}
    clock = obs.clock or {}
    recordings = rec.get("recordings", []) or []
    retention = [r["retention_days"] for r in recordings if isinstance(r.get("retention_days"), (int, float))]
    active = [r["active"] for r in recordings if isinstance(r.get("active"), bool)]
    measured = Measured(
        retention_days=min(retention) if retention else None,
        recording_active=all(active) if active else None,
        clock_offset_s=clock.get("offset_s") if isinstance(clock.get("offset_s"), (int, float)) else None,
    )
    check = CheckRecord(
        camera_id=cam.id,
        checked_at=_utc(obs.started_at or time.time()),
        verdict="onvif_ok" if obs.ok else "onvif_problem",
        failure=None,
        findings=list(outcome.findings),
        measured=measured,
        duration_s=obs.duration,
        node_id=node_id,
    )
    return CheckResult(evaluation=ev, check=check, observation=obs)


def transition_record(result: CheckResult) -> TransitionRecord | None:
    t = result.evaluation.transition
    if t is None:
        return None
    return TransitionRecord(
        camera_id=t.camera_id,
        at=_utc(t.at),
        from_state=t.from_status.value,
        to_state=t.to_status.value,
        reason=t.reason,
        reason_data=t.reason_data.model_dump() if t.reason_data else None,
        findings=list(t.findings),
    )


def snapshot_evidence(jpeg: bytes, kind: EvidenceKind, at: float, width: int | None = None,
                      height: int | None = None) -> EvidenceRecord:
    return EvidenceRecord(kind=kind, taken_at=_utc(at), jpeg=jpeg, width=width, height=height)


def evidence_copy(stored: EvidenceRecord, kind: EvidenceKind) -> EvidenceRecord:
    """A stored picture to attach to a transition, as `kind`, keeping the time it was taken."""
    return stored.model_copy(update={"id": None, "kind": kind})
