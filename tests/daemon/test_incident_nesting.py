"""Nested parents in the registry, judged by two nodes: recorders behind a site. A recorder's incident
waits for its site's judgement; the site's incident covers its recorders' (one announcement); a
recorder still down when its site recovers is announced then, as its own; a recorder waiting too long
is announced as its own; whichever node judges, each incident is told once. On SQLite and PostgreSQL,
with the cameras' states as the verdict leaves them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from camcheck.config.model import parse_config
from camcheck.daemon.service import Daemon
from camcheck.registry.leases import Leases
from camcheck.registry.models import CameraRecord
from camcheck.registry.schema import cameras, leases, parents
from camcheck.registry.store import Store, open_store
from camcheck.verdict import CameraState, CheckOutcome, StatusPolicy, evaluate, new_state
from tests.api.fleet_seed import database
from tests.daemon.helpers import Told

pytestmark = pytest.mark.timeout(120)

NVRS = {f"nvr-{x}": [f"{x}{i}" for i in range(3)] for x in "abc"}


def _checked(cid: str, *checks: tuple[float, bool]) -> CameraState:
    st = new_state(cid)
    for at, ok in checks:
        st = evaluate(st, CheckOutcome(at=at) if ok else CheckOutcome(at=at, failure="unreachable"), at,
                      StatusPolicy(), None).state
    return st


def _node(url: str, name: str, store: Any, **grouping: Any) -> tuple[Daemon, Told]:
    d = Daemon(parse_config({"database": {"url": url}, "node_id": name, "status": {"grouping": grouping}}))
    d.store, d.leases = store, Leases(store, name, ttl=60)
    told = Told()
    d.exporters = [told]  # type: ignore[list-item]
    return d, told


async def _registry(url: str) -> Store:
    """site-1 with nvr-a, nvr-b and nvr-c behind it, three cameras behind each."""
    store = await open_store(url, migrate=True)
    await store.upsert_parent("site-1", kind="site", name="Pier uplink")
    for nvr, ids in NVRS.items():
        await store.upsert_parent(nvr, kind="nvr", name=f"NVR {nvr[-1]}", parent_of="site-1")
        await store.upsert_cameras([CameraRecord(id=c, name=c, parent_id=nvr) for c in ids])
    return store


async def _started(url: str, name: str, store: Store, **grouping: Any) -> tuple[Daemon, Told]:
    """A node judging parents on `store`, its leases and topology in place."""
    d, told = _node(url, name, store, **grouping)
    await d.leases.sync(spread=0)  # type: ignore[union-attr]
    await d._refresh_topology()  # noqa: SLF001 - the parents' names and upstream devices
    return d, told


async def _states(store: Store, by_camera: dict[str, CameraState]) -> None:
    """The cameras' states as their checks would have committed them."""
    async with store.engine.begin() as conn:
        for cid, st in by_camera.items():
            await conn.execute(sa.update(cameras).where(cameras.c.id == cid).values(
                verdict_state=st.to_json(), consecutive_failures=st.sources["stream"].consecutive_failures))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_site_tells_its_recorders_incidents_once_and_hands_back_the_one_still_down(
        kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        store = await _registry(url)
        try:
            a, told_a = await _started(url, "node-a", store)
            b, told_b = await _started(url, "node-b", store)
            now = time.time()

            async def states(**by_camera: CameraState) -> None:
                await _states(store, by_camera)

            async def how() -> dict[str, tuple[str | None, str | None]]:
                async with store.engine.connect() as conn:
                    rows = (await conn.execute(sa.select(parents.c.id, parents.c.status, parents.c.incident_told))).all()
                return {p: (s, t) for p, s, t in rows}

            async def due_now() -> set[str]:
                async with store.engine.connect() as conn:
                    return set((await conn.execute(sa.select(leases.c.camera_id).where(
                        leases.c.priority == 1))).scalars())

            # everyone working, last checked 5 minutes ago; then nvr-a's cameras fail
            await states(**{c: _checked(c, (now - 300, True)) for ids in NVRS.values() for c in ids})
            await states(**{c: _checked(c, (now - 300, True), (now - 80, False)) for c in NVRS["nvr-a"]})
            assert await a._judge_parent("nvr-a") is not None  # noqa: SLF001
            assert (await how())["nvr-a"] == ("suspected_down", "held")  # opened, waiting for its site
            assert told_a.said() == []
            # the site asks for the siblings' cameras now (not checked since nvr-a went down)
            assert await due_now() == set(NVRS["nvr-b"] + NVRS["nvr-c"])

            # they fail too: the uplink. Judged from another node, from the bottom up.
            await states(**{c: _checked(c, (now - 300, True), (now - 60, False))
                            for c in NVRS["nvr-b"] + NVRS["nvr-c"]})
            await b._judge_parent("nvr-b")  # noqa: SLF001
            assert await how() == {"site-1": ("suspected_down", "told"), "nvr-a": ("suspected_down", "covered"),
                                   "nvr-b": ("suspected_down", "covered"), "nvr-c": ("suspected_down", "covered")}
            assert told_a.said() == [] and told_b.said() == [("site-1", "broken")]
            (site,) = told_b.events
            assert site.reason == ("Parent site-1 suspected down: 3 of 3 devices behind it (9 cameras) "
                                   "stopped delivering within 6 min.") and site.view.name == "Pier uplink"
            assert {i.parent_id: i.covered_by for i in b.open_incidents()} == {
                "site-1": None, "nvr-a": "site-1", "nvr-b": "site-1", "nvr-c": "site-1"}
            for d in (a, b):  # judged again anywhere: nothing more to tell
                for p in ("site-1", *NVRS):
                    await d._judge_parent(p)  # noqa: SLF001
            assert told_a.said() == [] and told_b.said() == [("site-1", "broken")]

            # the uplink is back, but nvr-c stays down (its own power): the site recovers and hands
            # nvr-c's incident back to it, announced now as its own; nvr-a's and nvr-b's ends are the site's
            later = time.time()
            await states(**{c: _checked(c, (now - 300, True), (now - 60, False), (later, True), (later + 1, True))
                            for c in NVRS["nvr-a"] + NVRS["nvr-b"]})
            await states(**{c: _checked(c, (now - 300, True), (now - 60, False), (later, False))
                            for c in NVRS["nvr-c"]})
            async with store.engine.begin() as conn:
                await conn.execute(sa.update(leases).values(priority=0))
            await a._judge_parent("site-1")  # noqa: SLF001
            # the recorders that are back closed (nobody told); the site waits for nvr-c's cameras to
            # be looked at again since it came back
            assert told_a.said() == [] and await due_now() == set(NVRS["nvr-c"])
            await asyncio.sleep(0.05)
            again = time.time()
            await states(**{c: _checked(c, (now - 300, True), (now - 60, False), (later, False), (again, False))
                            for c in NVRS["nvr-c"]})
            await a._judge_parent("site-1")  # noqa: SLF001 - still down: the site closes without it
            assert told_a.said() == [("site-1", "working"), ("nvr-c", "broken")], told_a.said()
            ended, own = told_a.events
            assert ended.reason == "Parent site-1 recovered; still failing: nvr-c."
            assert own.reason.startswith("Parent nvr-c suspected down: 3 of 3 cameras behind it"), own.reason
            # (who told a closed incident is cleared: a node older than 0006 opening the next leaves it so)
            assert await how() == {"site-1": (None, None), "nvr-a": (None, None), "nvr-b": (None, None),
                                   "nvr-c": ("suspected_down", "told")}
            await b._judge_parent("nvr-c")  # noqa: SLF001
            await b._judge_parent("site-1")  # noqa: SLF001
            assert len(told_a.events) == 2 and told_b.said() == [("site-1", "broken")]  # told once

            # nvr-c comes back: its end is its own (its start was)
            back = time.time()
            await states(**{c: _checked(c, (now - 60, False), (back, True), (back + 1, True)) for c in NVRS["nvr-c"]})
            await b._judge_parent("nvr-c")  # noqa: SLF001
            assert told_b.said() == [("site-1", "broken"), ("nvr-c", "working")]
        finally:
            await store.close()


async def test_a_recorder_waits_for_its_site_at_most_hold_s_then_is_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    store = await _registry(url)
    try:
        a, told = await _started(url, "node-a", store, hold_s=1.0)
        now = time.time()
        never = {c: _checked(c, (now - 300, True)) for c in NVRS["nvr-b"] + NVRS["nvr-c"]}
        down = {c: _checked(c, (now - 300, True), (now - 80, False)) for c in NVRS["nvr-a"]}
        await _states(store, {**never, **down})
        await a._judge_parent("nvr-a")  # noqa: SLF001
        assert told.said() == []  # the siblings' cameras are asked for; nobody looked yet
        await asyncio.sleep(1.1)
        await a._judge_parent("nvr-a")  # noqa: SLF001
        assert told.said() == [("nvr-a", "broken")]  # waited long enough: its own
        await a._judge_parent("nvr-a")  # noqa: SLF001
        assert len(told.events) == 1
    finally:
        await store.close()


async def test_without_a_wait_recorders_are_told_at_once_and_their_site_still_opens(tmp_path: Path) -> None:
    """hold_s = 0: nothing waits for its site; the recorders' incidents are told as they open, and
    the site, judged on the timer while recorders behind it are down, opens over them."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    store = await _registry(url)
    try:
        a, told = await _started(url, "node-a", store, hold_s=0)
        now = time.time()
        await _states(store, {c: _checked(c, (now - 300, True), (now - 80, False)) for ids in NVRS.values() for c in ids})
        for nvr in NVRS:
            await a._judge_parent(nvr)  # noqa: SLF001
        assert told.said() == [(nvr, "broken") for nvr in NVRS]  # each at once
        await a._refresh_groups()  # noqa: SLF001
        assert told.said()[3:] == [("site-1", "broken")]
    finally:
        await store.close()


async def test_a_recorder_under_maintenance_is_left_out_of_its_sites_count(tmp_path: Path) -> None:
    """nvr-c is being repaired (its cameras in maintenance) when the site's uplink fails: the site's
    two other recorders are all it has to go by, and they are down: one incident, the site's."""
    from camcheck.verdict import MaintenanceWindow, active_window, tick

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    store = await _registry(url)
    try:
        a, told = await _started(url, "node-a", store)
        now = time.time()
        w = MaintenanceWindow(id="mw-1", scope="parent", target_id="nvr-c", reason="disk swap", owner="district",
                              starts_at=now - 600, expires_at=now + 3600)
        repaired = {c: tick(_checked(c, (now - 900, True)), now - 500, StatusPolicy(),
                            active_window(c, ["nvr-c", "site-1"], [w], now - 500)).state for c in NVRS["nvr-c"]}
        assert {st.status.value for st in repaired.values()} == {"maintenance"}
        down = {c: _checked(c, (now - 300, True), (now - 80, False)) for c in NVRS["nvr-a"] + NVRS["nvr-b"]}
        await _states(store, {**repaired, **down})
        await a._judge_parent("nvr-a")  # noqa: SLF001
        await a._judge_parent("nvr-b")  # noqa: SLF001
        assert told.said() == [("site-1", "broken")], told.said()
        assert told.events[0].reason.startswith("Parent site-1 suspected down: 2 of 2 devices behind it (6 cameras)")
    finally:
        await store.close()


async def test_a_waiting_recorder_whose_site_is_unregistered_is_told_as_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    store = await _registry(url)
    try:
        a, told = await _started(url, "node-a", store)
        now = time.time()
        await _states(store, {c: _checked(c, (now - 300, True), *([(now - 80, False)] if c in NVRS["nvr-a"] else []))
                              for ids in NVRS.values() for c in ids})
        await a._judge_parent("nvr-a")  # noqa: SLF001
        assert told.said() == []  # waiting for its site (its siblings' cameras asked for)
        await store.upsert_parent("nvr-a", kind="nvr")  # the site is taken out of the sheet meanwhile
        await a._judge_parent("nvr-a")  # noqa: SLF001
        assert told.said() == [("nvr-a", "broken")]
    finally:
        await store.close()
