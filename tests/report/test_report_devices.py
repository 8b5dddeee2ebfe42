"""The report's parent device outages (report/data.py device_outages) on a real SQLite registry: a
province's report lists its own devices and those its cameras are behind (up to their site), not
another province's; a site counts the cameras behind its recorders; the longest down first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from camcheck.exporters.report.data import device_outages
from camcheck.registry import incidents
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import open_store

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


async def test_a_provinces_devices_and_the_sites_above_them(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'r.db'}", migrate=True)
    try:
        await store.upsert_parent("site-1", "site", name="Border cabinet")  # no province of its own
        await store.upsert_parent("nvr-a", "nvr", parent_of="site-1", province="A")
        await store.upsert_parent("nvr-b", "nvr", parent_of="site-1", province="B")
        await store.upsert_parent("sw-a", "switch", province="A")
        await store.upsert_cameras([CameraRecord(id=f"a{i}", parent_id="nvr-a", province="A") for i in range(3)]
                                   + [CameraRecord(id=f"b{i}", parent_id="nvr-b", province="B") for i in range(2)])
        async with store.engine.begin() as conn:
            for pid, hours in (("site-1", 5), ("nvr-a", 1), ("nvr-b", 2), ("sw-a", 3)):
                start = NOW - timedelta(days=2)
                await incidents.record(conn, pid, {"started_at": start.timestamp(), "affected": [],
                                                   "ended_at": (start + timedelta(hours=hours)).timestamp()})
        a = await device_outages(store, {"nvr-a"}, "A", NOW)
        assert [(o.id, o.outages, o.down_s / 3600, o.cameras, o.down_now) for o in a] == [
            ("site-1", 1, 5.0, 5, False), ("sw-a", 1, 3.0, 0, False), ("nvr-a", 1, 1.0, 3, False)]
        every = await device_outages(store, set(), None, NOW)
        assert [o.id for o in every] == ["site-1", "sw-a", "nvr-b", "nvr-a"]
        assert await device_outages(store, set(), "A", NOW + timedelta(days=40)) == []  # over 30 days ago
    finally:
        await store.close()
