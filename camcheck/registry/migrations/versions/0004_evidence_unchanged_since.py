"""Evidence kind `unchanged_since`: the first picture of a run that has not changed since (the
`unchanged` finding's proof, beside the picture at the change).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_KINDS = "kind IN ('at_change','last_good','reference')"
NEW_KINDS = "kind IN ('at_change','last_good','reference','unchanged_since')"


def _kinds(check: str) -> None:
    # SQLite cannot alter a CHECK constraint in place: batch mode rebuilds the table.
    with op.batch_alter_table('evidence') as batch:
        batch.drop_constraint(op.f('ck_evidence_kind'), type_='check')
        batch.create_check_constraint(op.f('ck_evidence_kind'), sa.text(check))


def upgrade() -> None:
    _kinds(NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM evidence WHERE kind = 'unchanged_since'")  # the old constraint forbids them
    _kinds(OLD_KINDS)
