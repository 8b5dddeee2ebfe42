"""The store API against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from camcheck.registry.models import (
    CameraFilter,
    CameraRecord,
    CameraState,
    CheckRecord,
    EvidenceKind,
    EvidenceRecord,
    MaintenanceScope,
    MaintenanceWindow,
    Measured,
    NationalStatus,
    ParentKind,
    Purpose,
    TransitionRecord,
    national_status,
)
from camcheck.registry.schema import evidence
from camcheck.registry.store import RegistryError, Store, TransitionConflict

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
JPEG = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"


def cam(i: int, **kw: object) -> CameraRecord:
    base = dict(id=f"C-{i:03d}", name=f"cam {i}", owner_agency="เทศบาล" if i % 2 else "อบจ.", district="เมือง" if i < 5 else "บาง",
                purposes=[Purpose.TRAFFIC] if i % 3 == 0 else [Purpose.DETERRENCE_SURVEILLANCE],
                tags=["gate"] if i == 1 else [], recorded_width=1920, recorded_height=1080, frame_rate=25.0,
                retention_days=30, main_stream_url=f"rtsp://10.0.0.{i}/s", registry_status=NationalStatus.WORKING_NORMALLY)
    base.update(kw)
    return CameraRecord(**base)  # type: ignore[arg-type]


async def test_upsert_is_idempotent_and_keeps_updated_at(store: Store) -> None:
    res = await store.upsert_cameras([cam(i) for i in range(10)])
    assert (res.inserted, res.updated, res.unchanged) == (10, 0, 0)
    before = await store.get_camera("C-003")
    assert before is not None and before.updated_at == before.created_at
    await asyncio.sleep(0.01)
    res = await store.upsert_cameras([cam(i) for i in range(10)])
    assert (res.inserted, res.updated, res.unchanged) == (0, 0, 10)
    assert (await store.get_camera("C-003")).updated_at == before.updated_at  # type: ignore[union-attr]
    res = await store.upsert_cameras([cam(3, retention_days=7), cam(10)])
    assert (res.inserted, res.updated, res.unchanged) == (1, 1, 0)
    after = await store.get_camera("C-003")
    assert after is not None and after.retention_days == 7
    assert after.updated_at > before.updated_at and after.created_at == before.created_at
    assert await store.count_cameras() == 11


async def test_upsert_fields_limits_updates_and_never_touches_state(store: Store) -> None:
    await store.upsert_cameras([cam(1)])
    await store.record_transition(TransitionRecord(camera_id="C-001", at=T0, from_state=CameraState.UNKNOWN,
                                                   to_state=CameraState.BROKEN, reason="no_frames"))
    # a sheet with only id + brand: stream URL and the computed status must survive
    res = await store.upsert_cameras([CameraRecord(id="C-001", brand="Axis")], fields=["brand"])
    assert res.updated == 1
    got = await store.get_camera("C-001")
    assert got is not None
    assert got.brand == "Axis" and got.main_stream_url == "rtsp://10.0.0.1/s" and got.status is CameraState.BROKEN
    with pytest.raises(RegistryError):
        await store.upsert_cameras([cam(1), cam(1)])


async def test_round_trip_of_every_field(store: Store) -> None:
    rec = cam(2, point_id="P-1", point_name="จุด ๑", lat=14.5, lon=100.25, control_centre="ศูนย์", network_type="4G",
              network_provider="ก", connected=True, brand="Dahua", recorder_brand="Hik", recorder_model="NVR-1",
              max_width=2560, max_height=1440, file_format="H.265", contact_person="คุณ ก", contact_phone="0-1",
              year_installed=2021, police_station="สภ.", internet_viewable=False, project_name="โครงการ",
              sub_stream_url="rtsp://10.0.0.2/sub", onvif_endpoint="10.0.0.2:80", credentials_ref="cam-2",
              parent_id="NVR-1", province="ตัวอย่าง", tags=["a", "b c"], enabled=False,
              purposes=[Purpose.TRAFFIC, Purpose.INVESTIGATION])
    await store.upsert_cameras([rec])
    got = await store.get_camera("C-002")
    assert got is not None
    assert CameraRecord(**got.model_dump(include=set(CameraRecord.model_fields))) == rec
    assert (await store.get_parent("NVR-1"))["kind"] == "other"  # type: ignore[index]


async def test_filters_and_paging(store: Store) -> None:
    await store.upsert_cameras([cam(i) for i in range(12)] + [cam(50, name="Gate_North%", parent_id="NVR-9")])
    await store.record_transition(TransitionRecord(camera_id="C-004", at=T0, from_state=CameraState.UNKNOWN,
                                                   to_state=CameraState.BROKEN))
    ids = lambda cams: [c.id for c in cams]  # noqa: E731
    assert ids(await store.list_cameras(CameraFilter(status=[CameraState.BROKEN]))) == ["C-004"]
    assert len(await store.list_cameras(CameraFilter(district="เมือง"))) == 5
    assert all(c.owner_agency == "อบจ." for c in await store.list_cameras(CameraFilter(agency="อบจ.")))
    assert ids(await store.list_cameras(CameraFilter(purpose=Purpose.TRAFFIC))) == ["C-000", "C-003", "C-006", "C-009"]
    assert ids(await store.list_cameras(CameraFilter(tag="gate"))) == ["C-001"]
    assert ids(await store.list_cameras(CameraFilter(parent_id="NVR-9"))) == ["C-050"]
    assert ids(await store.list_cameras(CameraFilter(text="gate_north%"))) == ["C-050"]
    assert ids(await store.list_cameras(CameraFilter(text="gate_x"))) == []  # "_" is not a wildcard
    page1 = await store.list_cameras(limit=5)
    page3 = await store.list_cameras(limit=5, offset=10)
    assert ids(page1) == [f"C-{i:03d}" for i in range(5)] and ids(page3) == ["C-010", "C-011", "C-050"]
    assert len([c async for c in store.iter_cameras(page=4)]) == 13
    assert await store.count_cameras(CameraFilter(district="บาง")) == 8


async def test_delete_removes_history_and_is_audited(store: Store) -> None:
    await store.upsert_cameras([cam(1), cam(2)])
    await store.record_check(CheckRecord(camera_id="C-001", checked_at=T0, verdict="working"))
    await store.record_transition(TransitionRecord(camera_id="C-001", at=T0, from_state=CameraState.UNKNOWN,
                                                   to_state=CameraState.WORKING),
                                  [EvidenceRecord(kind=EvidenceKind.AT_CHANGE, taken_at=T0, jpeg=JPEG)])
    assert await store.delete_camera("C-001", actor="tester")
    assert not await store.delete_camera("C-001", actor="tester")
    assert await store.get_camera("C-001") is None and await store.list_checks("C-001") == []
    assert (await store.list_audit(action="camera.delete"))[0]["target"] == "C-001"
    assert await store.get_camera("C-002") is not None


async def test_checks_update_state_and_measured_values(store: Store) -> None:
    await store.upsert_cameras([cam(1)])
    await store.record_check(
        CheckRecord(camera_id="C-001", checked_at=T0, verdict="degraded", findings=["low_fps"], duration_s=1.5,
                    measured=Measured(width=1280, height=720, fps=12.0, codec="h264", bitrate_bps=512_000, gop=50)),
        consecutive_failures=0, consecutive_successes=1)
    # a later failing check measuring only retention must keep the stream measurements
    await store.record_check(CheckRecord(camera_id="C-001", checked_at=T0 + timedelta(minutes=5), verdict="broken",
                                         failure="timeout_connect", measured=Measured(retention_days=3.0)),
                             consecutive_failures=1, consecutive_successes=0)
    got = await store.get_camera("C-001")
    assert got is not None
    assert (got.measured.width, got.measured.height, got.measured.fps, got.measured.retention_days) == (1280, 720, 12.0, 3.0)
    assert (got.recorded_width, got.frame_rate, got.retention_days) == (1920, 25.0, 30)  # claims kept beside
    assert got.last_success_at == T0 and got.last_check_at == T0 + timedelta(minutes=5)
    assert (got.consecutive_failures, got.consecutive_successes) == (1, 0)
    checks = await store.list_checks("C-001")
    assert [c.verdict for c in checks] == ["broken", "degraded"]
    assert checks[1].measured.bitrate_bps == 512_000 and checks[1].findings == ["low_fps"]


async def test_transitions_with_evidence_and_conflicts(store: Store) -> None:
    await store.upsert_cameras([cam(1)])
    t = await store.record_transition(
        TransitionRecord(camera_id="C-001", at=T0, from_state=CameraState.UNKNOWN, to_state=CameraState.BROKEN,
                         reason="3 failed checks", findings=["no_frames"]),
        [EvidenceRecord(kind=EvidenceKind.AT_CHANGE, taken_at=T0, jpeg=JPEG, width=320, height=180),
         EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=T0 - timedelta(hours=1), path="/var/lib/camcheck/ev/1.jpg")])
    assert t.id is not None and len(t.evidence_ids) == 2
    got = await store.get_camera("C-001")
    assert got is not None and got.status is CameraState.BROKEN and got.status_since == T0
    assert got.status_reason == "3 failed checks" and got.verified_status is NationalStatus.NOT_WORKING
    ev = await store.get_evidence(t.evidence_ids[0])
    assert ev is not None and ev.jpeg == JPEG and ev.width == 320
    [listed] = await store.list_transitions("C-001")
    assert listed.evidence_ids == t.evidence_ids and listed.findings == ["no_frames"]
    # a second writer still believing the camera is unknown must not record the change again
    with pytest.raises(TransitionConflict):
        await store.record_transition(TransitionRecord(camera_id="C-001", at=T0, from_state=CameraState.UNKNOWN,
                                                       to_state=CameraState.BROKEN))
    assert len(await store.list_transitions("C-001")) == 1


def test_state_to_national_mapping() -> None:
    assert national_status("working") is NationalStatus.WORKING_NORMALLY
    assert national_status(CameraState.DEGRADED) is NationalStatus.WORKING_NORMALLY
    assert national_status(CameraState.BROKEN) is NationalStatus.NOT_WORKING
    assert national_status(CameraState.FLAPPING) is NationalStatus.NOT_WORKING
    assert national_status(CameraState.MAINTENANCE) is NationalStatus.UNDER_REPAIR
    assert national_status(CameraState.UNKNOWN) is None
    assert NationalStatus.UNDER_REPAIR.label_th == "อยู่ระหว่างการซ่อมแซม"
    assert NationalStatus.BROKEN.label("th") == "ชำรุด" and NationalStatus.NOT_WORKING.label("en") == "not working"


async def test_maintenance_windows_are_audited_and_cover_children(store: Store) -> None:
    await store.upsert_parent("SITE-1", ParentKind.SITE, name="ศาลากลาง")
    await store.upsert_parent("NVR-1", ParentKind.NVR, parent_of="SITE-1")
    await store.upsert_cameras([cam(1, parent_id="NVR-1"), cam(2)])
    w = await store.create_maintenance(MaintenanceWindow(scope=MaintenanceScope.SITE, target_id="SITE-1", reason="ย้ายเสา",
                                                         owner="ช่าง ก", starts_at=T0, expires_at=T0 + timedelta(hours=4)),
                                       actor="admin")
    assert w.id is not None and w.created_by == "admin"
    assert [x.id for x in await store.maintenance_for_camera("C-001", T0 + timedelta(hours=1))] == [w.id]
    assert await store.maintenance_for_camera("C-002", T0 + timedelta(hours=1)) == []
    assert await store.maintenance_for_camera("C-001", T0 + timedelta(hours=5)) == []
    w2 = await store.update_maintenance(w.id, actor="admin", expires_at=T0 + timedelta(hours=8))
    assert w2.expires_at == T0 + timedelta(hours=8)
    ended = await store.end_maintenance(w.id, actor="ช่าง ก", at=T0 + timedelta(hours=2))
    assert ended.ended_by == "ช่าง ก" and not ended.active_at(T0 + timedelta(hours=3))
    assert await store.maintenance_for_camera("C-001", T0 + timedelta(hours=3)) == []
    with pytest.raises(RegistryError):
        await store.end_maintenance(w.id, actor="x")
    with pytest.raises(RegistryError):  # NVR-1 is not a site
        await store.create_maintenance(MaintenanceWindow(scope=MaintenanceScope.SITE, target_id="NVR-1", reason="r",
                                                         owner="o", starts_at=T0, expires_at=T0 + timedelta(hours=1)),
                                       actor="admin")
    with pytest.raises(ValueError):
        MaintenanceWindow(scope=MaintenanceScope.CAMERA, target_id="C-001", reason="r", owner="o", starts_at=T0, expires_at=T0)
    assert await store.delete_maintenance(w.id, actor="admin")
    actions = [a["action"] for a in await store.list_audit()]
    assert actions[:4] == ["maintenance.delete", "maintenance.end", "maintenance.update", "maintenance.create"]


async def test_prune_keeps_what_explains_the_current_state(store: Store) -> None:
    await store.upsert_cameras([cam(1), cam(2)])
    now = T0 + timedelta(days=100)
    for d in range(10):  # one check a day for the first ten days, then one recent
        await store.record_check(CheckRecord(camera_id="C-001", checked_at=T0 + timedelta(days=d), verdict="working"))
    await store.record_check(CheckRecord(camera_id="C-001", checked_at=now - timedelta(days=1), verdict="working"))
    states = [CameraState.UNKNOWN, CameraState.WORKING, CameraState.BROKEN, CameraState.WORKING]
    ids = []
    for i in range(3):  # three old transitions, each with a picture
        t = await store.record_transition(
            TransitionRecord(camera_id="C-001", at=T0 + timedelta(days=i), from_state=states[i], to_state=states[i + 1]),
            [EvidenceRecord(kind=EvidenceKind.AT_CHANGE, taken_at=T0 + timedelta(days=i), jpeg=JPEG)])
        ids.append(t.id)
    ref = await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.REFERENCE, taken_at=T0, jpeg=JPEG))
    old_good = await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=T0, jpeg=JPEG))
    new_good = await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=T0 + timedelta(days=1), jpeg=JPEG))
    await store.audit("tester", "something", None, {"x": 1})
    # a parent's past outages: kept like the audit log (one long over, one still open)
    from camcheck.registry import incidents

    await store.upsert_parent("NVR-1", "nvr")
    async with store.engine.begin() as conn:
        for start, end in ((T0, T0 + timedelta(hours=1)), (now - timedelta(days=1), None)):
            await incidents.record(conn, "NVR-1", {"parent_id": "NVR-1", "started_at": start.timestamp(),
                                                   "ended_at": end.timestamp() if end else None, "affected": ["C-001"]})

    res = await store.prune(timedelta(days=30), now=now)
    assert (res.check_results, res.transitions, res.evidence, res.audit_log) == (10, 2, 3, 0)
    assert [c.checked_at for c in await store.list_checks("C-001")] == [now - timedelta(days=1)]
    [kept] = await store.list_transitions("C-001")
    assert kept.id == ids[-1] and len(kept.evidence_ids) == 1  # latest transition explains the current state
    assert await store.get_evidence(ref) is not None and await store.get_evidence(new_good) is not None
    assert await store.get_evidence(old_good) is None
    res = await store.prune(timedelta(days=30), now=now)
    assert (res.check_results, res.transitions, res.evidence) == (0, 0, 0)
    # audit entries carry the real time: prune them as seen from two days ahead
    res = await store.prune(timedelta(days=30), audit=timedelta(days=1), now=datetime.now(timezone.utc) + timedelta(days=2))
    assert res.audit_log >= 1 and await store.list_audit(action="something") == []
    assert res.parent_incidents == 1  # the one over long ago; the open one stays
    async with store.engine.connect() as conn:
        assert [r["ended_at"] for r in await incidents.list_for(conn, "NVR-1")] == [None]


async def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        CheckRecord(camera_id="C-001", checked_at=datetime(2026, 1, 1), verdict="working")


async def test_lease_columns_support_skip_locked_claims(pg_migrated_url: str) -> None:
    """The multi-node design: two nodes claiming due cameras at once get disjoint sets."""
    import sqlalchemy as sa

    from camcheck.registry.schema import leases, nodes
    from camcheck.registry.store import open_store

    store = await open_store(pg_migrated_url)
    try:
        await store.upsert_cameras([cam(i) for i in range(10)])
        now = datetime.now(timezone.utc)
        async with store.engine.begin() as conn:
            await conn.execute(sa.insert(nodes), [{"id": n, "started_at": now, "heartbeat_at": now} for n in ("n1", "n2")])
            await conn.execute(sa.insert(leases), [{"camera_id": f"C-{i:03d}", "next_check_at": now - timedelta(seconds=i)}
                                                   for i in range(10)])

        def claim_query() -> sa.Select:
            free = sa.or_(leases.c.expires_at.is_(None), leases.c.expires_at < sa.func.now())
            return (sa.select(leases.c.camera_id).where(leases.c.next_check_at <= sa.func.now(), free)
                    .order_by(leases.c.next_check_at).limit(6).with_for_update(skip_locked=True))

        async with store.engine.connect() as a, store.engine.connect() as b:
            ta, tb = await a.begin(), await b.begin()
            got_a = [r[0] for r in await a.execute(claim_query())]
            got_b = [r[0] for r in await b.execute(claim_query())]  # does not wait for a's locks
            assert len(got_a) == 6 and len(got_b) == 4 and not set(got_a) & set(got_b)
            for conn, node, got in ((a, "n1", got_a), (b, "n2", got_b)):
                await conn.execute(sa.update(leases).where(leases.c.camera_id.in_(got)).values(
                    owner_node=node, expires_at=sa.func.now() + timedelta(seconds=60), token=leases.c.token + 1))
            await ta.commit()
            await tb.commit()
        async with store.engine.connect() as conn:
            owners = dict((await conn.execute(sa.select(leases.c.owner_node, sa.func.count()).group_by(leases.c.owner_node))).all())
        assert owners == {"n1": 6, "n2": 4}
    finally:
        await store.close()


async def test_latest_jpeg_is_the_last_recorded_of_that_kind_for_that_camera(store: Store) -> None:
    await store.upsert_cameras([cam(1), cam(2)])
    assert await store.latest_jpeg("C-001", EvidenceKind.REFERENCE) is None
    await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.REFERENCE, taken_at=T0, jpeg=b"first"))
    await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.REFERENCE, taken_at=T0, jpeg=b"second"))
    await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=T0, jpeg=b"good"))
    await store.add_evidence("C-002", EvidenceRecord(kind=EvidenceKind.REFERENCE, taken_at=T0, jpeg=b"other"))
    assert await store.latest_jpeg("C-001", EvidenceKind.REFERENCE) == b"second"
    assert await store.latest_jpeg("C-002", EvidenceKind.REFERENCE) == b"other"


async def test_evidence_by_the_time_it_was_taken(store: Store) -> None:
    """The daemon's picture lookups for a transition: the newest (before a time) and the first since."""
    await store.upsert_cameras([cam(1), cam(2)])
    h = timedelta(hours=1)
    assert await store.latest_evidence("C-001", EvidenceKind.LAST_GOOD) is None
    # stored out of time order: the time taken decides, not the insertion order
    for k, name in ((2, b"two"), (0, b"zero"), (1, b"one")):
        await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=T0 + k * h, jpeg=name,
                                                         width=320, height=180))
    await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.AT_CHANGE, taken_at=T0 + 5 * h, jpeg=b"change"))
    await store.add_evidence("C-002", EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=T0 + 9 * h, jpeg=b"other"))
    newest = await store.latest_evidence("C-001", EvidenceKind.LAST_GOOD)
    assert newest.jpeg == b"two" and newest.taken_at == T0 + 2 * h and (newest.width, newest.height) == (320, 180)
    assert (await store.latest_evidence("C-001", EvidenceKind.LAST_GOOD, before=T0 + 2 * h)).jpeg == b"one"
    assert await store.latest_evidence("C-001", EvidenceKind.LAST_GOOD, before=T0) is None
    assert (await store.first_evidence("C-001", EvidenceKind.LAST_GOOD, since=T0 + h)).jpeg == b"one"
    assert (await store.first_evidence("C-001", EvidenceKind.LAST_GOOD, since=T0 + 90 * timedelta(minutes=1))).jpeg == b"two"
    assert await store.first_evidence("C-001", EvidenceKind.LAST_GOOD, since=T0 + 3 * h) is None
    # the kind added by migration 0004, on both databases
    await store.add_evidence("C-001", EvidenceRecord(kind=EvidenceKind.UNCHANGED_SINCE, taken_at=T0, jpeg=b"same"))
    assert (await store.latest_evidence("C-001", EvidenceKind.UNCHANGED_SINCE)).kind == EvidenceKind.UNCHANGED_SINCE


async def test_a_commit_replaces_the_free_standing_pictures_of_each_kind(store: Store) -> None:
    """One last-good and one run-start picture per camera: a commit replaces those of its kinds and
    leaves the pictures attached to transitions (and the other kind) alone."""
    from camcheck.registry.leases import CheckCommit, Leases
    from camcheck.registry.models import CameraState, CheckRecord, TransitionRecord

    await store.upsert_cameras([cam(1)])
    leases = Leases(store, "node-a", ttl=60)
    await leases.register(hostname="h", pid=1, capacity=1)
    await leases.sync(spread=0)
    h = timedelta(hours=1)

    async def commit(k: int, **pics: EvidenceRecord) -> None:
        [lease] = await leases.claim(1, horizon=10**6)
        at = T0 + k * h
        tr = TransitionRecord(camera_id="C-001", at=at, from_state=CameraState.WORKING, to_state=CameraState.BROKEN) \
            if k == 1 else None
        await leases.commit(lease, CheckCommit(
            check=CheckRecord(camera_id="C-001", checked_at=at, verdict="working", node_id="node-a"),
            verdict_state="{}", status="working", status_since=at, status_reason="ok", findings=[],
            consecutive_failures=0, consecutive_successes=1, next_check_at=at, transition=tr,
            evidence=[EvidenceRecord(kind=EvidenceKind.UNCHANGED_SINCE, taken_at=T0, jpeg=b"attached")] if tr else [],
            **pics), release=True)

    def pic(kind: EvidenceKind, k: int, data: bytes) -> EvidenceRecord:
        return EvidenceRecord(kind=kind, taken_at=T0 + k * h, jpeg=data)

    await commit(0, last_good=pic(EvidenceKind.LAST_GOOD, 0, b"good0"),
                 run_start=pic(EvidenceKind.UNCHANGED_SINCE, 0, b"run0"))
    await commit(1, run_start=pic(EvidenceKind.UNCHANGED_SINCE, 1, b"run1"))
    await commit(2, last_good=pic(EvidenceKind.LAST_GOOD, 2, b"good2"))
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(evidence.c.kind, evidence.c.jpeg, evidence.c.transition_id.is_not(None))
                                   .where(evidence.c.camera_id == "C-001").order_by(evidence.c.id))).all()
    assert [(k, bytes(j), t) for k, j, t in rows] == [
        ("unchanged_since", b"attached", True), ("unchanged_since", b"run1", False), ("last_good", b"good2", False)]


async def test_many_cameras_rescheduled_in_one_go(store: Store) -> None:
    """A site's sample of its recorders' cameras, or a maintenance window's cameras, checked now: more
    ids than one statement takes are split, unknown ids are not counted."""
    import sqlalchemy as sa

    from camcheck.registry.leases import Leases
    from camcheck.registry.schema import leases as leases_table

    await store.upsert_cameras([cam(i) for i in range(1, 1201)])
    lz = Leases(store, "node-a", ttl=60)
    await lz.sync(spread=0)
    at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    ids = [f"C-{i:03d}" for i in range(1, 1151)]
    assert await lz.reschedule_many([*ids, "NO-SUCH"], at, priority=1) == 1150
    assert await lz.reschedule_many([], at) == 0
    assert await lz.reschedule("C-1200", at, priority=1) and not await lz.reschedule("NO-SUCH", at)
    async with store.engine.connect() as conn:
        due = set((await conn.execute(sa.select(leases_table.c.camera_id).where(leases_table.c.priority == 1))).scalars())
    assert due == {*ids, "C-1200"}
