"""Who tells a parent's incident: the parent itself, or the upstream device it is behind (a site's
uplink down is one incident, not one per recorder), arbitrated in the registry between nodes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Nullable: an incident opened before this (NULL) was told by its parent, as every one was then.
    op.add_column('parents', sa.Column('incident_told', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('parents') as batch:
        batch.drop_column('incident_told')
