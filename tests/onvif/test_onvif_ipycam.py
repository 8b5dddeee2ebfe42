"""Against an ONVIF implementation we did not write: PyPI's ipycam (served on 127.0.0.1 only).

ipycam is installed by scripts/install-test-peers.sh (with --no-deps: its opencv-python requirement
clashes with opencv-python-headless). Its known bugs (TEST-PEERS.md) shape what is asserted:
GetSystemDateAndTime demands credentials, there is no Media2 and no Profile G, and
GetVideoEncoderConfigurations answers an empty list.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from camcheck.probe.onvif import sub_stream_url
from onvif_helpers import run_probe

pytestmark = [pytest.mark.peer, pytest.mark.timeout(90)]

import importlib.metadata
import importlib.util

# Found, not imported: ipycam runs in its own process (its import pulls in cv2 and its own logging).
if importlib.util.find_spec("ipycam") is None:
    pytest.skip("ipycam missing: run scripts/install-test-peers.sh", allow_module_level=True)
IPYCAM_VERSION = importlib.metadata.version("ipycam")
SERVER = str(Path(__file__).with_name("onvif_ipycam_server.py"))


@asynccontextmanager
async def ipycam_server(password: str, clock_offset_s: int = 0) -> AsyncIterator[int]:
    cmd = [sys.executable, SERVER, "admin", password]
    if clock_offset_s:
        faketime = shutil.which("faketime")
        if faketime is None:
            pytest.fail("faketime (Debian package) is needed to give ipycam a wrong clock")
        cmd = [faketime, "-f", f"{clock_offset_s:+d}s", *cmd]
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line.strip().isdigit():
            err = await asyncio.wait_for(proc.stderr.read(), 5)
            pytest.fail(f"ipycam server did not start: {line!r} {err.decode()[-800:]}")
        yield int(line)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_device_info_profiles_stream_uri_and_clock() -> None:
    async with ipycam_server("ipy-pass") as port:
        obs = await run_probe(port, password="ipy-pass")
    assert obs.device == {"manufacturer": "PythonCam", "model": "VirtualCam-1", "firmware": IPYCAM_VERSION, "serial": "PY-000001", "hardware_id": "PY-HW-01"}
    assert obs.clock["requires_auth"] is True  # ipycam's non-conformance, handled
    assert abs(obs.clock["offset_s"]) < 2
    main, sub = obs.profiles
    assert (main["source"], main["encoding"], main["width"], main["height"], main["fps_limit"]) == ("media1", "H264", 1920, 1080, 30.0)
    assert main["bitrate_limit_kbps"] == 4096 and main["stream_uri"] == "rtsp://127.0.0.1:8554/video_main"
    assert (sub["width"], sub["height"], sub["stream_uri"]) == (640, 360, "rtsp://127.0.0.1:8554/video_sub")
    # A camera registered by its main stream as seen through NAT: the daemon's sub-stream for it.
    assert sub_stream_url("rtsp://203.0.113.9/video_main", obs.profiles) == "rtsp://203.0.113.9/video_sub"
    assert sub_stream_url("rtsp://127.0.0.1:8554/video_sub", obs.profiles) is None  # already the smaller stream
    assert "media2" not in obs.services
    assert obs.codes() == ["no_profile_g"] and obs.ok


async def test_clock_offset_of_a_camera_with_a_wrong_clock() -> None:
    # 10 minutes ahead: beyond ipycam's own 300 s WS-Security window, so signing on our clock fails;
    # the probe reads the offset from the HTTP Date header and signs on the camera's clock.
    async with ipycam_server("ipy-pass", clock_offset_s=600) as port:
        obs = await run_probe(port, password="ipy-pass")
    assert 597 < obs.clock["offset_s"] < 603
    assert obs.codes() == ["clock_drift", "no_profile_g"]
    assert obs.device["model"] == "VirtualCam-1"


async def test_wrong_password() -> None:
    async with ipycam_server("ipy-pass") as port:
        obs = await run_probe(port, password="wrong")
    assert obs.codes() == ["onvif_auth_failed"] and not obs.ok
