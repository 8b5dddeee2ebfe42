"""What one wake-up of a sleeping thread costs in CPU on this machine (the figure behind bench_probe's split).

    .venv/bin/python bench/bench_wakeup.py [--wakes 20]

A probe sleeps between reads; on a VM each wake-up is charged to the woken thread (the sleep syscall's
own exit, then work that runs with cold caches and TLB). Printed side by side: the same tiny amount of
work run back to back (the baseline) and after sleeps of 1 ms, 10 ms and 100 ms, plus one asyncio
``sleep`` wake-up (what every timer-driven read of the probe pays). CPU is the thread's own clock.
"""

from __future__ import annotations

import argparse
import asyncio
import time


def _work() -> int:
    total = 0
    for i in range(2000):
        total += i
    return total


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def thread_wakeups(pause: float, wakes: int) -> tuple[float, float]:
    """(median CPU of the sleep call itself, median CPU of the work right after it), seconds."""
    sleeps, works = [], []
    for _ in range(wakes):
        t = time.thread_time()
        if pause:
            time.sleep(pause)
        t1 = time.thread_time()
        _work()
        works.append(time.thread_time() - t1)
        sleeps.append(t1 - t)
    return _median(sleeps), _median(works)


async def loop_wakeups(pause: float, wakes: int) -> float:
    """Median CPU of one asyncio.sleep(pause) wake-up of the event loop, seconds."""
    costs = []
    for _ in range(wakes):
        t = time.thread_time()
        await asyncio.sleep(pause)
        costs.append(time.thread_time() - t)
    return _median(costs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wakes", type=int, default=20, help="wake-ups per figure (default 20; at most 1000)")
    args = ap.parse_args()
    if not 1 <= args.wakes <= 1000:
        ap.error("--wakes must be between 1 and 1000")
    _, warm = thread_wakeups(0.0, args.wakes)
    print(f"bench_wakeup: {args.wakes} wake-ups per figure; CPU on the thread's own clock")
    print(f"   {'pause':>8s} {'sleep call us':>14s} {'work after us':>14s} {'x back-to-back work':>20s}")
    print(f"   {'none':>8s} {'-':>14s} {warm * 1e6:14.1f} {1.0:20.2f}   (baseline)")
    for pause in (0.001, 0.01, 0.1):
        sleep_cpu, work = thread_wakeups(pause, args.wakes)
        print(f"   {pause * 1000:6.0f}ms {sleep_cpu * 1e6:14.1f} {work * 1e6:14.1f} {work / warm:20.2f}")
    for pause in (0.01, 0.1):
        cost = asyncio.run(loop_wakeups(pause, args.wakes))
        print(f"   asyncio.sleep({pause}) wake-up: {cost * 1e6:.1f} us of CPU")


if __name__ == "__main__":
    main()
