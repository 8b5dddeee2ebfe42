"""`camcheck run` as an operator and systemd see it, as a real subprocess against the simulator and a
real SQLite registry: SIGTERM drains, SIGHUP reloads (and keeps the running configuration when the new
one is invalid), --check-config, and the sd_notify protocol (READY, WATCHDOG, STOPPING) on a real
unix datagram socket."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from camcheck.registry.schema import cameras, check_results, leases
from camcheck.registry.store import Store, open_store
from camcheck.simulator.testing import fleet_process

from tests.daemon.helpers import (
    DaemonProcess,
    daemon_config_dict,
    register_sub_only,
    small_fleet_config,
    wait_for,
    write_yaml,
)

pytestmark = pytest.mark.timeout(180)


def _ts(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()


async def _checks(store: Store, cid: str | None = None) -> list[dict[str, Any]]:
    q = sa.select(check_results.c.camera_id, check_results.c.checked_at, check_results.c.duration_s,
                  check_results.c.verdict).order_by(check_results.c.id)
    if cid is not None:
        q = q.where(check_results.c.camera_id == cid)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(q)).mappings().all()
    return [{**r, "t": _ts(r["checked_at"]), "end": _ts(r["checked_at"]) + (r["duration_s"] or 0.0)} for r in rows]


async def _next_gap(store: Store, cid: str) -> float:
    """Seconds between a camera's last check and the next one its lease is due for."""
    async with store.engine.connect() as conn:
        last, nxt = (await conn.execute(
            sa.select(cameras.c.last_check_at, leases.c.next_check_at)
            .join(leases, leases.c.camera_id == cameras.c.id).where(cameras.c.id == cid)
        )).one()
    return _ts(nxt) - _ts(last)


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


async def test_sigterm_drains_checks_in_flight(tmp_path: Path) -> None:
    ids = [f"dr{i}" for i in range(6)]
    db = _sqlite(tmp_path)
    # 3 s of stream per check: a SIGTERM is sure to land while checks are running.
    cfg = write_yaml(tmp_path / "c.yaml", daemon_config_dict(db, interval=2.0, window=3.0, timeout=10.0))
    with fleet_process(small_fleet_config(ids, max_sessions=2)) as fleet:
        store = await open_store(db, migrate=True)
        node: DaemonProcess | None = None
        try:
            await register_sub_only(store, fleet, ids)
            node = DaemonProcess(cfg, tmp_path / "node.log")
            await asyncio.to_thread(node.wait_ready)
            await wait_for(lambda: _checks(store), 40, "a first committed check", step=0.25)

            def busy() -> list[str]:
                return [c["id"] for c in fleet.cameras() if c["sessions"]] if node.healthz()["in_flight"] else []

            streaming = await wait_for(lambda: asyncio.to_thread(busy), 30, "checks in flight", step=0.1)
            signalled = time.time()
            node.signal(signal.SIGTERM)
            rc = await asyncio.to_thread(node.wait, 30)  # bounded: window + commit, far below the 120 s cap
            stopped = time.time() - signalled
            log = node.log_text()
            assert rc == 0, log[-3000:]
            assert "draining" in log

            cs = await _checks(store)
            in_flight = [c for c in cs if c["t"] < signalled < c["end"]]
            assert in_flight, "no committed check was running when SIGTERM arrived"
            assert all(c["verdict"] == "working" for c in in_flight), in_flight  # finished, not cut short
            for cid in streaming:  # what the cameras saw streaming just before the signal was committed
                assert any(c["camera_id"] == cid and c["t"] <= signalled for c in cs), cid
            assert not [c for c in cs if c["t"] > signalled + 0.5], "a check was started after SIGTERM"
            async with store.engine.connect() as conn:
                held = (await conn.execute(sa.select(leases.c.camera_id).where(leases.c.owner_node.is_not(None)))).all()
            assert not held, f"leases still held after a clean stop: {held}"
            assert stopped < 15, f"took {stopped:.1f}s to stop"
        finally:
            if node is not None:
                node.stop(10)
            await store.close()


async def test_sighup_reloads_config_keeps_it_when_invalid_and_picks_up_new_cameras(tmp_path: Path) -> None:
    ids = ["hup1", "hup2", "hup3"]
    db = _sqlite(tmp_path)
    good = daemon_config_dict(db, interval=2.0, window=1.0, timeout=6.0)
    cfg = write_yaml(tmp_path / "c.yaml", good)
    with fleet_process(small_fleet_config(ids, max_sessions=2)) as fleet:
        store = await open_store(db, migrate=True)
        node: DaemonProcess | None = None
        try:
            await register_sub_only(store, fleet, ids[:2])
            node = DaemonProcess(cfg, tmp_path / "node.log")
            await asyncio.to_thread(node.wait_ready)
            for cid in ids[:2]:
                await wait_for(lambda cid=cid: _checks(store, cid), 30, f"{cid} checked")
            assert await _next_gap(store, "hup1") < 8  # interval 2 s (+ the check's own duration)

            # An invalid file: reported with the key named, the running configuration kept. The camera
            # added to the registry meanwhile is picked up all the same.
            await register_sub_only(store, fleet, ids[2:])
            write_yaml(cfg, {**good, "schedule": {**good["schedule"], "interval": -1, "intervall": 12}})
            node.signal(signal.SIGHUP)
            await wait_for(lambda: "configuration not reloaded" in node.log_text(), 20, "the reload error logged")
            log = node.log_text()
            assert "schedule.intervall" in log and "schedule.interval" in log
            await wait_for(lambda: _checks(store, "hup3"), 30, "the camera added to the registry checked")
            after_bad = time.time()
            await wait_for(lambda: _checked_since(store, "hup1", after_bad), 20, "hup1 checked after the bad reload")
            assert await _next_gap(store, "hup1") < 8, "the old interval must still apply"
            assert node.healthz()["status"] == "ok"

            # A valid change: the new interval governs the checks that follow.
            write_yaml(cfg, {**good, "schedule": {**good["schedule"], "interval": 30}})
            node.signal(signal.SIGHUP)
            await wait_for(lambda: "configuration reloaded" in node.log_text(), 20, "the reload logged")
            reloaded = time.time()
            for cid in ("hup1", "hup2"):
                # A check in flight at the reload keeps the policy it started with (next one ~2 s later);
                # one that started in the moment between the reload and its log line has the new one.
                await wait_for(lambda cid=cid: _rescheduled_since(store, cid, reloaded, 25, 45), 20,
                               f"{cid} checked after reload and its next check ~30 s after")
            node.signal(signal.SIGTERM)
            assert await asyncio.to_thread(node.wait, 30) == 0
        finally:
            if node is not None:
                node.stop(10)
            await store.close()


async def _checked_since(store: Store, cid: str, since: float) -> bool:
    return any(c["t"] > since for c in await _checks(store, cid))


async def _rescheduled_since(store: Store, cid: str, since: float, low: float, high: float) -> bool:
    """A check of `cid` ended after `since`, and its next check is due `low`-`high` s after its last."""
    return any(c["end"] > since for c in await _checks(store, cid)) and low < await _next_gap(store, cid) < high


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "camcheck", "run", *args], capture_output=True, text=True, timeout=60)


def test_check_config_good_and_bad(tmp_path: Path) -> None:
    good = write_yaml(tmp_path / "good.yaml", daemon_config_dict(_sqlite(tmp_path), lease_ttl=10))
    r = _run_cli("--config", str(good), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "configuration is valid" in r.stdout
    assert not (tmp_path / "registry.db").exists()  # validating touches no database
    assert r.stderr == ""  # and starts nothing: it said "coroutine 'HttpServer.start' was never awaited"

    bad = tmp_path / "bad.yaml"
    bad.write_text("schedule:\n  interval: 60\n  lease_tll: 30\nprobe:\n  window: 0\n", encoding="utf-8")
    r = _run_cli("--config", str(bad), "--check-config")
    assert r.returncode == 2
    assert "schedule.lease_tll" in r.stderr and "unknown key" in r.stderr
    assert "probe.window" in r.stderr

    policy = tmp_path / "policy.yaml"
    policy.write_text("status:\n  fail_threshold: 0\n", encoding="utf-8")
    r = _run_cli("--config", str(policy), "--check-config")
    assert r.returncode == 2 and "status.fail_threshold" in r.stderr

    r = _run_cli("--config", str(tmp_path / "missing.yaml"), "--check-config")
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_sd_notify_ready_watchdog_stopping(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(1.0)
    cfg = write_yaml(tmp_path / "c.yaml", daemon_config_dict(_sqlite(tmp_path)))
    node = DaemonProcess(cfg, tmp_path / "node.log", env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000000"})
    got: list[str] = []

    def receive_until(pred, timeout: float) -> None:  # noqa: ANN001
        end = time.monotonic() + timeout
        while time.monotonic() < end and not pred():
            try:
                got.append(sock.recv(4096).decode())
            except TimeoutError:
                continue
        assert pred(), f"sd_notify messages so far: {got}\n{node.log_text()[-2000:]}"

    try:
        receive_until(lambda: got.count("WATCHDOG=1") >= 3, 60)  # WATCHDOG_USEC=1 s: a ping every 0.5 s
        assert "READY=1" in got and got.index("READY=1") < got.index("WATCHDOG=1")
        assert not [m for m in got if m == "STOPPING=1"]
        node.signal(signal.SIGTERM)
        receive_until(lambda: "STOPPING=1" in got, 20)
        assert node.wait(30) == 0
    finally:
        node.stop(10)
        sock.close()
