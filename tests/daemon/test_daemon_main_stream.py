"""What only the recorded (main) stream shows, in the daemon. It reads the sub-stream for most checks
and the main stream once per claims interval, so what a main-stream check finds must be confirmed
(and its cure proven) on the main stream, never dismissed by the cheap sub-stream checks in between:

- a dead main stream while the sub-stream plays on is broken, and stays so until the main stream is back;
- registry claims the main stream contradicts (1920x1080 25 fps registered, 640x360 10 fps delivered)
  make the camera degraded, and it stays so across the sub-stream checks;
- and the other way round: a dead sub-stream while the main stream plays is degraded
  (`sub_stream_down`: the live view is lost, not the footage), with the main stream checked in its place.

Against the simulator: one registered camera's main stream is served by one simulated camera and its
sub-stream by another, so each can fail alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from camcheck.daemon.app import build_daemon
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet
from tests.daemon.helpers import MAIN, PASSWORD, daemon_config, fleet_config, wait_for

pytestmark = pytest.mark.timeout(240)


async def test_what_the_main_stream_shows_is_judged_on_the_main_stream(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    # y-main and y-sub share honest's clips (same streams, scene and OSD text): nothing more to encode
    same = {"osd_text": "honest"}
    async with running_fleet(fleet_config(["rec", "live", "big-claim", "honest", "y-main", "y-sub"],
                                          **{"y-main": same, "y-sub": same})) as fleet:
        store = await open_store(db, migrate=True)
        as_registered = (MAIN["width"], MAIN["height"], MAIN["fps"])
        claims = {"cam-x": as_registered, "big-claim": (1920, 1080, 25), "honest": as_registered,
                  "cam-y": as_registered}
        served = {"cam-x": ("rec", "live"), "cam-y": ("y-main", "y-sub")}
        await store.upsert_cameras([CameraRecord(
            id=cid, name=cid, credentials_ref="sim", recorded_width=w, recorded_height=h, frame_rate=fps,
            main_stream_url=fleet.url(served.get(cid, (cid, cid))[0], "main"),
            sub_stream_url=fleet.url(served.get(cid, (cid, cid))[1], "sub"),
        ) for cid, (w, h, fps) in claims.items()])
        # the main stream is due every 6 s (the claims interval), the sub-stream read in between
        config = daemon_config(db, interval=1.5)
        config.schedule.onvif_interval = 6.0
        daemon = build_daemon(config)
        task = asyncio.create_task(daemon.run_forever())

        async def status(cid: str) -> str:
            cam = await store.get_camera(cid)
            return cam.status.value if cam else "missing"

        async def is_(cid: str, want: str) -> bool:
            return await status(cid) == want

        async def streams_read(cid: str) -> set[str | None]:
            return {c.stream for c in await store.list_checks(cid, limit=1000)}

        async def changes(cid: str) -> list[tuple[str, str]]:
            return [(t.from_state.value, t.to_state.value) for t in reversed(await store.list_transitions(cid))]

        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            await wait_for(lambda: is_("cam-x", "working"), 60, "cam-x working")
            await wait_for(lambda: is_("big-claim", "degraded"), 60, "big-claim degraded")
            cam = await store.get_camera("big-claim")
            assert {"resolution_below_claim", "fps_below_claim"} <= set(cam.findings), cam.findings
            assert cam.measured.width == MAIN["width"] and cam.status_reason.startswith("Degraded: ")

            await wait_for(lambda: is_("cam-y", "working"), 60, "cam-y working")
            await fleet.set_fault("rec", "offline")  # the recorded stream is gone; the sub-stream plays on
            await fleet.set_fault("y-sub", "not_found")  # the live view is gone; the recorded stream plays on
            await wait_for(lambda: is_("cam-x", "broken"), 60, "cam-x broken: its main stream is dead")
            cam = await store.get_camera("cam-x")
            assert cam is not None and "refused" in cam.findings
            assert cam.status_reason_data and cam.status_reason_data["code"] == "broken_stream"
            failing = [c for c in await store.list_checks("cam-x", limit=1000) if c.failure == "refused"]
            assert len(failing) >= 3 and {c.stream for c in failing} == {"main"}
            # while broken, the sub-stream's good pictures do not clear it: checks keep reading main
            await asyncio.sleep(4)
            assert await status("cam-x") == "broken"

            await wait_for(lambda: is_("cam-y", "degraded"), 60, "cam-y degraded: its sub-stream is dead")
            cam = await store.get_camera("cam-y")
            assert cam is not None and cam.findings == ["sub_stream_down"], cam.findings
            assert cam.status_reason.startswith("Degraded: the sub-stream (live view) delivers nothing; the recorded "
                                                "stream plays (sub-stream rtsp://127.0.0.1:"), cam.status_reason
            assert "/cam/y-sub/sub: not_found: " in cam.status_reason and "404" in cam.status_reason
            assert PASSWORD not in cam.status_reason
            # the main stream stood in for each failed sub-stream check; no failure was counted
            down = [c for c in await store.list_checks("cam-y", limit=1000) if "sub_stream_down" in c.findings]
            assert len(down) >= 2 and {(c.stream, c.failure, c.verdict) for c in down} == {("main", None, "degraded")}
            assert not [c for c in await store.list_checks("cam-y", limit=1000) if c.failure]

            await fleet.set_fault("rec", "healthy")
            await fleet.set_fault("y-sub", "healthy")
            await wait_for(lambda: is_("cam-x", "working"), 60, "cam-x working once its main stream is back")
            assert await changes("cam-x") == [("unknown", "working"), ("working", "broken"), ("broken", "working")]
            await wait_for(lambda: is_("cam-y", "working"), 60, "cam-y working once its sub-stream is back")
            assert await changes("cam-y") == [("unknown", "working"), ("working", "degraded"), ("degraded", "working")]
            # all this while (claims intervals of sub-stream checks), the claims gap stayed confirmed
            assert await changes("big-claim") == [("unknown", "degraded")]
            assert await streams_read("big-claim") == {"main", "sub"}
            assert await changes("honest") == [("unknown", "working")]
            # a healthy camera's main stream is read once per claims interval (6 s here), the sub between
            honest = sorted(await store.list_checks("honest", limit=1000), key=lambda c: c.checked_at)
            mains = [c.checked_at.timestamp() for c in honest if c.stream == "main"]
            span = honest[-1].checked_at.timestamp() - honest[0].checked_at.timestamp()
            assert len(mains) >= span / 6.0 - 1 and len(mains) < len(honest) / 2, (len(mains), len(honest), span)
            assert max(b - a for a, b in zip(mains, mains[1:])) < 6.0 + 4.0  # the interval plus one check's gap
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()
