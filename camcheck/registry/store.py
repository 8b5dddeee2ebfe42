"""The registry's typed async API over SQLAlchemy Core, the same on SQLite and PostgreSQL.

    store = await open_store("sqlite+aiosqlite:///var/lib/camcheck/camcheck.db")  # or postgresql+asyncpg://...
    await store.migrate()
    await store.upsert_cameras(records)
    ...
    await store.close()
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from camcheck.registry import migrate as _migrate
from camcheck.registry.db import create_engine, normalise_url, sqlite_path
from camcheck.registry.models import (
    MEASURED_COLUMNS,
    RECORD_FIELDS,
    CameraFilter,
    CameraRecord,
    CameraState,
    CheckRecord,
    EvidenceKind,
    EvidenceRecord,
    MaintenanceScope,
    MaintenanceWindow,
    Measured,
    ParentKind,
    StoredCamera,
    TransitionRecord,
    now_utc,
)
from camcheck.registry.schema import (
    audit_log,
    cameras,
    check_results,
    evidence,
    maintenance_windows,
    parent_incidents,
    parents,
    transitions,
)
from camcheck.secrets import mask_url

ProgressFn = Callable[[int, int], None]

_UPDATABLE = tuple(f for f in RECORD_FIELDS if f != "id")


class RegistryError(Exception):
    pass


class TransitionConflict(RegistryError):
    """The camera was not in the transition's from_state (another writer changed it first)."""


@dataclass
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    inserted_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    created_upstream: list[str] = field(default_factory=list)  # parents named upstream, added bare


@dataclass
class PruneResult:
    check_results: int = 0
    transitions: int = 0
    evidence: int = 0
    audit_log: int = 0
    maintenance_windows: int = 0
    parent_incidents: int = 0


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _record_row(rec: CameraRecord) -> dict[str, Any]:
    row = rec.model_dump(mode="python")
    row["purposes"] = [p.value for p in rec.purposes]
    row["registry_status"] = rec.registry_status.value if rec.registry_status else None
    return row


def _camera_from_row(row: sa.RowMapping) -> StoredCamera:
    data: dict[str, Any] = {f: row[f] for f in RECORD_FIELDS}
    data["purposes"] = data["purposes"] or []
    data["tags"] = data["tags"] or []
    measured = Measured(**{k: row[c] for k, c in MEASURED_COLUMNS.items()})
    return StoredCamera(
        **data,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=CameraState(row["status"]),
        status_since=row["status_since"],
        status_reason=row["status_reason"],
        status_reason_data=row["status_reason_data"],
        findings=row["findings"] or [],
        consecutive_failures=row["consecutive_failures"],
        consecutive_successes=row["consecutive_successes"],
        last_check_at=row["last_check_at"],
        last_success_at=row["last_success_at"],
        measured=measured,
    )


def _window_from_row(row: sa.RowMapping) -> MaintenanceWindow:
    return MaintenanceWindow(**{k: row[k] for k in MaintenanceWindow.model_fields})


def camera_filter_clauses(f: CameraFilter | None) -> list[sa.ColumnElement[bool]]:
    """SQL conditions for a CameraFilter (AND of everything given); shared by the store and the API."""
    if f is None:
        return []
    w: list[sa.ColumnElement[bool]] = []
    if f.status:
        w.append(cameras.c.status.in_([s.value for s in f.status]))
    if f.registry_status:
        w.append(cameras.c.registry_status.in_([s.value for s in f.registry_status]))
    for attr, col in (("district", cameras.c.district), ("province", cameras.c.province),
                      ("agency", cameras.c.owner_agency), ("parent_id", cameras.c.parent_id)):
        value = getattr(f, attr)
        if value is not None:
            w.append(col == value)
    if f.enabled is not None:
        w.append(cameras.c.enabled.is_(f.enabled))
    # purposes/tags are ",a,b," text: membership is a LIKE on the raw text
    if f.purpose is not None:
        w.append(sa.type_coerce(cameras.c.purposes, sa.Text).like(f"%,{_like_escape(f.purpose.value)},%", escape="\\"))
    if f.tag is not None:
        w.append(sa.type_coerce(cameras.c.tags, sa.Text).like(f"%,{_like_escape(f.tag.strip())},%", escape="\\"))
    if f.text:
        pat = f"%{_like_escape(f.text.lower())}%"
        w.append(sa.or_(*[sa.func.lower(c).like(pat, escape="\\") for c in
                          (cameras.c.id, cameras.c.name, cameras.c.point_name, cameras.c.owner_agency)]))
    return w


class Store:
    """Async access to one registry database. Create with :func:`open_store`."""

    def __init__(self, engine: AsyncEngine, url: str) -> None:
        self.engine = engine
        self.url = url

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({mask_url(self.url)!r})"

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def migrate(self) -> str:
        """Bring the schema to the newest revision (idempotent); returns that revision."""
        await _migrate.upgrade(self.engine)
        return _migrate.head_revision()

    async def revision(self) -> str | None:
        return await _migrate.current_revision(self.engine)

    async def is_current(self) -> bool:
        return await self.revision() == _migrate.head_revision()

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # --- cameras --------------------------------------------------------------------------------

    async def upsert_cameras(
        self,
        records: Sequence[CameraRecord],
        *,
        fields: Iterable[str] | None = None,
        dry_run: bool = False,
        batch_size: int = 1000,
        progress: ProgressFn | None = None,
    ) -> UpsertResult:
        """Insert new cameras and update changed ones by id, in one transaction.

        Only registry fields are written; camcheck's computed state is never touched. ``fields``
        limits what an update may change (a sheet without an RTSP column must not wipe the stored
        URLs); new cameras get every field. A camera whose fields are all unchanged is not written
        at all (its updated_at stays). With ``dry_run`` the same statements run and are rolled
        back, so the counts are exact and nothing is written.
        """
        if fields is None:
            updatable = _UPDATABLE
        else:
            wanted = set(fields)
            unknown = wanted - set(RECORD_FIELDS)
            if unknown:
                raise RegistryError(f"not camera fields: {sorted(unknown)}")
            updatable = tuple(f for f in _UPDATABLE if f in wanted)
        ids = [r.id for r in records]
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            dup = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
            raise RegistryError(f"camera id {dup!r} appears twice in one upsert")
        result = UpsertResult()
        now = now_utc()
        ins = self._insert(cameras)
        if updatable:
            stmt = ins.on_conflict_do_update(
                index_elements=[cameras.c.id],
                set_={**{f: ins.excluded[f] for f in updatable}, "updated_at": ins.excluded.updated_at},
                where=sa.or_(*[cameras.c[f].is_distinct_from(ins.excluded[f]) for f in updatable]),
            )
        else:
            stmt = ins.on_conflict_do_nothing(index_elements=[cameras.c.id])
        stmt = stmt.returning(cameras.c.id, cameras.c.created_at)
        parent_ids = sorted({r.parent_id for r in records if r.parent_id})
        async with self._transaction(dry_run=dry_run) as conn:
            if parent_ids:
                await self._ensure_parents(conn, parent_ids, now)
            for start in range(0, len(records), batch_size):
                chunk = records[start : start + batch_size]
                rows = []
                for rec in chunk:
                    row = _record_row(rec)
                    row["created_at"] = now
                    row["updated_at"] = now
                    rows.append(row)
                res = await conn.execute(stmt, rows)
                for cam_id, created_at in res.all():
                    if created_at == now:
                        result.inserted_ids.append(cam_id)
                    else:
                        result.updated_ids.append(cam_id)
                if progress:
                    progress(min(start + batch_size, len(records)), len(records))
            result.inserted = len(result.inserted_ids)
            result.updated = len(result.updated_ids)
            result.unchanged = len(records) - result.inserted - result.updated
        return result

    @contextlib.asynccontextmanager
    async def _transaction(self, *, dry_run: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed, or rolled back on an error or for a dry run."""
        async with self.engine.connect() as conn:
            trans = await conn.begin()
            try:
                yield conn
            except BaseException:
                await trans.rollback()
                raise
            if dry_run:
                await trans.rollback()
            else:
                await trans.commit()

    async def _ensure_parents(self, conn: AsyncConnection, parent_ids: Sequence[str], now: datetime) -> None:
        ins = self._insert(parents).on_conflict_do_nothing(index_elements=[parents.c.id])
        await conn.execute(
            ins,
            [{"id": p, "kind": ParentKind.OTHER.value, "created_at": now, "updated_at": now} for p in parent_ids],
        )

    async def upsert_parent(
        self,
        parent_id: str,
        kind: ParentKind,
        *,
        name: str | None = None,
        parent_of: str | None = None,
        host: str | None = None,
        district: str | None = None,
        province: str | None = None,
    ) -> None:
        now = now_utc()
        values = {"kind": ParentKind(kind).value, "name": name, "parent_id": parent_of, "host": host,
                  "district": district, "province": province}
        ins = self._insert(parents).values(id=parent_id, created_at=now, updated_at=now, **values)
        stmt = ins.on_conflict_do_update(index_elements=[parents.c.id], set_={**values, "updated_at": now})
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def list_parents(self, *, parent_id: str | None = None, suspected_down: bool | None = None,
                           limit: int = 100_000) -> list[dict[str, Any]]:
        """Parents (NVRs, switches, sites) by id, each row with how many cameras are registered behind
        it (`cameras`); all of them by default: a province registers thousands at most."""
        behind = (sa.select(cameras.c.parent_id, sa.func.count().label("n")).where(cameras.c.parent_id.is_not(None))
                  .group_by(cameras.c.parent_id).subquery())
        q = (sa.select(parents, sa.func.coalesce(behind.c.n, 0).label("cameras"))
             .select_from(parents.outerjoin(behind, behind.c.parent_id == parents.c.id)).order_by(parents.c.id))
        if parent_id is not None:
            q = q.where(parents.c.id == parent_id)
        if suspected_down is not None:
            q = q.where(parents.c.status == "suspected_down" if suspected_down else parents.c.status.is_(None))
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(q.limit(limit))).mappings().all()]

    async def upsert_parent_rows(self, rows: dict[str, dict[str, Any]], *, dry_run: bool = False) -> UpsertResult:
        """Parents by id with the fields each row gives (kind, name, host, parent_of, district,
        province); fields a row does not give stay as they are. Upstream parents named but not
        known are added bare (kind 'other'). One transaction; rolled back for a dry run."""
        column = {"parent_of": "parent_id"}
        result = UpsertResult()
        now = now_utc()
        async with self._transaction(dry_run=dry_run) as conn:
            existing = {r["id"]: dict(r) for r in (await conn.execute(sa.select(parents))).mappings()}
            upstream = sorted({f["parent_of"] for f in rows.values() if f.get("parent_of")}
                              - set(existing) - set(rows))
            if upstream:
                await self._ensure_parents(conn, upstream, now)
                result.created_upstream = upstream
            new = [pid for pid in rows if pid not in existing]
            if new:  # bare first, so upstream references between new rows hold
                await self._ensure_parents(conn, new, now)
            # One executemany per set of columns given (a sheet gives every row the same set).
            batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for pid, fields in rows.items():
                values = {column.get(k, k): v for k, v in fields.items()}
                if "kind" in values and values["kind"] is None:
                    values["kind"] = ParentKind.OTHER.value
                before = existing.get(pid)
                if before is not None and all(before.get(k) == v for k, v in values.items()):
                    result.unchanged += 1
                    continue
                batches.setdefault(tuple(sorted(values)), []).append({"_id": pid, "updated_at": now, **values})
                (result.inserted_ids if before is None else result.updated_ids).append(pid)
            for keys, params in batches.items():
                stmt = (sa.update(parents).where(parents.c.id == sa.bindparam("_id"))
                        .values({k: sa.bindparam(k) for k in (*keys, "updated_at")}))
                await conn.execute(stmt, params)
            result.inserted, result.updated = len(result.inserted_ids), len(result.updated_ids)
        return result

    async def delete_parent(self, parent_id: str, *, actor: str) -> str | None:
        """Delete a parent nothing depends on (no camera, no device behind it, no open incident), audited.
        None when deleted; else why not: "missing", "cameras", "devices" or "incident"."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(sa.select(parents.c.status).where(parents.c.id == parent_id))).first()
            if row is None:
                return "missing"
            if row.status == "suspected_down":
                return "incident"
            if (await conn.execute(sa.select(cameras.c.id).where(cameras.c.parent_id == parent_id).limit(1))).first():
                return "cameras"
            if (await conn.execute(sa.select(parents.c.id).where(parents.c.parent_id == parent_id).limit(1))).first():
                return "devices"
            # its past outages go with it (explicitly: SQLite enforces the cascade only when asked to)
            await conn.execute(sa.delete(parent_incidents).where(parent_incidents.c.parent_id == parent_id))
            await conn.execute(sa.delete(parents).where(parents.c.id == parent_id))
            await self._audit(conn, actor, "parent.delete", parent_id, None)
        return None

    async def get_parent(self, parent_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(parents).where(parents.c.id == parent_id))).mappings().first()
        return dict(row) if row else None

    async def get_camera(self, camera_id: str) -> StoredCamera | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(cameras).where(cameras.c.id == camera_id))).mappings().first()
        return _camera_from_row(row) if row else None

    def _where(self, f: CameraFilter | None) -> list[sa.ColumnElement[bool]]:
        return camera_filter_clauses(f)

    async def list_cameras(
        self, filters: CameraFilter | None = None, *, limit: int | None = 100, offset: int = 0
    ) -> list[StoredCamera]:
        """Cameras matching ``filters``, ordered by id; ``limit=None`` returns all."""
        q = sa.select(cameras).where(*self._where(filters)).order_by(cameras.c.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
        return [_camera_from_row(r) for r in rows]

    async def count_cameras(self, filters: CameraFilter | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(cameras).where(*self._where(filters))
        async with self.engine.connect() as conn:
            return int((await conn.execute(q)).scalar_one())

    async def iter_cameras(self, filters: CameraFilter | None = None, *, page: int = 1000) -> AsyncIterator[StoredCamera]:
        """All matching cameras, paged by id (keyset, so concurrent inserts cannot shift pages)."""
        after: str | None = None
        while True:
            q = sa.select(cameras).where(*self._where(filters)).order_by(cameras.c.id).limit(page)
            if after is not None:
                q = q.where(cameras.c.id > after)
            async with self.engine.connect() as conn:
                rows = (await conn.execute(q)).mappings().all()
            for r in rows:
                yield _camera_from_row(r)
            if len(rows) < page:
                return
            after = rows[-1]["id"]

    async def delete_camera(self, camera_id: str, *, actor: str) -> bool:
        """Delete a camera and its history (checks, transitions, evidence, lease). Audited."""
        async with self.engine.begin() as conn:
            # explicit child deletes: do not depend on the FK cascade being enabled
            for t in (evidence, transitions, check_results):
                await conn.execute(sa.delete(t).where(t.c.camera_id == camera_id))
            res = await conn.execute(sa.delete(cameras).where(cameras.c.id == camera_id))
            if res.rowcount:
                await self._audit(conn, actor, "camera.delete", camera_id, None)
        return bool(res.rowcount)

    # --- checks, transitions, evidence ----------------------------------------------------------

    async def record_check(
        self,
        check: CheckRecord,
        *,
        consecutive_failures: int | None = None,
        consecutive_successes: int | None = None,
    ) -> None:
        await self.record_checks([(check, consecutive_failures, consecutive_successes)])

    async def record_checks(self, items: Iterable[tuple[CheckRecord, int | None, int | None]]) -> None:
        """Store many check results at once and update each camera's last-check fields,
        measured values (only those measured this time) and, if given, its counters."""
        items = list(items)
        if not items:
            return
        rows = [
            {
                "camera_id": c.camera_id,
                "checked_at": c.checked_at,
                "verdict": c.verdict,
                "failure": c.failure,
                "findings": c.findings or None,
                "measures": c.measured.model_dump(exclude_none=True) or None,
                "duration_s": c.duration_s,
                "node_id": c.node_id,
                "stream": c.stream,
            }
            for c, _, _ in items
        ]
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(check_results), rows)
            for c, fails, succ in items:
                values: dict[str, Any] = {"last_check_at": c.checked_at}
                if c.verdict in ("working", "degraded"):
                    values["last_success_at"] = c.checked_at
                for key, col in MEASURED_COLUMNS.items():
                    v = getattr(c.measured, key)
                    if v is not None:
                        values[col] = v
                if fails is not None:
                    values["consecutive_failures"] = fails
                if succ is not None:
                    values["consecutive_successes"] = succ
                await conn.execute(sa.update(cameras).where(cameras.c.id == c.camera_id).values(**values))

    async def list_checks(self, camera_id: str, *, limit: int = 100) -> list[CheckRecord]:
        q = (sa.select(check_results).where(check_results.c.camera_id == camera_id)
             .order_by(check_results.c.checked_at.desc(), check_results.c.id.desc()).limit(limit))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
        return [
            CheckRecord(camera_id=r["camera_id"], checked_at=r["checked_at"], verdict=r["verdict"],
                        failure=r["failure"], findings=r["findings"] or [], measured=Measured(**(r["measures"] or {})),
                        duration_s=r["duration_s"], node_id=r["node_id"], stream=r["stream"])
            for r in rows
        ]

    async def record_transition(
        self, transition: TransitionRecord, evidence_items: Sequence[EvidenceRecord] = ()
    ) -> TransitionRecord:
        """Store a status change with its evidence and set the camera's status, atomically.

        Raises TransitionConflict if the camera is no longer in ``from_state`` (so two writers
        can never both record the same change).
        """
        async with self.engine.begin() as conn:
            res = await conn.execute(
                sa.update(cameras)
                .where(cameras.c.id == transition.camera_id, cameras.c.status == transition.from_state.value)
                .values(status=transition.to_state.value, status_since=transition.at,
                        status_reason=transition.reason, status_reason_data=transition.reason_data,
                        findings=transition.findings or None)
            )
            if res.rowcount != 1:
                raise TransitionConflict(
                    f"camera {transition.camera_id!r} is not in state {transition.from_state.value!r}"
                )
            tid = (await conn.execute(
                sa.insert(transitions).values(
                    camera_id=transition.camera_id, at=transition.at, from_state=transition.from_state.value,
                    to_state=transition.to_state.value, reason=transition.reason,
                    reason_data=transition.reason_data, findings=transition.findings or None,
                ).returning(transitions.c.id)
            )).scalar_one()
            ev_ids = [await self._insert_evidence(conn, transition.camera_id, e, tid) for e in evidence_items]
        return transition.model_copy(update={"id": tid, "evidence_ids": ev_ids})

    async def _insert_evidence(self, conn: AsyncConnection, camera_id: str, e: EvidenceRecord, tid: int | None) -> int:
        return (await conn.execute(
            sa.insert(evidence).values(
                camera_id=camera_id, transition_id=tid, kind=e.kind.value, taken_at=e.taken_at, jpeg=e.jpeg,
                path=e.path, size_bytes=e.size_bytes, width=e.width, height=e.height,
            ).returning(evidence.c.id)
        )).scalar_one()

    async def add_evidence(self, camera_id: str, item: EvidenceRecord) -> int:
        """Evidence not tied to a transition (the reference view, the latest good picture)."""
        async with self.engine.begin() as conn:
            return await self._insert_evidence(conn, camera_id, item, None)

    async def latest_jpeg(self, camera_id: str, kind: EvidenceKind) -> bytes | None:
        """The camera's latest picture of this kind (its reference, its last good view), None if none."""
        async with self.engine.connect() as conn:
            return (await conn.execute(
                sa.select(evidence.c.jpeg)
                .where(evidence.c.camera_id == camera_id, evidence.c.kind == kind.value)
                .order_by(evidence.c.id.desc()).limit(1)
            )).scalar_one_or_none()

    async def get_evidence(self, evidence_id: int) -> EvidenceRecord | None:
        return await self._one_evidence(sa.select(evidence).where(evidence.c.id == evidence_id))

    async def latest_evidence(self, camera_id: str, kind: EvidenceKind, *,
                              before: datetime | None = None) -> EvidenceRecord | None:
        """The camera's newest picture of this kind by the time it was taken (only those taken
        before `before` if given), None if none."""
        q = sa.select(evidence).where(evidence.c.camera_id == camera_id, evidence.c.kind == kind.value)
        if before is not None:
            q = q.where(evidence.c.taken_at < before)
        return await self._one_evidence(q.order_by(evidence.c.taken_at.desc(), evidence.c.id.desc()).limit(1))

    async def first_evidence(self, camera_id: str, kind: EvidenceKind, *, since: datetime) -> EvidenceRecord | None:
        """The camera's first picture of this kind taken at or after `since`, None if none."""
        q = (sa.select(evidence)
             .where(evidence.c.camera_id == camera_id, evidence.c.kind == kind.value, evidence.c.taken_at >= since)
             .order_by(evidence.c.taken_at, evidence.c.id).limit(1))
        return await self._one_evidence(q)

    async def _one_evidence(self, q: sa.Select[Any]) -> EvidenceRecord | None:
        async with self.engine.connect() as conn:
            r = (await conn.execute(q)).mappings().first()
        if r is None:
            return None
        return EvidenceRecord(id=r["id"], kind=EvidenceKind(r["kind"]), taken_at=r["taken_at"], jpeg=r["jpeg"],
                              path=r["path"], width=r["width"], height=r["height"])

    async def list_transitions(self, camera_id: str, *, limit: int = 100) -> list[TransitionRecord]:
        q = (sa.select(transitions).where(transitions.c.camera_id == camera_id)
             .order_by(transitions.c.at.desc(), transitions.c.id.desc()).limit(limit))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
            ids = [r["id"] for r in rows]
            ev: dict[int, list[int]] = {}
            if ids:
                for tid, eid in (await conn.execute(
                    sa.select(evidence.c.transition_id, evidence.c.id)
                    .where(evidence.c.transition_id.in_(ids)).order_by(evidence.c.id)
                )).all():
                    ev.setdefault(tid, []).append(eid)
        return [
            TransitionRecord(id=r["id"], camera_id=r["camera_id"], at=r["at"], from_state=r["from_state"],
                             to_state=r["to_state"], reason=r["reason"], reason_data=r["reason_data"],
                             findings=r["findings"] or [], evidence_ids=ev.get(r["id"], []))
            for r in rows
        ]

    # --- maintenance windows (every change audited) ---------------------------------------------

    async def create_maintenance(self, window: MaintenanceWindow, *, actor: str) -> MaintenanceWindow:
        async with self.engine.begin() as conn:
            await self._check_target(conn, window.scope, window.target_id)
            now = now_utc()
            values = window.model_dump(exclude={"id", "created_at", "created_by", "ended_at", "ended_by"})
            values["scope"] = window.scope.value
            wid = (await conn.execute(
                sa.insert(maintenance_windows).values(**values, created_at=now, created_by=actor)
                .returning(maintenance_windows.c.id)
            )).scalar_one()
            await self._audit(conn, actor, "maintenance.create", f"{window.scope.value}:{window.target_id}",
                              {"id": wid, "reason": window.reason, "owner": window.owner,
                               "starts_at": window.starts_at.isoformat(), "expires_at": window.expires_at.isoformat()})
        return window.model_copy(update={"id": wid, "created_at": now, "created_by": actor})

    async def _check_target(self, conn: AsyncConnection, scope: MaintenanceScope, target: str) -> None:
        if scope == MaintenanceScope.CAMERA:
            found = (await conn.execute(sa.select(cameras.c.id).where(cameras.c.id == target))).first()
        else:
            q = sa.select(parents.c.kind).where(parents.c.id == target)
            kind = (await conn.execute(q)).scalar_one_or_none()
            found = kind is not None and (scope != MaintenanceScope.SITE or kind == ParentKind.SITE.value)
        if not found:
            raise RegistryError(f"no {scope.value} with id {target!r}")

    async def get_maintenance(self, window_id: int) -> MaintenanceWindow | None:
        async with self.engine.connect() as conn:
            r = (await conn.execute(
                sa.select(maintenance_windows).where(maintenance_windows.c.id == window_id))).mappings().first()
        return _window_from_row(r) if r else None

    async def list_maintenance(
        self,
        *,
        active_at: datetime | None = None,
        scope: MaintenanceScope | None = None,
        target_id: str | None = None,
    ) -> list[MaintenanceWindow]:
        mw = maintenance_windows
        q = sa.select(mw).order_by(mw.c.starts_at, mw.c.id)
        if scope is not None:
            q = q.where(mw.c.scope == scope.value)
        if target_id is not None:
            q = q.where(mw.c.target_id == target_id)
        if active_at is not None:
            q = q.where(mw.c.starts_at <= active_at, mw.c.expires_at > active_at,
                        sa.or_(mw.c.ended_at.is_(None), mw.c.ended_at > active_at))
        async with self.engine.connect() as conn:
            return [_window_from_row(r) for r in (await conn.execute(q)).mappings().all()]

    async def maintenance_for_camera(self, camera_id: str, at: datetime | None = None) -> list[MaintenanceWindow]:
        """Windows active at ``at`` covering the camera itself, its parent or the parent's ancestors."""
        at = at or now_utc()
        targets = [(MaintenanceScope.CAMERA, camera_id)]
        async with self.engine.connect() as conn:
            pid = (await conn.execute(sa.select(cameras.c.parent_id).where(cameras.c.id == camera_id))).scalar_one_or_none()
            seen: set[str] = set()
            while pid and pid not in seen and len(seen) < 16:  # bounded: parent chains are short
                seen.add(pid)
                targets += [(MaintenanceScope.PARENT, pid), (MaintenanceScope.SITE, pid)]
                pid = (await conn.execute(sa.select(parents.c.parent_id).where(parents.c.id == pid))).scalar_one_or_none()
        out: list[MaintenanceWindow] = []
        for w in await self.list_maintenance(active_at=at):
            if (w.scope, w.target_id) in targets:
                out.append(w)
        return out

    async def update_maintenance(
        self, window_id: int, *, actor: str, expires_at: datetime | None = None, reason: str | None = None,
        owner: str | None = None,
    ) -> MaintenanceWindow:
        current = await self.get_maintenance(window_id)
        if current is None:
            raise RegistryError(f"no maintenance window {window_id}")
        changes = {k: v for k, v in (("expires_at", expires_at), ("reason", reason), ("owner", owner)) if v is not None}
        updated = MaintenanceWindow(**{**current.model_dump(), **changes})  # validates order
        async with self.engine.begin() as conn:
            await conn.execute(sa.update(maintenance_windows).where(maintenance_windows.c.id == window_id).values(**changes))
            await self._audit(conn, actor, "maintenance.update", f"{current.scope.value}:{current.target_id}",
                              {"id": window_id, **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()}})
        return updated

    async def end_maintenance(self, window_id: int, *, actor: str, at: datetime | None = None) -> MaintenanceWindow:
        at = at or now_utc()
        async with self.engine.begin() as conn:
            res = await conn.execute(
                sa.update(maintenance_windows)
                .where(maintenance_windows.c.id == window_id, maintenance_windows.c.ended_at.is_(None))
                .values(ended_at=at, ended_by=actor)
            )
            if res.rowcount != 1:
                raise RegistryError(f"no open maintenance window {window_id}")
            await self._audit(conn, actor, "maintenance.end", str(window_id), {"id": window_id, "ended_at": at.isoformat()})
        w = await self.get_maintenance(window_id)
        assert w is not None
        return w

    async def delete_maintenance(self, window_id: int, *, actor: str) -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(sa.delete(maintenance_windows).where(maintenance_windows.c.id == window_id))
            if res.rowcount:
                await self._audit(conn, actor, "maintenance.delete", str(window_id), {"id": window_id})
        return bool(res.rowcount)

    # --- audit ----------------------------------------------------------------------------------

    async def _audit(self, conn: AsyncConnection, actor: str, action: str, target: str | None,
                     details: dict[str, Any] | None) -> None:
        await conn.execute(sa.insert(audit_log).values(at=now_utc(), actor=actor, action=action, target=target,
                                                       details=details))

    async def audit(self, actor: str, action: str, target: str | None = None,
                    details: dict[str, Any] | None = None) -> None:
        async with self.engine.begin() as conn:
            await self._audit(conn, actor, action, target, details)

    async def list_audit(self, *, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if action:
            q = q.where(audit_log.c.action == action)
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(q)).mappings().all()]

    # --- retention ------------------------------------------------------------------------------

    async def prune(
        self,
        history: timedelta,
        *,
        audit: timedelta | None = None,
        now: datetime | None = None,
    ) -> PruneResult:
        """Delete check results, transitions and evidence older than ``history``.

        Kept regardless of age: each camera's latest transition and its evidence (it explains the
        current status), each camera's latest last-good picture, and reference pictures. Audit
        entries and finished maintenance windows are only pruned when ``audit`` is given.
        """
        now = now or now_utc()
        cutoff = now - history
        out = PruneResult()
        latest_t = sa.select(sa.func.max(transitions.c.id)).group_by(transitions.c.camera_id)
        latest_good = (sa.select(sa.func.max(evidence.c.id))
                       .where(evidence.c.kind == EvidenceKind.LAST_GOOD.value).group_by(evidence.c.camera_id))
        old_t = sa.select(transitions.c.id).where(transitions.c.at < cutoff, transitions.c.id.not_in(latest_t))
        async with self.engine.begin() as conn:
            r1 = await conn.execute(sa.delete(evidence).where(evidence.c.transition_id.in_(old_t)))
            r2 = await conn.execute(sa.delete(evidence).where(
                evidence.c.transition_id.is_(None), evidence.c.kind != EvidenceKind.REFERENCE.value,
                evidence.c.taken_at < cutoff, evidence.c.id.not_in(latest_good)))
            out.evidence = r1.rowcount + r2.rowcount
            out.transitions = (await conn.execute(sa.delete(transitions).where(transitions.c.id.in_(old_t)))).rowcount
            out.check_results = (await conn.execute(
                sa.delete(check_results).where(check_results.c.checked_at < cutoff))).rowcount
            if audit is not None:
                acut = now - audit
                out.audit_log = (await conn.execute(sa.delete(audit_log).where(audit_log.c.at < acut))).rowcount
                mw = maintenance_windows
                out.maintenance_windows = (await conn.execute(sa.delete(mw).where(
                    mw.c.expires_at < acut, sa.or_(mw.c.ended_at.is_(None), mw.c.ended_at < acut)))).rowcount
                # a parent's past outages are accountability, like the audit log: kept as long
                out.parent_incidents = (await conn.execute(sa.delete(parent_incidents).where(
                    parent_incidents.c.ended_at < acut))).rowcount
        return out


async def open_store(url: str | os.PathLike[str] | None = None, *, migrate: bool = False, echo: bool = False) -> Store:
    """Open the registry at ``url`` (SQLite path/URL or postgresql[+asyncpg]://...; None = default)."""
    full = normalise_url(url)
    store = Store(create_engine(full, echo=echo), full)
    if migrate:
        try:
            await store.migrate()
        except BaseException:
            await store.close()
            raise
    return store


# The brief's name for it: store.open(url)
open = open_store  # noqa: A001


def database_exists(url: str | os.PathLike[str] | None) -> bool:
    """False only when the URL names a SQLite file that does not exist yet (opening would create it)."""
    path = sqlite_path(normalise_url(url))
    return path is None or path.exists()
