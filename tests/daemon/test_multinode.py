"""Several `camcheck run` processes sharing one registry, as real subprocesses.

PostgreSQL (the real server, a fresh database per test): three nodes share a simulated fleet whose
cameras accept ONE session each, so any moment two nodes probed the same camera at once would be
recorded by the camera itself as a refused session (``session_limit``). One node is then killed with
-9 while cameras are confirming a failure: its cameras are picked up by the others within the lease
time, and every camera's transitions are exactly the expected sequence.

SQLite: a single node killed with -9 in the middle of confirming a failure resumes where it stopped
(the 2nd and 3rd failing checks after the restart make it broken, not 3 more).
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from camcheck.probe.observation import RtspSettings, RtspTarget
from camcheck.probe.rtsp import probe_rtsp
from camcheck.registry.schema import cameras, check_results, leases, transitions
from camcheck.registry.store import Store, open_store
from camcheck.simulator.testing import fleet_process

from camcheck.secrets import Secret

from tests.daemon.helpers import (
    PASSWORD,
    DaemonProcess,
    daemon_config_dict,
    pg_database,
    register_sub_only,
    small_fleet_config,
    wait_for,
    write_yaml,
)

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

INTERVAL = 2.5
LEASE_TTL = 6.0
NODES = ("node-1", "node-2", "node-3")


def _ts(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()


async def _checks(store: Store) -> list[dict[str, Any]]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(
            check_results.c.camera_id, check_results.c.node_id, check_results.c.checked_at,
            check_results.c.duration_s, check_results.c.verdict, check_results.c.failure,
        ).order_by(check_results.c.id))).mappings().all()
    return [{**r, "t": _ts(r["checked_at"]), "end": _ts(r["checked_at"]) + (r["duration_s"] or 0.0)} for r in rows]


async def _transitions(store: Store, cid: str) -> list[tuple[str, str]]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(
            sa.select(transitions.c.from_state, transitions.c.to_state).where(transitions.c.camera_id == cid)
            .order_by(transitions.c.id)
        )).all()
    return [(a, b) for a, b in rows]


async def _status(store: Store, cid: str) -> tuple[str, int]:
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(cameras.c.status, cameras.c.consecutive_failures)
                                  .where(cameras.c.id == cid))).one()
    return row[0], row[1] or 0


def _overlaps(checks: list[dict[str, Any]]) -> list[str]:
    """Pairs of checks of one camera whose [start, start+duration] intervals intersect."""
    by_cam: dict[str, list[dict[str, Any]]] = {}
    for c in checks:
        by_cam.setdefault(c["camera_id"], []).append(c)
    bad = []
    for cid, cs in by_cam.items():
        cs.sort(key=lambda c: c["t"])
        for a, b in zip(cs, cs[1:]):
            if a["end"] > b["t"] + 0.05:  # 50 ms: rounding of the stored duration
                bad.append(f"{cid}: {a['node_id']} {a['t']:.3f}..{a['end']:.3f} vs {b['node_id']} from {b['t']:.3f}")
    return bad


async def test_three_nodes_share_cameras_on_postgresql_and_survive_kill_9(tmp_path: Path) -> None:
    ids = [f"mn{i:02d}" for i in range(20)]
    faulty = ["mn03", "mn11"]
    with pg_database() as url, fleet_process(small_fleet_config(ids, max_sessions=1)) as fleet:
        store = await open_store(url, migrate=True)
        procs: dict[str, DaemonProcess] = {}
        try:
            # Control: two probes of one camera at once -> the camera refuses one (session_limit).
            # This is what a double probe by two nodes would leave in the record.
            assert sorted(await _two_probes_at_once(fleet.url(ids[0], "sub"))) == ["session_limit", "working"]

            await register_sub_only(store, fleet, ids)
            for n in NODES:
                cfg = daemon_config_dict(url, interval=INTERVAL, node_id=n, lease_ttl=LEASE_TTL, max_in_flight=4,
                                         timeout=6.0, window=1.0)
                procs[n] = DaemonProcess(write_yaml(tmp_path / f"{n}.yaml", cfg), tmp_path / f"{n}.log")
            for p in procs.values():
                await asyncio.to_thread(p.wait_ready)

            # 1. Every camera checked, and the three nodes all take part.
            async def shared() -> bool:
                cs = await _checks(store)
                return {c["camera_id"] for c in cs} == set(ids) and {c["node_id"] for c in cs} == set(NODES)

            await wait_for(shared, 60, "every camera checked by the three nodes between them", step=0.5)
            await wait_for(lambda: _all_working(store, ids), 60, "every camera working", step=0.5)

            # 2. Two cameras go offline; the node that saw the first failure of one of them is killed -9
            #    at once, so the confirmation has to be finished by the others.
            fault_at = time.time()
            for cid in faulty:
                await fleet.aset_fault(cid, "offline")

            async def first_failure() -> dict[str, Any] | None:
                cs = await _checks(store)
                return next((c for c in cs if c["camera_id"] == faulty[0] and c["t"] >= fault_at
                             and c["verdict"] != "working"), None)

            failed = await wait_for(first_failure, 30, f"a failing check of {faulty[0]}", step=0.1)
            victim = failed["node_id"]
            procs[victim].kill()
            killed_at = time.time()
            async with store.engine.connect() as conn:
                orphaned = (await conn.execute(
                    sa.select(leases.c.camera_id).where(leases.c.owner_node == victim))).scalars().all()
            survivors = [n for n in NODES if n != victim]
            assert orphaned, f"{victim} held no lease when killed: the hand-over would go untested"

            for cid in faulty:
                await wait_for(lambda cid=cid: _is(store, cid, "broken"), 60, f"{cid} broken after going offline")

            # The dead node's cameras are checked by the others within about the lease time.
            async def picked_up() -> bool:
                cs = await _checks(store)
                return all(any(c["camera_id"] == cid and c["node_id"] in survivors and c["t"] >= killed_at for c in cs)
                           for cid in ids)

            await wait_for(picked_up, LEASE_TTL + 30, "every camera checked by the surviving nodes", step=0.5)
            cs = await _checks(store)
            for cid in orphaned:
                first = min(c["t"] for c in cs if c["camera_id"] == cid and c["node_id"] in survivors and c["t"] >= killed_at)
                assert first - killed_at <= LEASE_TTL + INTERVAL + 4.0, (
                    f"{cid} (held by the killed {victim}) was only picked up {first - killed_at:.1f}s after the kill"
                )

            for cid in faulty:
                await fleet.aset_fault(cid, "healthy")
            for cid in faulty:
                await wait_for(lambda cid=cid: _is(store, cid, "working"), 60, f"{cid} working again")

            for p in procs.values():
                if p.proc.poll() is None:
                    p.signal(signal.SIGTERM)
            for n in survivors:
                assert await asyncio.to_thread(procs[n].wait, 60) == 0, procs[n].log_text()[-3000:]

            # 3. What the record shows.
            cs = await _checks(store)
            refused = [c for c in cs if c["failure"] == "session_limit"]
            assert not refused, f"a camera refused a second session (two probes at once): {refused[:3]}"
            assert not _overlaps(cs), _overlaps(cs)[:5]
            assert {c["node_id"] for c in cs} == set(NODES)
            for cid in faulty:
                assert await _transitions(store, cid) == [
                    ("unknown", "working"), ("working", "broken"), ("broken", "working"),
                ], f"{cid}: transitions lost or duplicated"
            for cid in set(ids) - set(faulty):
                assert await _transitions(store, cid) == [("unknown", "working")], cid
            # each change's reason is kept as data beside its sentence, in PostgreSQL's JSONB too
            codes = [t.reason_data and t.reason_data["code"] for t in reversed(await store.list_transitions(faulty[0]))]
            assert codes == ["working_first", "broken_stream", "working_again"], codes
        finally:
            for p in procs.values():
                p.stop(10)
            await store.close()


async def test_single_node_on_sqlite_resumes_confirmation_after_kill_9(tmp_path: Path) -> None:
    ids = ["sq1", "sq2", "sq3"]
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    # Confirmation re-checks 4 s apart: time to kill the node between the 1st and the 2nd failing check.
    status = {"confirm_delays_s": [4.0, 4.0], "recover_delay_s": 0.5, "finding_confirm_delay_s": 0.5}
    cfg = write_yaml(tmp_path / "node.yaml", daemon_config_dict(db, interval=2.0, node_id="solo", lease_ttl=6.0,
                                                                timeout=6.0, window=1.0, status=status))
    with fleet_process(small_fleet_config(ids, max_sessions=1)) as fleet:
        store = await open_store(db, migrate=True)
        node: DaemonProcess | None = None
        try:
            await register_sub_only(store, fleet, ids)
            node = DaemonProcess(cfg, tmp_path / "node-1.log")
            await asyncio.to_thread(node.wait_ready)
            await wait_for(lambda: _all_working(store, ids), 60, "every camera working", step=0.5)

            fault_at = time.time()
            await fleet.aset_fault("sq2", "offline")
            await wait_for(lambda: _failures_is(store, "sq2", 1), 30, "sq2's first failing check", step=0.05)
            node.kill()
            assert await _status(store, "sq2") == ("working", 1)  # committed before the crash

            node = DaemonProcess(cfg, tmp_path / "node-2.log")  # same node id, as after a reboot
            await asyncio.to_thread(node.wait_ready)
            await wait_for(lambda: _is(store, "sq2", "broken"), 60, "sq2 broken after the restart")

            cs = [c for c in await _checks(store) if c["camera_id"] == "sq2" and c["t"] >= fault_at]
            async with store.engine.connect() as conn:
                broken_at = _ts((await conn.execute(sa.select(transitions.c.at).where(
                    transitions.c.camera_id == "sq2", transitions.c.to_state == "broken"))).scalar_one())
            failing_before_broken = [c for c in cs if c["verdict"] != "working" and c["t"] <= broken_at + 0.001]
            assert len(failing_before_broken) == 3, (
                f"broken after {len(failing_before_broken)} failing checks, expected 3 (count resumed)"
            )

            # The other cameras are still checked after the restart: nothing stays claimed by the
            # killed process.
            restarted_at = time.time()

            async def unchecked() -> set[str]:
                cs = await _checks(store)
                return {cid for cid in ids if not any(c["camera_id"] == cid and c["t"] >= restarted_at for c in cs)}

            async def all_checked_again() -> bool:
                return not await unchecked()

            try:
                await wait_for(all_checked_again, 30, "every camera checked after the restart", step=0.5)
            except AssertionError:
                raise AssertionError(f"not checked since the restart: {sorted(await unchecked())}") from None

            await fleet.aset_fault("sq2", "healthy")
            await wait_for(lambda: _is(store, "sq2", "working"), 60, "sq2 working again")
            node.signal(signal.SIGTERM)
            assert await asyncio.to_thread(node.wait, 60) == 0
            assert await _transitions(store, "sq2") == [
                ("unknown", "working"), ("working", "broken"), ("broken", "working"),
            ]
        finally:
            if node is not None:
                node.stop(10)
            await store.close()


async def _two_probes_at_once(url: str) -> list[str]:
    target = RtspTarget(url=url, username="admin", password=Secret(PASSWORD))
    deadline = asyncio.get_running_loop().time() + 10
    obs = await asyncio.gather(*[probe_rtsp(target, RtspSettings(window=1.0), deadline) for _ in range(2)])
    return [o.failure or o.verdict for o in obs]


async def _is(store: Store, cid: str, want: str) -> bool:
    return (await _status(store, cid))[0] == want


async def _failures_is(store: Store, cid: str, n: int) -> bool:
    return (await _status(store, cid))[1] == n


async def _all_working(store: Store, ids: list[str]) -> bool:
    return all([(await _status(store, c))[0] == "working" for c in ids])


async def test_camera_claimed_again_while_its_check_finishes_keeps_being_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast re-check makes a camera due again right after its commit frees the lease; when the
    claim loop takes it again before the finishing check has cleaned up, the new claim must survive
    (it used to be dropped: the camera stayed claimed by its own node, renewed by every heartbeat,
    and was never checked again)."""
    from camcheck.daemon.app import build_daemon
    from camcheck.simulator.testing import running_fleet

    from tests.daemon.helpers import PASSWORD as PW
    from tests.daemon.helpers import daemon_config

    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PW)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    async with running_fleet(small_fleet_config(["rc1"], max_sessions=1, faults={"rc1": "offline"})) as fleet:
        store = await open_store(db, migrate=True)
        await register_sub_only(store, fleet, ["rc1"])
        daemon = build_daemon(daemon_config(db, interval=5.0))  # first check within 5 s
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            # Slow down what follows a commit (the camera's fresh view is read back), so the camera,
            # due again 0.5 s after each failing check, is claimed while its check is still finishing.
            real_get = daemon.store.get_camera

            async def slow_get(cid: str):  # noqa: ANN202
                cam = await real_get(cid)
                await asyncio.sleep(1.5)
                return cam

            monkeypatch.setattr(daemon.store, "get_camera", slow_get)
            await wait_for(lambda: _is(store, "rc1", "broken"), 60, "rc1 broken after 3 fast failing checks")
            n = len(await store.list_checks("rc1", limit=1000))
            assert n >= 3
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()
