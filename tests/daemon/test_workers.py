"""`camcheck run --workers 2`: a primary and one worker process sharing a fleet through the leases.

Real processes throughout: the simulator (cameras accepting ONE session each, so two processes probing
the same camera at once would show as a refused session), `camcheck run` on SQLite, and a webhook
receiver on 127.0.0.1. The worker has no exporters: the primary must deliver the transitions it
commits, once each. A worker killed with -9 is restarted; SIGTERM stops the primary and its workers.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
import time
import urllib.request
from collections import Counter
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from camcheck.registry.store import open_store
from camcheck.simulator.testing import fleet_process
from tests.daemon.helpers import DaemonProcess, daemon_config_dict, register_sub_only, small_fleet_config, write_yaml

pytestmark = pytest.mark.timeout(120)

IDS = [f"w{i:02d}" for i in range(10)]
OFFLINE = ["w03", "w07"]
NODE = "node-a"
WORKER = "node-a-w1"


class _Receiver:
    """A webhook endpoint recording every event body it is sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        lock = threading.Lock()
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    events.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "_Receiver":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


def _children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _wait(predicate, timeout: float, what: str) -> Any:  # noqa: ANN001
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = predicate()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _checks_counted(port: int | None) -> int:
    """The checks the daemon's check-duration histogram has counted, all verdicts together."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("camcheck_check_duration_seconds_count{"))


def test_two_workers_share_the_fleet_and_the_primary_publishes(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    db_url = f"sqlite:///{db}"
    with fleet_process(small_fleet_config(IDS, max_sessions=1)) as fleet, _Receiver() as hook:
        async def setup() -> None:
            store = await open_store(db_url, migrate=True)
            try:
                await register_sub_only(store, fleet, IDS)
            finally:
                await store.close()

        asyncio.run(setup())
        cfg = daemon_config_dict(db_url, node_id=NODE, interval=2.0, max_in_flight=4, timeout=5.0, window=1.0)
        cfg["exporters"] = {"webhooks": [{"name": "test", "url": f"http://127.0.0.1:{hook.port}/hook"}],
                            "outbox": {"path": str(tmp_path / "outbox.db")}}
        d = DaemonProcess(write_yaml(tmp_path / "camcheck.yaml", cfg), tmp_path / "daemon.log",
                          extra_args=["--workers", "2"])
        try:
            d.wait_ready()
            workers = _wait(lambda: _children(d.pid), 20, "the worker process")
            assert len(workers) == 1, workers
            (worker,) = workers
            assert "--worker" in Path(f"/proc/{worker}/cmdline").read_text().split("\0")

            def both_nodes_checked_everything() -> bool:
                rows = _query(db, "SELECT camera_id, node_id FROM check_results")
                return {c for c, _ in rows} == set(IDS) and {n for _, n in rows} == {NODE, WORKER}

            _wait(both_nodes_checked_everything, 40, "every camera checked, by both processes")

            for cid in OFFLINE:
                fleet.set_fault(cid, "offline")

            def offline_broken() -> bool:
                rows = _query(db, f"SELECT id, status FROM cameras WHERE id IN ({','.join('?' * len(OFFLINE))})",
                              *OFFLINE)
                return all(s == "broken" for _, s in rows)

            _wait(offline_broken, 40, "the offline cameras broken")

            def all_delivered() -> list[tuple[Any, ...]] | None:
                rows = _query(db, "SELECT id, camera_id, to_state, node_id, notified_at FROM transitions")
                got = {e["event_id"] for e in hook.events}
                if all(r[4] is not None and f"camcheck-t{r[0]}" in got for r in rows):
                    return rows
                return None

            transitions = _wait(all_delivered, 20, "every transition notified and delivered")
            # The worker committed some of them; the primary delivered those (the worker has no exporters).
            assert any(node == WORKER for *_, node, _ in transitions), transitions
            assert any(node == NODE for *_, node, _ in transitions), transitions
            for cid in OFFLINE:
                assert [r[2] for r in transitions if r[1] == cid and r[2] == "broken"] == ["broken"], transitions
            time.sleep(2.0)  # a duplicate delivery would arrive by now (replay runs every 1.5 s)
            counts = Counter(e["event_id"] for e in hook.events)
            assert all(n == 1 for n in counts.values()), counts
            broken_events = [e for e in hook.events if e["to_status"] == "broken"]
            assert sorted(e["camera_id"] for e in broken_events) == sorted(OFFLINE)

            # The primary counts the worker's checks in /metrics as it counts its own (it reads them
            # from the database every 1.5 s): the histogram holds every check committed so far.
            before = _query(db, "SELECT COUNT(*) FROM check_results")[0][0]
            time.sleep(3.5)
            counted = _checks_counted(d.port)
            after = _query(db, "SELECT COUNT(*) FROM check_results")[0][0]
            assert before <= counted <= after, (before, counted, after)

            refused = _query(db, "SELECT camera_id, node_id FROM check_results WHERE failure = 'session_limit'")
            assert refused == [], f"a camera was probed by two processes at once: {refused}"

            # A worker that dies is restarted (a new process under the same node id).
            os.kill(worker, signal.SIGKILL)
            new = _wait(lambda: _children(d.pid) - {worker}, 20, "the worker restarted")
            assert "exited with status -9" in d.log_text()

            d.signal(signal.SIGTERM)
            assert d.wait(60) == 0, d.log_text()[-3000:]
            _wait(lambda: not any(_alive(p) for p in {worker, *new}), 10, "no worker left")
            log = d.log_text()
            assert "Traceback" not in log, log[-3000:]
        finally:
            d.stop()


def test_workers_setting_is_validated_and_shares_the_limits(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from camcheck.cli import main
    from camcheck.config.model import ConfigError, parse_config
    from camcheck.daemon.service import Daemon

    with pytest.raises(ConfigError, match="schedule.workers"):
        parse_config({"schedule": {"workers": 0}})
    cfg_path = write_yaml(tmp_path / "c.yaml", {"database": {"url": f"sqlite:///{tmp_path / 'r.db'}"}})
    assert main(["run", "--config", str(cfg_path), "--workers", "65", "--check-config"]) == 2
    assert main(["run", "--config", str(cfg_path), "--workers", "0", "--check-config"]) == 2
    assert main(["run", "--worker", "--check-config"]) == 2  # a worker needs the primary's config file

    cfg = parse_config({"schedule": {"workers": 3, "max_in_flight": 10, "per_parent": 4}})
    d = Daemon(cfg, config_path=cfg_path)
    assert (d.workers, d.scheduler.limits.max_in_flight, d.scheduler.limits.per_parent) == (3, 4, 1)
    with caplog.at_level(logging.WARNING, "camcheck.daemon"):
        single = Daemon(cfg)  # built in-process (camcheck demo): no file to start workers from
    assert (single.workers, single.scheduler.limits.max_in_flight) == (1, 10)
    assert "single process" in caplog.text
