"""A parent device (recorder, switch, site) going down, in the daemon: when most cameras behind it stop
delivering together, one incident is announced for the parent (in English and Thai) instead of one
alarm per camera, its cameras' own transitions are kept but not notified, and the parent's recovery
is announced once. Against the simulator and a real Mosquitto; in one process, and as `camcheck run
--workers 2` (a worker process commits some cameras' changes and the primary announces them: it must
judge the parent before it does)."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from camcheck.exporters.api import queries, views
from camcheck.registry.parent_sheet import import_parents
from camcheck.registry.schema import check_results, parents, transitions
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet
from tests.daemon.helpers import (
    FAST_STATUS,
    PASSWORD,
    daemon_config_dict,
    fleet_config,
    incident_story,
    metrics_text,
    register,
    running_daemon,
    wait_for,
)
from tests.exporters.exporter_peers import Subscriber
from tests.peers import sockets

pytestmark = pytest.mark.timeout(240)

CHILDREN = ["nvr-ch1", "nvr-ch2", "nvr-ch3", "nvr-ch4"]


async def _equal(got: Any, want: Any) -> bool:
    return (await got) == want


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_parent_down_is_one_incident_in_english_and_thai(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 workers: int) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    prefix = f"camcheck-test-{uuid.uuid4().hex[:8]}"
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    # the children share one clip (same streams, scene and OSD text): encoded once
    async with running_fleet(fleet_config(CHILDREN, **{c: {"osd_text": "nvr"} for c in CHILDREN})) as fleet, \
            Subscriber(1883, [f"{prefix}/#"]) as sub, contextlib.AsyncExitStack() as stack:
        store = await open_store(db, migrate=True)
        await register(store, fleet, CHILDREN, parent="nvr-1")
        sheet = tmp_path / "parents.csv"  # what and where the recorder is, as a province lists it
        # the recorder's address drops connections (it has no power): asked once, before the incident is told
        silent = stack.enter_context(sockets.full_backlog())
        sheet.write_text(f"รหัสอุปกรณ์แม่,ประเภท,ชื่อ,ที่อยู่ไอพี\nnvr-1,เครื่องบันทึก,NVR ศาลากลาง ชั้น 2,127.0.0.1:{silent}\n",
                         encoding="utf-8")
        assert (await import_parents(sheet, store)).ok
        # A camera is broken after its 3rd failing check, 2 x 2.5 s after its first (production: 20 s, 60 s):
        # the parent's incident must be open by then, its siblings checked at once to decide it.
        cfg = daemon_config_dict(db, interval=1.5, status={**FAST_STATUS, "confirm_delays_s": [2.5, 2.5]})
        cfg["exporters"] = {"mqtt": {"host": "127.0.0.1", "port": 1883, "prefix": prefix}}

        def events(camera: str) -> list[dict]:
            return [json.loads(p) for p in sub.payloads(f"/camera/{camera}/events")]

        async def statuses() -> set[str]:
            return {c.status.value for c in [await store.get_camera(cid) for cid in CHILDREN] if c}

        async def parent_row() -> dict:
            async with store.engine.connect() as conn:
                return dict((await conn.execute(sa.select(parents).where(parents.c.id == "nvr-1"))).mappings().one())

        try:
            async with running_daemon(cfg, workers, tmp_path) as port:
                await wait_for(lambda: all(events(c) for c in CHILDREN), 60, "every child's first event (working)")

                for cid in CHILDREN:  # the recorder behind them loses power
                    await fleet.set_fault(cid, "offline")
                await wait_for(lambda: events("nvr-1"), 60, "the parent's incident")
                opened = events("nvr-1")[0]
                assert (opened["from_status"], opened["to_status"]) == ("working", "broken")
                assert opened["findings"] == ["parent_down"] and opened["camera"]["name"] == "NVR ศาลากลาง ชั้น 2"
                assert opened["reason"].startswith("Parent nvr-1 suspected down: 4 of 4 cameras behind it "), opened
                assert opened["reason_th"].startswith("อุปกรณ์แม่ nvr-1 น่าจะขัดข้อง: กล้อง 4 จาก 4 ตัว"), opened
                assert opened["reason"].endswith(f"Its address 127.0.0.1:{silent} does not answer either: its power "
                                                 "or the network to it."), opened
                assert opened["reason_th"].endswith("ไม่ตอบสนองเช่นกัน: ตรวจสอบไฟฟ้าหรือเครือข่ายที่ไปถึงอุปกรณ์"), opened
                row = await parent_row()
                assert row["status"] == "suspected_down" and row["status_reason"] == opened["reason"]
                # what the API and the dashboard show of it (GET /api/v1/parents), from what the daemon wrote
                (shown,) = [views.parent(r) for r in await queries.list_parents(store, suspected_down=True)]
                assert (shown.id, shown.cameras, shown.incident.affected) == ("nvr-1", 4, CHILDREN)
                assert shown.reason_text.th == opened["reason_th"] and shown.reason_text.en == opened["reason"]
                # and Prometheus (alert CamcheckParentSuspectedDown)
                assert 'camcheck_parent_suspected_down{name="NVR ศาลากลาง ชั้น 2",parent_id="nvr-1"} 1.0' in await metrics_text(port)
                assert 'camcheck_parent_cameras_affected{parent_id="nvr-1"} 4.0' in await metrics_text(port)

                await wait_for(lambda: _is(statuses, {"broken"}), 60, "every child broken")
                # each child's own change is kept, marked as covered by the parent, and not notified
                # (a worker's change is marked by the primary, which judges the parent before it announces)
                async def kept() -> list[tuple[str, str | None]]:
                    async with store.engine.connect() as conn:
                        return sorted((await conn.execute(sa.select(
                            transitions.c.camera_id, transitions.c.suppressed_by).where(
                            transitions.c.to_state == "broken"))).all())

                covered = [(cid, "nvr-1") for cid in CHILDREN]
                await wait_for(lambda: _equal(kept(), covered), 10, "every child's change marked as the parent's")
                assert not [e for c in CHILDREN for e in events(c) if e["to_status"] == "broken"]

                *back, still = CHILDREN
                for cid in back:  # power is back; one camera behind the recorder stays dark (its own fault)
                    await fleet.set_fault(cid, "healthy")
                await wait_for(lambda: len(events("nvr-1")) >= 2, 90, "the parent's recovery")
                closed = events("nvr-1")[1]
                assert (closed["from_status"], closed["to_status"]) == ("broken", "working")
                assert closed["reason"] == f"Parent nvr-1 recovered; still failing: {still}.", closed
                assert closed["reason_th"] == f"อุปกรณ์แม่ nvr-1 กลับมาใช้งานได้แล้ว กล้องที่ยังขัดข้อง: {still}", closed
                # the camera still failing is its own problem now: its change to broken is announced
                await wait_for(lambda: [e for e in events(still) if e["to_status"] == "broken"], 30,
                               "the still-failing camera's own broken event")
                own = [e for e in events(still) if e["to_status"] == "broken"]
                assert len(own) == 1 and own[0]["reason"].startswith("No usable stream in "), own
                await fleet.set_fault(still, "healthy")
                await wait_for(lambda: _is(statuses, {"working"}), 60, "every camera working again")
                await wait_for(lambda: len(events(still)) >= 3, 30, "its own recovery")
                # the others' outage and recovery were the parent's: one event each way, for the parent only
                told = {c: [(e["from_status"], e["to_status"]) for e in events(c)] for c in CHILDREN}
                assert told == {**{c: [("unknown", "working")] for c in back},
                                still: [("unknown", "working"), ("working", "broken"), ("broken", "working")]}, told
                assert len(events("nvr-1")) == 2
                assert (await parent_row())["status"] is None
                assert "camcheck_parent_suspected_down{" not in await metrics_text(port)
                assert PASSWORD.encode() not in b"".join(p for _, p, _ in sub.messages)
                if workers > 1:  # both processes checked the cameras (which changes each commits varies)
                    async with store.engine.connect() as conn:
                        nodes = set((await conn.execute(sa.select(check_results.c.node_id).distinct())).scalars())
                    assert len(nodes) == 2, nodes
        except AssertionError as exc:  # what the registry and the broker saw, to tell a race from a slow run
            raise AssertionError(f"{exc}\n{await incident_story(store, sub, prefix, tmp_path, ['nvr-1'])}") from None
        finally:
            await store.close()
    # retained messages of this unique prefix are left on the shared broker: clear them
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883) as c:
        for t in {t for t, _, r in sub.messages if r or t.endswith("/state") or t.endswith("/status")}:
            await c.publish(t, b"", qos=1, retain=True)


async def _is(statuses, want: set[str]) -> bool:  # noqa: ANN001
    return await statuses() == want
