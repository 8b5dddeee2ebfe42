"""Read-only queries the Store does not offer: narrow rows for counts and maps, evidence metadata,
distinct values for filters, transitions for availability. SQLAlchemy Core on the registry's
tables, the same on SQLite and PostgreSQL; never loads JPEG bytes unless asked for one picture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from camcheck.registry.models import CameraFilter
from camcheck.registry.schema import cameras, evidence, parents, transitions
from camcheck.registry.store import Store, camera_filter_clauses


def filter_clauses(f: CameraFilter | None) -> list[sa.ColumnElement[bool]]:
    """The same semantics as Store.list_cameras' filters (AND of everything given)."""
    return camera_filter_clauses(f)


SUMMARY_COLUMNS = (
    cameras.c.id, cameras.c.status, cameras.c.status_reason, cameras.c.findings, cameras.c.owner_agency,
    cameras.c.purposes, cameras.c.connected, cameras.c.control_centre, cameras.c.district, cameras.c.province,
    cameras.c.point_id, cameras.c.point_name, cameras.c.lat, cameras.c.lon, cameras.c.internet_viewable,
    cameras.c.retention_days, cameras.c.measured_retention_days, cameras.c.last_check_at, cameras.c.created_at,
    cameras.c.enabled,
)


async def summary_rows(store: Store, filters: CameraFilter | None) -> list[dict[str, Any]]:
    q = sa.select(*SUMMARY_COLUMNS).where(*filter_clauses(filters)).order_by(cameras.c.id)
    async with store.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings().all()]


async def map_rows(store: Store, filters: CameraFilter | None) -> tuple[list[dict[str, Any]], int]:
    cols = (cameras.c.id, cameras.c.name, cameras.c.lat, cameras.c.lon, cameras.c.status, cameras.c.findings,
            cameras.c.status_reason)
    where = filter_clauses(filters)
    q = sa.select(*cols).where(*where, cameras.c.lat.is_not(None), cameras.c.lon.is_not(None)).order_by(cameras.c.id)
    n = sa.select(sa.func.count()).select_from(cameras).where(*where, sa.or_(cameras.c.lat.is_(None), cameras.c.lon.is_(None)))
    async with store.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(q)).mappings().all()]
        without = int((await conn.execute(n)).scalar_one())
    return rows, without


_EV_META = (evidence.c.id, evidence.c.kind, evidence.c.taken_at, evidence.c.width, evidence.c.height,
            evidence.c.transition_id)


async def evidence_meta(store: Store, camera_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    q = (sa.select(*_EV_META).where(evidence.c.camera_id == camera_id)
         .order_by(evidence.c.taken_at.desc(), evidence.c.id.desc()).limit(limit))
    async with store.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings().all()]


async def latest_evidence_id(store: Store, camera_id: str, kinds: tuple[str, ...]) -> int | None:
    pic = await latest_picture(store, camera_id, kinds)
    return pic.id if pic else None


@dataclass(frozen=True)
class Picture:
    id: int
    taken_at: datetime


async def latest_picture(store: Store, camera_id: str, kinds: tuple[str, ...], *,
                         before: datetime | None = None) -> Picture | None:
    """The camera's newest picture of these kinds by the time it was taken (only those taken before
    `before` if given)."""
    q = sa.select(evidence.c.id, evidence.c.taken_at).where(evidence.c.camera_id == camera_id,
                                                           evidence.c.kind.in_(kinds))
    if before is not None:
        q = q.where(evidence.c.taken_at < before)
    async with store.engine.connect() as conn:
        r = (await conn.execute(q.order_by(evidence.c.taken_at.desc(), evidence.c.id.desc()).limit(1))).first()
    return Picture(id=int(r.id), taken_at=r.taken_at) if r else None


async def latest_evidence_ids(store: Store, kinds: tuple[str, ...]) -> dict[str, int]:
    """Each camera's newest evidence id (by time taken) of the given kinds (for report thumbnails)."""
    rank = sa.func.row_number().over(partition_by=evidence.c.camera_id,
                                     order_by=(evidence.c.taken_at.desc(), evidence.c.id.desc())).label("rk")
    ranked = sa.select(evidence.c.camera_id, evidence.c.id, rank).where(evidence.c.kind.in_(kinds)).subquery()
    q = sa.select(ranked.c.camera_id, ranked.c.id).where(ranked.c.rk == 1)
    async with store.engine.connect() as conn:
        return {r.camera_id: int(r.id) for r in (await conn.execute(q)).all()}


async def evidence_camera(store: Store, evidence_id: int) -> str | None:
    q = sa.select(evidence.c.camera_id).where(evidence.c.id == evidence_id)
    async with store.engine.connect() as conn:
        return (await conn.execute(q)).scalar_one_or_none()


async def facets(store: Store, limit: int = 2000) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    async with store.engine.connect() as conn:
        for key, col in (("agencies", cameras.c.owner_agency), ("districts", cameras.c.district),
                         ("provinces", cameras.c.province), ("parents", cameras.c.parent_id)):
            q = sa.select(col).where(col.is_not(None)).distinct().order_by(col).limit(limit)
            out[key] = [v for (v,) in (await conn.execute(q)).all() if v]
        tags: set[str] = set()
        q2 = sa.select(sa.type_coerce(cameras.c.tags, sa.Text)).where(cameras.c.tags.is_not(None)).distinct().limit(limit)
        for (raw,) in (await conn.execute(q2)).all():
            tags.update(t for t in str(raw).strip(",").split(",") if t)
        out["tags"] = sorted(tags)[:limit]
    return out


async def transitions_since(store: Store, since: datetime, camera_ids: set[str] | None = None) -> list[dict[str, Any]]:
    """Transitions at or after ``since`` plus each camera's last transition before it (its state at
    the window's start), ordered by camera and time."""
    cols = (transitions.c.id, transitions.c.camera_id, transitions.c.at, transitions.c.from_state,
            transitions.c.to_state)
    before = (sa.select(sa.func.max(transitions.c.id)).where(transitions.c.at < since)
              .group_by(transitions.c.camera_id))
    q = (sa.select(*cols).where(sa.or_(transitions.c.at >= since, transitions.c.id.in_(before)))
         .order_by(transitions.c.camera_id, transitions.c.at, transitions.c.id))
    async with store.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(q)).mappings().all()]
    if camera_ids is not None:
        rows = [r for r in rows if r["camera_id"] in camera_ids]
    return rows


async def parent_exists(store: Store, parent_id: str) -> bool:
    async with store.engine.connect() as conn:
        return (await conn.execute(sa.select(parents.c.id).where(parents.c.id == parent_id))).first() is not None


async def list_parents(store: Store, *, parent_id: str | None = None, suspected_down: bool | None = None,
                       limit: int = 100_000) -> list[dict[str, Any]]:
    """Parents with the cameras behind each (Store.list_parents: all of them, as GET /parents reports
    their total)."""
    return await store.list_parents(parent_id=parent_id, suspected_down=suspected_down, limit=limit)
