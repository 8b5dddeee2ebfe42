"""What judging parent devices costs the daemon at a province's scale, on the embedded SQLite registry
(or PostgreSQL with --db).

    .venv/bin/python bench/bench_incidents.py [--sites 4] [--recorders 25] [--cameras 16] [--repeat 5]

A registry of SITES sites, each with RECORDERS recorders behind it and CAMERAS cameras behind each
(the default: 4 x 25 x 16 = 1,600 cameras). Printed side by side, wall and CPU per judgement:
- the baseline: one recorder judged alone (what every recorder with a failing camera costs every
  10 s, as before sites nested);
- one site judged (its recorders judged first: what a site costs while its incident is open, or
  when a recorder behind it waits for it), all cameras working;
- the same with one recorder down and waiting for its site (its incident held, the site asked);
- the whole uplink down: every recorder's incident open and covered by the site's.
Nothing is announced (no exporters); the cameras' states are written as their checks leave them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from camcheck.config.model import parse_config
from camcheck.daemon.service import Daemon
from camcheck.registry.leases import Leases
from camcheck.registry.models import CameraRecord
from camcheck.registry.schema import cameras, parents
from camcheck.registry.store import Store, open_store
from camcheck.verdict import CameraState, CheckOutcome, StatusPolicy, evaluate, new_state


def _state(cid: str, now: float, failing: bool) -> CameraState:
    st = evaluate(new_state(cid), CheckOutcome(at=now - 300), now - 300, StatusPolicy(), None).state
    if failing:
        st = evaluate(st, CheckOutcome(at=now - 60, failure="unreachable"), now - 60, StatusPolicy(), None).state
    return st


async def _registry(url: str, sites: int, recorders: int, per: int) -> Store:
    store = await open_store(url, migrate=True)
    for s in range(sites):
        await store.upsert_parent(f"site-{s}", "site")
        for r in range(recorders):
            nvr = f"nvr-{s}-{r}"
            await store.upsert_parent(nvr, "nvr", parent_of=f"site-{s}")
        await store.upsert_cameras([CameraRecord(id=f"cam-{s}-{r}-{c}", parent_id=f"nvr-{s}-{r}")
                                    for r in range(recorders) for c in range(per)])
    return store


async def _states(store: Store, ids: list[str], now: float, failing: bool) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.update(cameras).where(cameras.c.id == sa.bindparam("cid")).values(
            verdict_state=sa.bindparam("js"), consecutive_failures=sa.bindparam("n")),
            [{"cid": c, "js": _state(c, now, failing).to_json(), "n": int(failing)} for c in ids])


async def _reset_incidents(store: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.update(parents).values(incident=None, incident_told=None, status=None,
                                                     status_since=None, status_reason=None))


async def _timed(fn: Any, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        await fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=4)
    ap.add_argument("--recorders", type=int, default=25)
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", help="registry URL (default: a fresh SQLite file)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = a.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        store = await _registry(url, a.sites, a.recorders, a.cameras)
        total = a.sites * a.recorders * a.cameras
        print(f"bench_incidents: {a.sites} sites x {a.recorders} recorders x {a.cameras} cameras = {total} cameras "
              f"({url.split(':', 1)[0]}, registry built in {time.perf_counter() - t0:.1f} s), median of {a.repeat}")
        d = Daemon(parse_config({"database": {"url": url}, "node_id": "bench"}))
        d.store, d.leases = store, Leases(store, "bench", ttl=60)
        d.exporters = []
        await d.leases.sync(spread=0)
        await d._refresh_topology()  # noqa: SLF001
        now = time.time()
        site_cams = [f"cam-0-{r}-{c}" for r in range(a.recorders) for c in range(a.cameras)]
        await _states(store, site_cams, now, failing=False)
        rows: list[tuple[str, float, float]] = []

        async def judge(pid: str) -> None:
            await d._judge_parent(pid)  # noqa: SLF001

        rows.append(("one recorder judged (baseline)", *await _timed(lambda: judge("nvr-0-0"), a.repeat)))
        rows.append((f"one site judged ({a.recorders} recorders behind it)", *await _timed(lambda: judge("site-0"), a.repeat)))
        down = [f"cam-0-0-{c}" for c in range(a.cameras)]
        await _states(store, down, now, failing=True)
        await judge("nvr-0-0")  # opens, held: the site asks for a sample of its siblings' cameras

        async with store.engine.connect() as conn:
            told = (await conn.execute(sa.select(parents.c.incident_told).where(parents.c.id == "nvr-0-0"))).scalar()
        rows.append((f"one recorder down, waiting for its site ({told})", *await _timed(lambda: judge("nvr-0-0"), a.repeat)))
        await _states(store, site_cams, now, failing=True)
        await judge("site-0")
        async with store.engine.connect() as conn:
            covered = (await conn.execute(sa.select(sa.func.count()).select_from(parents).where(
                parents.c.incident_told == "covered"))).scalar()
        rows.append((f"uplink down: site open, {covered} recorders covered", *await _timed(lambda: judge("site-0"), a.repeat)))
        await _reset_incidents(store)
        base = rows[0][1]
        print(f"   {'judgement':<52} {'wall ms':>9} {'CPU ms':>8} {'x baseline':>11}")
        for what, wall, cpu in rows:
            print(f"   {what:<52} {wall * 1000:9.1f} {cpu * 1000:8.1f} {wall / base:11.1f}")
        per_rec = (rows[1][1] - base) / max(1, a.recorders)
        print(f"   a site costs about {per_rec * 1000:.1f} ms per recorder behind it; while its incident is open it is "
              f"judged every 10 s: {rows[3][1] / 10 * 100:.1f} % of one core")
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
