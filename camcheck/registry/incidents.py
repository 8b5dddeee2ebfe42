"""The history of parent incidents (table parent_incidents): one row per incident, kept up to date
with the incident the daemon stores on its parent, so that past outages of a recorder, switch or
site can be listed after the next one replaced it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from camcheck.registry.schema import parent_incidents

RECENT_DAYS = 30  # "lately", wherever a device's outages are counted (parents page, status, report)


def _utc(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=timezone.utc) if ts is not None else None


async def record(conn: AsyncConnection, parent_id: str, incident: dict[str, Any]) -> None:
    """Write the parent's incident (ParentIncident as JSON) into its history, in the caller's
    transaction: the one that stored it on the parent, so the two never disagree."""
    started = _utc(float(incident["started_at"]))
    ended = incident.get("ended_at")
    values = {
        "ended_at": _utc(float(ended)) if ended is not None else None,
        "cameras_affected": int(incident.get("cameras_affected") or len(incident.get("affected") or [])),
        "covered_by": incident.get("covered_by"),
        "incident": incident,
    }
    r = await conn.execute(sa.update(parent_incidents).where(
        parent_incidents.c.parent_id == parent_id, parent_incidents.c.started_at == started).values(**values))
    if r.rowcount == 0:
        await conn.execute(sa.insert(parent_incidents).values(parent_id=parent_id, started_at=started, **values))


async def list_for(conn: AsyncConnection, parent_id: str, *, since: datetime | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
    """The parent's incidents, newest first: those still open, and those that began or ended after
    `since`."""
    q = sa.select(parent_incidents).where(parent_incidents.c.parent_id == parent_id)
    if since is not None:
        q = q.where(sa.or_(parent_incidents.c.ended_at.is_(None), parent_incidents.c.ended_at >= since))
    q = q.order_by(parent_incidents.c.started_at.desc()).limit(limit)
    return [dict(r) for r in (await conn.execute(q)).mappings().all()]


async def outages_since(conn: AsyncConnection, since: datetime, now: datetime | None = None) -> dict[str, tuple[int, float]]:
    """Per parent: how many of its incidents were open at some time since `since`, and for how many
    seconds in all within [since, now] (an open one counts up to now)."""
    now = now or datetime.now(timezone.utc)
    rows = (await conn.execute(sa.select(
        parent_incidents.c.parent_id, parent_incidents.c.started_at, parent_incidents.c.ended_at,
    ).where(sa.or_(parent_incidents.c.ended_at.is_(None), parent_incidents.c.ended_at >= since)))).all()
    out: dict[str, tuple[int, float]] = {}
    for pid, started, ended in rows:
        span = max(0.0, ((ended or now) - max(started, since)).total_seconds())
        n, total = out.get(pid, (0, 0.0))
        out[pid] = (n + 1, total + span)
    return out
