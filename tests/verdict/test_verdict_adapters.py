"""Outcomes from the probes' own objects (and from a real RTSP server), and the national labels."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pydantic import ValidationError
from verdict_helpers import FAIL, OK, T0, Driver, onvif

from camcheck.probe.observation import Observation, StreamFacts, verdict_for
from camcheck.verdict import (
    CameraState,
    RegisteredClaims,
    Status,
    StatusPolicy,
    evaluate,
    from_observation,
    from_onvif,
    label_for,
    label_for_status,
    new_state,
)
from camcheck.verdict.status import from_onvif_observation


def observation(failure: str | None = None, findings: tuple[str, ...] = (), **stream: object) -> Observation:
    fs = list(findings) if failure is None else [failure, *findings]  # the probe lists the failure too
    return Observation(
        url="rtsp://10.0.0.5:554/Streaming/Channels/102",
        verdict=verdict_for(failure, fs),
        failure=failure,
        message="test",
        stream=StreamFacts(**stream),
        findings=fs,
        started_at=T0,
        snapshot_jpeg=b"\xff\xd8fake" if failure is None else None,
    )


def test_from_observation_healthy_and_failed() -> None:
    out = from_observation(observation(codec="h264", width=1280, height=720, fps=12.1, packet_loss=0.0))
    assert out.failure is None and out.findings == () and out.has_snapshot
    assert (out.facts.width, out.facts.height, out.facts.fps, out.facts.codec) == (1280, 720, 12.1, "h264")
    gaps = out.with_claims(RegisteredClaims(width=1920, height=1080, fps=25))
    assert gaps.findings == ("resolution_below_claim", "fps_below_claim")

    failed = from_observation(observation("refused"))
    assert failed.failure == "refused" and failed.findings == () and not failed.has_snapshot

    frozen = from_observation(observation(None, ("frozen", "low_fps"), width=640, height=360))
    assert frozen.findings == ("frozen", "low_fps")
    sub = from_observation(observation(width=640, height=360, fps=10.0), stream_role="sub")
    assert sub.with_claims(RegisteredClaims(width=1920, height=1080, fps=25)).findings == ()


def test_from_onvif_strings_and_observation() -> None:
    out = from_onvif(["not_recording", "clock_drift"], T0, retention_days=3.0)
    assert out.source == "onvif" and out.findings == ("not_recording", "clock_drift")
    assert out.with_claims(RegisteredClaims(retention_days=30)).findings[-1] == "retention_below_claim"
    with pytest.raises(ValueError, match="not ONVIF findings"):
        from_onvif(["frozen"], T0)

    from camcheck.probe.onvif import OnvifObservation

    obs = OnvifObservation(host="10.0.0.9", port=80, started_at=T0, message="recorder checked")
    obs.add("not_recording", "no data for 2 h")
    obs.add("retention_short", "keeps 3.0 days; 30 days required")
    obs.recording = {"profile_g": True, "recordings": [{"retention_days": 3.0}, {"retention_days": 4.5}]}
    obs.max_resolution = {"width": 1920, "height": 1080}
    out = from_onvif_observation(obs)
    assert out.findings == ("not_recording", "retention_short")
    assert out.facts.retention_days == 3.0 and out.facts.max_width == 1920 and out.at == T0


def test_a_driver_fed_from_observations() -> None:
    d = Driver()
    d.feed(lambda t: from_observation(observation(codec="h264", width=640, height=360, fps=25.0)))
    for _ in range(3):
        d.feed(lambda t: from_observation(observation("timeout_connect")))
    assert d.statuses() == [("unknown", "working"), ("working", "broken")]
    assert d.transitions[-1].failure == "timeout_connect"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.peer
@pytest.mark.timeout(60)
async def test_outcomes_from_real_probes_against_gstreamer() -> None:
    """A real stream from Debian's GStreamer RTSP server, then a port nobody listens on."""
    from camcheck.probe.observation import RtspSettings, RtspTarget
    from camcheck.probe.rtsp import probe_rtsp
    from tests.peers import gst

    if not gst.available():
        pytest.skip("GStreamer RTSP server (python3-gi) not installed")

    async def probe(url: str) -> Observation:
        deadline = asyncio.get_running_loop().time() + 8.0
        return await probe_rtsp(RtspTarget(url=url), RtspSettings(window=1.0), deadline)

    policy = StatusPolicy()
    state = new_state("gst-cam")
    with gst.gst_rtsp_server([{"path": "/cam", "launch": gst.h264_launch(width=320, height=240), "protocols": "tcp"}]) as srv:
        obs = await probe(srv.url("/cam"))
    assert obs.failure is None, obs.message
    out = from_observation(obs).with_claims(RegisteredClaims(width=1920, height=1080, fps=25))
    assert out.findings[-1] == "resolution_below_claim"  # 320x240 measured, 1080p claimed
    assert out.claim_findings[0].measured == "320x240"
    ev = evaluate(state, out, T0, policy, None)
    assert ev.severity == "degraded" and ev.state.status == Status.unknown  # waits for confirmation

    url = f"rtsp://127.0.0.1:{_closed_port()}/cam"
    now = T0
    for _ in range(3):
        now = ev.next_check.at
        failed = await probe(url)
        ev = evaluate(ev.state, from_observation(failed), now, policy, None)
    assert failed.failure == "refused", failed.message
    assert ev.transition is not None and ev.transition.to_status == Status.broken
    assert ev.transition.failure == "refused" and label_for(ev.state).en == "not working"


# --- labels ---------------------------------------------------------------------------------


def test_labels_by_status_and_cause() -> None:
    assert label_for_status(Status.working).th == "ใช้ได้ปกติ"
    assert label_for_status(Status.degraded).en == "working normally"
    assert label_for_status(Status.maintenance).th == "อยู่ระหว่างการซ่อมแซม"
    assert label_for_status(Status.broken, ["unreachable"]).th == "ใช้งานไม่ได้"
    assert label_for_status(Status.broken, ["frozen"]).th == "ชำรุด"
    assert label_for_status(Status.broken, ["not_recording"]).en == "broken"
    unknown = label_for_status(Status.unknown)
    assert not unknown.national and unknown.code == "unverified"
    assert label_for_status(Status.flapping, flap_worst=Status.broken).code == "not_working"
    assert label_for_status(Status.flapping, flap_worst=Status.degraded).code == "working_normally"


def test_label_from_state() -> None:
    d = Driver()
    d.feed_all([OK, FAIL, FAIL, FAIL])
    assert label_for(d.state).code == "not_working"
    d2 = Driver()
    d2.feed(OK)
    d2.feed_all([lambda t: onvif(t, "not_recording")] * 3)
    assert label_for(d2.state).code == "broken"
    assert label_for(CameraState(camera_id="x")).code == "unverified"


def test_outcome_requires_time() -> None:
    with pytest.raises(ValidationError):
        from_onvif([], float("inf"))
