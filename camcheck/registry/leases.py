"""Sharing the checking work between daemon nodes, and committing each check atomically.

Every camera has one row in ``leases``. A node *claims* due cameras (PostgreSQL: ``FOR UPDATE
SKIP LOCKED``, so two nodes never claim the same camera; SQLite: one writer at a time), checks them,
and *commits* the result in one transaction that also releases the lease — but only if the lease's
fencing token is still the one it claimed. A node that was paused or cut off past its lease cannot
write late: its commit is refused and the camera's persisted state stays exactly as the node that
took over left it. Transitions are therefore never duplicated, and never lost either: the state
machine's input is replayed by the next check.

Held leases are renewed with the node's heartbeat; when a node dies (kill -9), its leases expire
after ``ttl`` seconds and other nodes claim those cameras.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from camcheck import __version__
from camcheck.registry.models import MEASURED_COLUMNS, CheckRecord, EvidenceRecord, Measured, TransitionRecord, now_utc
from camcheck.registry.schema import cameras, check_results, evidence, leases, nodes, transitions
from camcheck.registry.store import Store


log = logging.getLogger(__name__)

# SQLite lets one writer in at a time; past its busy timeout (or at once, when a reader must upgrade
# to writer after another commit) it says "database is locked". A check's result is worth a retry.
LOCK_RETRIES = 6


def _locked(exc: OperationalError) -> bool:
    text = str(exc.orig if getattr(exc, "orig", None) is not None else exc).lower()
    return "database is locked" in text or "database table is locked" in text


class LeaseLost(RuntimeError):
    """The lease was taken over (expired and claimed by another node): the result is discarded."""


@dataclass(frozen=True)
class Lease:
    camera_id: str
    token: int
    next_check_at: datetime | None
    priority: int


@dataclass(frozen=True)
class CheckCommit:
    """Everything one finished check writes, in one transaction."""

    check: CheckRecord
    verdict_state: str  # camcheck.verdict CameraState JSON
    status: str
    status_since: datetime | None
    status_reason: str | None
    findings: list[str]
    consecutive_failures: int
    consecutive_successes: int
    next_check_at: datetime
    priority: int = 0
    status_reason_data: dict[str, Any] | None = None  # the reason as {code, args}
    transition: TransitionRecord | None = None
    suppressed_by: str | None = None
    evidence: Sequence[EvidenceRecord] = ()
    last_good: EvidenceRecord | None = None  # replaces the camera's previous last-good picture
    run_start: EvidenceRecord | None = None  # replaces its previous first picture of a picture run (`unchanged`)
    camera_facts: Measured | None = None  # the measured values the camera row takes (None: the check's)


class Leases:
    """One node's view of the lease table."""

    def __init__(self, store: Store, node_id: str, *, ttl: float = 60.0, rng: random.Random | None = None) -> None:
        self.store = store
        self.node_id = node_id
        self.ttl = ttl
        self._rng = rng or random.Random()

    @property
    def _engine(self):  # noqa: ANN202
        return self.store.engine

    async def _write(self, fn: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
        """Run ``fn`` in one write transaction, retried (bounded, with backoff) when SQLite is locked."""
        for attempt in range(LOCK_RETRIES):
            try:
                async with self._engine.begin() as conn:
                    return await fn(conn)
            except OperationalError as exc:
                if not _locked(exc) or attempt == LOCK_RETRIES - 1:
                    raise
                log.info("registry busy (another writer), retrying a write (%d)", attempt + 1)
                await asyncio.sleep(0.05 * 2**attempt * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    # -- nodes --------------------------------------------------------------------------------
    async def register(self, *, hostname: str, pid: int, capacity: int) -> None:
        now = now_utc()
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                sa.update(nodes).where(nodes.c.id == self.node_id).values(
                    hostname=hostname, pid=pid, version=__version__, capacity=capacity, started_at=now, heartbeat_at=now
                )
            )
            if updated.rowcount == 0:
                await conn.execute(sa.insert(nodes).values(
                    id=self.node_id, hostname=hostname, pid=pid, version=__version__, capacity=capacity,
                    started_at=now, heartbeat_at=now,
                ))
            # A starting node holds nothing: leases still under its id were a previous process's (kill -9).
            # Left alone, this process's heartbeat would renew them forever and those cameras would never
            # be checked again. The token bump fences that process should it still be alive.
            await conn.execute(
                sa.update(leases).where(leases.c.owner_node == self.node_id)
                .values(owner_node=None, expires_at=None, token=leases.c.token + 1)
            )

    async def heartbeat(self) -> int:
        """Mark this node alive and extend every lease it holds; returns the leases renewed."""
        now = now_utc()

        async def run(conn: AsyncConnection) -> int:
            await conn.execute(sa.update(nodes).where(nodes.c.id == self.node_id).values(heartbeat_at=now))
            r = await conn.execute(
                sa.update(leases).where(leases.c.owner_node == self.node_id)
                .values(expires_at=now + timedelta(seconds=self.ttl))
            )
            return r.rowcount

        return await self._write(run)

    async def live_nodes(self, *, within: float) -> list[str]:
        cutoff = now_utc() - timedelta(seconds=within)
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(nodes.c.id).where(nodes.c.heartbeat_at >= cutoff).order_by(nodes.c.id))
            return [r[0] for r in rows]

    # -- camera set ---------------------------------------------------------------------------
    async def sync(self, *, spread: float, now: datetime | None = None) -> int:
        """Give every camera without a lease row one, due at a random point within ``spread`` s,
        so a first start (or a large import) does not check everything at once."""
        now = now or now_utc()
        async with self._engine.begin() as conn:
            missing = (await conn.execute(
                sa.select(cameras.c.id).where(~sa.exists().where(leases.c.camera_id == cameras.c.id))
            )).scalars().all()
            if not missing:
                return 0
            rows = [
                {"camera_id": cid, "next_check_at": now + timedelta(seconds=self._rng.uniform(0, spread)),
                 "token": 0, "priority": 0}
                for cid in missing
            ]
            await conn.execute(self.store._insert(leases).on_conflict_do_nothing(index_elements=["camera_id"]), rows)  # noqa: SLF001
        return len(missing)

    async def claim(self, limit: int, *, horizon: float, now: datetime | None = None) -> list[Lease]:
        """Take up to ``limit`` enabled cameras due within ``horizon`` seconds whose lease is free
        or expired, suspected ones (priority) first."""
        if limit <= 0:
            return []
        now = now or now_utc()
        due = (
            sa.select(leases.c.camera_id)
            .join(cameras, cameras.c.id == leases.c.camera_id)
            .where(
                cameras.c.enabled.is_(True),
                leases.c.next_check_at <= now + timedelta(seconds=horizon),
                sa.or_(leases.c.owner_node.is_(None), leases.c.expires_at < now),
            )
            .order_by(leases.c.priority.desc(), leases.c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=leases)
        )
        stmt = (
            sa.update(leases)
            .where(leases.c.camera_id.in_(due.scalar_subquery()))
            .values(owner_node=self.node_id, expires_at=now + timedelta(seconds=self.ttl), token=leases.c.token + 1)
            .returning(leases.c.camera_id, leases.c.token, leases.c.next_check_at, leases.c.priority)
        )

        async def run(conn: AsyncConnection) -> list[Any]:
            return list((await conn.execute(stmt)).all())

        rows = await self._write(run)
        return [Lease(r[0], r[1], r[2], r[3]) for r in rows]

    async def release(self, lease: Lease) -> bool:
        """Give a claimed camera back unchecked (shutdown): its due time is kept."""
        async with self._engine.begin() as conn:
            r = await conn.execute(
                sa.update(leases)
                .where(leases.c.camera_id == lease.camera_id, leases.c.owner_node == self.node_id,
                       leases.c.token == lease.token)
                .values(owner_node=None, expires_at=None)
            )
        return r.rowcount == 1

    async def reschedule(self, camera_id: str, at: datetime, *, priority: int = 1) -> bool:
        """"Check now" and fast re-checks requested from outside a check (the API)."""
        return await self.reschedule_many([camera_id], at, priority=priority) == 1

    async def reschedule_many(self, camera_ids: Sequence[str], at: datetime, *, priority: int = 1) -> int:
        """The same for several cameras in one statement (a site's sample of its recorders' cameras);
        how many were found."""
        ids, found = list(camera_ids), 0
        if not ids:
            return 0
        async with self._engine.begin() as conn:
            for k in range(0, len(ids), 1000):  # bounded statements (bind-parameter limits)
                r = await conn.execute(sa.update(leases).where(leases.c.camera_id.in_(ids[k:k + 1000]))
                                       .values(next_check_at=at, priority=priority))
                found += r.rowcount
        return found

    # -- a check's result -----------------------------------------------------------------------
    async def load_state(self, camera_id: str) -> str | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(
                sa.select(cameras.c.verdict_state).where(cameras.c.id == camera_id)
            )).scalar_one_or_none()

    async def commit(self, lease: Lease, c: CheckCommit, *, release: bool = True) -> TransitionRecord | None:
        """Write one check's outcome (and release the lease), atomically and fenced.

        Raises LeaseLost (writing nothing) if the lease is no longer this node's. ``release=False``
        keeps the lease for a further check of the same camera in the same job."""
        fence = sa.update(leases).where(
            leases.c.camera_id == lease.camera_id, leases.c.owner_node == self.node_id, leases.c.token == lease.token
        )
        if release:
            fence = fence.values(owner_node=None, expires_at=None, next_check_at=c.next_check_at, priority=c.priority)
        else:
            fence = fence.values(expires_at=now_utc() + timedelta(seconds=self.ttl))

        async def run(conn: AsyncConnection) -> TransitionRecord | None:
            r = await conn.execute(fence)
            if r.rowcount != 1:
                raise LeaseLost(f"lease on camera {lease.camera_id!r} was taken over; result discarded")
            await self._write_check(conn, c)
            saved = await self._write_transition(conn, c) if c.transition is not None else None
            for pic in (c.last_good, c.run_start):
                if pic is not None:  # one free-standing picture of each kind per camera
                    await conn.execute(sa.delete(evidence).where(
                        evidence.c.camera_id == lease.camera_id, evidence.c.kind == pic.kind.value,
                        evidence.c.transition_id.is_(None)))
                    await self._insert_evidence(conn, lease.camera_id, pic, None)
            return saved

        return await self._write(run)

    async def _write_check(self, conn: AsyncConnection, c: CheckCommit) -> None:
        chk = c.check
        await conn.execute(sa.insert(check_results).values(
            camera_id=chk.camera_id, checked_at=chk.checked_at, verdict=chk.verdict, failure=chk.failure,
            findings=chk.findings or None, measures=chk.measured.model_dump(exclude_none=True) or None,
            duration_s=chk.duration_s, node_id=chk.node_id, stream=chk.stream,
        ))
        values: dict[str, Any] = {
            "verdict_state": c.verdict_state,
            "last_check_at": chk.checked_at,
            "status": c.status,
            "status_since": c.status_since,
            "status_reason": c.status_reason,
            "status_reason_data": c.status_reason_data,
            "findings": c.findings or None,
            "consecutive_failures": c.consecutive_failures,
            "consecutive_successes": c.consecutive_successes,
        }
        if chk.verdict in ("working", "degraded"):
            values["last_success_at"] = chk.checked_at
        facts = chk.measured if c.camera_facts is None else c.camera_facts
        for key, col in MEASURED_COLUMNS.items():
            v = getattr(facts, key)
            if v is not None:
                values[col] = v
        await conn.execute(sa.update(cameras).where(cameras.c.id == chk.camera_id).values(**values))

    async def _write_transition(self, conn: AsyncConnection, c: CheckCommit) -> TransitionRecord:
        t = c.transition
        assert t is not None
        tid = (await conn.execute(
            sa.insert(transitions).values(
                camera_id=t.camera_id, at=t.at, from_state=t.from_state.value, to_state=t.to_state.value,
                reason=t.reason, reason_data=t.reason_data, findings=t.findings or None, node_id=self.node_id,
                suppressed_by=c.suppressed_by,
            ).returning(transitions.c.id)
        )).scalar_one()
        ev_ids = [await self._insert_evidence(conn, t.camera_id, e, tid) for e in c.evidence]
        return t.model_copy(update={"id": tid, "evidence_ids": ev_ids})

    @staticmethod
    async def _insert_evidence(conn: AsyncConnection, camera_id: str, e: EvidenceRecord, tid: int | None) -> int:
        return (await conn.execute(
            sa.insert(evidence).values(
                camera_id=camera_id, transition_id=tid, kind=e.kind.value, taken_at=e.taken_at, jpeg=e.jpeg,
                path=e.path, size_bytes=len(e.jpeg) if e.jpeg is not None else e.size_bytes, width=e.width,
                height=e.height,
            ).returning(evidence.c.id)
        )).scalar_one()

    # -- notifications: at least once, with stable ids ----------------------------------------------
    async def unnotified(self, *, older_than: float, node_ids: Sequence[str] | None = None,
                         limit: int = 500) -> list[TransitionRecord]:
        """Transitions committed by ``node_ids`` (default: this node) whose notification was not
        confirmed (a crash between commit and the exporters' durable outbox, or a worker process,
        which has no exporters): re-published with their stable ids."""
        ids = [self.node_id] if node_ids is None else list(node_ids)
        if not ids:
            return []
        cutoff = now_utc() - timedelta(seconds=older_than)
        q = (sa.select(transitions).where(
            transitions.c.node_id.in_(ids), transitions.c.notified_at.is_(None),
            transitions.c.suppressed_by.is_(None), transitions.c.at <= cutoff,
        ).order_by(transitions.c.id).limit(limit))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
        return [_record(r) for r in rows]

    async def covered_unannounced(self, camera_id: str, parent_id: str) -> TransitionRecord | None:
        """The camera's latest transition that `parent_id`'s incident covered and nobody announced."""
        q = (sa.select(transitions).where(
            transitions.c.camera_id == camera_id, transitions.c.suppressed_by == parent_id,
            transitions.c.notified_at.is_(None),
        ).order_by(transitions.c.id.desc()).limit(1))
        async with self._engine.connect() as conn:
            row = (await conn.execute(q)).mappings().first()
        return _record(row) if row is not None else None

    async def mark_suppressed(self, transition_id: int, parent_id: str) -> None:
        """A transition the parent's incident covers: kept, never announced (unnotified() skips it)."""
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(transitions).where(transitions.c.id == transition_id)
                               .values(suppressed_by=parent_id))

    async def mark_notified(self, transition_ids: Sequence[int]) -> None:
        if not transition_ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(transitions).where(transitions.c.id.in_(list(transition_ids)))
                               .values(notified_at=now_utc()))


def _record(r: Any) -> TransitionRecord:
    return TransitionRecord(id=r["id"], camera_id=r["camera_id"], at=r["at"], from_state=r["from_state"],
                            to_state=r["to_state"], reason=r["reason"], reason_data=r["reason_data"],
                            findings=r["findings"] or [])
