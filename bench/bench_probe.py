"""CPU, wall time and peak RSS per stream check: camcheck's probe vs ffmpeg vs OpenCV, plus the floor.

    .venv/bin/python bench/bench_probe.py [--repeat 5] [--concurrent 200] [--window 2]
                                          [--streams 1080k,1080l,360k,360l]

One simulated fleet (camcheck's simulator in a child process) serves a 1080p H.264 4 Mbit/s stream
and a 360p H.264 512 kbit/s stream, each from two cameras that differ only in how a new RTSP session
starts, plus enough 360p cameras for the concurrency run (the simulator accepts ``max_sessions``
sessions per camera, 4 by default; here 10 per camera x 20 cameras). ``--streams`` picks the streams:
- 1080k / 360k: ``start: keyframe``: a new PLAY gets the last keyframe and the rest of its GOP at once
  (cameras with a GOP cache);
- 1080l / 360l: ``start: live``: the session joins mid-GOP at the next frame and the client waits up to
  one GOP (2 s here) for a keyframe (cameras without a GOP cache).
Both are measured because real cameras do both, and because ffmpeg's cost depends on it: joined
mid-GOP, ffmpeg decodes and discards the frames before the keyframe, about twice its keyframe-start
CPU at 1080p. The issue's reference figure for ffmpeg (508 ms) matches a live join, not a GOP cache.
In the back-to-back loop a live-join check's wall time includes waiting for a keyframe: each check
starts shortly after the keyframe the previous one used, so it waits almost a whole GOP (a probe that
also waits for a second keyframe then takes ~2 GOPs). The wall column shows it as measured; it is not CPU.

Per method, each run happens in its own child process so peak RSS belongs to that method alone:
- camcheck: `probe_rtsp` in-process, CPU = getrusage(SELF) delta around the checks (threads
  included; interpreter start and imports excluded: a daemon pays them once);
- ffmpeg: `ffmpeg -frames:v 1` snapshot in a subprocess per check, CPU = getrusage(CHILDREN) delta;
- OpenCV: `cv2.VideoCapture(url)` + one `read()` per check, CPU = getrusage(SELF) delta;
- floor: decoding the stream's keyframe access unit alone with PyAV (fresh decoder each time), back
  to back, and again once per window (``--window`` s asleep before each decode, ``--repeat`` times):
  a check decodes its keyframe once per window, after seconds of waiting on sockets, when the
  decoder's code and tables are no longer in the CPU's caches. On this VM that costs a fixed
  ~1-1.5 ms more per decode (1.5x at 360p, nothing measurable at 1080p); camcheck's own figure
  pays it too. Goal 1 is printed against both.
The in-process children (camcheck, OpenCV, floor) run with the allocator setting the daemon uses
(``camcheck.probe.allocator.keep_freed_memory``: freed decoder buffers are reused, not page-faulted
in again); an ffmpeg subprocess lives for one check and has nothing to reuse.
CPU ms/check is the mean over the checks (a fleet pays the mean; the goals use it); min-max is the
range of single checks (the floor's: of single decodes): a check's CPU moves with whatever else the
machine does, so a figure within that spread of a goal's line can pass in one run and fail in the next.
Goals (issue 3), each printed with PASS/FAIL per stream: (1) camcheck CPU per check <= 3x the floor
(back to back / once per window), (2) the ffmpeg subprocess >= 10x camcheck's CPU, i.e. camcheck <=
ffmpeg/10: each stream's block prints that bound beside the floor, and says so when ffmpeg/10 is
below the floor (then no check that decodes a picture can meet goal 2 on this machine); (3) 0 failures among ``--concurrent`` concurrent
360p probes (keyframe-start cameras). A summary table with every goal ends the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIG = {"codec": "h264", "width": 1920, "height": 1080, "fps": 25, "gop": 50, "bitrate_kbps": 4096}
SMALL = {"codec": "h264", "width": 640, "height": 360, "fps": 25, "gop": 50, "bitrate_kbps": 512}
CONCURRENT_CAMERAS = 20
SESSIONS_PER_CAMERA = 10
GOP_S = BIG["gop"] / BIG["fps"]  # both specs: one GOP lasts 2 s

# --streams key -> (camera id, label, short label for the summary). The streams' main profile is measured.
STREAMS: dict[str, tuple[str, str, str]] = {
    "1080k": ("c1080", "1080p H.264 4 Mbit/s, session starts at a keyframe (GOP cache)", "1080p keyframe-start"),
    "1080l": ("c1080l", "1080p H.264 4 Mbit/s, joined mid-GOP (no GOP cache)", "1080p live-join"),
    "360k": ("c360", "360p H.264 512 kbit/s, session starts at a keyframe (GOP cache)", "360p keyframe-start"),
    "360l": ("c360l", "360p H.264 512 kbit/s, joined mid-GOP (no GOP cache)", "360p live-join"),
}

FLOOR = "floor: PyAV decode of 1 keyframe"
FLOOR_COLD = "  same, once per window (as a check)"
CAMCHECK = "camcheck probe"
FFMPEG = "ffmpeg -frames:v 1 (subprocess)"
OPENCV = "OpenCV VideoCapture, 1 frame"


def fleet_config() -> dict:
    # Cameras with equal specs and OSD text share one encoded clip: the live-join twins cost no encode.
    cams = [{"id": "c1080", "main": BIG, "sub": SMALL, "start": "keyframe"},
            {"id": "c1080l", "main": BIG, "sub": SMALL, "start": "live"},
            {"id": "c360", "main": SMALL, "sub": SMALL, "start": "keyframe"},
            {"id": "c360l", "main": SMALL, "sub": SMALL, "start": "live"}]
    cams += [{"id": f"m{i:02d}", "main": SMALL, "sub": SMALL} for i in range(CONCURRENT_CAMERAS)]
    return {"defaults": {"credentials": {"username": "x", "password": "", "auth": "none"},
                         "max_sessions": SESSIONS_PER_CAMERA, "osd_text": "BENCH"},
            "cameras": cams}


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ---- children ----------------------------------------------------------------------------------------


# Where camcheck's CPU goes: the probe's picture steps wrapped with per-thread CPU clocks (decoding, and
# the analysis: K1's measures, the motion proofs made while decoding, completing with K2).
SPLIT_HOOKS: list[tuple[str, str, str]] = [
    ("decode", "camcheck.probe.pictures", "decode_batches"),
    ("analyse", "camcheck.probe.pictures", "analyse_first"),
    ("analyse", "camcheck.probe.pictures", "analyse_second"),
    ("analyse", "camcheck.probe.image", "MotionProof.__init__"),
    ("analyse", "camcheck.probe.image", "MotionProof.shows_motion"),
]
# And parts of the event-loop thread's own work (coroutines; their CPU on that thread, the picture steps
# above taken out): the RTSP requests before the stream, and reading the window's RTP.
MAIN_SPLIT_HOOKS: list[tuple[str, str, str]] = [
    ("requests", "camcheck.probe.rtsp_client", "RtspClient.connect"),
    ("requests", "camcheck.probe.rtsp_client", "RtspClient.describe"),
    ("requests", "camcheck.probe.rtsp_client", "RtspClient.setup"),
    ("requests", "camcheck.probe.rtsp_client", "RtspClient.play"),
    ("reading", "camcheck.probe.rtsp", "_Run._read_stream"),
]


def _install_split_hooks(split: dict[str, float]) -> list[str]:
    """Wrap the SPLIT_HOOKS that exist. Each section counts its own CPU minus that of sections nested
    in it (motion proofs run inside decoding), and what ran on the event-loop thread is also added to
    split["on_main"] so it can be taken out of that thread's figure. MAIN_SPLIT_HOOKS (coroutines
    of the event-loop thread) count that thread's CPU while they run, less the picture steps'."""
    import importlib
    import threading

    main_ident = threading.get_ident()
    local = threading.local()

    def timed(name: str, fn):
        def wrapper(*a, **kw):
            stack = local.__dict__.setdefault("stack", [])
            t = time.thread_time()
            stack.append(0.0)
            try:
                return fn(*a, **kw)
            finally:
                elapsed = time.thread_time() - t
                own = elapsed - stack.pop()
                split[name] += own
                if threading.get_ident() == main_ident:
                    split["on_main"] += own
                if stack:
                    stack[-1] += elapsed
        return wrapper

    def timed_on_main(name: str, fn):
        async def wrapper(*a, **kw):
            t, pictures = time.thread_time(), split["on_main"]
            try:
                return await fn(*a, **kw)
            finally:
                split[name] += time.thread_time() - t - (split["on_main"] - pictures)
        return wrapper

    applied = []
    for hooks, wrap in ((SPLIT_HOOKS, timed), (MAIN_SPLIT_HOOKS, timed_on_main)):
        for name, module, attr in hooks:
            try:
                owner = importlib.import_module(module)
            except ImportError:
                continue
            *path, last = attr.split(".")
            for part in path:
                owner = getattr(owner, part, None)
            if owner is None or not callable(getattr(owner, last, None)):
                continue
            setattr(owner, last, wrap(name, getattr(owner, last)))
            applied.append(f"{module.rsplit('.', 1)[-1]}.{attr}")
    return applied


def child_camcheck(url: str, repeat: int, window: float) -> dict:
    from camcheck.probe.observation import RtspSettings, RtspTarget
    from camcheck.probe.rtsp import probe_rtsp

    split = {"decode": 0.0, "analyse": 0.0, "on_main": 0.0, "requests": 0.0, "reading": 0.0}
    hooks = _install_split_hooks(split)

    async def run() -> dict:
        loop = asyncio.get_running_loop()
        target = RtspTarget(url)
        settings = RtspSettings(window=window)
        # warm-up: first use of the decoder and of numpy/cv2 code paths
        await probe_rtsp(target, settings, loop.time() + 15)
        split.update(dict.fromkeys(split, 0.0))
        t0, main0 = time.perf_counter(), time.thread_time()
        verdicts = []
        second_keys = 0
        per_check = []
        for _ in range(repeat):
            c = _cpu_self()
            obs = await probe_rtsp(target, settings, loop.time() + 15)
            per_check.append(_cpu_self() - c)
            verdicts.append(obs.failure or obs.verdict)
            # `change` is measured only when the second keyframe was decoded (the probe skips it
            # when the frames after the first keyframe already prove motion).
            second_keys += (obs.image or {}).get("change") is not None
        return {"cpu": sum(per_check) / repeat, "wall": (time.perf_counter() - t0) / repeat,
                "outcomes": verdicts, "per_check": per_check,
                "main": (time.thread_time() - main0 - split["on_main"]) / repeat,
                "decode": split["decode"] / repeat, "analyse": split["analyse"] / repeat,
                "requests": split["requests"] / repeat, "reading": split["reading"] / repeat,
                "second_keys": second_keys, "checks": repeat, "hooks": hooks}

    out = asyncio.run(run())
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child_ffmpeg(url: str, repeat: int) -> dict:
    outs, per_check = [], []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for i in range(repeat):
            c = _cpu_children()
            r = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                                "-frames:v", "1", "-y", f"{d}/snap{i}.jpg"], capture_output=True, timeout=60)
            per_check.append(_cpu_children() - c)
            outs.append("ok" if r.returncode == 0 else f"rc={r.returncode}")
    return {"cpu": sum(per_check) / repeat, "wall": (time.perf_counter() - t0) / repeat,
            "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "outcomes": outs,
            "per_check": per_check}


def child_opencv(url: str, repeat: int) -> dict:
    import cv2

    outs, per_check = [], []
    t0 = time.perf_counter()
    for _ in range(repeat):
        c = _cpu_self()
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        ok, frame = cap.read()
        cap.release()
        per_check.append(_cpu_self() - c)
        outs.append("ok" if ok and frame is not None else "failed")
    return {"cpu": sum(per_check) / repeat, "wall": (time.perf_counter() - t0) / repeat,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "outcomes": outs,
            "per_check": per_check}


def child_floor(url: str, repeat: int, window: float) -> dict:
    """Collect the keyframe access units camcheck's probes of this stream decode (first and last
    keyframe of each check), then time decoding each alone with a fresh PyAV decoder. The floor is
    the mean cost of one keyframe of the stream (keyframes of one stream differ in size)."""
    import av

    from camcheck.probe import rtsp as rtsp_mod
    from camcheck.probe.decode import CODEC_NAMES
    from camcheck.probe.observation import RtspSettings, RtspTarget

    keys: list[bytes] = []
    codec: list[str] = []
    original = rtsp_mod._Run._decode

    async def capture(self):  # keep the exact bytes the probe decodes
        col = self.collector
        codec.append(col.codec)
        for key in (col.first_key, col.last_key):
            if key is not None:
                keys.append(key.annexb(col.parameter_sets_for(key, self.sdp.video.parameter_sets)))
        return await original(self)

    rtsp_mod._Run._decode = capture

    async def grab() -> None:
        for _ in range(repeat):
            await rtsp_mod.probe_rtsp(RtspTarget(url), RtspSettings(window=window),
                                      asyncio.get_running_loop().time() + 15)

    asyncio.run(grab())
    rtsp_mod._Run._decode = original
    if not keys:
        raise SystemExit(f"floor: the probes of {url} captured no keyframe (probe internals changed?)")

    def once(data: bytes) -> None:
        ctx = av.CodecContext.create(CODEC_NAMES[codec[0]], "r")
        ctx.thread_count = 1
        frames = list(ctx.decode(av.Packet(data))) + list(ctx.decode(None))
        assert frames

    once(keys[0])
    rounds = 4
    per_decode = []
    t0 = time.perf_counter()
    for _ in range(rounds):
        for data in keys:
            c = _cpu_self()
            once(data)
            per_decode.append(_cpu_self() - c)
    n = rounds * len(keys)
    warm = {"cpu": sum(per_decode) / n, "wall": (time.perf_counter() - t0) / n}
    # A check decodes its keyframe once per window, after seconds of mostly waiting: caches and
    # branch predictors no longer hold the decoder, and that costs a fixed ~1 ms here (bench_wakeup
    # shows the same for any work after a sleep). Measured the same way: one decode per window.
    cold: list[float] = []
    for i in range(repeat):
        time.sleep(window)
        c = _cpu_self()
        once(keys[i % len(keys)])
        cold.append(_cpu_self() - c)
    return {**warm, "cold_cpu": sum(cold) / len(cold), "per_check": per_decode, "cold_per_check": cold,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "keyframe_bytes": int(sum(map(len, keys)) / len(keys)), "outcomes": [f"{len(keys)} keyframes"]}


def child_concurrent(urls: list[str], n: int, window: float) -> dict:
    from camcheck.probe.observation import RtspSettings, RtspTarget
    from camcheck.probe.rtsp import probe_rtsp

    async def run() -> dict:
        loop = asyncio.get_running_loop()
        settings = RtspSettings(window=window)
        await probe_rtsp(RtspTarget(urls[0]), settings, loop.time() + 15)  # warm-up
        cpu0, t0 = _cpu_self(), time.perf_counter()
        deadline = loop.time() + 30
        obs = await asyncio.gather(*(probe_rtsp(RtspTarget(urls[i % len(urls)]), settings, deadline)
                                     for i in range(n)))
        failures: dict[str, int] = {}
        for o in obs:
            if o.verdict != "working":
                key = o.failure or ",".join(o.findings)
                failures[key] = failures.get(key, 0) + 1
        return {"cpu": (_cpu_self() - cpu0) / n, "wall_total": time.perf_counter() - t0, "failures": failures,
                "max_duration": max(o.duration for o in obs)}

    out = asyncio.run(run())
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _child(kind: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", kind, *args], capture_output=True, text=True,
                       timeout=900, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _parse_streams(text: str) -> list[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in STREAMS]
    if not keys or unknown:
        raise argparse.ArgumentTypeError(f"unknown stream(s) {unknown or text!r}; choose a comma-separated "
                                         f"subset of {','.join(STREAMS)}")
    return list(dict.fromkeys(keys))  # keep order, drop repeats


def _positive_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def _spread(values: list[float] | None) -> str:
    """The lowest and highest single measurement (ms): how far one check strays from the mean."""
    return f"{min(values) * 1000:.1f}-{max(values) * 1000:.1f}" if values else "-"


def _pf(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_stream(label: str, res: dict[str, dict], live: bool) -> dict:
    """Print one stream's block; return its figures for the summary."""
    floor, cam, ff = res[FLOOR]["cpu"], res[CAMCHECK]["cpu"], res[FFMPEG]["cpu"]
    cold = res[FLOOR]["cold_cpu"]
    g1, g1_cold, g2 = cam <= 3 * floor, cam <= 3 * cold, ff >= 10 * cam
    print(f"== {label} (mean keyframe {res[FLOOR]['keyframe_bytes']} bytes)")
    goal_col = {CAMCHECK: f"<= 3x floor: {_pf(g1)}", FFMPEG: f">= 10x camcheck: {_pf(g2)}"}
    print(f"   {'method':36s} {'CPU ms/check':>12s} {'min-max':>11s} {'x floor':>8s} {'x camcheck':>10s} {'wall s':>7s} "
          f"{'peak RSS MB':>11s}  {'goal':22s} outcomes")
    for name, r in res.items():
        print(f"   {name:36s} {r['cpu'] * 1000:12.1f} {_spread(r.get('per_check')):>11s} {_ratio(r['cpu'], floor):8.2f} "
              f"{_ratio(r['cpu'], cam):10.2f} {r['wall']:7.3f} {r['rss_mb']:11.0f}  {goal_col.get(name, '-'):22s} "
              f"{sorted(set(r['outcomes']))}")
        if name == FLOOR:
            print(f"   {FLOOR_COLD:36s} {cold * 1000:12.1f} {_spread(r.get('cold_per_check')):>11s} "
                  f"{_ratio(cold, floor):8.2f} {_ratio(cold, cam):10.2f} "
                  f"{'':7s} {'':11s}  {f'<= 3x this: {_pf(g1_cold)}':22s} ['one per window']")
    cc = res[CAMCHECK]
    if any(h.endswith("decode_batches") for h in cc["hooks"]):
        parts = ""
        if any(h.endswith("_read_stream") for h in cc["hooks"]):
            rest = cc["main"] - cc["requests"] - cc["reading"]
            parts = (f" (RTSP requests up to PLAY {cc['requests'] * 1000:.1f}, reading the stream "
                     f"{cc['reading'] * 1000:.1f}, the rest {rest * 1000:.1f}: TEARDOWN, the result)")
        print(f"   camcheck CPU split: event-loop thread{parts or ' (RTSP, RTP, control)'} {cc['main'] * 1000:.1f} ms, "
              f"decoding {cc['decode'] * 1000:.1f} ms ({_ratio(cc['decode'], floor):.2f}x floor: keyframe 1 + "
              f"the frames after it, keyframe 2 in {cc['second_keys']}/{cc['checks']} checks (skipped when "
              f"those frames prove motion)), image analysis {cc['analyse'] * 1000:.1f} ms")
    else:
        print(f"   camcheck CPU split: unavailable (no decode step found to time; hooks applied: {cc['hooks']})")
    if live:
        print(f"   wall: a joined-mid-GOP check waits up to one GOP ({GOP_S:.1f} s) for a keyframe; back to back, "
              f"each check starts just after one, so it waits almost the whole GOP")
    print(f"   goal 1 (issue 3): camcheck CPU <= 3x floor ({3 * floor * 1000:.1f} ms): "
          f"{cam * 1000:.1f} ms = {_ratio(cam, floor):.2f}x floor -> {_pf(g1)}; against the keyframe decoded "
          f"once per window, as a check decodes it ({3 * cold * 1000:.1f} ms): {_ratio(cam, cold):.2f}x -> "
          f"{_pf(g1_cold)}")
    print(f"   goal 2 (issue 3): ffmpeg CPU >= 10x camcheck's: {_ratio(ff, cam):.2f}x -> {_pf(g2)}")
    bound = ff / 10
    line = (f"   goal 2 needs camcheck <= ffmpeg/10 = {bound * 1000:.1f} ms; decoding one keyframe alone costs "
            f"{floor * 1000:.1f} ms here")
    if bound < floor:
        line += (": ffmpeg/10 is below the floor, so no check that decodes a picture can meet goal 2 "
                 "on this machine for this stream")
    else:
        line += f", leaving {(bound - floor) * 1000:.1f} ms for everything else a check does"
    print(line)
    return {"camcheck": cam, "floor": floor, "cold": cold, "ffmpeg": ff, "goal1": g1, "goal1_cold": g1_cold,
            "goal2": g2, "reachable": bound >= floor}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=_positive_int, default=5, help="checks per method and stream (default 5)")
    ap.add_argument("--concurrent", type=int, default=200, help="concurrent 360p probes; 0 skips the run")
    ap.add_argument("--window", type=float, default=2.0, help="probe observation window, s (default 2)")
    ap.add_argument("--streams", type=_parse_streams, default=list(STREAMS),
                    help=f"comma-separated subset of {','.join(STREAMS)} (default all; k = session starts "
                         f"at a keyframe, l = joined mid-GOP)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind != "ffmpeg":
            from camcheck.probe.allocator import keep_freed_memory

            keep_freed_memory()  # as the daemon does (see the module docstring)
        if kind == "camcheck":
            out = child_camcheck(rest[0], int(rest[1]), float(rest[2]))
        elif kind == "ffmpeg":
            out = child_ffmpeg(rest[0], int(rest[1]))
        elif kind == "opencv":
            out = child_opencv(rest[0], int(rest[1]))
        elif kind == "floor":
            out = child_floor(rest[0], int(rest[1]), float(rest[2]))
        elif kind == "concurrent":
            out = child_concurrent(json.loads(rest[0]), int(rest[1]), float(rest[2]))
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(out))
        return
    if args.concurrent < 0:
        ap.error("--concurrent must be >= 0")
    if args.window <= 0:
        ap.error("--window must be > 0")

    from camcheck.simulator.testing import fleet_process

    print(f"bench_probe: {os.cpu_count()} cores, repeat {args.repeat}, window {args.window} s, "
          f"streams {','.join(args.streams)}", flush=True)
    with fleet_process(fleet_config()) as fleet:
        rows = []
        for key in args.streams:
            cid, label, short = STREAMS[key]
            url = fleet.url(cid, "main")
            print(f"   measuring {short} ...", flush=True)
            res = {
                FLOOR: _child("floor", url, str(args.repeat), str(args.window)),
                CAMCHECK: _child("camcheck", url, str(args.repeat), str(args.window)),
                FFMPEG: _child("ffmpeg", url, str(args.repeat)),
                OPENCV: _child("opencv", url, str(args.repeat)),
            }
            rows.append((key, label, short, res))
        print()
        summary = []
        for key, label, short, res in rows:
            summary.append((short, print_stream(label, res, live=key.endswith("l"))))
            print()
        conc = None
        if args.concurrent:
            urls = [fleet.url(f"m{i:02d}", "main") for i in range(CONCURRENT_CAMERAS)]
            before = fleet.stats()
            c = _child("concurrent", json.dumps(urls), str(args.concurrent), str(args.window))
            after = fleet.stats()
            fails = sum(c["failures"].values())
            print(f"== {args.concurrent} concurrent probes of 360p streams, session starts at a keyframe "
                  f"({CONCURRENT_CAMERAS} cameras x {SESSIONS_PER_CAMERA} sessions)")
            print(f"   CPU per check {c['cpu'] * 1000:.1f} ms, wall for all {c['wall_total']:.2f} s, longest check "
                  f"{c['max_duration']:.2f} s, peak RSS {c['rss_mb']:.0f} MB, failures {fails} "
                  f"{c['failures'] or ''}")
            small = next((res[FLOOR] for key, _, _, res in rows if key == "360k"), None)
            if small is not None:  # these cameras serve the same encoded clip as c360
                print(f"   that is {_ratio(c['cpu'], small['cpu']):.2f}x the 360p keyframe floor decoded back to back, "
                      f"{_ratio(c['cpu'], small['cold_cpu']):.2f}x once per window (many checks at once keep the "
                      f"caches warm, as in a daemon checking a fleet)")
            late = {k: after[k] - before.get(k, 0) for k in ("channel_late_ticks", "channel_skipped_frames",
                                                                "frames_dropped_slow_client") if k in after}
            print(f"   simulator during the run: {late}")
            print(f"   goal (issue 3): 0 failures -> {_pf(fails == 0)}\n")
            conc = (c, fails)

        print("== summary: CPU ms per check (goal 1: camcheck <= 3x floor, the floor decoded back to back and "
              "once per window; goal 2: ffmpeg >= 10x camcheck)")
        print(f"   {'stream':22s} {'camcheck':>8s} {'floor':>7s} {'x floor':>7s} {'once/win':>8s} {'x that':>6s} "
              f"{'ffmpeg':>7s} {'ffmpeg/camcheck':>15s}  {'goal 1':13s} goal 2")
        goals: list[bool] = []
        goals_cold: list[bool] = []
        for short, f in summary:
            note = "" if f["reachable"] else " (ffmpeg/10 < floor: unreachable)"
            print(f"   {short:22s} {f['camcheck'] * 1000:8.1f} {f['floor'] * 1000:7.1f} "
                  f"{_ratio(f['camcheck'], f['floor']):7.2f} {f['cold'] * 1000:8.1f} "
                  f"{_ratio(f['camcheck'], f['cold']):6.2f} {f['ffmpeg'] * 1000:7.1f} "
                  f"{_ratio(f['ffmpeg'], f['camcheck']):15.2f}  {_pf(f['goal1'])}/{_pf(f['goal1_cold']):8s} "
                  f"{_pf(f['goal2'])}{note}")
            goals += [f["goal1"], f["goal2"]]
            goals_cold += [f["goal1_cold"], f["goal2"]]
        if conc is not None:
            c, fails = conc
            print(f"   concurrency: {args.concurrent} concurrent 360p probes, {fails} failures, "
                  f"{c['cpu'] * 1000:.1f} ms CPU per check, {c['wall_total']:.1f} s wall -> {_pf(fails == 0)}")
            goals.append(fails == 0)
            goals_cold.append(fails == 0)
        else:
            print("   concurrency: not run (--concurrent 0)")
        print(f"\nall goals: {_pf(all(goals))} with the back-to-back floor, {_pf(all(goals_cold))} with the "
              f"keyframe decoded once per window" + ("" if conc is not None else " (concurrency goal not measured)"))


if __name__ == "__main__":
    main()
