"""Parents nest: two recorders behind one site's uplink. When the uplink goes down, every camera
behind both recorders stops and both recorders' incidents open, but ONE incident is announced, the
site's (counting its recorders and their cameras); the recorders' are kept, covered by it, and their
ends are the site's too. When only one recorder goes down, its incident is its own and is announced
once its sibling's cameras were checked (the site stays up). Against the simulator, a real Mosquitto
and Prometheus' text; in one process and as `camcheck run --workers 2`."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from camcheck.registry import incidents
from camcheck.registry.parent_sheet import import_parents
from camcheck.registry.schema import parents, transitions
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet
from tests.daemon.helpers import (
    FAST_STATUS,
    PASSWORD,
    daemon_config_dict,
    fleet_config,
    incident_story,
    metrics_text,
    pg_database,
    register,
    running_daemon,
    wait_for,
)
from tests.exporters.exporter_peers import Subscriber
from tests.peers import sockets

pytestmark = pytest.mark.timeout(300)

BEHIND = {"nvr-a": ["pier-1", "pier-2", "pier-3"], "nvr-b": ["mkt-1", "mkt-2", "mkt-3"]}
CAMERAS = [c for ids in BEHIND.values() for c in ids]
SHEET = ("รหัสอุปกรณ์แม่,ประเภท,ชื่อ,รหัสอุปกรณ์ต้นทาง,ที่อยู่ไอพี\n"
         "site-1,จุดติดตั้ง,ตู้สื่อสารท่าเรือ,,127.0.0.1:{silent}\n"
         "nvr-a,เครื่องบันทึก,NVR ท่าเรือ,site-1,127.0.0.1:{refusing}\n"
         "nvr-b,เครื่องบันทึก,NVR ตลาด,site-1,\n")


@pytest.mark.parametrize("mode", ["one process", "--workers 2", "two nodes on PostgreSQL"])
async def test_a_site_uplink_down_is_one_incident_and_a_recorder_down_alone_is_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """Two nodes both judge every parent (each is a primary): the registry decides who tells what."""
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    with contextlib.ExitStack() as dbs:
        db = (dbs.enter_context(pg_database("camcheck_site")) if mode.startswith("two nodes")
              else f"sqlite:///{tmp_path / 'registry.db'}")
        await _site_story(tmp_path, db, workers=2 if mode == "--workers 2" else 1,
                          nodes=2 if mode.startswith("two nodes") else 1)


async def _site_story(tmp_path: Path, db: str, *, workers: int, nodes: int) -> None:
    prefix = f"camcheck-test-{uuid.uuid4().hex[:8]}"
    async with running_fleet(fleet_config(CAMERAS, **{c: {"osd_text": "site"} for c in CAMERAS})) as fleet, \
            Subscriber(1883, [f"{prefix}/#"]) as sub, contextlib.AsyncExitStack() as stack:
        store = await open_store(db, migrate=True)
        sheet = tmp_path / "parents.csv"
        # the site's router drops connections (the uplink is cut); nvr-a's address refuses them (it is on)
        silent, refusing = stack.enter_context(sockets.full_backlog()), stack.enter_context(sockets.closed_port())
        sheet.write_text(SHEET.format(silent=silent, refusing=refusing), encoding="utf-8")
        assert (await import_parents(sheet, store)).ok
        for nvr, ids in BEHIND.items():
            await register(store, fleet, ids, parent=nvr)
        cfg = daemon_config_dict(db, interval=1.5, status={**FAST_STATUS, "confirm_delays_s": [2.5, 2.5]})
        cfg["exporters"] = {"mqtt": {"host": "127.0.0.1", "port": 1883, "prefix": prefix}}

        def events(who: str) -> list[dict]:
            return [json.loads(p) for p in sub.payloads(f"/camera/{who}/events")]

        async def told() -> dict[str, tuple[str | None, str | None]]:
            async with store.engine.connect() as conn:
                rows = (await conn.execute(sa.select(parents.c.id, parents.c.status, parents.c.incident_told))).all()
            return {pid: (status, how) for pid, status, how in rows}

        async def statuses() -> set[str]:
            return {c.status.value for c in [await store.get_camera(cid) for cid in CAMERAS] if c}

        async def equal(got, want) -> bool:  # noqa: ANN001
            return (await got()) == want

        try:
            async with running_daemon(cfg, workers, tmp_path, nodes=nodes) as port:
                await wait_for(lambda: all(events(c) for c in CAMERAS), 60, "every camera's first event (working)")

                for cid in CAMERAS:  # the site's uplink is cut: both recorders' cameras stop together
                    await fleet.set_fault(cid, "offline")
                await wait_for(lambda: events("site-1"), 60, "the site's incident")
                opened = events("site-1")[0]
                assert (opened["from_status"], opened["to_status"], opened["findings"]) == ("working", "broken",
                                                                                           ["parent_down"])
                assert opened["camera"]["name"] == "ตู้สื่อสารท่าเรือ"
                assert opened["reason"].startswith(
                    "Parent site-1 suspected down: 2 of 2 devices behind it (6 cameras) stopped delivering"), opened
                assert opened["reason_th"].startswith("อุปกรณ์แม่ site-1 น่าจะขัดข้อง: อุปกรณ์ 2 จาก 2 ตัว"), opened
                assert opened["reason"].endswith(f"Its address 127.0.0.1:{silent} does not answer either: its power "
                                                 "or the network to it."), opened
                # both recorders are down too, told by the site's incident: stored, never announced
                down = {"site-1": ("suspected_down", "told"), "nvr-a": ("suspected_down", "covered"),
                        "nvr-b": ("suspected_down", "covered")}
                await wait_for(lambda: equal(told, down), 30, "both recorders covered by the site")
                # what /metrics says (the first node's: with two, it learns what the other decided as it
                # judges the parents again, within seconds)
                shown = [f'camcheck_parent_incident_covered{{parent_id="{nvr}",upstream_id="site-1"}} 1.0'
                         for nvr in BEHIND] + ['camcheck_parent_cameras_affected{parent_id="site-1"} 6.0']
                await wait_for(lambda: _shows(port, shown), 30, "the covered recorders in /metrics")
                await wait_for(lambda: equal(statuses, {"broken"}), 60, "every camera broken")

                for cid in CAMERAS:  # the uplink is back
                    await fleet.set_fault(cid, "healthy")
                await wait_for(lambda: len(events("site-1")) >= 2, 90, "the site's recovery")
                closed = events("site-1")[1]
                assert (closed["from_status"], closed["to_status"]) == ("broken", "working")
                assert closed["reason"] == "Parent site-1 recovered; still failing: none.", closed
                await wait_for(lambda: equal(statuses, {"working"}), 60, "every camera working again")
                assert [events(nvr) for nvr in BEHIND] == [[], []]  # the recorders' incidents were the site's
                assert all([e["to_status"] for e in events(c)] == ["working"] for c in CAMERAS)
                await wait_for(lambda: equal(told, dict.fromkeys(down, (None, None))), 30, "every incident closed")

                for cid in BEHIND["nvr-a"]:  # now one recorder alone loses power; the site is fine
                    await fleet.set_fault(cid, "offline")
                await wait_for(lambda: events("nvr-a"), 60, "the recorder's own incident")
                (own,) = events("nvr-a")
                assert own["reason"].startswith("Parent nvr-a suspected down: 3 of 3 cameras behind it "), own
                assert own["reason"].endswith(f"Its address 127.0.0.1:{refusing} answers: the device is on; look "
                                              "behind it."), own  # its cameras' switch or power, not the recorder
                assert own["camera"]["name"] == "NVR ท่าเรือ"
                assert (await told())["nvr-a"] == ("suspected_down", "told")
                await wait_for(lambda: _shows(port, [], absent='camcheck_parent_incident_covered{'), 30,
                               "no covered incident in /metrics")
                for cid in BEHIND["nvr-a"]:
                    await fleet.set_fault(cid, "healthy")
                await wait_for(lambda: len(events("nvr-a")) >= 2, 90, "the recorder's recovery")
                assert events("nvr-a")[1]["reason"] == "Parent nvr-a recovered; still failing: none."
                assert len(events("site-1")) == 2 and events("nvr-b") == []  # nothing more for the site
                async with store.engine.connect() as conn:  # every camera's change was a recorder's
                    marks = set((await conn.execute(sa.select(transitions.c.camera_id, transitions.c.suppressed_by)
                                                    .where(transitions.c.to_state == "broken"))).all())
                assert {(c, nvr) for nvr, ids in BEHIND.items() for c in ids} <= marks, marks
                # the history keeps every incident: the site's, the recorders' it covered, nvr-a's own
                async with store.engine.connect() as conn:
                    past = {p: await incidents.list_for(conn, p) for p in ("site-1", *BEHIND)}
                assert {p: [(r["covered_by"], r["ended_at"] is not None) for r in rows] for p, rows in past.items()} == {
                    "site-1": [(None, True)], "nvr-a": [(None, True), ("site-1", True)], "nvr-b": [("site-1", True)]}
                assert past["site-1"][0]["incident"]["reason"] == opened["reason"]
                assert past["nvr-a"][0]["incident"]["reason"] == own["reason"]
                assert PASSWORD.encode() not in b"".join(p for _, p, _ in sub.messages)
        except AssertionError as exc:
            story = await incident_story(store, sub, prefix, tmp_path, ["site-1", *BEHIND])
            raise AssertionError(f"{exc}\n{story}") from None
        finally:
            await store.close()
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883) as c:  # retained messages of this unique prefix
        for t in {t for t, _, r in sub.messages if r or t.endswith("/state") or t.endswith("/status")}:
            await c.publish(t, b"", qos=1, retain=True)


async def _shows(port: int, lines: list[str], absent: str | None = None) -> bool:
    text = await metrics_text(port)
    return all(line in text for line in lines) and (absent is None or absent not in text)
