"""A demo-sized registry for the API, dashboard and report tests, written only through the real
registry (importer + Store API), and a live server on 127.0.0.1 running in its own thread so sync
clients (schemathesis, selenium) and async tests can all talk to it.

Fleet: the sample CSV (Thai headers, with its broken row), plus generated cameras across districts,
agencies and purposes with check results, transitions (with evidence JPEGs), references, a
maintenance window, claims contradicted by measurements, and optionally thousands of bare cameras.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from camcheck.verdict.reasons import Reason, english

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "tests" / "data" / "registry-sample-th.csv"
from tests.pg import PG_ADMIN_URL, pg_database  # noqa: F401 - PG_ADMIN_URL re-exported for the tests
ARTIFACTS = ROOT / "test-artifacts"

WRITE_TOKEN = "write-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
# the seeded frozen camera's status reason, as the status machine states it (camcheck.verdict.reasons):
# English as stored, Thai rendered from its data on Thai pages and reports
FROZEN_REASON = Reason(code="broken_picture", args={
    "n": 3, "since": (NOW - timedelta(days=3, minutes=2)).timestamp(), "keys": ["frozen"], "unchanged": None})

DISTRICTS = ["เมือง", "บางปะอิน", "วังน้อย", "อุทัย"]
AGENCIES = ["เทศบาลเมืองตัวอย่าง", "สถานีตำรวจภูธรเมือง", "องค์การบริหารส่วนจังหวัด", "ธนาคารตัวอย่าง"]
PURPOSES = [["deterrence_surveillance"], ["traffic"], ["deterrence_surveillance", "investigation"], []]


def jpeg(text: str, colour: tuple[int, int, int] = (90, 140, 60), w: int = 320, h: int = 180) -> bytes:
    """A small evidence-like picture: a gradient 'scene' with the camera id burnt in."""
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    img = (np.array(colour, np.float32) * (0.5 + 0.5 * y) + 60 * x).clip(0, 255).astype(np.uint8)
    cv2.rectangle(img, (w // 3, h // 2), (w // 3 + 60, h - 20), (40, 40, 40), -1)
    cv2.putText(img, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return buf.tobytes()


@dataclass
class Seeded:
    import_report: Any
    ids: list[str]
    broken: list[str] = field(default_factory=list)
    working: list[str] = field(default_factory=list)
    with_evidence: str = ""
    unchanged: str = ""  # broken because its picture has not changed for a day (verdict.unchanged)
    maintenance_camera: str = ""
    maintenance_id: int = 0
    never_checked: list[str] = field(default_factory=list)


def seed_url(url: str, timeout: float = 180.0) -> Seeded:
    """`seed` a fresh registry at `url` (migrated first), from synchronous test code."""
    from camcheck.registry.store import open_store

    from tests.pg import run_in_thread

    async def go() -> Seeded:
        store = await open_store(url, migrate=True)
        try:
            return await seed(store)
        finally:
            await store.close()
    return run_in_thread(go, timeout=timeout)


async def seed(store: Any, *, generated: int = 48, bulk: int = 0) -> Seeded:
    from camcheck.registry.importer import import_file
    from camcheck.registry.models import (
        CameraRecord,
        CameraState,
        CheckRecord,
        EvidenceKind,
        EvidenceRecord,
        MaintenanceScope,
        MaintenanceWindow,
        Measured,
        ParentKind,
        TransitionRecord,
    )

    report = await import_file(SAMPLE_CSV, store, actor="test-seed")
    await store.upsert_parent("NVR-1", ParentKind.NVR, name="NVR ตลาด", district="เมือง")
    recs = []
    for i in range(generated):
        recs.append(CameraRecord(
            id=f"GEN-{i:04d}", name=f"กล้องทดสอบ {i}", owner_agency=AGENCIES[i % 4],
            point_id=f"P{i // 2:03d}", point_name=f"จุดติดตั้ง {i // 2}",
            lat=14.30 + (i % 8) * 0.03, lon=100.40 + (i // 8) * 0.03, purposes=PURPOSES[i % 4],
            control_centre="ศูนย์ควบคุมเทศบาล" if i % 3 else None, network_type="ไฟเบอร์ออปติก",
            connected=None if i % 5 == 4 else bool(i % 3), brand="Hikvision" if i % 2 else "Dahua",
            recorded_width=1920, recorded_height=1080, max_width=1920, max_height=1080, retention_days=30,
            frame_rate=25, file_format="H.264", internet_viewable=i % 4 == 0, year_installed=2021,
            main_stream_url=f"rtsp://10.1.{i // 200}.{i % 200 + 10}/Streaming/Channels/101",
            credentials_ref="default-cameras", parent_id="NVR-1" if i < 8 else None,
            district=DISTRICTS[i % 4], province="พระนครศรีอยุธยา", tags=["demo", f"zone-{i % 3}"],
        ))
    await store.upsert_cameras(recs)
    if bulk:
        bulk_recs = [CameraRecord(id=f"BULK-{i:05d}", name=f"bulk camera {i}", owner_agency=AGENCIES[i % 4],
                                  district=DISTRICTS[i % 4], province="พระนครศรีอยุธยา", purposes=PURPOSES[i % 4],
                                  lat=14.0 + (i % 100) * 0.01, lon=100.0 + (i // 100) * 0.01,
                                  point_id=f"B{i // 3}", internet_viewable=bool(i % 2))
                     for i in range(bulk)]
        await store.upsert_cameras(bulk_recs)

    out = Seeded(report, [r.id for r in recs])
    day = timedelta(days=1)
    for i, rec in enumerate(recs):
        kind = i % 6  # 0,1 working; 2 degraded; 3 broken (frozen); 4 broken (unreachable); 5 never checked
        if kind == 5:
            out.never_checked.append(rec.id)
            continue
        t0 = NOW - 25 * day
        fps = 12.0 if kind == 2 else 25.0
        retention = 3.2 if i % 4 == 1 else 29.6
        checks = [CheckRecord(camera_id=rec.id, checked_at=t0 + k * day, verdict="working",
                              measured=Measured(width=1280 if kind == 2 else 1920, height=720 if kind == 2 else 1080,
                                                fps=fps, codec="h264", bitrate_bps=2_000_000, retention_days=retention,
                                                recording_active=True), duration_s=2.1, node_id="node-a",
                              stream="main")
                  for k in range(3)]
        if kind == 3:  # an ONVIF check among the stream checks (it reads no stream: stream is null)
            checks.insert(1, CheckRecord(camera_id=rec.id, checked_at=t0 + day / 2, verdict="onvif_ok",
                                         measured=Measured(retention_days=retention, recording_active=True),
                                         duration_s=0.4, node_id="node-a"))
        await store.record_checks([(c, 0, 3) for c in checks])
        await store.record_transition(TransitionRecord(camera_id=rec.id, at=t0, from_state=CameraState.UNKNOWN,
                                                       to_state=CameraState.WORKING, reason="first verified check"))
        good = jpeg(rec.id)
        await store.add_evidence(rec.id, EvidenceRecord(kind=EvidenceKind.REFERENCE, taken_at=t0, jpeg=good,
                                                        width=320, height=180))
        if kind == 2:
            await store.record_transition(TransitionRecord(
                camera_id=rec.id, at=NOW - 10 * day, from_state=CameraState.WORKING, to_state=CameraState.DEGRADED,
                reason="stream runs at 12.0 fps, registry says 25 fps",
                findings=["fps_below_claim", "resolution_below_claim"]))
        elif kind in (3, 4):
            # the second camera frozen is caught by the hours rule: the same picture for a day
            same = kind == 3 and bool(out.with_evidence) and not out.unchanged
            findings = ["unchanged"] if same else ["frozen"] if kind == 3 else ["unreachable"]
            bad = jpeg(rec.id + " FROZEN", (40, 40, 40)) if kind == 3 else None
            evid = [EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=NOW - 4 * day - timedelta(hours=1), jpeg=good,
                                   width=320, height=180)]
            if bad:
                evid.insert(0, EvidenceRecord(kind=EvidenceKind.AT_CHANGE, taken_at=NOW - 3 * day, jpeg=bad,
                                              width=320, height=180))
            if same:
                evid.append(EvidenceRecord(kind=EvidenceKind.UNCHANGED_SINCE, taken_at=NOW - 4 * day, jpeg=bad,
                                           width=320, height=180))
                # the good pictures taken hourly while the freeze was not yet known show it too
                await store.add_evidence(rec.id, EvidenceRecord(kind=EvidenceKind.LAST_GOOD, taken_at=NOW - 3 * day
                                                                - timedelta(hours=1), jpeg=bad, width=320, height=180))
                out.unchanged = rec.id
            await store.record_transition(TransitionRecord(
                camera_id=rec.id, at=NOW - 3 * day, from_state=CameraState.WORKING, to_state=CameraState.BROKEN,
                # the other two as stored before reasons carried data: shown as they are
                reason=("the picture has not changed at all for 24.0 h" if same else
                        english(FROZEN_REASON) if kind == 3 else "unreachable"),
                reason_data=FROZEN_REASON.model_dump() if kind == 3 and not same else None,
                findings=findings), evid)
            await store.record_check(CheckRecord(camera_id=rec.id, checked_at=NOW - timedelta(minutes=5),
                                                 verdict="broken", failure=None if kind == 3 else "unreachable",
                                                 findings=findings, stream="sub"), consecutive_failures=9, consecutive_successes=0)
            out.broken.append(rec.id)
            if kind == 3 and not out.with_evidence:
                out.with_evidence = rec.id
        else:
            out.working.append(rec.id)
    # one camera under repair, with its window
    target = out.working[-1]
    await store.record_transition(TransitionRecord(camera_id=target, at=NOW - 2 * day, from_state=CameraState.WORKING,
                                                   to_state=CameraState.MAINTENANCE, reason="maintenance window"))
    w = await store.create_maintenance(MaintenanceWindow(scope=MaintenanceScope.CAMERA, target_id=target,
                                                         reason="เปลี่ยนสายไฟ (replacing the power cable)",
                                                         owner="ช่างสมชาย", starts_at=NOW - 2 * day,
                                                         expires_at=NOW + 2 * day), actor="test-seed")
    out.working.remove(target)
    out.maintenance_camera, out.maintenance_id = target, int(w.id or 0)
    await _open_incident(store, "NVR-1", [r.id for r in recs if r.parent_id == "NVR-1"])
    await store.upsert_parent("SW-9", ParentKind.SWITCH, name="switch with nothing behind it")
    return out


INCIDENT_AFFECTED = 3  # of NVR-1's cameras, failing together when its (open) incident began, 2 h ago


async def _open_incident(store: Any, parent_id: str, children: list[str]) -> None:
    """The parent's incident as the daemon writes it (Daemon._save_incident)."""
    import sqlalchemy as sa

    from camcheck.registry.schema import parents
    from camcheck.verdict.grouping import ParentIncident
    from camcheck.verdict.reasons import Reason, english

    why = Reason(code="parent_down", args={"parent": parent_id, "failing": INCIDENT_AFFECTED,
                                           "total": len(children), "window_s": 360.0})
    began = NOW - timedelta(hours=2)
    inc = ParentIncident(parent_id=parent_id, started_at=began.timestamp(), children_total=len(children),
                         affected=children[:INCIDENT_AFFECTED], reason=english(why), reason_data=why)
    from camcheck.registry import incidents

    past = inc.model_copy(update={"started_at": (began - timedelta(days=3)).timestamp(),  # an earlier outage, over
                                  "ended_at": (began - timedelta(days=3, hours=-1, minutes=-30)).timestamp()})
    async with store.engine.begin() as conn:
        await conn.execute(sa.update(parents).where(parents.c.id == parent_id).values(
            incident=inc.model_dump(mode="json"), status="suspected_down", status_since=began,
            status_reason=inc.reason))
        await incidents.record(conn, parent_id, past.model_dump(mode="json"))
        await incidents.record(conn, parent_id, inc.model_dump(mode="json"))


async def cover_incident(store: Any, parent_id: str, upstream: str, *, covered: bool = True) -> None:
    """The device `upstream` (registered, nothing behind it in the seed) suspected down too and
    telling `parent_id`'s open incident, as the daemon leaves them when a site's uplink fails;
    `covered=False` puts the seed back."""
    import sqlalchemy as sa

    from camcheck.registry.schema import parents

    async with store.engine.begin() as conn:
        inc = (await conn.execute(sa.select(parents.c.incident).where(parents.c.id == parent_id))).scalar_one()
        await conn.execute(sa.update(parents).where(parents.c.id == parent_id).values(
            incident={**inc, "covered_by": upstream if covered else None},
            incident_told="covered" if covered else None))
        down = {"incident": {**inc, "parent_id": upstream, "affected": [parent_id], "reason_data": None,
                             "reason": f"Parent {upstream} suspected down"}, "status": "suspected_down",
                "status_since": NOW - timedelta(hours=2), "status_reason": f"Parent {upstream} suspected down",
                "incident_told": "told"}
        await conn.execute(sa.update(parents).where(parents.c.id == upstream).values(
            **(down if covered else dict.fromkeys(down))))


# --- databases ------------------------------------------------------------------------------------

@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file in ``tmp`` or a uniquely named PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'registry.db'}"
        return
    with pg_database("camcheck_api") as url:
        yield url


# --- a live server in a thread --------------------------------------------------------------------

class RecordingControl:
    """Stands in for the daemon (not built yet): records what the API asked of it."""

    def __init__(self) -> None:
        self.checks: list[str] = []
        self.references: list[tuple[str, int | None]] = []

    async def check_now(self, camera_id: str) -> None:
        self.checks.append(camera_id)

    async def set_reference(self, camera_id: str, jpeg: bytes | None) -> None:
        if jpeg is None and camera_id.startswith("EX-"):
            raise ValueError("no snapshot yet to take the reference from")
        self.references.append((camera_id, None if jpeg is None else len(jpeg)))

    def status_counts(self) -> dict[str, Any]:
        return {"in_flight": 0, "queued": len(self.checks)}


@dataclass
class Live:
    url: str
    db_url: str
    seeded: Seeded
    control: RecordingControl
    loop: asyncio.AbstractEventLoop
    store: Any

    def run(self, coro_fn: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
        """Run a coroutine on the server's loop (where its Store lives) and wait for the result."""
        return asyncio.run_coroutine_threadsafe(coro_fn(), self.loop).result(timeout)


@contextmanager
def live_server(db_url: str, *, generated: int = 48, bulk: int = 0, control: bool = True,
                anonymous_read: bool = False, dashboard: bool = True, tile_url: str | None = None,
                seed_db: bool = True, limits: Any = None) -> Iterator[Live]:
    """Serve the API (and dashboard) over a registry; ``seed_db=False`` serves an already seeded one."""
    from aiohttp import web

    from camcheck.exporters.api import ApiAuthConfig, add_api_routes
    from camcheck.registry.store import open_store

    os.environ["CAMCHECK_TEST_WRITE_TOKEN"] = WRITE_TOKEN
    os.environ["CAMCHECK_TEST_READ_TOKEN"] = READ_TOKEN
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        store = await open_store(db_url, migrate=True)
        try:
            seeded = await seed(store, generated=generated, bulk=bulk) if seed_db else Seeded(None, [])
            ctl = RecordingControl() if control else None
            app = web.Application(client_max_size=1024 * 1024)
            auth = ApiAuthConfig.model_validate({
                "anonymous_read": anonymous_read,
                "tokens": [{"name": "ops", "role": "write", "token_env": "CAMCHECK_TEST_WRITE_TOKEN"},
                           {"name": "viewer", "role": "read", "token_env": "CAMCHECK_TEST_READ_TOKEN"}]})
            add_api_routes(app, store=store, control=ctl, auth=auth, limits=limits)
            if dashboard:
                from camcheck.exporters.web import DashboardSettings, add_dashboard_routes

                add_dashboard_routes(app, store=store, settings=DashboardSettings(tile_url=tile_url))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            stop = asyncio.Event()
            box.update(url=f"http://127.0.0.1:{port}", seeded=seeded, control=ctl, loop=asyncio.get_running_loop(),
                       stop=stop, store=store)
            ready.set()
            await stop.wait()
            await runner.cleanup()
        except BaseException as exc:
            box["error"] = exc
            ready.set()
        finally:
            await store.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    if not ready.wait(180):
        raise TimeoutError("the API server did not start in 180 s")
    if "error" in box:
        raise box["error"]
    live = Live(box["url"], db_url, box["seeded"], box["control"], box["loop"], box["store"])
    try:
        yield live
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)
