"""Every parent incident, open and past (parents.incident holds only the latest): which recorders,
switches and sites failed in a period, and for how long.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('parent_incidents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('parent_id', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cameras_affected', sa.Integer(), server_default='0', nullable=False),
    sa.Column('covered_by', sa.String(length=128), nullable=True),
    sa.Column('incident', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['parents.id'], name=op.f('fk_parent_incidents_parent_id_parents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parent_incidents')),
    sa.UniqueConstraint('parent_id', 'started_at', name=op.f('uq_parent_incidents_parent_id_started_at'))
    )
    op.create_index(op.f('ix_parent_incidents_started_at'), 'parent_incidents', ['started_at'], unique=False)
    # The incidents kept on their parents so far: the first entries of the history.
    conn = op.get_bind()
    parents = sa.table('parents', sa.column('id', sa.String), sa.column('incident', sa.JSON))
    history = sa.table('parent_incidents', sa.column('parent_id', sa.String),
                       sa.column('started_at', sa.DateTime(timezone=True)), sa.column('ended_at', sa.DateTime(timezone=True)),
                       sa.column('cameras_affected', sa.Integer), sa.column('covered_by', sa.String),
                       sa.column('incident', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')))
    from datetime import datetime, timezone

    def ts(v):  # noqa: ANN001, ANN202 - SQLite keeps naive UTC text (schema.UTCDateTime)
        if v is None:
            return None
        t = datetime.fromtimestamp(float(v), tz=timezone.utc)
        return t.replace(tzinfo=None) if conn.dialect.name == 'sqlite' else t

    rows = []
    for pid, inc in conn.execute(sa.select(parents.c.id, parents.c.incident).where(parents.c.incident.is_not(None))):
        if isinstance(inc, dict) and inc.get('started_at') is not None:
            rows.append({'parent_id': pid, 'started_at': ts(inc['started_at']), 'ended_at': ts(inc.get('ended_at')),
                         'cameras_affected': int(inc.get('cameras_affected') or len(inc.get('affected') or [])),
                         'covered_by': inc.get('covered_by'), 'incident': inc})
    if rows:
        op.bulk_insert(history, rows)


def downgrade() -> None:
    op.drop_index(op.f('ix_parent_incidents_started_at'), table_name='parent_incidents')
    op.drop_table('parent_incidents')
