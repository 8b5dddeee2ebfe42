"""Real peers for the exporter tests: private Mosquitto brokers and a private Prometheus server.

The machine's shared Mosquitto (127.0.0.1:1883) is used only with a unique topic prefix; anything
that stops a broker uses its own ``mosquitto`` process on a free loopback port, killed by PID.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from camcheck.exporters.events import CameraView

SHARED_BROKER = ("127.0.0.1", 1883)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Broker:
    """A private mosquitto on one fixed loopback port that can be stopped and started again."""

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "", persistence: bool = True) -> None:
        if shutil.which("mosquitto") is None:
            pytest.skip("mosquitto is not installed")
        self.port = port or free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1"]
        if "allow_anonymous" not in extra_conf:
            lines.append("allow_anonymous true")
        if persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/"]
        # Run as root, mosquitto drops to user "mosquitto", who cannot write under pytest's private
        # tmp dir; "user root" keeps it as is (and has no effect when we are not root).
        lines.append("user root")
        self.conf.write_text("\n".join(lines) + "\n" + extra_conf)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "mosquitto.log"

    def start(self) -> None:
        assert self.proc is None
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT)
        wait_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator:
    brokers: list[Broker] = []

    def make(**kw) -> Broker:
        b = Broker(tmp_path / f"broker{len(brokers)}", **kw)
        brokers.append(b)
        return b

    yield make
    for b in brokers:
        b.stop(signal.SIGKILL)


@pytest.fixture
async def prefix():
    """A unique topic prefix on the shared broker; whatever a test left retained under it is cleared."""
    import aiomqtt

    p = f"camcheck-test/{uuid.uuid4().hex[:12]}"
    yield p
    retained: set[str] = set()
    try:
        async with aiomqtt.Client(*SHARED_BROKER) as c:
            await c.subscribe(f"{p}/#")
            try:
                async with asyncio.timeout(0.5):
                    async for m in c.messages:
                        if m.retain and m.payload:
                            retained.add(str(m.topic))
            except TimeoutError:
                pass
            for t in retained:
                await c.publish(t, b"", qos=1, retain=True)
    except aiomqtt.MqttError:
        pass


def make_view(camera_id: str = "cam1", status: str = "working", **kw) -> CameraView:
    base = dict(
        camera_id=camera_id,
        name=f"Camera {camera_id}",
        parent_id="nvr-1",
        site="site-a",
        labels={"district": "Mueang", "agency": "Police"},
        status=status,
        status_since=1_700_000_000.0,
        reason="stream ok" if status == "working" else "no video",
        findings=(),
        measured={"fps": 25.0, "width": 1920, "height": 1080, "bitrate_kbps": 2048.0, "gop_s": 2.0,
                  "codec": "h264", "clock_offset_s": -0.4, "retention_days": 30, "recording_active": True},
        info={"brand": "Hikvision", "model": "DS-2CD", "firmware": "V5.7", "codec": "h264", "resolution": "1920x1080"},
        last_check_at=1_700_000_100.0,
        last_success_at=1_700_000_100.0,
        last_check_duration=1.5,
        registry_label_th="ใช้ได้ปกติ" if status == "working" else "ใช้งานไม่ได้",
        registry_label_en="working normally" if status == "working" else "not working",
    )
    base.update(kw)
    return CameraView(**base)


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    from camcheck.exporters.http import SafeAccessLogger

    runner = web.AppRunner(app, access_log_class=SafeAccessLogger)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, port


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until predicate() is truthy (bounded); returns its value or raises TimeoutError."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


class PrometheusServer:
    """Debian's prometheus binary on a free loopback port, own config and storage, killed by PID."""

    def __init__(self, workdir: Path, scrape_yaml: str) -> None:
        if shutil.which("prometheus") is None:
            pytest.skip("prometheus is not installed (Debian package prometheus)")
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "prometheus.yml").write_text(scrape_yaml)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.dir / "prometheus.log", "ab") as out:
            self.proc = subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={self.dir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=1h",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
            )
        wait_port(self.port, timeout=30)
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 30
        while True:  # the port opens before the TSDB is ready; /-/ready says 200 when it is
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("prometheus did not become ready")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None


class Subscriber:
    """Collects messages on ``topics`` in a background task, reconnecting while the broker is away.

    With ``persistent=True`` it keeps a broker session (clean_session=False), so QoS 1 messages
    published while it was disconnected are delivered when it comes back.
    """

    def __init__(self, port: int, topics: list[str], *, persistent: bool = False, host: str = "127.0.0.1") -> None:
        self.host, self.port, self.topics, self.persistent = host, port, topics, persistent
        self.messages: list[tuple[str, bytes, bool]] = []
        self.subscribed = asyncio.Event()
        self.connects = 0
        self._task: asyncio.Task | None = None
        self._id = f"sub-{uuid.uuid4().hex[:10]}"

    async def __aenter__(self) -> "Subscriber":
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.subscribed.wait(), 10)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        import aiomqtt

        for _ in range(2000):  # bounded: ~200 s of 0.1 s retries at most
            try:
                async with aiomqtt.Client(
                    self.host, self.port, identifier=self._id, clean_session=not self.persistent, keepalive=10
                ) as client:
                    self.connects += 1
                    for t in self.topics:
                        await client.subscribe(t, qos=1)
                    self.subscribed.set()
                    async for m in client.messages:
                        self.messages.append((str(m.topic), bytes(m.payload), bool(m.retain)))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    def payloads(self, suffix: str) -> list[bytes]:
        return [p for t, p, _r in self.messages if t.endswith(suffix)]
