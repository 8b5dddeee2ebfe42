"""Cameras registered with their main stream only (as most provincial sheets list them): the daemon
finds the sub-stream among the camera's ONVIF profiles and checks liveness there between main-stream
checks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from camcheck.daemon.app import build_daemon
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet

from tests.daemon.helpers import PASSWORD, daemon_config, small_fleet_config, wait_for

pytestmark = pytest.mark.timeout(180)

MAIN_720 = {"codec": "h264", "width": 1280, "height": 720, "fps": 10, "gop": 10, "bitrate_kbps": 1500}
SUB_360 = {"codec": "h264", "width": 640, "height": 360, "fps": 10, "gop": 20, "bitrate_kbps": 384}


async def test_main_only_camera_is_checked_on_the_sub_stream_its_onvif_lists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    ids = ["main-only", "no-onvif", "bad-sub"]
    fleet_cfg = small_fleet_config(ids, max_sessions=2, faults={"main-only": "frozen"})
    for cam in fleet_cfg["cameras"]:
        cam.update(main=MAIN_720, sub=SUB_360)
    # bad-sub's ONVIF lists a sub-stream its RTSP server does not serve (404).
    lan = "rtsp://192.168.1.64:554/cam/bad-sub"
    fleet_cfg["cameras"][2]["onvif"] = {"profiles": [
        {"token": "main", "name": "main", "encoding": "H264", "width": 1280, "height": 720, "fps": 10,
         "bitrate_kbps": 1500, "gov_length": 10, "stream_uri": f"{lan}/main"},
        {"token": "sub", "name": "sub", "encoding": "H264", "width": 640, "height": 360, "fps": 10,
         "bitrate_kbps": 384, "gov_length": 10, "stream_uri": f"{lan}/disabled"},
    ]}
    fleet_cfg["onvif_port_base"] = 0
    async with running_fleet(fleet_cfg) as fleet:
        store = await open_store(db, migrate=True)
        await store.upsert_cameras([
            CameraRecord(id=cid, name=f"camera {cid}", main_stream_url=fleet.url(cid, "main"), credentials_ref="sim",
                         onvif_endpoint=fleet.onvif_endpoint(cid) if cid != "no-onvif" else None,
                         recorded_width=1280, recorded_height=720, frame_rate=10, district="Mueang")
            for cid in ids
        ])
        daemon = build_daemon(daemon_config(db))
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)

            async def stream_checks(cid: str) -> list[tuple[str | None, int | None]]:
                """(stream read, width it measured) of each stream check, oldest first; ONVIF checks
                (stream None) are left out."""
                checks = list(reversed(await store.list_checks(cid, limit=100)))
                return [(c.stream, c.measured.width) for c in checks if c.stream is not None]

            async def stream_widths(cid: str) -> list[int | None]:
                return [w for _, w in await stream_checks(cid)]

            async def status(cid: str) -> str:
                cam = await store.get_camera(cid)
                return cam.status.value if cam else "missing"

            async def broken() -> bool:
                return await status("main-only") == "broken"

            await wait_for(broken, 90, "the frozen camera broken")
            cam = await store.get_camera("main-only")
            assert cam is not None and "frozen" in (cam.findings or []), cam.status_reason
            # The first stream check is the main stream (claims: 1280 wide). A freeze it saw is confirmed
            # on the main stream; one only a sub-stream check saw, on the sub-stream.
            first = await stream_checks("main-only")
            assert first[0] == ("main", 1280), first
            # Healed: once working, the checks read the sub-stream ONVIF lists.
            await fleet.set_fault("main-only", "healthy")
            await wait_for(lambda: _is(status, "main-only", "working"), 90, "the camera working once healed")
            before = len(await stream_checks("main-only"))
            await wait_for(lambda: _more(stream_checks, "main-only", before + 3), 60, "three more checks")
            later = (await stream_checks("main-only"))[before:]
            assert set(later) == {("sub", 640)}, later  # each check keeps what its stream delivered
            streams = [st for st, _ in await stream_checks("main-only")]
            assert len(await store.list_checks("main-only", limit=100)) > len(streams)  # the ONVIF check too
            # The registry's measured facts stay those of the recorded stream: a 1 s GOP, not the sub's 2 s.
            cam = await store.get_camera("main-only")
            assert cam.measured.width == 1280 and cam.measured.gop == pytest.approx(1.0, rel=0.05), cam.measured

            async def checked_thrice() -> bool:
                return min([len(await stream_widths("no-onvif")), len(await stream_widths("bad-sub"))]) >= 3
            await wait_for(checked_thrice, 60, "the cameras without a usable sub-stream checked 3 times")
            assert set(await stream_widths("no-onvif")) == {1280}  # nothing else to check: the main stream
            assert await status("no-onvif") == "working"
            # The sub-stream ONVIF gave failed once (not recorded): the main stream stood in, and stays.
            assert set(await stream_checks("bad-sub")) == {("main", 1280)}
            assert await status("bad-sub") == "working"
            warned = [r.getMessage() for r in caplog.records if "bad-sub" in r.getMessage() and "failed" in r.getMessage()]
            assert len(warned) == 1 and "(not_found)" in warned[0] and "/cam/bad-sub/disabled" in warned[0], warned

            # The blackbox-style /probe of the camera checks the same sub-stream.
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{daemon.http.port}/probe", params={"camera": "main-only"}) as r:
                    body = await r.text()
            assert "camcheck_probe_width 640.0" in body and "camcheck_probe_height 360.0" in body, body
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()


async def _is(status, cid: str, want: str) -> bool:  # noqa: ANN001
    return await status(cid) == want


async def _more(stream_checks, cid: str, n: int) -> bool:  # noqa: ANN001
    return len(await stream_checks(cid)) >= n
