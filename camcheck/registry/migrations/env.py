"""Alembic environment: only ever run through camcheck.registry.migrate, which hands over a connection."""

from __future__ import annotations

from alembic import context

from camcheck.registry.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run registry migrations with camcheck.registry.migrate (it passes the connection)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: later migrations rebuild tables in batch mode.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
