"""The recorded (main) stream dies while the sub-stream lives on: the daemon reads the sub-stream
for most checks and the main stream once per claims interval, so a failure seen on the main stream
must be confirmed (and its recovery proven) on the main stream, not dismissed by the next cheap
sub-stream check. Against the simulator: one registered camera whose main stream is served by one
simulated camera and whose sub-stream by another, so each can fail alone."""

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


async def test_a_dead_main_stream_is_confirmed_on_the_main_stream(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    async with running_fleet(fleet_config(["rec", "live"])) as fleet:
        store = await open_store(db, migrate=True)
        await store.upsert_cameras([CameraRecord(
            id="cam-x", name="main and sub from two sources", main_stream_url=fleet.url("rec", "main"),
            sub_stream_url=fleet.url("live", "sub"), credentials_ref="sim", recorded_width=MAIN["width"],
            recorded_height=MAIN["height"], frame_rate=MAIN["fps"])])
        # the main stream is due every 6 s (the claims interval), the sub-stream read in between
        config = daemon_config(db, interval=1.5)
        config.schedule.onvif_interval = 6.0
        daemon = build_daemon(config)
        task = asyncio.create_task(daemon.run_forever())

        async def status() -> str:
            cam = await store.get_camera("cam-x")
            return cam.status.value if cam else "missing"

        async def streams_read() -> set[str | None]:
            return {c.stream for c in await store.list_checks("cam-x", limit=1000)}

        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            await wait_for(lambda: _is(status, "working"), 60, "cam-x working")
            await wait_for(lambda: _has(streams_read, {"main", "sub"}), 30, "both streams read")

            await fleet.set_fault("rec", "offline")  # the recorded stream is gone; the sub-stream plays on
            await wait_for(lambda: _is(status, "broken"), 60, "cam-x broken: its main stream is dead")
            cam = await store.get_camera("cam-x")
            assert cam is not None and "refused" in cam.findings
            assert cam.status_reason_data and cam.status_reason_data["code"] == "broken_stream"
            checks = await store.list_checks("cam-x", limit=1000)
            failing = [c for c in checks if c.failure == "refused"]
            assert len(failing) >= 3 and {c.stream for c in failing} == {"main"}
            # while broken, the sub-stream's good pictures do not clear it: checks keep reading main
            await asyncio.sleep(5)
            assert await status() == "broken"

            await fleet.set_fault("rec", "healthy")
            await wait_for(lambda: _is(status, "working"), 60, "cam-x working once its main stream is back")
            changes = [(t.from_state.value, t.to_state.value) for t in reversed(await store.list_transitions("cam-x"))]
            assert changes == [("unknown", "working"), ("working", "broken"), ("broken", "working")]
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()


async def _is(status, want: str) -> bool:  # noqa: ANN001
    return await status() == want


async def _has(streams_read, want: set[str]) -> bool:  # noqa: ANN001
    return want <= await streams_read()
