"""Initial registry schema: cameras, parents, history, evidence, maintenance, audit, nodes and leases.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)

    op.create_table('maintenance_windows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('owner', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.Text(), nullable=True),
    sa.CheckConstraint("scope IN ('camera','parent','site')", name=op.f('ck_maintenance_windows_scope')),
    sa.CheckConstraint('expires_at > starts_at', name=op.f('ck_maintenance_windows_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows'))
    )
    op.create_index(op.f('ix_maintenance_windows_expires_at'), 'maintenance_windows', ['expires_at'], unique=False)
    op.create_index(op.f('ix_maintenance_windows_scope_target_id'), 'maintenance_windows', ['scope', 'target_id'], unique=False)

    op.create_table('nodes',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('hostname', sa.Text(), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('version', sa.String(length=32), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nodes'))
    )
    op.create_index(op.f('ix_nodes_heartbeat_at'), 'nodes', ['heartbeat_at'], unique=False)

    op.create_table('parents',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), server_default='other', nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('parent_id', sa.String(length=128), nullable=True),
    sa.Column('host', sa.Text(), nullable=True),
    sa.Column('district', sa.Text(), nullable=True),
    sa.Column('province', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('status_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('nvr','switch','site','other')", name=op.f('ck_parents_kind')),
    sa.ForeignKeyConstraint(['parent_id'], ['parents.id'], name=op.f('fk_parents_parent_id_parents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parents'))
    )
    op.create_table('cameras',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('owner_agency', sa.Text(), nullable=True),
    sa.Column('point_id', sa.Text(), nullable=True),
    sa.Column('point_name', sa.Text(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('purposes', sa.Text(), nullable=True),
    sa.Column('control_centre', sa.Text(), nullable=True),
    sa.Column('network_type', sa.Text(), nullable=True),
    sa.Column('network_provider', sa.Text(), nullable=True),
    sa.Column('connected', sa.Boolean(), nullable=True),
    sa.Column('brand', sa.Text(), nullable=True),
    sa.Column('recorder_brand', sa.Text(), nullable=True),
    sa.Column('recorder_model', sa.Text(), nullable=True),
    sa.Column('recorded_width', sa.Integer(), nullable=True),
    sa.Column('recorded_height', sa.Integer(), nullable=True),
    sa.Column('max_width', sa.Integer(), nullable=True),
    sa.Column('max_height', sa.Integer(), nullable=True),
    sa.Column('retention_days', sa.Integer(), nullable=True),
    sa.Column('frame_rate', sa.Float(), nullable=True),
    sa.Column('file_format', sa.Text(), nullable=True),
    sa.Column('contact_person', sa.Text(), nullable=True),
    sa.Column('contact_phone', sa.Text(), nullable=True),
    sa.Column('year_installed', sa.Integer(), nullable=True),
    sa.Column('police_station', sa.Text(), nullable=True),
    sa.Column('internet_viewable', sa.Boolean(), nullable=True),
    sa.Column('project_name', sa.Text(), nullable=True),
    sa.Column('registry_status', sa.String(length=32), nullable=True),
    sa.Column('main_stream_url', sa.Text(), nullable=True),
    sa.Column('sub_stream_url', sa.Text(), nullable=True),
    sa.Column('onvif_endpoint', sa.Text(), nullable=True),
    sa.Column('credentials_ref', sa.String(length=200), nullable=True),
    sa.Column('parent_id', sa.String(length=128), nullable=True),
    sa.Column('district', sa.Text(), nullable=True),
    sa.Column('province', sa.Text(), nullable=True),
    sa.Column('tags', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='unknown', nullable=False),
    sa.Column('status_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('findings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('consecutive_successes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('measured_width', sa.Integer(), nullable=True),
    sa.Column('measured_height', sa.Integer(), nullable=True),
    sa.Column('measured_fps', sa.Float(), nullable=True),
    sa.Column('measured_codec', sa.String(length=32), nullable=True),
    sa.Column('measured_bitrate_bps', sa.BigInteger(), nullable=True),
    sa.Column('measured_gop', sa.Float(), nullable=True),
    sa.Column('measured_retention_days', sa.Float(), nullable=True),
    sa.Column('recording_active', sa.Boolean(), nullable=True),
    sa.Column('clock_offset_s', sa.Float(), nullable=True),
    sa.CheckConstraint("status IN ('unknown','working','degraded','broken','maintenance','flapping')", name=op.f('ck_cameras_status')),
    sa.ForeignKeyConstraint(['parent_id'], ['parents.id'], name=op.f('fk_cameras_parent_id_parents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cameras'))
    )
    op.create_index(op.f('ix_cameras_district'), 'cameras', ['district'], unique=False)
    op.create_index(op.f('ix_cameras_owner_agency'), 'cameras', ['owner_agency'], unique=False)
    op.create_index(op.f('ix_cameras_parent_id'), 'cameras', ['parent_id'], unique=False)
    op.create_index(op.f('ix_cameras_status'), 'cameras', ['status'], unique=False)

    op.create_table('check_results',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('failure', sa.String(length=32), nullable=True),
    sa.Column('findings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('measures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('node_id', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_check_results_camera_id_cameras'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_results'))
    )
    op.create_index(op.f('ix_check_results_camera_id_checked_at'), 'check_results', ['camera_id', 'checked_at'], unique=False)
    op.create_index(op.f('ix_check_results_checked_at'), 'check_results', ['checked_at'], unique=False)

    op.create_table('leases',
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('owner_node', sa.String(length=128), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_leases_camera_id_cameras'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_node'], ['nodes.id'], name=op.f('fk_leases_owner_node_nodes'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('camera_id', name=op.f('pk_leases'))
    )
    op.create_index(op.f('ix_leases_next_check_at'), 'leases', ['next_check_at'], unique=False)
    op.create_index(op.f('ix_leases_owner_node'), 'leases', ['owner_node'], unique=False)

    op.create_table('transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('findings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_transitions_camera_id_cameras'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transitions'))
    )
    op.create_index(op.f('ix_transitions_at'), 'transitions', ['at'], unique=False)
    op.create_index(op.f('ix_transitions_camera_id_at'), 'transitions', ['camera_id', 'at'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('transition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('jpeg', sa.LargeBinary(), nullable=True),
    sa.Column('path', sa.Text(), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('at_change','last_good','reference')", name=op.f('ck_evidence_kind')),
    sa.CheckConstraint('(jpeg IS NULL) <> (path IS NULL)', name=op.f('ck_evidence_one_source')),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_evidence_camera_id_cameras'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transition_id'], ['transitions.id'], name=op.f('fk_evidence_transition_id_transitions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    op.create_index(op.f('ix_evidence_camera_id_taken_at'), 'evidence', ['camera_id', 'taken_at'], unique=False)
    op.create_index(op.f('ix_evidence_transition_id'), 'evidence', ['transition_id'], unique=False)



def downgrade() -> None:
    op.drop_index(op.f('ix_evidence_transition_id'), table_name='evidence')
    op.drop_index(op.f('ix_evidence_camera_id_taken_at'), table_name='evidence')

    op.drop_table('evidence')
    op.drop_index(op.f('ix_transitions_camera_id_at'), table_name='transitions')
    op.drop_index(op.f('ix_transitions_at'), table_name='transitions')

    op.drop_table('transitions')
    op.drop_index(op.f('ix_leases_owner_node'), table_name='leases')
    op.drop_index(op.f('ix_leases_next_check_at'), table_name='leases')

    op.drop_table('leases')
    op.drop_index(op.f('ix_check_results_checked_at'), table_name='check_results')
    op.drop_index(op.f('ix_check_results_camera_id_checked_at'), table_name='check_results')

    op.drop_table('check_results')
    op.drop_index(op.f('ix_cameras_status'), table_name='cameras')
    op.drop_index(op.f('ix_cameras_parent_id'), table_name='cameras')
    op.drop_index(op.f('ix_cameras_owner_agency'), table_name='cameras')
    op.drop_index(op.f('ix_cameras_district'), table_name='cameras')

    op.drop_table('cameras')
    op.drop_table('parents')
    op.drop_index(op.f('ix_nodes_heartbeat_at'), table_name='nodes')

    op.drop_table('nodes')
    op.drop_index(op.f('ix_maintenance_windows_scope_target_id'), table_name='maintenance_windows')
    op.drop_index(op.f('ix_maintenance_windows_expires_at'), table_name='maintenance_windows')

    op.drop_table('maintenance_windows')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')

    op.drop_table('audit_log')
