"""Registered claims against what the main (recorded) stream delivers, in the daemon: a camera
registered at 1920x1080 25 fps whose main stream is 640x360 10 fps is `degraded` with
`resolution_below_claim` and `fps_below_claim`, and stays so while the checks in between read its
sub-stream (whose size and rate say nothing of what is recorded). Against the simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from camcheck.daemon.app import build_daemon
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet
from tests.daemon.helpers import PASSWORD, daemon_config, fleet_config, wait_for

pytestmark = pytest.mark.timeout(240)


async def test_claims_the_main_stream_contradicts_make_the_camera_degraded(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    async with running_fleet(fleet_config(["big-claim", "honest"])) as fleet:
        store = await open_store(db, migrate=True)
        await store.upsert_cameras([
            CameraRecord(id=cid, name=cid, main_stream_url=fleet.url(cid, "main"), sub_stream_url=fleet.url(cid, "sub"),
                         credentials_ref="sim", recorded_width=w, recorded_height=h, frame_rate=fps)
            for cid, (w, h, fps) in {"big-claim": (1920, 1080, 25), "honest": (640, 360, 10)}.items()
        ])
        config = daemon_config(db, interval=1.5)
        config.schedule.onvif_interval = 8.0  # the main stream every 8 s, the sub-stream in between
        daemon = build_daemon(config)
        task = asyncio.create_task(daemon.run_forever())

        async def state(cid: str) -> tuple[str, list]:
            cam = await store.get_camera(cid)
            return (cam.status.value, list(cam.findings or [])) if cam else ("missing", [])

        async def degraded() -> bool:
            return (await state("big-claim"))[0] == "degraded"

        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            await wait_for(degraded, 60, "big-claim degraded")
            status, findings = await state("big-claim")
            assert {"resolution_below_claim", "fps_below_claim"} <= set(findings), findings
            # it stays degraded across the sub-stream checks of two claims intervals
            streams = set()
            for _ in range(40):
                await asyncio.sleep(0.5)
                assert (await state("big-claim"))[0] == "degraded"
                streams |= {c.stream for c in await store.list_checks("big-claim", limit=20)}
            assert streams == {"main", "sub"}
            assert await state("honest") == ("working", [])
            cam = await store.get_camera("big-claim")
            assert cam.measured.width == 640 and cam.status_reason.startswith("Degraded: ")
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()
