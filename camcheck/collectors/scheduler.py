"""When to check which camera, and how many at once.

The scheduler owns time and concurrency, nothing else: it never parses video, never talks to a
camera and never decides health. It calls ``check(job)`` for each due camera, under three limits:

* one check per camera at a time (a camera's RTSP session slots are scarce);
* at most ``per_parent`` checks per parent device at once (an NVR with 32 channels must not be hit
  32 times at once);
* at most ``max_in_flight`` checks in total.

Suspected cameras (``priority=True``) go first among those due. A camera blocked by its parent's
limit waits without blocking others.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One camera as the scheduler sees it."""

    camera_id: str
    parent_id: str | None = None
    interval: float = 300.0
    due: float = 0.0  # loop time
    priority: bool = False


@dataclass(frozen=True)
class Limits:
    max_in_flight: int = 200
    per_parent: int = 4
    jitter: float = 0.1  # fraction of the interval added at random so checks spread out


@dataclass
class SchedulerStats:
    in_flight: int = 0
    queue_depth: int = 0  # due now but not started (waiting for a slot)
    cycle_lag: float = 0.0  # how late the most overdue waiting check is, seconds
    started: int = 0
    completed: int = 0
    errors: int = 0  # check() raised: a bug, never a camera fault
    overruns: int = 0  # a check started more than one interval after it was due


@dataclass(order=True)
class _Entry:
    due: float
    rank: int  # 0 = priority, 1 = normal
    seq: int
    camera_id: str = field(compare=False)
    version: int = field(compare=False)


CheckFn = Callable[[Job], Awaitable[None]]


class Scheduler:
    """A due-time heap with per-camera, per-parent and global limits.

    ``check(job)`` must return when the check is over (it is bounded by the probe's deadline); its
    return value is ignored: the caller reschedules through :meth:`schedule` from inside ``check``
    if it wants something other than the normal interval.
    """

    def __init__(self, check: CheckFn, limits: Limits | None = None, *, rng: random.Random | None = None) -> None:
        self._check = check
        self.limits = limits or Limits()
        self._rng = rng or random.Random()
        self._jobs: dict[str, Job] = {}
        self._versions: dict[str, int] = {}
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._running: set[str] = set()
        self._parent_running: dict[str, int] = defaultdict(int)
        self._parent_waiting: dict[str, deque[str]] = defaultdict(deque)
        self._explicit: set[str] = set()  # cameras whose next due time was set by schedule()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._counters = SchedulerStats()

    # -- registry side -------------------------------------------------------------------------
    def upsert(self, job: Job) -> None:
        """Add a camera or change its interval/parent. A new camera is due at ``job.due``."""
        old = self._jobs.get(job.camera_id)
        self._jobs[job.camera_id] = job
        if old is None or job.due != old.due or job.priority != old.priority:
            self._push(job.camera_id, job.due, job.priority)

    def remove(self, camera_id: str) -> None:
        self._jobs.pop(camera_id, None)
        self._versions[camera_id] = self._versions.get(camera_id, 0) + 1  # invalidates heap entries
        self._explicit.discard(camera_id)

    def schedule(self, camera_id: str, due: float, *, priority: bool = False) -> None:
        """Set when a camera is next checked (fast re-check, backoff, "check now")."""
        job = self._jobs.get(camera_id)
        if job is None:
            return
        job.due, job.priority = due, priority
        if camera_id in self._running:
            self._explicit.add(camera_id)  # applied when the running check ends
            return
        self._push(camera_id, due, priority)

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self._jobs

    # -- loop ----------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then wait for the checks in flight to end (drain)."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            now = loop.time()
            self._start_due(now)
            delay = self._next_wake(now)
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
        await self.drain()

    async def drain(self) -> None:
        if self._tasks:
            log.info("draining %d checks in flight", len(self._tasks))
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- internals -----------------------------------------------------------------------------
    def _push(self, camera_id: str, due: float, priority: bool) -> None:
        version = self._versions.get(camera_id, 0) + 1
        self._versions[camera_id] = version
        heapq.heappush(self._heap, _Entry(due, 0 if priority else 1, next(self._seq), camera_id, version))

    def _next_wake(self, now: float) -> float:
        while self._heap and self._stale(self._heap[0]):
            heapq.heappop(self._heap)
        if not self._heap or self._full():
            return 1.0  # a finishing check sets _wake
        return max(0.0, min(1.0, self._heap[0].due - now))

    def _stale(self, e: _Entry) -> bool:
        return e.camera_id not in self._jobs or self._versions.get(e.camera_id) != e.version

    def _start_due(self, now: float) -> None:
        # Cameras waiting on a parent slot that has freed up go before newly due ones.
        for parent, waiting in list(self._parent_waiting.items()):
            while waiting and self._parent_running[parent] < self.limits.per_parent and not self._full():
                cid = waiting.popleft()
                if cid in self._jobs and cid not in self._running:
                    self._launch(self._jobs[cid], now)
            if not waiting:
                del self._parent_waiting[parent]
        while self._heap and self._heap[0].due <= now and not self._full():
            entry = heapq.heappop(self._heap)
            if self._stale(entry) or entry.camera_id in self._running:
                continue
            job = self._jobs[entry.camera_id]
            parent = job.parent_id
            if parent is not None and self._parent_running[parent] >= self.limits.per_parent:
                if entry.camera_id not in self._parent_waiting[parent]:
                    self._parent_waiting[parent].append(entry.camera_id)
                continue
            self._launch(job, now)

    def _launch(self, job: Job, now: float) -> None:
        if now - job.due > job.interval:
            self._counters.overruns += 1
        self._running.add(job.camera_id)
        if job.parent_id is not None:
            self._parent_running[job.parent_id] += 1
        self._counters.started += 1
        task = asyncio.get_running_loop().create_task(self._run_one(job), name=f"check:{job.camera_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_one(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        try:
            await self._check(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in a check must never stop the scheduler
            self._counters.errors += 1
            log.exception("check of camera %s failed unexpectedly", job.camera_id)
        finally:
            self._running.discard(job.camera_id)
            if job.parent_id is not None:
                self._parent_running[job.parent_id] -= 1
            self._counters.completed += 1
            if job.camera_id in self._jobs:
                if job.camera_id in self._explicit:
                    self._explicit.discard(job.camera_id)
                    self._push(job.camera_id, job.due, job.priority)
                else:
                    spread = job.interval * self.limits.jitter * self._rng.random()
                    job.due, job.priority = loop.time() + job.interval + spread, False
                    self._push(job.camera_id, job.due, False)
            self._wake.set()

    def _full(self) -> bool:
        return len(self._running) >= self.limits.max_in_flight

    def snapshot(self) -> SchedulerStats:
        """Current figures for self-metrics; O(cameras), so call it per scrape, not per check."""
        now = asyncio.get_running_loop().time()
        due = [e.due for e in self._heap if e.due <= now and not self._stale(e)]
        waiting = [self._jobs[c].due for ws in self._parent_waiting.values() for c in ws if c in self._jobs]
        c = self._counters
        return SchedulerStats(
            in_flight=len(self._running),
            queue_depth=len(due) + len(waiting),
            cycle_lag=max(0.0, now - min(due + waiting, default=now)),
            started=c.started,
            completed=c.completed,
            errors=c.errors,
            overruns=c.overruns,
        )
