"""A parent's incident in the registry, written by several nodes (or concurrent checks of one node):
one opener and one closer announce it, and a stale update never reopens an incident another closed.
On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from camcheck.config.model import parse_config
from camcheck.daemon.service import Daemon
from camcheck.registry.models import CameraRecord
from camcheck.registry.schema import parents
from camcheck.registry.store import open_store
from camcheck.verdict import ParentIncident
from tests.api.fleet_seed import database
from tests.daemon.helpers import Told

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_one_opener_one_closer_and_no_reopening(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        store = await open_store(url, migrate=True)
        try:
            await store.upsert_cameras([CameraRecord(id=f"ch{i}", name=f"ch{i}", parent_id="nvr-1") for i in range(4)])
            nodes = [Daemon(parse_config({"database": {"url": url}, "node_id": n})) for n in ("node-a", "node-b")]
            for d in nodes:
                d.store = store
            a, b = nodes
            opened = ParentIncident(parent_id="nvr-1", started_at=1000.0, children_total=4,
                                    affected=["ch0", "ch1", "ch2", "ch3"], reason="Parent nvr-1 suspected down")
            grown = opened.model_copy(update={"affected": [*opened.affected, "ch4"]})
            closed = opened.model_copy(update={"ended_at": 2000.0})

            async def status() -> str | None:
                async with store.engine.connect() as conn:
                    return (await conn.execute(sa.select(parents.c.status).where(parents.c.id == "nvr-1"))).scalar_one()

            assert await a._save_incident("nvr-1", None, opened)  # noqa: SLF001
            assert not await b._save_incident("nvr-1", None, opened)  # noqa: SLF001 - it was open already
            assert await b._save_incident("nvr-1", opened, grown)  # noqa: SLF001 - an open one is kept up to date
            assert await status() == "suspected_down"
            assert await a._save_incident("nvr-1", grown, closed)  # noqa: SLF001
            assert not await b._save_incident("nvr-1", grown, closed)  # noqa: SLF001 - one closer announces
            assert not await b._save_incident("nvr-1", opened, grown)  # noqa: SLF001 - stale: no reopening
            assert await status() is None
            again = opened.model_copy(update={"started_at": 3000.0})
            assert await b._save_incident("nvr-1", None, again)  # noqa: SLF001
            assert await status() == "suspected_down"  # a new outage opens a new incident
        finally:
            await store.close()


async def test_a_change_is_covered_by_the_incident_known_here_when_the_parent_cannot_be_judged(
        caplog: pytest.LogCaptureFixture) -> None:
    """Judging the parent reads the registry; if that fails the check is still committed, covered by
    the incident this process knows (a status change is never dropped for want of a judgement)."""
    from datetime import datetime, timezone

    from camcheck.daemon.checks import CheckResult
    from camcheck.registry.models import CheckRecord, StoredCamera
    from camcheck.verdict import Evaluation, Status, Transition, new_state

    d = Daemon(parse_config({"database": {"url": "sqlite:////nonexistent/registry.db"}}))  # never opened
    d._incidents["nvr-1"] = ParentIncident(parent_id="nvr-1", started_at=1000.0, children_total=4,  # noqa: SLF001
                                           affected=["ch0", "ch1", "ch2"], reason="Parent nvr-1 suspected down")
    change = Transition(camera_id="ch3", at=1100.0, from_status=Status.working, to_status=Status.broken,
                        reason="No usable stream", findings=["refused"], failure="refused", source="stream")
    result = CheckResult(evaluation=Evaluation(state=new_state("ch3"), transition=change),
                         check=CheckRecord(camera_id="ch3", checked_at=datetime.now(timezone.utc), verdict="broken"))
    cam = StoredCamera(id="ch3", parent_id="nvr-1")
    (covered,) = await d._cover_by_parent(cam, [result])  # noqa: SLF001
    assert covered.evaluation.transition is not None and covered.evaluation.transition.suppressed_by == "nvr-1"
    assert "judging parent nvr-1 failed" in caplog.text
    alone = StoredCamera(id="ch9", parent_id="sw-2")  # no incident known for its parent: announced as usual
    (kept,) = await d._cover_by_parent(alone, [result])  # noqa: SLF001
    assert kept.evaluation.transition is not None and kept.evaluation.transition.suppressed_by is None


@pytest.mark.parametrize("closer", ["this node", "another node"])
async def test_a_change_committed_just_after_its_incident_closed_is_announced_once(tmp_path: Path,
                                                                                 closer: str) -> None:
    """A camera's change judged covered by its parent's open incident, whose commit lands after
    another task (or node) closed the incident with that camera still failing: the close found
    nothing to announce (the change was not in the registry yet), so the commit announces it, once."""
    import asyncio
    import time

    from camcheck.daemon.checks import CheckResult
    from camcheck.registry.leases import Leases
    from camcheck.registry.models import CheckRecord, now_utc
    from camcheck.registry.schema import cameras
    from camcheck.verdict import CheckOutcome, StatusPolicy, evaluate, new_state

    def failing(cid: str, start: float) -> Any:
        """Failed checks in a row: the evaluation of the one that makes the camera broken."""
        st = new_state(cid)
        for k in range(8):
            ev = evaluate(st, CheckOutcome(at=start + 20 * k, failure="refused"), start + 20 * k, StatusPolicy(), None)
            st = ev.state
            if ev.transition is not None and ev.transition.to_status.value == "broken":
                return ev
        raise AssertionError("never broken")

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    store = await open_store(url, migrate=True)
    try:
        ids = ["ch0", "ch1", "ch2", "ch3"]
        await store.upsert_cameras([CameraRecord(id=c, name=c, parent_id="nvr-1") for c in ids])
        now = time.time()
        async with store.engine.begin() as conn:  # the siblings failing too, as the registry holds them
            for c in ids[:3]:
                await conn.execute(sa.update(cameras).where(cameras.c.id == c).values(
                    verdict_state=failing(c, now - 80).state.to_json()))
        d = Daemon(parse_config({"database": {"url": url}, "node_id": "node-a"}))
        d.store, d.leases = store, Leases(store, "node-a", ttl=60)
        told = Told()
        d.exporters = [told]  # type: ignore[list-item]
        other = Daemon(parse_config({"database": {"url": url}, "node_id": "node-b"}))
        other.store, other.leases = store, Leases(store, "node-b", ttl=60)
        told_there = Told()
        other.exporters = [told_there]  # type: ignore[list-item]
        closing = d if closer == "this node" else other
        await d.leases.register(hostname="h", pid=1, capacity=4)
        await d.leases.sync(spread=0)
        opened = ParentIncident(parent_id="nvr-1", started_at=now - 80, children_total=4, affected=ids,
                                reason="Parent nvr-1 suspected down")
        assert await d._save_incident("nvr-1", None, opened)  # noqa: SLF001
        d._incidents["nvr-1"] = opened  # noqa: SLF001

        ev = failing("ch3", now - 60)
        assert ev is not None and ev.transition is not None and ev.transition.to_status.value == "broken"
        result = CheckResult(evaluation=ev, check=CheckRecord(camera_id="ch3", checked_at=now_utc(), verdict="broken",
                                                              node_id="node-a"))
        (lease,) = [x for x in await d.leases.claim(4, horizon=10**6) if x.camera_id == "ch3"]
        commit = d.leases.commit
        closes: list[ParentIncident] = []

        async def close_first(*args: Any, **kw: Any) -> Any:
            # Another task judges the parent between this check's judgement and its commit: the other
            # cameras are back, ch3 is not. Its change is not in the registry yet.
            if not closes:
                closed = opened.model_copy(update={"ended_at": time.time(), "still_failing_at_end": ["ch3"]})
                assert await closing._save_incident("nvr-1", opened, closed)  # noqa: SLF001
                closing._incidents["nvr-1"] = closed  # noqa: SLF001
                closes.append(closed)
                await closing._announce_still_failing(closed)  # noqa: SLF001
                assert told.events == told_there.events == []
            return await commit(*args, **kw)

        d.leases.commit = close_first  # type: ignore[method-assign]
        cam = await store.get_camera("ch3")
        assert cam is not None
        await d._commit(cam, lease, [result])  # noqa: SLF001
        assert closes, "the incident was not open when the check was judged: the race was not staged"
        assert [(e.camera_id, e.to_status) for e in told.events + told_there.events] == [("ch3", "broken")]
        # the closer, looking again (another judgement of the same close), does not announce it twice
        await asyncio.sleep(0.2)  # the announcement's mark in the registry
        await closing._announce_still_failing(closes[0])  # noqa: SLF001
        assert len(told.events + told_there.events) == 1
    finally:
        await store.close()
