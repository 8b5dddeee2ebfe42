"""The registry's tables (SQLAlchemy Core, one MetaData), identical on SQLite and PostgreSQL.

Design notes:
- Timestamps are UTC everywhere (`UTCDateTime` turns SQLite's naive strings back into aware UTC).
- Purposes and tags are stored as ",a,b," text so "has purpose/tag X" is a portable LIKE filter.
- Registered claims (survey columns) and measured facts (measured_*) sit side by side on `cameras`.
- `leases` is a narrow table of its own so the multi-node claim query
  (SELECT ... WHERE next_check_at <= now AND (expires_at IS NULL OR expires_at < now)
   ORDER BY next_check_at FOR UPDATE SKIP LOCKED) never row-locks the wide camera rows.
- The Alembic migrations under migrations/versions are the source of truth for the database;
  tests/registry check that this MetaData and the migrated database do not drift apart.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on both dialects (SQLite stores naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry; use timezone-aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class DelimitedSet(sa.types.TypeDecorator[list[str]]):
    """A list of short strings stored as ",a,b," (empty list -> NULL) for portable LIKE filters."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> str | None:
        if not value:
            return None
        items = [str(getattr(v, "value", v)) for v in value]
        if any("," in i for i in items):
            raise ValueError("set items may not contain commas")
        return "," + ",".join(items) + ","

    def process_result_value(self, value: str | None, dialect: Dialect) -> list[str]:
        if not value:
            return []
        return [v for v in value.strip(",").split(",") if v]


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _bigid() -> sa.types.TypeEngine[int]:
    # SQLite only auto-increments an INTEGER PRIMARY KEY.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime(), **kw)


parents = sa.Table(
    "parents",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="other"),
    sa.Column("name", sa.Text),
    sa.Column("parent_id", sa.String(128), sa.ForeignKey("parents.id", ondelete="SET NULL")),
    sa.Column("host", sa.Text),
    sa.Column("district", sa.Text),
    sa.Column("province", sa.Text),
    # set by the daemon's dependency grouping: "suspected_down" or NULL
    sa.Column("status", sa.String(32)),
    _ts("status_since"),
    sa.Column("status_reason", sa.Text),
    # the daemon's open/closed parent incident (JSON), so all nodes agree on one incident (0002)
    sa.Column("incident", _json()),
    # (0006) who tells its open incident: "held" (waiting for the upstream device's judgement),
    # "covered" (the upstream's incident tells it) or "told" (announced as its own); NULL once it
    # closed (and for one a node older than 0006 opened): told as its own
    sa.Column("incident_told", sa.String(16)),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    sa.CheckConstraint("kind IN ('nvr','switch','site','other')", name="kind"),
)

# (0007) Every parent incident, open and past, as last stored: "which recorders failed this month,
# and for how long" (parents.incident holds only the latest).
parent_incidents = sa.Table(
    "parent_incidents",
    metadata,
    sa.Column("id", _bigid(), primary_key=True, autoincrement=True),
    sa.Column("parent_id", sa.String(128), sa.ForeignKey("parents.id", ondelete="CASCADE"), nullable=False),
    _ts("started_at", nullable=False),
    _ts("ended_at"),
    sa.Column("cameras_affected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("covered_by", sa.String(128)),  # the upstream device whose incident told it
    sa.Column("incident", _json(), nullable=False),  # the ParentIncident (verdict/grouping.py)
    sa.UniqueConstraint("parent_id", "started_at"),
    sa.Index(None, "started_at"),
)

cameras = sa.Table(
    "cameras",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name", sa.Text),
    # --- national survey fields (registered claims) ---
    sa.Column("owner_agency", sa.Text),
    sa.Column("point_id", sa.Text),
    sa.Column("point_name", sa.Text),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("purposes", DelimitedSet()),
    sa.Column("control_centre", sa.Text),
    sa.Column("network_type", sa.Text),
    sa.Column("network_provider", sa.Text),
    sa.Column("connected", sa.Boolean),
    sa.Column("brand", sa.Text),
    sa.Column("recorder_brand", sa.Text),
    sa.Column("recorder_model", sa.Text),
    sa.Column("recorded_width", sa.Integer),
    sa.Column("recorded_height", sa.Integer),
    sa.Column("max_width", sa.Integer),
    sa.Column("max_height", sa.Integer),
    sa.Column("retention_days", sa.Integer),
    sa.Column("frame_rate", sa.Float),
    sa.Column("file_format", sa.Text),
    sa.Column("contact_person", sa.Text),
    sa.Column("contact_phone", sa.Text),
    sa.Column("year_installed", sa.Integer),
    sa.Column("police_station", sa.Text),
    sa.Column("internet_viewable", sa.Boolean),
    sa.Column("project_name", sa.Text),
    sa.Column("registry_status", sa.String(32)),
    # --- how camcheck reaches it (never a secret: credentials_ref names a secrets-store entry) ---
    sa.Column("main_stream_url", sa.Text),
    sa.Column("sub_stream_url", sa.Text),
    sa.Column("onvif_endpoint", sa.Text),
    sa.Column("credentials_ref", sa.String(200)),
    sa.Column("parent_id", sa.String(128), sa.ForeignKey("parents.id", ondelete="SET NULL")),
    sa.Column("district", sa.Text),
    sa.Column("province", sa.Text),
    sa.Column("tags", DelimitedSet()),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    # --- computed state, owned by the daemon ---
    sa.Column("status", sa.String(16), nullable=False, server_default="unknown"),
    _ts("status_since"),
    sa.Column("status_reason", sa.Text),
    sa.Column("status_reason_data", _json()),  # (0005) the reason as {code, args}: verdict/reasons.py
    sa.Column("findings", _json()),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("consecutive_successes", sa.Integer, nullable=False, server_default="0"),
    _ts("last_check_at"),
    _ts("last_success_at"),
    # --- measured facts, beside the claims above ---
    sa.Column("measured_width", sa.Integer),
    sa.Column("measured_height", sa.Integer),
    sa.Column("measured_fps", sa.Float),
    sa.Column("measured_codec", sa.String(32)),
    sa.Column("measured_bitrate_bps", sa.BigInteger),
    sa.Column("measured_gop", sa.Float),
    sa.Column("measured_retention_days", sa.Float),
    sa.Column("recording_active", sa.Boolean),
    sa.Column("clock_offset_s", sa.Float),
    # the daemon's serialised state machine (counters, confirmation, flap window), so a restart or
    # another node resumes exactly where the last check left off (0002)
    sa.Column("verdict_state", sa.Text),
    sa.CheckConstraint(
        "status IN ('unknown','working','degraded','broken','maintenance','flapping')", name="status"
    ),
    sa.Index(None, "status"),
    sa.Index(None, "parent_id"),
    sa.Index(None, "district"),
    sa.Index(None, "owner_agency"),
)

check_results = sa.Table(
    "check_results",
    metadata,
    sa.Column("id", _bigid(), primary_key=True, autoincrement=True),
    sa.Column("camera_id", sa.String(128), sa.ForeignKey("cameras.id", ondelete="CASCADE"), nullable=False),
    _ts("checked_at", nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("failure", sa.String(32)),
    sa.Column("findings", _json()),
    sa.Column("measures", _json()),
    sa.Column("duration_s", sa.Float),
    sa.Column("node_id", sa.String(128)),
    sa.Column("stream", sa.String(8)),  # "main" | "sub" for a stream check, NULL for others (0003)
    sa.Index(None, "camera_id", "checked_at"),
    sa.Index(None, "checked_at"),
)

transitions = sa.Table(
    "transitions",
    metadata,
    sa.Column("id", _bigid(), primary_key=True, autoincrement=True),
    sa.Column("camera_id", sa.String(128), sa.ForeignKey("cameras.id", ondelete="CASCADE"), nullable=False),
    _ts("at", nullable=False),
    sa.Column("from_state", sa.String(16), nullable=False),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("reason_data", _json()),  # (0005)
    sa.Column("findings", _json()),
    # (0002) which node committed it; the parent incident that covered it (not notified on its
    # own); when its notification was confirmed (NULL = still to publish, at least once)
    sa.Column("node_id", sa.String(128)),
    sa.Column("suppressed_by", sa.String(128)),
    _ts("notified_at"),
    sa.Index(None, "camera_id", "at"),
    sa.Index(None, "at"),
    sa.Index(None, "node_id", "notified_at"),
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", _bigid(), primary_key=True, autoincrement=True),
    sa.Column("camera_id", sa.String(128), sa.ForeignKey("cameras.id", ondelete="CASCADE"), nullable=False),
    # the transition this picture proves (NULL for reference pictures)
    sa.Column("transition_id", _bigid(), sa.ForeignKey("transitions.id", ondelete="CASCADE")),
    sa.Column("kind", sa.String(16), nullable=False),
    _ts("taken_at", nullable=False),
    sa.Column("jpeg", sa.LargeBinary),
    sa.Column("path", sa.Text),
    sa.Column("size_bytes", sa.Integer),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.CheckConstraint("kind IN ('at_change','last_good','reference','unchanged_since')", name="kind"),
    sa.CheckConstraint("(jpeg IS NULL) <> (path IS NULL)", name="one_source"),
    sa.Index(None, "camera_id", "taken_at"),
    sa.Index(None, "transition_id"),
)

maintenance_windows = sa.Table(
    "maintenance_windows",
    metadata,
    sa.Column("id", _bigid(), primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("target_id", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    _ts("starts_at", nullable=False),
    _ts("expires_at", nullable=False),
    _ts("created_at", nullable=False),
    sa.Column("created_by", sa.Text),
    _ts("ended_at"),
    sa.Column("ended_by", sa.Text),
    sa.CheckConstraint("scope IN ('camera','parent','site')", name="scope"),
    sa.CheckConstraint("expires_at > starts_at", name="order"),
    sa.Index(None, "scope", "target_id"),
    sa.Index(None, "expires_at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", _bigid(), primary_key=True, autoincrement=True),
    _ts("at", nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("details", _json()),
    sa.Index(None, "at"),
)

nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("hostname", sa.Text),
    sa.Column("pid", sa.Integer),
    sa.Column("version", sa.String(32)),
    sa.Column("capacity", sa.Integer),
    _ts("started_at", nullable=False),
    _ts("heartbeat_at", nullable=False),
    sa.Index(None, "heartbeat_at"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("camera_id", sa.String(128), sa.ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True),
    # NULL owner = free; a lease whose expires_at has passed is free again (its node died)
    sa.Column("owner_node", sa.String(128), sa.ForeignKey("nodes.id", ondelete="SET NULL")),
    _ts("expires_at"),
    # fencing token: bumped on every acquisition, so a node that lost its lease cannot write late
    sa.Column("token", sa.BigInteger, nullable=False, server_default="0"),
    _ts("next_check_at"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "next_check_at"),
    sa.Index(None, "owner_node"),
)

ALL_TABLES = (parents, cameras, check_results, transitions, evidence, maintenance_windows, audit_log, nodes, leases)
