"""Connecting to the registry database: URL normalisation, SQLite pragmas, engine creation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from camcheck.secrets import mask_url

ENV_DB_URL = "CAMCHECK_DB_URL"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class RegistryURLError(ValueError):
    """A database URL camcheck cannot use (the message never carries the password)."""


def default_db_path() -> Path:
    """Where the embedded SQLite registry lives when nothing else is configured.

    systemd's StateDirectory= sets $STATE_DIRECTORY; otherwise the XDG state directory.
    """
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0]) / "camcheck.db"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "camcheck" / "camcheck.db"


def default_db_url() -> str:
    return os.environ.get(ENV_DB_URL) or f"sqlite+aiosqlite:///{default_db_path()}"


def normalise_url(url: str | os.PathLike[str] | None) -> str:
    """Accept a full SQLAlchemy URL, ``postgresql://...``, ``sqlite:///...`` or a plain file path."""
    if url is None:
        url = default_db_url()
    url = os.fspath(url)
    if "://" not in url:
        return f"sqlite+aiosqlite:///{Path(url).expanduser().absolute()}"
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError; message may echo the URL
        raise RegistryURLError(f"not a database URL: {mask_url(url)}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise RegistryURLError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for PostgreSQL / in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers (exports, the web UI) never block the daemon's writes, and vice versa.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for a normalised URL, with SQLite pragmas installed on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo)
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)
