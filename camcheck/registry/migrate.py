"""Running the packaged Alembic migrations programmatically (no alembic.ini in the cwd needed)."""

from __future__ import annotations

import logging
from typing import Any

# Alembic's INFO lines (plugin set-up at import, "Context impl SQLiteImpl") are noise in camcheck's
# log; camcheck logs the upgrade itself. Set before alembic is imported.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = "camcheck.registry:migrations"

log = logging.getLogger(__name__)


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"registry migrations must have exactly one head, found {heads}")
    return heads[0]


def _upgrade(connection: Connection, target: str) -> None:
    command.upgrade(alembic_config(connection), target)


def _downgrade(connection: Connection, target: str) -> None:
    command.downgrade(alembic_config(connection), target)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _run(engine: AsyncEngine, fn: Any, target: str) -> tuple[str | None, str | None]:
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild SQLite tables (copy, DROP, rename). With foreign keys on,
            # the DROP would cascade-delete every child row (all history), so they are off while
            # migrating and checked afterwards. The pragma only takes effect outside a transaction.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                before = await conn.run_sync(_current)
                await conn.run_sync(fn, target)
                after = await conn.run_sync(_current)
            if sqlite:
                bad = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                await conn.commit()
                if bad:
                    raise RuntimeError(f"registry migration left {len(bad)} rows with broken foreign keys")
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()
    return before, after


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    before, after = await _run(engine, _upgrade, target)
    if before != after:
        log.info("registry schema upgraded from %s to %s", before or "empty", after)


async def downgrade(engine: AsyncEngine, target: str) -> None:
    before, after = await _run(engine, _downgrade, target)
    if before != after:
        log.warning("registry schema downgraded from %s to %s", before, after or "empty")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def _diff(connection: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata

    from camcheck.registry.schema import metadata

    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(ctx, metadata)


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    """Differences between the migrated database and schema.metadata (empty = in sync)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)
