"""Shared set-up for daemon tests: a simulated fleet registered in a real registry."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import yaml

from camcheck.config.model import Config, parse_config
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import Store

SUB = {"codec": "h264", "width": 320, "height": 180, "fps": 10, "gop": 10, "bitrate_kbps": 256}
MAIN = {"codec": "h264", "width": 640, "height": 360, "fps": 10, "gop": 10, "bitrate_kbps": 512}
PASSWORD = "s3cret-demo-pw"

# Fast but faithful: N=3 to break, M=2 to recover, confirmations a second apart.
FAST_STATUS = {
    "confirm_delays_s": [0.5, 0.5],
    "recover_delay_s": 0.5,
    "finding_confirm_delay_s": 0.5,
    "onvif_confirm_delays_s": [0.5, 0.5],
}


def fleet_config(ids: list[str], **camera_extra: Any) -> dict[str, Any]:
    return {
        "defaults": {
            "credentials": {"username": "admin", "password": PASSWORD, "auth": "digest"},
            "max_sessions": 2,
            "main": MAIN,
            "sub": SUB,
        },
        "cameras": [{"id": cid, "scene": "street", **camera_extra.get(cid, {})} for cid in ids],
    }


async def register(store: Store, fleet, ids: list[str], *, parent: str | None = None,  # noqa: ANN001
                   tags: dict[str, list[str]] | None = None) -> None:
    await store.upsert_cameras([
        CameraRecord(
            id=cid,
            name=f"camera {cid}",
            main_stream_url=fleet.url(cid, "main"),
            sub_stream_url=fleet.url(cid, "sub"),
            credentials_ref="sim",
            parent_id=parent,
            district="Mueang",
            owner_agency="Municipality",
            recorded_width=MAIN["width"],
            recorded_height=MAIN["height"],
            frame_rate=MAIN["fps"],
            tags=(tags or {}).get(cid, []),
        )
        for cid in ids
    ])


def daemon_config(db_url: str, *, interval: float = 2.0, node_id: str = "node-a", **extra: Any) -> Config:
    data = {
        "node_id": node_id,
        "database": {"url": db_url},
        "http": {"bind": "127.0.0.1", "port": 0},
        "schedule": {"interval": interval, "max_in_flight": 20, "per_parent": 4, "onvif_interval": 3600},
        "probe": {"timeout": 8, "window": 1.5},
        "status": FAST_STATUS,
        "credentials": {"sim": {"username": "admin", "password_env": "CAMCHECK_TEST_CAM_PW"}},
    }
    data.update(extra)
    return parse_config(data)


async def has_status(store: Store, camera_id: str, want: str) -> bool:
    """Whether the registry shows the camera in status `want` (for wait_for)."""
    cam = await store.get_camera(camera_id)
    return cam is not None and cam.status.value == want


async def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.25) -> Any:
    """Poll an async or sync predicate until it returns something truthy (bounded)."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# -- daemon processes (`camcheck run` as a real subprocess) -------------------------------------------


from tests.pg import PG_ADMIN_URL  # noqa: E402,F401 - re-exported for the daemon tests
from tests.pg import pg_database as shared_pg_database  # noqa: E402
PW_ENV = "CAMCHECK_TEST_CAM_PW"


def small_fleet_config(ids: list[str], *, max_sessions: int = 1, faults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sub-stream-only cameras (320x180@10fps) accepting ``max_sessions`` sessions each: with 1, any
    second concurrent probe of a camera is refused by the camera itself (453 -> session_limit)."""
    faults = faults or {}
    return {
        "defaults": {
            "credentials": {"username": "admin", "password": PASSWORD, "auth": "digest"},
            "max_sessions": max_sessions,
            "main": SUB,
            "sub": SUB,
        },
        "cameras": [{"id": cid, "scene": "street", **({"fault": faults[cid]} if cid in faults else {})} for cid in ids],
    }


async def register_sub_only(store: Store, fleet, ids: list[str]) -> None:  # noqa: ANN001
    """Register cameras with only their sub-stream URL: every check is a cheap sub-stream probe."""
    await store.upsert_cameras([
        CameraRecord(id=cid, name=f"camera {cid}", sub_stream_url=fleet.url(cid, "sub"), credentials_ref="sim",
                     district="Mueang", owner_agency="Municipality")
        for cid in ids
    ])


def daemon_config_dict(db_url: str, *, interval: float = 2.0, node_id: str = "node-a", lease_ttl: float = 60.0,
                       max_in_flight: int = 20, timeout: float = 8.0, window: float = 1.5,
                       status: dict[str, Any] | None = None) -> dict[str, Any]:
    """The YAML shape of a daemon configuration for a `camcheck run` subprocess."""
    return {
        "node_id": node_id,
        "database": {"url": db_url},
        "http": {"bind": "127.0.0.1", "port": 0},
        "schedule": {"interval": interval, "max_in_flight": max_in_flight, "per_parent": 4, "onvif_interval": 3600,
                     "lease_ttl": lease_ttl},
        "probe": {"timeout": timeout, "window": window},
        "status": FAST_STATUS if status is None else status,
        "credentials": {"sim": {"username": "admin", "password_env": PW_ENV}},
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


_HTTP_LINE = re.compile(r"HTTP on http://[^:]+:(\d+)")


class DaemonProcess:
    """One `camcheck run` child process: started in its own session, stderr to a file, stopped by PID."""

    def __init__(self, config_path: Path, log_path: Path, *, node_id: str | None = None, db: str | None = None,
                 env: dict[str, str] | None = None, extra_args: list[str] | None = None) -> None:
        self.config_path = config_path
        self.log_path = log_path
        cmd = [sys.executable, "-m", "camcheck", "--log-level", "INFO", "run", "--config", str(config_path),
               "--http-port", "0"]
        if node_id:
            cmd += ["--node-id", node_id]
        if db:
            cmd += ["--db", db]
        cmd += extra_args or []
        full_env = {**os.environ, PW_ENV: PASSWORD, **(env or {})}
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in wait()/kill()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=full_env,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.port: int | None = None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> int:
        """Wait until the HTTP port is announced; returns it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = _HTTP_LINE.search(self.log_text())
            if m:
                self.port = int(m.group(1))
                return self.port
            if self.proc.poll() is not None:
                raise AssertionError(f"camcheck run exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"camcheck run not ready after {timeout}s:\n{self.log_text()[-3000:]}")

    def healthz(self) -> dict[str, Any]:
        assert self.port is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as r:
            return json.loads(r.read())

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not drain in time (cleanup path; never raises)."""
        if self.proc.poll() is not None:
            self._log.close()
            return self.proc.returncode
        os.kill(self.pid, signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


@contextmanager
def pg_database(prefix: str = "camcheck_mn") -> Iterator[str]:
    """A brand-new PostgreSQL database (asyncpg URL), dropped afterwards even if the test failed."""
    with shared_pg_database(prefix) as url:
        yield url


@asynccontextmanager
async def running_daemon(cfg: dict[str, Any], workers: int, tmp_path: Path, *, nodes: int = 1) -> AsyncIterator[int]:
    """The daemon running (in this process, or as `camcheck run --workers N`, or as `nodes` separate
    `camcheck run` nodes sharing the registry, each judging parents: logs daemon.log, daemon-2.log...);
    yields the (first) HTTP port."""
    from camcheck.daemon.app import build_daemon

    if nodes > 1:
        procs = [DaemonProcess(write_yaml(tmp_path / f"camcheck-{k}.yaml", {**cfg, "node_id": f"node-{k}"}),
                               tmp_path / ("daemon.log" if k == 1 else f"daemon-{k}.log")) for k in range(1, nodes + 1)]
        try:
            ports = [await asyncio.to_thread(p.wait_ready) for p in procs]
            yield ports[0]
            for p in procs:
                assert "Traceback" not in p.log_text(), p.log_text()[-3000:]
        finally:
            for p in procs:
                await asyncio.to_thread(p.stop)
        return
    if workers == 1:
        daemon = build_daemon(parse_config(cfg), state_dir=tmp_path)
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            assert daemon.http is not None
            yield daemon.http.port
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
        return
    proc = DaemonProcess(write_yaml(tmp_path / "camcheck.yaml", cfg), tmp_path / "daemon.log",
                         extra_args=["--workers", str(workers)])
    try:
        yield await asyncio.to_thread(proc.wait_ready)  # the simulator runs in this loop: never block it
        assert "Traceback" not in proc.log_text(), proc.log_text()[-3000:]
    finally:
        await asyncio.to_thread(proc.stop)


async def metrics_text(port: int) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
        assert r.status == 200
        return await r.text()


async def incident_story(store: Store, sub: Any, prefix: str, tmp_path: Path, parent_ids: list[str]) -> str:
    """The transitions as committed (who, covered by, announced when), the events as received (`sub`:
    an MQTT Subscriber), the parents' incidents and the daemon's log (a worker run's), for a failure's
    message: enough to tell a race from a slow run."""
    import sqlalchemy as sa

    from camcheck.registry.schema import parents, transitions

    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(
            transitions.c.id, transitions.c.camera_id, transitions.c.at, transitions.c.from_state,
            transitions.c.to_state, transitions.c.suppressed_by, transitions.c.notified_at, transitions.c.node_id,
        ).order_by(transitions.c.id))).all()
        incidents = (await conn.execute(sa.select(parents.c.id, parents.c.incident_told, parents.c.incident)
                                        .where(parents.c.id.in_(parent_ids)))).all()
    told = [(t, json.loads(p).get("event_id"), json.loads(p).get("from_status"), json.loads(p).get("to_status"))
            for t, p, _ in sub.messages if t.endswith("/events")]
    log = tmp_path / "daemon.log"
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-80:]) if log.exists() else "(in-process: see the log)"
    return ("transitions:\n" + "\n".join(map(str, rows)) + "\nincidents:\n" + "\n".join(map(str, incidents))
            + "\nevents: " + "\n".join(map(str, told)) + f"\ndaemon log:\n{tail}").replace(prefix, "<prefix>")


class Told:
    """A daemon's exporter, as far as a test listens: the transitions announced."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish_state(self, view: Any) -> None:
        pass

    def publish_transition(self, event: Any) -> None:
        self.events.append(event)

    def said(self) -> list[tuple[str, str]]:
        """(camera or parent id, new status) of each announcement, in order."""
        return [(e.camera_id, e.to_status) for e in self.events]
