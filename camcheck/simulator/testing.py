"""Run a simulated fleet from tests and benchmarks.

In the test's own event loop (cheapest; the fleet shares the loop with the code under test)::

    async with running_fleet(cfg) as fleet:          # cfg: FleetConfig, dict (YAML shape) or path
        url = fleet.url("cam1", "sub", credentials=True)
        await fleet.set_fault("cam1", "stall_after", after_s=2)

In a child process (`python -m camcheck simulate`; for benchmarks, sync tests, or clients that block)::

    with fleet_process(cfg) as fleet:
        fleet.set_fault("cam1", "offline")          # sync; `await fleet.aset_fault(...)` in async code

Both bind 127.0.0.1 on free ports (the fleet's and each camera's own `port` too). ``FleetHandle``: ``url(camera_id, stream="main",
credentials=False)``, ``rtsp_port``, ``control_url``, ``host``, ``camera_ids``, ``set_fault``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, AsyncIterator, Iterator
from urllib.parse import quote

from camcheck.simulator.fleet import CameraConfig, FaultSpec, FleetConfig, load_fleet, parse_fleet

__all__ = ["FleetHandle", "ProcessFleetHandle", "running_fleet", "fleet_process", "as_fleet"]


def as_fleet(config: FleetConfig | dict[str, Any] | str | Path) -> FleetConfig:
    if isinstance(config, FleetConfig):
        return config
    if isinstance(config, dict):
        return parse_fleet(config)
    return load_fleet(config)


def _on_free_ports(cfg: FleetConfig, control: bool = True) -> FleetConfig:
    """Loopback, fleet port 0, and every camera's own port 0 (ONVIF too, without a discovery
    responder on its fixed port): tests never collide on fixed ports."""
    cams = [c.model_copy(update={"port": 0}) if c.port is not None else c for c in cfg.cameras]
    onvif = 0 if cfg.onvif_port_base is not None else None
    return cfg.model_copy(update={"bind": "127.0.0.1", "port": 0, "control_port": 0 if control else None,
                                  "cameras": cams, "onvif_port_base": onvif, "discovery_port": None})


class _UrlMixin:
    config: FleetConfig
    host: str
    rtsp_port: int
    _ports: dict[str, int]

    @property
    def camera_ids(self) -> list[str]:
        return [c.id for c in self.config.cameras]

    def camera(self, camera_id: str) -> CameraConfig:
        return self.config.camera(camera_id)

    def url(self, camera_id: str, stream: str = "main", credentials: bool = False) -> str:
        """rtsp://[user:pass@]host:port/cam/<id>/<stream>; unknown camera or stream -> KeyError."""
        cam = self.config.camera(camera_id)
        if stream not in ("main", "sub"):
            raise KeyError(stream)
        port = self._ports.get(camera_id, self.rtsp_port)
        userinfo = ""
        if credentials and cam.credentials is not None and cam.credentials.auth != "none":
            c = cam.credentials
            userinfo = f"{quote(c.username, safe='')}:{quote(c.password.reveal(), safe='')}@"
        return f"rtsp://{userinfo}{self.host}:{port}/cam/{camera_id}/{stream}"


class FleetHandle(_UrlMixin):
    """A fleet running in the current event loop (from `running_fleet`)."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.config = sim.config
        self.host = sim.rtsp.host
        self.rtsp_port = sim.rtsp.port
        self.control_url = sim.control_url
        self._ports = {cid: c.port for cid, c in sim.rtsp.cameras.items() if c.port}

    @property
    def server(self) -> Any:
        """The RtspServer, for tests that inspect sessions (`server.sessions`, `server.stats()`)."""
        return self.sim.rtsp

    async def set_fault(self, camera_id: str, fault: str, **params: Any) -> None:
        """Change a camera's fault now (may encode a clip first); bad names/params raise ValueError."""
        await self.sim.rtsp.set_fault(camera_id, FaultSpec.model_validate({"fault": fault, **params}))
        self._ports = {cid: c.port for cid, c in self.sim.rtsp.cameras.items() if c.port}

    aset_fault = set_fault

    def onvif_endpoint(self, camera_id: str) -> str:
        """host:port of the camera's simulated ONVIF device (fleet needs onvif_port_base)."""
        dev = self.sim.onvif_devices[camera_id]
        return f"{dev.host}:{dev.port}"

    async def set_onvif_faults(self, camera_id: str, faults: list[str]) -> None:
        self.sim.onvif_devices[camera_id].set_faults(faults)


@contextlib.asynccontextmanager
async def running_fleet(
    config: FleetConfig | dict[str, Any] | str | Path, *, cache_dir: str | Path | None = None, control: bool = True
) -> AsyncIterator[FleetHandle]:
    """Serve ``config`` in the running event loop on free ports; stops it on exit."""
    from camcheck.simulator.app import Simulator

    cfg = _on_free_ports(as_fleet(config), control)
    sim = Simulator(cfg, cache_dir)
    await sim.start()
    try:
        yield FleetHandle(sim)
    finally:
        await sim.stop()


class ProcessFleetHandle(_UrlMixin):
    """A fleet in a child process (from `fleet_process`)."""

    def __init__(self, config: FleetConfig, proc: subprocess.Popen[bytes], ready: dict[str, Any]) -> None:
        self.config = config
        self.proc = proc
        self.pid = proc.pid
        self.host = ready["host"]
        self.rtsp_port = int(ready["rtsp_port"])
        self.control_url: str = ready["control_url"]
        self._ports = {}
        for cam in self.cameras():
            if cam["port"] != self.rtsp_port:
                self._ports[cam["id"]] = cam["port"]

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 120) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise ValueError(f"simulator control {method} {path}: {exc.code} {detail}") from None

    def cameras(self) -> list[dict[str, Any]]:
        return self._request("GET", "/cameras")

    def stats(self) -> dict[str, Any]:
        return self._request("GET", "/stats")

    def set_fault(self, camera_id: str, fault: str, **params: Any) -> dict[str, Any]:
        """Change a camera's fault (blocks until applied); returns the camera's state."""
        return self._request("PUT", f"/cameras/{quote(camera_id, safe='')}/fault", {"fault": fault, **params})

    async def aset_fault(self, camera_id: str, fault: str, **params: Any) -> dict[str, Any]:
        import asyncio

        return await asyncio.to_thread(self.set_fault, camera_id, fault, **params)

    def onvif_endpoint(self, camera_id: str) -> str:
        info = self._request("GET", f"/cameras/{quote(camera_id, safe='')}/onvif")
        return f"{info['host']}:{info['port']}"

    def set_onvif_faults(self, camera_id: str, faults: list[str]) -> dict[str, Any]:
        return self._request("PUT", f"/cameras/{quote(camera_id, safe='')}/onvif", {"faults": faults})


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so a killed test run leaves no simulator behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@contextlib.contextmanager
def fleet_process(
    config: FleetConfig | dict[str, Any] | str | Path,
    *,
    cache_dir: str | Path | None = None,
    startup_timeout: float = 300.0,
    extra_args: list[str] | None = None,
    stdout: Any = subprocess.DEVNULL,
) -> Iterator[ProcessFleetHandle]:
    """Run ``python -m camcheck simulate`` on free ports, wait until it serves, kill it (by PID) on exit.

    ``startup_timeout`` covers encoding clips on a cold cache. Raises RuntimeError with the child's
    stderr tail if it exits or does not get ready in time.
    """
    cfg = _on_free_ports(as_fleet(config))
    with tempfile.TemporaryDirectory(prefix="camcheck-sim-") as tmp:
        fleet_file = Path(tmp) / "fleet.yaml"
        fd = os.open(fleet_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # holds passwords
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(cfg.to_yaml())
        ready_file = Path(tmp) / "ready.json"
        err_path = Path(tmp) / "stderr.log"
        cmd = [sys.executable, "-m", "camcheck", "--log-level", "WARNING", "simulate", "--config", str(fleet_file),
               "--ready-file", str(ready_file), "--table-rows", "1"]
        if cache_dir is not None:
            cmd += ["--cache-dir", str(cache_dir)]
        cmd += extra_args or []
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=stdout, stderr=err, start_new_session=True, preexec_fn=_die_with_parent)
        try:
            deadline = time.monotonic() + startup_timeout
            while not ready_file.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = err_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                    why = f"exited with {proc.returncode}" if proc.returncode is not None else "did not get ready"
                    raise RuntimeError(f"simulator {why}:\n{tail}")
                time.sleep(0.05)
            ready = json.loads(ready_file.read_text())
            yield ProcessFleetHandle(cfg, proc, ready)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
