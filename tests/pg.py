"""A brand-new PostgreSQL database per test, on the machine's real server (shared by every area).

Admin statements run through asyncpg in a private thread and event loop, so the helpers work from
sync and async tests alike. Databases get unique names and are dropped afterwards, so parallel runs
and other suites sharing the server never see each other's tables.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PG_ADMIN_URL = os.environ.get("CAMCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def run_in_thread(coro_fn: Any, timeout: float = 60.0) -> Any:
    """Run ``coro_fn()`` in its own thread and loop (safe whether or not a loop runs here);
    its exception is re-raised here."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_fn())
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"{getattr(coro_fn, '__name__', 'coroutine')} did not finish in {timeout:g} s")
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

    run_in_thread(go)


@contextmanager
def pg_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database (asyncpg URL), optionally copied from ``template``, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    pg_admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
