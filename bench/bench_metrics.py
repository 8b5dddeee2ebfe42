"""How long a /metrics scrape of a big registry takes, beside the naive prometheus_client approach.

    .venv/bin/python bench/bench_metrics.py [--cameras 10000] [--changed 0.05] [--repeat 3]

Prints, for N cameras (each with ~20 series: status enum, info, measured values, timestamps):
  * baseline: one prometheus_client Gauge per metric with labels, .labels(...).set() for every
    camera (the update cost the daemon would pay on every check batch) and generate_latest();
  * camcheck's collector through prometheus_client's generate_latest (collect() path);
  * camcheck's fast render, cold (first scrape) and warm (only --changed of the views replaced,
    as between two 30 s scrapes of a 5 min check cycle), plus gzip as served to Prometheus;
  * a real HTTP scrape of /metrics from an aiohttp app, and the longest stall of the event loop
    during it (a 1 ms ticker stands in for the daemon's checks).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, Gauge, generate_latest  # noqa: E402

from camcheck.exporters.events import STATUSES, CameraView  # noqa: E402
from camcheck.exporters.prometheus import MEASURED, CameraMetricsCollector  # noqa: E402

DISTRICTS = [f"District {i}" for i in range(30)]
AGENCIES = ["Police", "Municipality", "Highway", "Province", "Bank", "Shop"]


def make_view(i: int, rng: random.Random, t: float) -> CameraView:
    status = rng.choices(STATUSES, weights=[2, 80, 5, 10, 2, 1])[0]
    return CameraView(
        camera_id=f"PK-{i:06d}",
        name=f"Camera {i} at junction {i % 500}",
        parent_id=f"nvr-{i // 32:04d}",
        site=None,
        labels={"district": DISTRICTS[i % len(DISTRICTS)], "agency": AGENCIES[i % len(AGENCIES)]},
        status=status,
        status_since=t - rng.uniform(0, 86400),
        reason="ok",
        findings=("fps_below_registered: 12 < 25",) if i % 7 == 0 else (),
        measured={"fps": rng.choice([25.0, 12.5, 15.0]), "width": 1920, "height": 1080,
                  "bitrate_kbps": rng.uniform(500, 4000), "gop_s": 2.0, "codec": "h264",
                  "clock_offset_s": rng.uniform(-3, 3), "retention_days": rng.choice([3, 7, 30]),
                  "recording_active": rng.random() > 0.1},
        info={"brand": rng.choice(["Hikvision", "Dahua", "Axis"]), "model": "DS-2CD2143", "firmware": "V5.7.3",
              "codec": "h264", "resolution": "1920x1080"},
        last_check_at=t - rng.uniform(0, 300),
        last_success_at=t - rng.uniform(0, 600),
        last_check_duration=rng.uniform(0.5, 4),
    )


CPU: dict[str, float] = {}  # label -> best thread CPU seconds (wall time suffers when the machine is shared)


def timed(fn, repeat: int, label: str = "") -> tuple[float, object]:
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        c0, t0 = time.thread_time(), time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.thread_time() - c0)
    if label:
        CPU[label] = best_cpu
    return best, result


def naive_baseline(views: list[CameraView], repeat: int) -> tuple[float, float, int]:
    reg = CollectorRegistry()
    base = ["camera_id", "district", "agency"]
    status = Gauge("camcheck_camera_status", "status", [*base, "status"], registry=reg)
    info = Gauge("camcheck_camera_info", "info", [*base, "name", "parent_id", "brand", "model", "firmware", "codec",
                                                 "resolution"], registry=reg)
    measured = {key: Gauge(name, h, base, registry=reg) for name, h, key, _s in MEASURED}
    stamps = [Gauge(n, n, base, registry=reg) for n in ("camcheck_camera_status_since_timestamp_seconds",
                                                      "camcheck_camera_last_check_timestamp_seconds",
                                                      "camcheck_camera_last_success_timestamp_seconds",
                                                      "camcheck_camera_last_check_duration_seconds")]

    def update() -> None:
        for v in views:
            lv = (v.camera_id, v.labels["district"], v.labels["agency"])
            for s in STATUSES:
                status.labels(*lv, s).set(1 if s == v.status else 0)
            info.labels(*lv, v.name, v.parent_id, *(v.info.get(k, "") for k in
                                                    ("brand", "model", "firmware", "codec", "resolution"))).set(1)
            for key, g in measured.items():
                val = v.measured.get(key)
                if isinstance(val, (int, float)):
                    g.labels(*lv).set(float(val))
            for g, val in zip(stamps, (v.status_since, v.last_check_at, v.last_success_at, v.last_check_duration)):
                g.labels(*lv).set(val)

    t_update, _ = timed(update, repeat, "upd")
    t_gen, body = timed(lambda: generate_latest(reg), repeat, "gen")
    return t_update, t_gen, len(body)  # type: ignore[arg-type]


async def http_scrape(views: dict[str, CameraView], repeat: int, gzip_ok: bool) -> tuple[float, float, int]:
    import aiohttp
    from aiohttp import web

    from camcheck.exporters.http import add_metrics_routes

    col = CameraMetricsCollector(lambda: views.values(), lambda: {"in_flight": 10}, labels=["district", "agency"])
    app = web.Application()
    add_metrics_routes(app, col)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    worst_gap = 0.0
    stop = False

    async def ticker() -> None:
        nonlocal worst_gap
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst_gap = max(worst_gap, now - last)
            last = now

    tick = asyncio.create_task(ticker())
    best, size = float("inf"), 0
    ids = list(views)
    rng = random.Random(2)
    async with aiohttp.ClientSession() as s:
        for _ in range(repeat):
            for cid in rng.sample(ids, len(ids) // 20):  # 5% changed between scrapes
                views[cid] = make_view(int(cid[3:]), rng, time.time())
            worst_gap = 0.0
            t0 = time.perf_counter()
            headers = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
            async with s.get(f"http://127.0.0.1:{port}/metrics", headers=headers, auto_decompress=False) as r:
                body = await r.read()
            best = min(best, time.perf_counter() - t0)
            size = len(body)
    stop = True
    await tick
    await runner.cleanup()
    return best, worst_gap, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=10_000)
    ap.add_argument("--changed", type=float, default=0.05, help="fraction of views replaced between warm scrapes")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = random.Random(1)
    now = time.time()
    views = {v.camera_id: v for v in (make_view(i, rng, now) for i in range(a.cameras))}
    vlist = list(views.values())
    print(f"{a.cameras} cameras, best of {a.repeat}")

    t_upd, t_gen, size_naive = naive_baseline(vlist, a.repeat)
    col = CameraMetricsCollector(lambda: views.values(), lambda: {"in_flight": 10, "queue_depth": 2},
                                 labels=["district", "agency"])
    for i in range(2000):
        col.observe_check("x", rng.uniform(0.3, 8), "working")
    reg = CollectorRegistry()
    reg.register(col)
    t_collect, _ = timed(lambda: generate_latest(reg), a.repeat, "collect")

    def cold() -> bytes:
        col._cache = {}
        return col.render()

    t_cold, body = timed(cold, a.repeat, "cold")
    col.render()
    ids = list(views)

    t_warm, cpu_warm = float("inf"), float("inf")
    for _ in range(a.repeat):
        for cid in rng.sample(ids, int(len(ids) * a.changed)):  # the daemon's checks replaced these views
            views[cid] = make_view(int(cid[3:]), rng, now)
        t, _ = timed(col.render, 1, "warm")
        t_warm, cpu_warm = min(t_warm, t), min(cpu_warm, CPU["warm"])
    CPU["warm"] = cpu_warm
    t_om, _ = timed(lambda: col.render(openmetrics=True), a.repeat, "om")
    t_gz, gz = timed(lambda: gzip.compress(body, compresslevel=1), a.repeat, "gz")  # type: ignore[arg-type]
    samples = body.count(b"\n") - body.count(b"\n#")  # type: ignore[union-attr]
    t_http, gap, http_size = asyncio.run(http_scrape(views, a.repeat, True))
    t_http_plain, gap_plain, plain_size = asyncio.run(http_scrape(views, a.repeat, False))

    cpu = CPU
    rows = [
        ("baseline: Gauge.labels().set() for all cameras", t_upd, cpu["upd"], "per update of every camera"),
        ("baseline: generate_latest(registry of Gauges)", t_gen, cpu["gen"], f"{size_naive / 1e6:.1f} MB"),
        ("baseline total (update + expose)", t_upd + t_gen, cpu["upd"] + cpu["gen"], ""),
        ("camcheck collector via generate_latest (collect())", t_collect, cpu["collect"], ""),
        ("camcheck render, cold cache", t_cold, cpu["cold"], f"{len(body) / 1e6:.1f} MB, {samples} samples"),  # type: ignore[arg-type]
        (f"camcheck render, warm ({a.changed:.0%} views changed)", t_warm, cpu["warm"], ""),
        ("camcheck render, OpenMetrics, nothing changed", t_om, cpu["om"], ""),
        ("gzip level 1 of the body", t_gz, cpu["gz"], f"{len(gz) / 1e6:.2f} MB"),  # type: ignore[arg-type]
        ("HTTP GET /metrics (gzip, 5% changed)", t_http, None, f"{http_size / 1e6:.2f} MB on the wire"),
        ("  longest event-loop stall during that scrape", gap, None, "1 ms ticker; client shares the loop"),
        ("HTTP GET /metrics (no gzip, 5% changed)", t_http_plain, None, f"{plain_size / 1e6:.2f} MB on the wire"),
        ("  longest event-loop stall during that scrape", gap_plain, None, ""),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"  {'':<{w}}  {'wall':>9}     {'cpu':>9}")
    for name, secs, cpus, note in rows:
        c = f"{cpus * 1000:9.1f} ms" if cpus is not None else " " * 12
        print(f"  {name:<{w}}  {secs * 1000:9.1f} ms  {c}  {note}")
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"  (load average during the run: {' '.join(load)}; cores: {__import__('os').cpu_count()})")


if __name__ == "__main__":
    main()
