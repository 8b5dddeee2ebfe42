"""Status reasons as data (code and arguments) beside their English sentence, so pages and reports
can say them in Thai.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    # Nullable: older rows keep only their English sentence, which pages show as it is.
    op.add_column('cameras', sa.Column('status_reason_data', _json(), nullable=True))
    op.add_column('transitions', sa.Column('reason_data', _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transitions') as batch:
        batch.drop_column('reason_data')
    with op.batch_alter_table('cameras') as batch:
        batch.drop_column('status_reason_data')
