"""Which stream a check read: the camera's main (recorded) stream or its sub-stream.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Nullable, no constraint: a plain ALTER TABLE ADD COLUMN on SQLite too; older rows stay NULL.
    op.add_column('check_results', sa.Column('stream', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('check_results') as batch:
        batch.drop_column('stream')
