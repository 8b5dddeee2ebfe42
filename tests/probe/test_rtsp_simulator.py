"""The probe against camcheck's simulator: every fault profile gives the expected verdict/finding."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from camcheck.probe.observation import RtspSettings, RtspTarget
from camcheck.probe.rtsp import probe_rtsp
from camcheck.secrets import split_credentials
from camcheck.simulator.testing import ProcessFleetHandle, fleet_process
from tests.probe._probe_util import assert_failure, first_pass_threads, probe

pytestmark = [pytest.mark.timeout(120)]

PASSWORD = "s1m-Pa55word"
# The simulator tests' stream specs, so both share the encoded clip cache.
M264 = {"codec": "h264", "width": 640, "height": 360, "fps": 25, "gop": 25, "bitrate_kbps": 512}
S264 = {"codec": "h264", "width": 320, "height": 180, "fps": 15, "gop": 30, "bitrate_kbps": 256}
M265 = {**M264, "codec": "h265"}
LONG_GOP = {**S264, "fps": 25, "gop": 200}  # a keyframe every 8 s ("smart codec")

FAILURE_CAMERAS: dict[str, tuple[Any, str, dict]] = {
    # camera id: (fault, expected failure, probe kwargs)
    "offline": ("offline", "refused", {}),
    "blackhole": ("blackhole", "timeout_response", {"timeout": 1.5}),
    "slow": ({"fault": "slow", "delay_s": 3}, "timeout_response", {"timeout": 1.5}),
    "authfail": ("auth_fail", "auth_failed", {}),
    "notfound": ("not_found", "not_found", {}),
    "limit453": ({"fault": "session_limit", "limit": 0, "status": 453}, "session_limit", {}),
    "limit503": ({"fault": "session_limit", "limit": 0, "status": 503}, "session_limit", {}),
    "noframes": ("no_frames", "no_frames", {"timeout": 2.0}),
    "stall": ({"fault": "stall_after", "after_s": 0.5}, "stalled", {"window": 2.0}),
    "garbage": ("garbage", "protocol_error", {}),
}
IMAGE_CAMERAS = {"frozen": "frozen", "black": "black", "covered": "covered", "blurred": "blurred",
                 "overexposed": "overexposed"}


def fleet_dict() -> dict[str, Any]:
    cams: list[dict[str, Any]] = [
        {"id": "healthy"}, {"id": "static", "fault": "static"}, {"id": "night", "fault": "night"},
        {"id": "h265", "main": M265},
        {"id": "offport", "fault": "offline", "port": 0},
        {"id": "lowfps", "fault": {"fault": "low_fps", "fps": 5}},
        {"id": "wrongres", "fault": "wrong_resolution"},
        {"id": "lossy", "fault": {"fault": "packet_loss", "percent": 10}},
        {"id": "moved", "fault": "moved"},
        {"id": "frozen265", "fault": "frozen", "main": M265, "scene": "parking"},
        {"id": "static265", "fault": "static", "main": M265, "scene": "parking"},
        {"id": "frozenlonggop", "fault": "frozen", "main": LONG_GOP},
        {"id": "frozenlonggoplive", "fault": "frozen", "main": LONG_GOP, "start": "live"},
    ]
    cams += [{"id": cid, "fault": fault} for cid, (fault, _, _) in FAILURE_CAMERAS.items()]
    cams += [{"id": cid, "fault": cid} for cid in IMAGE_CAMERAS]
    return {
        "session_timeout_s": 60,
        "defaults": {"main": M264, "sub": S264, "osd_text": "CAMCHECK TEST",
                     "credentials": {"username": "admin", "password": PASSWORD, "auth": "digest"}},
        "cameras": cams,
    }


@pytest.fixture(scope="module")
def fleet() -> Iterator[ProcessFleetHandle]:
    with fleet_process(fleet_dict()) as f:
        yield f


def url(fleet: ProcessFleetHandle, cid: str) -> str:
    return fleet.url(cid, "main", credentials=True)


@pytest.mark.parametrize("cid,transport", [("healthy", "tcp"), ("healthy", "udp"), ("static", "tcp"),
                                           ("night", "tcp"), ("h265", "tcp"), ("night", "udp"),
                                           ("static265", "tcp")])
async def test_healthy_profiles_are_working(fleet, cid, transport):
    obs = await probe(url(fleet, cid), transport=transport, window=2.0)
    assert obs.verdict == "working", (obs.findings, obs.message, obs.image)
    # A live sensor's grain is in every inter frame: none is coded as skips only.
    assert obs.image["empty_frames"] is not None and obs.image["empty_frames"] <= 0.1, obs.image
    st = obs.stream
    assert (st.width, st.height) == (640, 360)
    assert st.fps == pytest.approx(25, rel=0.05) and st.gop_s == pytest.approx(1.0, rel=0.05)
    assert st.packet_loss == 0


@pytest.mark.parametrize("inline", [True, False], ids=["sub-stream size: probe's thread", "bigger: worker thread"])
async def test_picture_passes_run_where_the_picture_size_says(fleet, monkeypatch, inline):
    import threading

    from camcheck.probe import pictures

    ran_on = first_pass_threads(monkeypatch)
    if not inline:  # this 640x360 stream then counts as big
        monkeypatch.setattr(pictures, "INLINE_MAX_PIXELS", 640 * 360 - 1)
    obs = await probe(url(fleet, "healthy"), window=2.0)
    assert obs.verdict == "working", (obs.findings, obs.message)
    assert obs.image and obs.image["sharpness"] is not None
    assert len(ran_on) == 1
    assert (ran_on[0] == threading.get_ident()) is inline


@pytest.mark.parametrize("cid", list(FAILURE_CAMERAS))
async def test_failure_profiles(fleet, cid):
    _, failure, kw = FAILURE_CAMERAS[cid]
    obs = await probe(url(fleet, cid), **kw)
    assert_failure(obs, failure)
    if "timeout" in kw:
        assert obs.duration <= kw["timeout"] + 0.3
    assert PASSWORD not in json.dumps(obs.to_dict())


async def test_really_closed_port_is_refused(fleet):
    obs = await probe(url(fleet, "offport"))
    assert_failure(obs, "refused")


async def test_long_gop_frozen_camera_needs_and_gets_a_longer_keyframe_wait(fleet):
    # Joined mid-GOP (no GOP cache), the default wait (4 s after the first keyframe) sees one keyframe.
    short = await probe(url(fleet, "frozenlonggoplive"), window=2.0, timeout=16.0)
    assert short.failure is None, short.message
    assert short.stream.gop_s is None and short.stream.gop_min_s is not None and short.stream.gop_min_s >= 3.0
    assert "frozen" not in short.findings and "frozen not judged" in short.message
    # With a GOP cache the session starts at the last keyframe and gets the rest of that GOP at once:
    # up to 8 s of frames in one burst, then real time (the measured fps must not count the burst).
    long = await probe(url(fleet, "frozenlonggop"), window=2.0, keyframe_wait=10.0, timeout=16.0)
    assert long.failure is None, long.message
    assert "frozen" in long.findings, (long.findings, long.image)
    st = long.stream
    assert st.gop_s == pytest.approx(8.0, rel=0.02) and st.gop_min_s is None
    assert st.fps == pytest.approx(25, rel=0.05), st


@pytest.mark.parametrize("cid", list(IMAGE_CAMERAS))
async def test_image_fault_profiles(fleet, cid):
    # Frozen: three checks in a row, each window at another place in the simulator's loop (its first
    # keyframe included), each suspects it: x264's frozen keyframes differ by re-quantisation only
    # (tests/data/image-calibration.json). (x265's may not: see the calibration's H.265 frozen case.)
    for _ in range(3 if cid == "frozen" else 1):
        obs = await probe(url(fleet, cid), window=2.0)
        assert obs.failure is None, obs.message
        assert IMAGE_CAMERAS[cid] in obs.findings, (obs.findings, obs.image)
        assert obs.verdict in ("degraded", "broken")


async def test_h265_frozen_camera_is_suspected_in_every_check_from_its_empty_inter_frames(fleet):
    # x265 re-codes the frozen picture's keyframes at another quality (K1 vs K2 alone often looks
    # live: tests/data/image-calibration.json); its inter frames, coded as skips, do not.
    from camcheck.probe.image import DEFAULT_THRESHOLDS

    for _ in range(3):
        obs = await probe(url(fleet, "frozen265"), window=2.0)
        assert obs.failure is None, obs.message
        assert "frozen" in obs.findings, (obs.findings, obs.image)
        assert obs.image["empty_frames"] >= DEFAULT_THRESHOLDS.frozen_min_empty_frames, obs.image


async def test_moved_camera_against_reference(fleet):
    ref = await probe(url(fleet, "healthy"), window=1.0, want_snapshot=True)
    assert ref.snapshot_jpeg
    same = await probe(url(fleet, "healthy"), window=1.0, reference_image=ref.snapshot_jpeg)
    assert "scene_changed" not in same.findings, same.image
    moved = await probe(url(fleet, "moved"), window=1.0, reference_image=ref.snapshot_jpeg)
    assert "scene_changed" in moved.findings, moved.image


async def test_low_fps(fleet):
    obs = await probe(url(fleet, "lowfps"), window=2.0)
    assert obs.failure is None, obs.message
    assert "low_fps" in obs.findings and obs.verdict == "degraded"
    assert obs.stream.fps == pytest.approx(5, rel=0.1) and obs.stream.fps_declared == 25


async def test_wrong_resolution(fleet):
    obs = await probe(url(fleet, "wrongres"), window=1.0, expected_width=640, expected_height=360)
    assert "resolution_mismatch" in obs.findings, obs.message
    assert (obs.stream.width, obs.stream.height) == (320, 180)


async def test_packet_loss_over_udp(fleet):
    obs = await probe(url(fleet, "lossy"), transport="udp", window=2.0)
    assert "packet_loss" in obs.findings, obs.message
    assert 0.03 < obs.stream.packet_loss < 0.3


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_session_is_torn_down(fleet, transport):
    obs = await probe(url(fleet, "static"), transport=transport, window=0.5)
    assert obs.failure is None
    for _ in range(50):
        sessions = {c["id"]: c["sessions"] for c in fleet.cameras()}
        if sessions["static"] == 0:
            break
        await asyncio.sleep(0.05)
    assert sessions["static"] == 0


async def test_cancelled_udp_probe_frees_the_session(fleet):
    bare, user, password = split_credentials(url(fleet, "night"))
    target = RtspTarget(bare, user, password, transport="udp")
    task = asyncio.create_task(probe_rtsp(target, RtspSettings(window=5), asyncio.get_running_loop().time() + 10))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if {c["id"]: c["sessions"] for c in fleet.cameras()}["night"]:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if {c["id"]: c["sessions"] for c in fleet.cameras()}["night"] == 0:
            break
        await asyncio.sleep(0.05)
    assert {c["id"]: c["sessions"] for c in fleet.cameras()}["night"] == 0


def test_cli_json_and_exit_codes(fleet, tmp_path):
    env = {**os.environ, "CAM_PW": PASSWORD}
    bare = fleet.url("healthy", "main")
    snap = tmp_path / "snap.jpg"
    r = subprocess.run([sys.executable, "-m", "camcheck", "--log-level", "DEBUG", "probe", bare, "--user", "admin",
                        "--password-env", "CAM_PW", "--json", "--window", "1", "--snapshot", str(snap),
                        "--expect-resolution", "640x360", "--expect-fps", "25"],
                       capture_output=True, text=True, timeout=60, env=env)
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["verdict"] == "working", out
    for key in ("url", "verdict", "failure", "timings", "stream", "image", "findings", "message"):
        assert key in out
    assert snap.read_bytes()[:2] == b"\xff\xd8"
    # credentials in the URL: accepted, warned about, never printed
    r = subprocess.run([sys.executable, "-m", "camcheck", "--log-level", "DEBUG", "probe", url(fleet, "notfound")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "warning" in r.stderr and "shell history" in r.stderr
    assert PASSWORD not in r.stdout + r.stderr
    assert "not_found" in r.stdout
    r = subprocess.run([sys.executable, "-m", "camcheck", "probe", url(fleet, "lowfps"), "--json", "--window", "2"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and json.loads(r.stdout)["verdict"] == "degraded"
