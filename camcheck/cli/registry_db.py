"""The registry database for the commands that read it (export, report, status)."""

from __future__ import annotations

import sys

from camcheck.registry.store import Store, database_exists, open_store


async def open_registry(db: str | None, command: str) -> Store | None:
    """The registry at `db` (None: the default), open and at the current schema; None after saying
    on stderr why it cannot be read. The caller closes it."""
    if not database_exists(db):
        print(f"camcheck {command}: the registry database does not exist (import something first)", file=sys.stderr)
        return None
    store = await open_store(db)
    if not await store.is_current():
        await store.close()
        print(f"camcheck {command}: the registry database is not initialised or is out of date "
              "(run `camcheck import` or start the daemon once)", file=sys.stderr)
        return None
    return store
