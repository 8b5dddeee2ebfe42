"""Daemon state: the serialised verdict state per camera, parent incidents, transition delivery.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    # Nullable columns without constraints: a plain ALTER TABLE ADD COLUMN works on SQLite too.
    op.add_column('cameras', sa.Column('verdict_state', sa.Text(), nullable=True))
    op.add_column('parents', sa.Column('incident', _json(), nullable=True))
    op.add_column('transitions', sa.Column('node_id', sa.String(length=128), nullable=True))
    op.add_column('transitions', sa.Column('suppressed_by', sa.String(length=128), nullable=True))
    op.add_column('transitions', sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_transitions_node_id_notified_at'), 'transitions', ['node_id', 'notified_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_transitions_node_id_notified_at'), table_name='transitions')
    # SQLite cannot drop columns in place before 3.35; batch mode rebuilds the table.
    with op.batch_alter_table('transitions') as batch:
        batch.drop_column('notified_at')
        batch.drop_column('suppressed_by')
        batch.drop_column('node_id')
    with op.batch_alter_table('parents') as batch:
        batch.drop_column('incident')
    with op.batch_alter_table('cameras') as batch:
        batch.drop_column('verdict_state')
