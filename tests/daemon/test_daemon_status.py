"""The daemon against the simulator and a real SQLite registry: cameras are flagged within the
confirmation time, recover when fixed, with exactly one transition each way."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from camcheck.daemon.app import build_daemon
from camcheck.exporters.api.reason_words import reason_text
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet
from camcheck.verdict.reasons import Reason, english

from tests.daemon.helpers import PASSWORD, daemon_config, fleet_config, register, wait_for

pytestmark = pytest.mark.timeout(240)


async def _transitions(store, cid):  # noqa: ANN001
    return [(t.from_state.value, t.to_state.value) for t in reversed(await store.list_transitions(cid))]


async def test_offline_and_frozen_are_flagged_and_recover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    ids = ["cam-a", "cam-b"]
    async with running_fleet(fleet_config(ids)) as fleet:
        store = await open_store(db, migrate=True)
        await register(store, fleet, ids)
        daemon = build_daemon(daemon_config(db))
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)

            async def status(cid: str) -> str:
                cam = await store.get_camera(cid)
                return cam.status.value if cam else "missing"

            await wait_for(lambda: _all(status, ids, "working"), 60, "both cameras working")

            await fleet.set_fault("cam-a", "offline")
            await wait_for(lambda: _is(status, "cam-a", "broken"), 60, "cam-a broken after going offline")
            cam = await store.get_camera("cam-a")
            assert cam is not None and cam.status_reason and "refused" in cam.status_reason.lower() or "refused" in (cam.findings or [])
            # the reason is kept as data too (pages and reports say it in Thai), with the same words
            data = cam.status_reason_data
            assert data is not None and data["code"] == "broken_stream" and data["args"]["n"] >= 3
            assert english(Reason.model_validate(data)) == cam.status_reason
            th = reason_text(cam.status_reason, data, "th")
            assert th.startswith(f"ไม่ได้รับภาพที่ใช้งานได้ {data['args']['n']} ครั้งติดต่อกัน ตั้งแต่ ")
            assert "กล้องปฏิเสธการเชื่อมต่อ" in th  # refused, in Thai
            to_broken = next(t for t in await store.list_transitions("cam-a") if t.to_state.value == "broken")
            assert to_broken.reason_data == data and to_broken.reason == cam.status_reason
            assert await status("cam-b") == "working"  # its neighbour is untouched

            await fleet.set_fault("cam-a", "healthy")
            await wait_for(lambda: _is(status, "cam-a", "working"), 60, "cam-a working again")
            assert await _transitions(store, "cam-a") == [
                ("unknown", "working"), ("working", "broken"), ("broken", "working")
            ]

            await fleet.set_fault("cam-b", "frozen")
            await wait_for(lambda: _is(status, "cam-b", "broken"), 90, "cam-b broken after freezing")
            cam = await store.get_camera("cam-b")
            assert "frozen" in (cam.findings or [])
            await fleet.set_fault("cam-b", "healthy")
            await wait_for(lambda: _is(status, "cam-b", "working"), 60, "cam-b working again")
            assert await _transitions(store, "cam-b") == [
                ("unknown", "working"), ("working", "broken"), ("broken", "working")
            ]
            # Evidence: the change to broken carries the snapshot at the change and the last good one.
            ts = await store.list_transitions("cam-b")
            to_broken = next(t for t in ts if t.to_state.value == "broken")
            pics = {p.kind.value: p for p in [await store.get_evidence(e) for e in to_broken.evidence_ids]}
            assert sorted(pics) == ["at_change", "last_good"]
            # each with the time it was taken: the good one before the change (dated the change, it
            # passed for the latest picture, and the dashboard showed a good view of a frozen camera)
            assert pics["last_good"].taken_at < pics["at_change"].taken_at <= to_broken.at + timedelta(seconds=1)
            # Every check is on record, none of them with the password.
            checks = await store.list_checks("cam-a", limit=1000)
            assert len(checks) >= 6
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()


async def _is(status, cid: str, want: str) -> bool:  # noqa: ANN001
    return await status(cid) == want


async def _all(status, ids: list[str], want: str) -> bool:  # noqa: ANN001
    return all([await status(c) == want for c in ids])


async def test_not_recording_is_flagged_and_recovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorder stops (ONVIF Profile G): broken within the confirmation time, then back."""
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    fleet_cfg = fleet_config(["rec-1"])
    fleet_cfg["onvif_port_base"] = 0
    async with running_fleet(fleet_cfg) as fleet:
        store = await open_store(db, migrate=True)
        await register(store, fleet, ["rec-1"])
        cam = await store.get_camera("rec-1")
        await store.upsert_cameras([cam.model_copy(update={"onvif_endpoint": fleet.onvif_endpoint("rec-1")})])
        cfg = daemon_config(db)
        cfg.schedule.onvif_interval = 2.0
        daemon = build_daemon(cfg)
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)

            async def status(cid: str) -> str:
                c = await store.get_camera(cid)
                return c.status.value if c else "missing"

            await wait_for(lambda: _is(status, "rec-1", "working"), 60, "rec-1 working")
            c = await store.get_camera("rec-1")
            assert c.measured.recording_active is True and c.measured.retention_days is not None

            await fleet.set_onvif_faults("rec-1", ["not_recording"])
            await wait_for(lambda: _is(status, "rec-1", "broken"), 60, "rec-1 broken when the recorder stops")
            c = await store.get_camera("rec-1")
            assert "not_recording" in (c.findings or []) and c.measured.recording_active is False
            await fleet.set_onvif_faults("rec-1", [])
            await wait_for(lambda: _is(status, "rec-1", "working"), 60, "rec-1 working once it records again")
            assert await _transitions(store, "rec-1") == [
                ("unknown", "working"), ("working", "broken"), ("broken", "working")
            ]
        finally:
            daemon._stop.set()  # noqa: SLF001
            await asyncio.wait_for(task, 60)
            await store.close()
