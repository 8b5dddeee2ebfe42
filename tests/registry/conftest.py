"""Fixtures for registry tests: a fresh real database per test, on SQLite and on PostgreSQL.

PostgreSQL tests create a uniquely named database and drop it afterwards, so parallel runs and
other suites sharing the server never see each other's tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg import PG_ADMIN_URL, pg_admin, pg_database, run_in_thread as _in_thread  # noqa: F401 - re-exported
DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE_CSV = DATA / "registry-sample-th.csv"


def _pg_database(template: str | None = None) -> Iterator[str]:
    try:
        with pg_database("camcheck_reg", template) as url:
            yield url
    except OSError as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is needed for registry tests (run `make services`): {exc}")


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
