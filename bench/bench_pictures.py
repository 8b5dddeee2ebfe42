"""CPU of the probe's picture work alone, on the exact access units real probes kept, beside the floor.

    .venv/bin/python bench/bench_pictures.py [--checks 4] [--rounds 7] [--streams 360k,1080k]

bench_probe.py measures whole checks, which on a small shared VM vary by 10-20 % from run to run:
too much to see a change of a few hundred microseconds in decoding or analysis. This script takes
the access units that ``--checks`` real probes of the simulated streams (bench_probe's fleet, its
--streams keys) handed to the picture passes, then replays them in this process, back to back,
``--rounds`` times, and prints min and median CPU per check (process CPU: OpenCV's or PyAV's
worker threads included) of:
- floor: decoding the first keyframe alone with a fresh PyAV decoder (bench_probe's floor);
- decoding: what the first pass decodes (K1, then the frames after it until one proves motion);
- first pass: that decoding plus the motion proofs and K1's measures (``pictures.first_pass``);
- both passes: the first pass, then the second without K2 when motion was proven, else with the
  window's K2 (as the probe does);
- analysis alone: both passes minus decoding.

With ``--per-frame`` it also prints the median CPU of decoding each kept unit (K1, then the frames
after it) under each deblocking setting: none skipped, ``nokey`` (the probe's: no deblocking after
the keyframe), ``all`` (keyframes too, which changes the picture the measures see). It shows what the
motion proof's frames cost beside K1.

With ``--gap 2`` each probe's units are replayed after 2 s asleep, as a check decodes once per
window: what cold caches add (360p, ``--streams 360k --rounds 2 --gap 2`` against the default back
to back: both passes 6.98 vs 3.98 ms median, the floor 3.12 vs 2.23 ms; the probe's in-check
figures match the cold ones).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_probe import STREAMS, _parse_streams, _positive_int, fleet_config  # noqa: E402

Capture = tuple[object, list, object]  # (PictureJob, K1 and the frames after it, K2 unit or None)


def capture(url: str, checks: int) -> list[Capture]:
    """Probe `url` `checks` times; keep what each probe gave its picture passes."""
    from camcheck.probe import rtsp as rtsp_mod
    from camcheck.probe.observation import RtspSettings, RtspTarget

    got: list[Capture] = []
    first_pass, second_pass = rtsp_mod.first_pass, rtsp_mod.second_pass

    def spy_first(job, units):  # noqa: ANN001, ANN202
        got.append((job, list(units), None))
        return first_pass(job, units)

    def spy_second(job, first, k2, *rest):  # noqa: ANN001, ANN202
        if got and k2 is not None:
            got[-1] = (got[-1][0], got[-1][1], k2)
        return second_pass(job, first, k2, *rest)

    rtsp_mod.first_pass, rtsp_mod.second_pass = spy_first, spy_second
    try:
        async def run() -> None:
            loop = asyncio.get_running_loop()
            for _ in range(checks):
                obs = await rtsp_mod.probe_rtsp(RtspTarget(url), RtspSettings(), loop.time() + 15)
                if obs.failure:
                    raise SystemExit(f"probe of {url} failed: {obs.failure}: {obs.message}")
        asyncio.run(run())
    finally:
        rtsp_mod.first_pass, rtsp_mod.second_pass = first_pass, second_pass
    if len(got) != checks:
        raise SystemExit(f"captured {len(got)} first passes from {checks} probes (probe internals changed?)")
    return got


def measure(captures: list[Capture], rounds: int, gap: float = 0.0) -> dict[str, list[float]]:
    import av

    from camcheck.probe import decode as decode_mod
    from camcheck.probe.decode import CODEC_NAMES
    from camcheck.probe.pictures import first_pass, second_pass

    def floor(caps: list[Capture]) -> None:
        for job, units, _ in caps:
            ctx = av.CodecContext.create(CODEC_NAMES[job.codec], "r")
            ctx.thread_count = 1
            assert list(ctx.decode(av.Packet(units[0][0]))) + list(ctx.decode(None))

    decoding = [0.0]
    original = decode_mod.decode_batches

    def timed_decode(*a, **kw):  # noqa: ANN002, ANN003, ANN202 - decoding minus the proofs run inside it
        enough = kw.get("enough") or (a[4] if len(a) > 4 else None)
        inner = [0.0]

        def timed_enough(k1, last):  # noqa: ANN001, ANN202
            t = time.process_time()
            try:
                return enough(k1, last)
            finally:
                inner[0] += time.process_time() - t

        if enough is not None:
            kw["enough"] = timed_enough
            a = a[:4]
        t = time.process_time()
        try:
            return original(*a, **kw)
        finally:
            decoding[0] += time.process_time() - t - inner[0]

    def first_only(caps: list[Capture]) -> None:
        for job, units, _ in caps:
            first_pass(job, units)

    def both(caps: list[Capture]) -> None:
        for job, units, k2 in caps:
            fp = first_pass(job, units)
            second_pass(job, fp, None if fp.moving else k2)

    import camcheck.probe.pictures as pictures_mod

    out: dict[str, list[float]] = {"floor": [], "decoding": [], "first pass": [], "both passes": [],
                                   "analysis alone": []}
    n = len(captures)

    def run(fn) -> float:  # noqa: ANN001 - CPU of fn over all captures; with a gap, asleep before each
        if not gap:
            t = time.process_time()
            fn(captures)
            return time.process_time() - t
        cpu = 0.0
        for cap in captures:
            time.sleep(gap)
            t = time.process_time()
            fn([cap])
            cpu += time.process_time() - t
        return cpu

    for fn in (floor, first_only, both):
        fn(captures)  # warm-up
    for _ in range(rounds):
        for name, fn in (("floor", floor), ("first pass", first_only)):
            out[name].append(run(fn) / n)
        decoding[0] = 0.0
        pictures_mod.decode_batches = timed_decode
        try:
            total = run(both) / n
        finally:
            pictures_mod.decode_batches = original
        out["both passes"].append(total)
        out["decoding"].append(decoding[0] / n)
        out["analysis alone"].append(total - decoding[0] / n)
    return out


LOOP_FILTER_SETTINGS = (("none skipped", "default"), ("nokey (probe)", "nokey"), ("all", "all"))


def per_frame(captures: list[Capture], rounds: int) -> dict[str, list[float]]:
    """Median CPU (s) of decoding each first-pass unit, by position, per deblocking setting."""
    import av

    from camcheck.probe.decode import CODEC_NAMES, _packet

    n = min(len(units) for _, units, _ in captures)
    out: dict[str, list[float]] = {}
    for label, setting in LOOP_FILTER_SETTINGS:
        times: list[list[float]] = [[] for _ in range(n)]
        for _ in range(rounds):
            for job, units, _ in captures:
                ctx = av.CodecContext.create(CODEC_NAMES[job.codec], "r")
                ctx.thread_count = 1
                ctx.options = {"skip_loop_filter": setting}
                for i, (data, ts, _key) in enumerate(units[:n]):
                    packet = _packet(data, ts)  # as the probe feeds its decoder
                    t = time.process_time()
                    ctx.decode(packet)
                    if i == n - 1:
                        ctx.decode(None)  # the last picture comes out on draining
                    times[i].append(time.process_time() - t)
        out[label] = [statistics.median(ts) for ts in times]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", type=_positive_int, default=4, help="probes whose units are replayed (default 4)")
    ap.add_argument("--rounds", type=_positive_int, default=7, help="replays of all of them (default 7)")
    ap.add_argument("--streams", type=_parse_streams, default=["360k", "1080k"],
                    help=f"comma-separated subset of {','.join(STREAMS)} (default 360k,1080k)")
    ap.add_argument("--gap", type=float, default=0.0,
                    help="seconds asleep before each replay of one probe's units, as a check decodes once "
                         "per window (default 0: back to back; 2 costs rounds x checks x 3 x 2 s per stream)")
    ap.add_argument("--per-frame", action="store_true",
                    help="also print each kept unit's decoding CPU under each deblocking setting")
    args = ap.parse_args()
    if args.gap < 0:
        ap.error("--gap must be >= 0")

    from camcheck.probe.allocator import keep_freed_memory
    from camcheck.simulator.testing import fleet_process

    keep_freed_memory()  # as the daemon does
    gap = f", {args.gap:g} s asleep before each probe's units" if args.gap else ", back to back"
    print(f"bench_pictures: {args.checks} probes per stream replayed {args.rounds} times{gap}; CPU ms per check",
          flush=True)
    with fleet_process(fleet_config()) as fleet:
        captured = {key: capture(fleet.url(STREAMS[key][0], "main"), args.checks) for key in args.streams}
    for key, caps in captured.items():
        res = measure(caps, args.rounds, args.gap)
        floor = statistics.median(res["floor"])
        second_keys = sum(k2 is not None for *_, k2 in caps)
        print(f"== {STREAMS[key][1]}")
        print(f"   {'':16s} {'min ms':>8s} {'median ms':>10s} {'x floor':>8s}")
        for name, xs in res.items():
            med = statistics.median(xs)
            print(f"   {name:16s} {min(xs) * 1000:8.2f} {med * 1000:10.2f} {med / floor:8.2f}")
        frames = sum(len(units) for _, units, _ in caps) / len(caps)
        print(f"   ({frames:.1f} units kept per probe for the first pass; a second keyframe in {second_keys}"
              f"/{len(caps)} windows, decoded only when the frames after K1 prove no motion)")
        if args.per_frame:
            table = per_frame(caps, args.rounds)
            n = len(next(iter(table.values())))
            print(f"   decoding each kept unit, median ms ({n} units: K1, then the frames after it):")
            for label, ms in table.items():
                print(f"   {label:16s} " + " ".join(f"{m * 1000:6.2f}" for m in ms)
                      + f"   all after K1: {sum(ms[1:]) * 1000:.2f}")


if __name__ == "__main__":
    main()
