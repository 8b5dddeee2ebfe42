"""The history of parent incidents (registry/incidents.py, migration 0007) on SQLite and PostgreSQL:
one row per incident kept up to date, listed newest first, outages over a period clipped to it, the
incidents kept on parents before 0007 carried over, and a deleted parent's history gone with it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from camcheck.registry import incidents, migrate
from camcheck.registry.models import ParentKind
from camcheck.registry.schema import parent_incidents, parents
from camcheck.registry.store import open_store
from camcheck.verdict import ParentIncident
from tests.api.fleet_seed import database

pytestmark = pytest.mark.timeout(120)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def _inc(pid: str, start: datetime, end: datetime | None = None, **kw: object) -> dict:
    return ParentIncident(parent_id=pid, started_at=start.timestamp(), children_total=4, affected=["a", "b", "c"],
                          reason=f"Parent {pid} suspected down", ended_at=end.timestamp() if end else None,
                          **kw).model_dump(mode="json")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_history_listed_clipped_carried_over_and_deleted_with_its_parent(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        store = await open_store(url, migrate=True)
        try:
            for pid in ("nvr-1", "nvr-2"):
                await store.upsert_parent(pid, ParentKind.NVR)
            since = NOW - timedelta(days=30)
            long_ago = _inc("nvr-1", NOW - timedelta(days=40), NOW - timedelta(days=39))  # over before `since`
            across = _inc("nvr-1", NOW - timedelta(days=31), NOW - timedelta(days=29))  # 1 day of it inside
            opened = _inc("nvr-1", NOW - timedelta(hours=3))
            async with store.engine.begin() as conn:
                for inc in (long_ago, across, opened):
                    await incidents.record(conn, "nvr-1", inc)
                # the same incident written again (grown, then covered by its site): one row, kept up to date
                await incidents.record(conn, "nvr-1", {**opened, "affected": ["a", "b", "c", "d"], "covered_by": "site-1"})
                await incidents.record(conn, "nvr-2", _inc("nvr-2", NOW - timedelta(days=2), NOW - timedelta(days=2, hours=-1)))
            async with store.engine.connect() as conn:
                rows = await incidents.list_for(conn, "nvr-1", since=since)
                every = await incidents.list_for(conn, "nvr-1")
                outages = await incidents.outages_since(conn, since, now=NOW)
            assert [(r["started_at"], r["ended_at"]) for r in rows] == [
                (NOW - timedelta(hours=3), None), (NOW - timedelta(days=31), NOW - timedelta(days=29))]
            assert (rows[0]["covered_by"], rows[0]["cameras_affected"], rows[0]["incident"]["affected"]) == (
                "site-1", 4, ["a", "b", "c", "d"])
            assert len(every) == 3
            assert outages == {"nvr-1": (2, 3 * 3600 + 86400), "nvr-2": (1, 3600)}

            # deleting a parent (nothing behind it, not suspected down) takes its history with it
            assert await store.delete_parent("nvr-2", actor="test") is None
            async with store.engine.connect() as conn:
                assert await incidents.list_for(conn, "nvr-2") == []

            # an incident kept on its parent before 0007 becomes the first entry of its history
            await migrate.downgrade(store.engine, "0006")
            async with store.engine.begin() as conn:
                await conn.execute(sa.update(parents).where(parents.c.id == "nvr-1").values(incident=opened))
            await store.migrate()
            async with store.engine.connect() as conn:
                (kept,) = await incidents.list_for(conn, "nvr-1")
                total = (await conn.execute(sa.select(sa.func.count()).select_from(parent_incidents))).scalar_one()
            assert (kept["started_at"], kept["ended_at"], kept["cameras_affected"], total) == (
                NOW - timedelta(hours=3), None, 3, 1)
        finally:
            await store.close()
