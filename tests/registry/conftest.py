"""Fixtures for registry tests: a fresh real database per test, on SQLite and on PostgreSQL.

PostgreSQL tests create a uniquely named database and drop it afterwards, so parallel runs and
other suites sharing the server never see each other's tables.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get("CAMCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE_CSV = DATA / "registry-sample-th.csv"


def _in_thread(coro_fn: Any) -> Any:
    """Run a coroutine in its own thread and loop (safe whether or not a loop is running here)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_fn())
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join(60)
    if t.is_alive():
        raise TimeoutError("PostgreSQL admin command did not finish in 60 s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def pg_admin(sql: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _in_thread(go)


def _pg_database(template: str | None = None) -> Iterator[str]:
    name = f"camcheck_reg_{uuid.uuid4().hex[:12]}"
    try:
        pg_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    except OSError as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is needed for registry tests (run `make services`): {exc}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a brand-new, empty PostgreSQL database, dropped after the test."""
    yield from _pg_database()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database to copy from: a per-test copy is much cheaper than migrating each time."""
    from camcheck.registry.store import open_store

    for url in _pg_database():
        async def migrate() -> None:
            s = await open_store(url, migrate=True)
            await s.close()  # a template must have no open connections

        _in_thread(migrate)
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def pg_migrated_url(pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database already at the newest schema revision, dropped after the test."""
    yield from _pg_database(template=pg_template)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_migrated_url")


@pytest.fixture
async def store(migrated_db_url: str) -> AsyncIterator[Any]:
    from camcheck.registry.store import open_store

    s = await open_store(migrated_db_url, migrate=True)  # a no-op on the PostgreSQL copy
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def sample_csv() -> Path:
    assert SAMPLE_CSV.exists(), "tests/data/registry-sample-th.csv is part of the repository"
    return SAMPLE_CSV
