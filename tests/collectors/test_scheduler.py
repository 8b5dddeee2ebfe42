"""The scheduler's limits and ordering, with a check function that records what ran when.

The check here is a stand-in by design: the scheduler's contract is about time and concurrency,
which these tests pin down exactly. The daemon tests run the real probe against the simulator.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import pytest

from camcheck.collectors.scheduler import Job, Limits, Scheduler


class Recorder:
    def __init__(self, duration: float = 0.05, fail_ids: set[str] | None = None) -> None:
        self.duration = duration
        self.fail_ids = fail_ids or set()
        self.running: Counter[str] = Counter()
        self.parent_running: Counter[str | None] = Counter()
        self.max_parent: dict[str | None, int] = defaultdict(int)
        self.max_camera = 0
        self.max_total = 0
        self.order: list[str] = []
        self.count: Counter[str] = Counter()

    async def __call__(self, job: Job) -> None:
        self.running[job.camera_id] += 1
        self.parent_running[job.parent_id] += 1
        self.max_camera = max(self.max_camera, self.running[job.camera_id])
        self.max_parent[job.parent_id] = max(self.max_parent[job.parent_id], self.parent_running[job.parent_id])
        self.max_total = max(self.max_total, sum(self.running.values()))
        self.order.append(job.camera_id)
        self.count[job.camera_id] += 1
        try:
            await asyncio.sleep(self.duration)
            if job.camera_id in self.fail_ids:
                raise RuntimeError("bug in check")
        finally:
            self.running[job.camera_id] -= 1
            self.parent_running[job.parent_id] -= 1


async def run_for(s: Scheduler, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(s.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_one_check_per_camera_even_when_checks_outlast_the_interval() -> None:
    rec = Recorder(duration=0.2)
    s = Scheduler(rec, Limits(max_in_flight=10, jitter=0))
    now = asyncio.get_running_loop().time()
    s.upsert(Job("cam1", interval=0.01, due=now))
    s.schedule("cam1", now)  # asking again while due must not start a second session
    await run_for(s, 0.7)
    assert rec.max_camera == 1
    assert 2 <= rec.count["cam1"] <= 4


async def test_parent_limit_and_global_limit() -> None:
    rec = Recorder(duration=0.05)
    s = Scheduler(rec, Limits(max_in_flight=5, per_parent=3, jitter=0))
    now = asyncio.get_running_loop().time()
    for i in range(12):
        s.upsert(Job(f"nvr1-ch{i}", parent_id="nvr1", interval=100, due=now))
    for i in range(6):
        s.upsert(Job(f"solo{i}", interval=100, due=now))
    await run_for(s, 0.8)
    assert rec.max_parent["nvr1"] == 3
    assert rec.max_total == 5
    assert set(rec.count) == {f"nvr1-ch{i}" for i in range(12)} | {f"solo{i}" for i in range(6)}
    assert all(n == 1 for n in rec.count.values())


async def test_suspected_cameras_go_first() -> None:
    rec = Recorder(duration=0.01)
    s = Scheduler(rec, Limits(max_in_flight=1, jitter=0))
    now = asyncio.get_running_loop().time()
    for i in range(5):
        s.upsert(Job(f"cam{i}", interval=100, due=now - 1))
    s.upsert(Job("suspect", interval=100, due=now - 1, priority=True))
    await run_for(s, 0.3)
    assert rec.order[0] == "suspect"


async def test_a_failing_check_is_counted_and_the_loop_goes_on() -> None:
    rec = Recorder(duration=0.01, fail_ids={"bad"})
    s = Scheduler(rec, Limits(jitter=0))
    now = asyncio.get_running_loop().time()
    s.upsert(Job("bad", interval=0.05, due=now))
    s.upsert(Job("good", interval=0.05, due=now))
    await run_for(s, 0.4)
    assert s.snapshot().errors >= 2
    assert rec.count["good"] >= 3


async def test_removed_camera_is_never_checked_again_and_stop_drains() -> None:
    rec = Recorder(duration=0.3)
    s = Scheduler(rec, Limits(jitter=0))
    now = asyncio.get_running_loop().time()
    s.upsert(Job("gone", interval=0.01, due=now))
    stop = asyncio.Event()
    task = asyncio.create_task(s.run(stop))
    await asyncio.sleep(0.1)
    s.remove("gone")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert rec.running["gone"] == 0  # drained: the check in flight finished
    assert rec.count["gone"] == 1


async def test_snapshot_reports_queue_depth_and_lag() -> None:
    rec = Recorder(duration=0.5)
    s = Scheduler(rec, Limits(max_in_flight=1, jitter=0))
    now = asyncio.get_running_loop().time()
    for i in range(4):
        s.upsert(Job(f"cam{i}", interval=100, due=now - 2))
    stop = asyncio.Event()
    task = asyncio.create_task(s.run(stop))
    await asyncio.sleep(0.1)
    snap = s.snapshot()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert snap.in_flight == 1
    assert snap.queue_depth == 3
    assert snap.cycle_lag == pytest.approx(2.1, abs=0.3)
