"""Worker processes of one `camcheck run`: extra lease-holding nodes on the same machine.

One event loop checks ~20 cameras/s on one core; ``schedule.workers: N`` starts N-1 more
`camcheck run --worker` processes with node ids ``<node_id>-w<i>``. They claim, check and commit
through the registry's lease table exactly like other nodes, but have no HTTP server and no
exporters: the primary publishes the transitions they commit. The primary supervises them —
restarts one that exits unexpectedly (bounded backoff), forwards SIGHUP, and on stop sends SIGTERM
and waits (bounded) for them to drain. They get SIGTERM if the primary dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("camcheck.daemon")

RESTART_MIN_S = 1.0
RESTART_MAX_S = 60.0
HEALTHY_AFTER_S = 60.0  # a worker that ran this long restarts at once after a crash
# systemd must only hear from the primary (NotifyAccess=main would log every worker's message).
_PRIVATE_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID")


def worker_node_ids(node_id: str, workers: int) -> list[str]:
    return [f"{node_id}-w{i}" for i in range(1, workers)]


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the primary dies, so no worker outlives it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class _Worker:
    node_id: str
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # consecutive quick exits, for the backoff
    restart_at: float | None = None


@dataclass
class WorkerPool:
    """The primary's N-1 worker processes."""

    config_path: Path
    node_id: str
    workers: int
    extra_args: Sequence[str] = ()  # --db override, passed on as given
    _workers: list[_Worker] = field(default_factory=list)
    _stopping: bool = False

    def __post_init__(self) -> None:
        self._workers = [_Worker(n) for n in worker_node_ids(self.node_id, self.workers)]

    @property
    def node_ids(self) -> list[str]:
        return [w.node_id for w in self._workers]

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers if w.proc is not None and w.proc.poll() is None]

    def _command(self, w: _Worker) -> list[str]:
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        return [sys.executable, "-m", "camcheck", "--log-level", level if isinstance(level, str) else "INFO",
                "run", "--config", str(self.config_path), "--node-id", w.node_id, "--worker",
                "--workers", str(self.workers), *self.extra_args]

    def _spawn(self, w: _Worker) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _PRIVATE_ENV}
        w.proc = subprocess.Popen(self._command(w), env=env, stdin=subprocess.DEVNULL, start_new_session=False,
                                  preexec_fn=_die_with_parent)
        w.started_at = time.monotonic()
        w.restart_at = None
        log.info("worker %s started (pid %d)", w.node_id, w.proc.pid)

    def start(self) -> None:
        for w in self._workers:
            self._spawn(w)

    def poll(self) -> None:
        """Restart workers that exited while not stopping (called every second by supervise)."""
        if self._stopping:
            return
        now = time.monotonic()
        for w in self._workers:
            if w.restart_at is not None:
                if now >= w.restart_at:
                    try:
                        self._spawn(w)
                    except OSError as exc:
                        log.error("worker %s cannot be started (retrying in %.0fs): %s", w.node_id, RESTART_MAX_S, exc)
                        w.restart_at = now + RESTART_MAX_S
                continue
            if w.proc is None or w.proc.poll() is None:
                continue
            ran = now - w.started_at
            w.failures = 0 if ran >= HEALTHY_AFTER_S else w.failures + 1
            delay = 0.0 if w.failures == 0 else min(RESTART_MAX_S, RESTART_MIN_S * 2 ** (w.failures - 1))
            log.error("worker %s (pid %d) exited with status %s after %.0fs; restarting in %.0fs",
                      w.node_id, w.proc.pid, w.proc.returncode, ran, delay)
            w.restart_at = now + delay

    async def supervise(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and not self._stopping:
            self.poll()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    def signal_all(self, sig: int) -> None:
        for w in self._workers:
            if w.proc is not None and w.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.proc.pid, sig)

    def begin_stop(self) -> None:
        """SIGTERM every worker: they stop claiming and drain, like the primary."""
        self._stopping = True
        self.signal_all(signal.SIGTERM)

    async def wait_stopped(self, timeout: float) -> None:
        """Wait (bounded) for every worker to exit; kill -9 the ones still running after ``timeout``."""
        self.begin_stop()
        end = time.monotonic() + timeout
        while self.pids and time.monotonic() < end:
            await asyncio.sleep(0.2)
        for w in self._workers:
            if w.proc is None:
                continue
            if w.proc.poll() is None:
                log.error("worker %s did not stop within %.0fs: killing it", w.node_id, timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    w.proc.wait(timeout=10)
            elif w.proc.returncode not in (0, -signal.SIGTERM):  # -SIGTERM: stopped before it was ready
                log.warning("worker %s exited with status %s", w.node_id, w.proc.returncode)
