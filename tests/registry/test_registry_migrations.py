"""The packaged Alembic migrations, run programmatically on real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from camcheck.registry import migrate
from camcheck.registry.schema import metadata
from camcheck.registry.store import open_store


async def _tables(store) -> set[str]:  # type: ignore[no-untyped-def]
    async with store.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_migrations_apply_from_empty_without_drift(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini anywhere near: the scripts come from the package
    store = await open_store(db_url)
    try:
        assert await store.revision() is None and not await store.is_current()
        assert await store.migrate() == migrate.head_revision()
        assert await store.is_current()
        assert set(metadata.tables) <= await _tables(store)
        assert await migrate.schema_drift(store.engine) == []
        await store.migrate()  # idempotent
        await migrate.downgrade(store.engine, "base")
        assert await _tables(store) - {"alembic_version"} == set()
        await store.migrate()
        assert await store.is_current()
    finally:
        await store.close()
    assert not (tmp_path / "alembic.ini").exists()


async def test_sqlite_connection_settings(sqlite_url: str) -> None:
    store = await open_store(sqlite_url, migrate=True)
    try:
        async with store.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() >= 5000
    finally:
        await store.close()


def test_migration_scripts_are_package_files() -> None:
    import camcheck.registry.migrations as pkg

    here = Path(pkg.__file__).parent
    assert (here / "env.py").exists() and (here / "script.py.mako").exists()
    assert any(p.name.startswith("0001") for p in (here / "versions").glob("*.py"))
    assert migrate.SCRIPT_LOCATION == "camcheck.registry:migrations"


def test_db_url_forms(tmp_path: Path) -> None:
    from camcheck.registry.db import RegistryURLError, normalise_url

    assert normalise_url(tmp_path / "x.db") == f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+asyncpg://")
    assert normalise_url("sqlite:////tmp/a.db") == "sqlite+aiosqlite:////tmp/a.db"
    with pytest.raises(RegistryURLError) as info:
        normalise_url("mysql://u:hunter2@h/db")
    assert "hunter2" not in str(info.value)


async def test_upgrade_and_downgrade_keep_history(db_url: str) -> None:
    """0001 -> data -> head -> 0001 -> head: rows survive both ways (SQLite rebuilds tables in
    batch mode on downgrade; the foreign-key cascade must not wipe the history meanwhile)."""
    from datetime import datetime, timezone

    from camcheck.registry.models import CameraRecord, CameraState, CheckRecord, TransitionRecord

    store = await open_store(db_url)
    try:
        await migrate.upgrade(store.engine, "0001")
        await store.upsert_cameras([CameraRecord(id="K-1", name="keep")])
        at = datetime(2026, 1, 1, tzinfo=timezone.utc)
        async with store.engine.begin() as conn:  # 0001 columns only
            await conn.execute(sa.text("INSERT INTO check_results (camera_id, checked_at, verdict) VALUES ('K-1', :at, 'working')"),
                               {"at": at if store.dialect == "postgresql" else at.replace(tzinfo=None)})
        await store.migrate()
        await store.record_check(CheckRecord(camera_id="K-1", checked_at=at, verdict="broken"))
        await store.record_transition(TransitionRecord(camera_id="K-1", at=at, from_state=CameraState.UNKNOWN,
                                                       to_state=CameraState.BROKEN))
        await migrate.downgrade(store.engine, "0001")
        assert await store.revision() == "0001"
        async with store.engine.connect() as conn:
            counts = [(await conn.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar() for t in
                      ("cameras", "check_results", "transitions")]
        assert counts == [1, 2, 1]
        await store.migrate()
        assert len(await store.list_checks("K-1")) == 2 and len(await store.list_transitions("K-1")) == 1
        assert await migrate.schema_drift(store.engine) == []
        if store.dialect == "sqlite":
            async with store.engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await store.close()


async def test_0004_allows_unchanged_since_evidence_and_back(db_url: str) -> None:
    """0004 widens the evidence kinds (SQLite rebuilds the table): older pictures survive both ways;
    a downgrade drops only the pictures its constraint forbids."""
    from datetime import datetime, timezone

    from camcheck.registry.models import CameraRecord, EvidenceKind, EvidenceRecord

    store = await open_store(db_url)
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)

    async def kinds() -> list[str]:
        async with store.engine.connect() as conn:
            return sorted((await conn.execute(sa.text("SELECT kind FROM evidence"))).scalars())

    try:
        await migrate.upgrade(store.engine, "0003")
        await store.upsert_cameras([CameraRecord(id="K-1", name="keep")])
        await store.add_evidence("K-1", EvidenceRecord(kind=EvidenceKind.AT_CHANGE, taken_at=at, jpeg=b"x"))
        with pytest.raises(sa.exc.IntegrityError):  # what 0004 is for
            await store.add_evidence("K-1", EvidenceRecord(kind=EvidenceKind.UNCHANGED_SINCE, taken_at=at, jpeg=b"y"))
        await store.migrate()
        await store.add_evidence("K-1", EvidenceRecord(kind=EvidenceKind.UNCHANGED_SINCE, taken_at=at, jpeg=b"y"))
        assert await kinds() == ["at_change", "unchanged_since"]
        assert await migrate.schema_drift(store.engine) == []
        await migrate.downgrade(store.engine, "0003")
        assert await kinds() == ["at_change"]
        with pytest.raises(sa.exc.IntegrityError):
            await store.add_evidence("K-1", EvidenceRecord(kind=EvidenceKind.UNCHANGED_SINCE, taken_at=at, jpeg=b"y"))
        await store.migrate()
        assert await kinds() == ["at_change"] and await store.is_current()
    finally:
        await store.close()
