"""CPU, wall time and peak RSS per stream check: camcheck's probe vs ffmpeg vs OpenCV, plus the floor.

    .venv/bin/python bench/bench_probe.py [--repeat 5] [--concurrent 200] [--window 2]

One simulated fleet (camcheck's simulator in a child process) serves a 1080p H.264 4 Mbit/s stream
and a 360p H.264 stream (and enough 360p cameras for the concurrency run: the simulator accepts
``max_sessions`` sessions per camera, 4 by default; here 10 per camera x 20 cameras).

Per method, each run happens in its own child process so peak RSS belongs to that method alone:
- camcheck: `probe_rtsp` in-process, CPU = getrusage(SELF) delta around the checks (threads
  included; interpreter start and imports excluded: a daemon pays them once);
- ffmpeg: `ffmpeg -frames:v 1` snapshot in a subprocess per check, CPU = getrusage(CHILDREN) delta;
- OpenCV: `cv2.VideoCapture(url)` + one `read()` per check, CPU = getrusage(SELF) delta;
- floor: decoding the stream's keyframe access unit alone with PyAV (fresh decoder each time).
Goals (issue 3), each printed with PASS/FAIL: camcheck CPU per check <= 3x the floor, the ffmpeg
subprocess >= 10x camcheck's CPU, and 0 failures in the concurrency run.
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


def fleet_config() -> dict:
    cams = [{"id": "c1080", "main": BIG, "sub": SMALL}, {"id": "c360", "main": SMALL, "sub": SMALL}]
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


def child_camcheck(url: str, repeat: int, window: float) -> dict:
    from camcheck.probe import rtsp as rtsp_mod
    from camcheck.probe.observation import RtspSettings, RtspTarget
    from camcheck.probe.rtsp import probe_rtsp

    # Where the CPU goes: wrap the two worker-thread steps with per-thread CPU clocks.
    split = {"decode": 0.0, "analyse": 0.0}

    def timed(name: str, fn):
        def wrapper(*a, **kw):
            t = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                split[name] += time.thread_time() - t
        return wrapper

    rtsp_mod.decode_batches = timed("decode", rtsp_mod.decode_batches)
    rtsp_mod.analyse = timed("analyse", rtsp_mod.analyse)

    async def run() -> dict:
        loop = asyncio.get_running_loop()
        target = RtspTarget(url)
        settings = RtspSettings(window=window)
        # warm-up: first use of the decoder and of numpy/cv2 code paths
        await probe_rtsp(target, settings, loop.time() + 15)
        split.update(decode=0.0, analyse=0.0)
        cpu0, t0, main0 = _cpu_self(), time.perf_counter(), time.thread_time()
        verdicts = []
        second_keys = 0
        for _ in range(repeat):
            obs = await probe_rtsp(target, settings, loop.time() + 15)
            verdicts.append(obs.failure or obs.verdict)
            # `change` is measured only when the second keyframe was decoded (the probe skips it
            # when the frames after the first keyframe already prove motion).
            second_keys += (obs.image or {}).get("change") is not None
        return {"cpu": (_cpu_self() - cpu0) / repeat, "wall": (time.perf_counter() - t0) / repeat,
                "outcomes": verdicts, "main": (time.thread_time() - main0) / repeat,
                "decode": split["decode"] / repeat, "analyse": split["analyse"] / repeat,
                "second_keys": second_keys, "checks": repeat}

    out = asyncio.run(run())
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child_ffmpeg(url: str, repeat: int) -> dict:
    outs = []
    cpu0, t0 = _cpu_children(), time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for i in range(repeat):
            r = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                                "-frames:v", "1", "-y", f"{d}/snap{i}.jpg"], capture_output=True, timeout=60)
            outs.append("ok" if r.returncode == 0 else f"rc={r.returncode}")
    return {"cpu": (_cpu_children() - cpu0) / repeat, "wall": (time.perf_counter() - t0) / repeat,
            "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "outcomes": outs}


def child_opencv(url: str, repeat: int) -> dict:
    import cv2

    outs = []
    cpu0, t0 = _cpu_self(), time.perf_counter()
    for _ in range(repeat):
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        ok, frame = cap.read()
        cap.release()
        outs.append("ok" if ok and frame is not None else "failed")
    return {"cpu": (_cpu_self() - cpu0) / repeat, "wall": (time.perf_counter() - t0) / repeat,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "outcomes": outs}


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

    def once(data: bytes) -> None:
        ctx = av.CodecContext.create(CODEC_NAMES[codec[0]], "r")
        ctx.thread_count = 1
        frames = list(ctx.decode(av.Packet(data))) + list(ctx.decode(None))
        assert frames

    once(keys[0])
    rounds = 4
    cpu0, t0 = _cpu_self(), time.perf_counter()
    for _ in range(rounds):
        for data in keys:
            once(data)
    n = rounds * len(keys)
    return {"cpu": (_cpu_self() - cpu0) / n, "wall": (time.perf_counter() - t0) / n,
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--concurrent", type=int, default=200)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
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

    from camcheck.simulator.testing import fleet_process

    print(f"bench_probe: {os.cpu_count()} cores, repeat {args.repeat}, window {args.window} s", flush=True)
    with fleet_process(fleet_config()) as fleet:
        rows = []
        for label, cid in (("1080p H.264 4 Mbit/s", "c1080"), ("360p H.264 512 kbit/s", "c360")):
            url = fleet.url(cid, "main")
            res = {
                "floor: PyAV decode of 1 keyframe": _child("floor", url, str(args.repeat), str(args.window)),
                "camcheck probe": _child("camcheck", url, str(args.repeat), str(args.window)),
                "ffmpeg -frames:v 1 (subprocess)": _child("ffmpeg", url, str(args.repeat)),
                "OpenCV VideoCapture, 1 frame": _child("opencv", url, str(args.repeat)),
            }
            rows.append((label, res))
        print()
        goals: list[bool] = []
        for label, res in rows:
            floor = res["floor: PyAV decode of 1 keyframe"]["cpu"]
            cam = res["camcheck probe"]["cpu"]
            print(f"== {label} (mean keyframe {res['floor: PyAV decode of 1 keyframe']['keyframe_bytes']} bytes)")
            ff = res["ffmpeg -frames:v 1 (subprocess)"]["cpu"]
            goal_col = {"camcheck probe": f"<= 3x floor: {'PASS' if cam <= 3 * floor else 'FAIL'}",
                        "ffmpeg -frames:v 1 (subprocess)": f">= 10x camcheck: {'PASS' if ff >= 10 * cam else 'FAIL'}"}
            print(f"   {'method':36s} {'CPU ms/check':>12s} {'x floor':>8s} {'x camcheck':>10s} {'wall s':>7s} "
                  f"{'peak RSS MB':>11s}  {'goal':22s} outcomes")
            for name, r in res.items():
                print(f"   {name:36s} {r['cpu'] * 1000:12.1f} {r['cpu'] / floor:8.2f} {r['cpu'] / cam:10.2f} "
                      f"{r['wall']:7.3f} {r['rss_mb']:11.0f}  {goal_col.get(name, '-'):22s} {sorted(set(r['outcomes']))}")
            cc = res["camcheck probe"]
            print(f"   camcheck CPU split: event-loop thread (RTSP, RTP, control) {cc['main'] * 1000:.1f} ms, "
                  f"decoding {cc['decode'] * 1000:.1f} ms ({cc['decode'] / floor:.2f}x floor: keyframe 1 + "
                  f"the frames after it, keyframe 2 in {cc['second_keys']}/{cc['checks']} checks (skipped when "
                  f"those frames prove motion)), image analysis {cc['analyse'] * 1000:.1f} ms")
            print(f"   goal 1 (issue 3): camcheck CPU <= 3x floor ({3 * floor * 1000:.1f} ms): "
                  f"{cam * 1000:.1f} ms = {cam / floor:.2f}x floor -> {'PASS' if cam <= 3 * floor else 'FAIL'}")
            print(f"   goal 2 (issue 3): ffmpeg CPU >= 10x camcheck's: {ff / cam:.2f}x "
                  f"-> {'PASS' if ff >= 10 * cam else 'FAIL'}")
            goals.append(cam <= 3 * floor and ff >= 10 * cam)
        if args.concurrent:
            urls = [fleet.url(f"m{i:02d}", "main") for i in range(CONCURRENT_CAMERAS)]
            before = fleet.stats()
            c = _child("concurrent", json.dumps(urls), str(args.concurrent), str(args.window))
            after = fleet.stats()
            print(f"\n== {args.concurrent} concurrent probes of 360p streams ({CONCURRENT_CAMERAS} cameras x "
                  f"{SESSIONS_PER_CAMERA} sessions)")
            print(f"   CPU per check {c['cpu'] * 1000:.1f} ms, wall for all {c['wall_total']:.2f} s, longest check "
                  f"{c['max_duration']:.2f} s, peak RSS {c['rss_mb']:.0f} MB, failures {sum(c['failures'].values())} "
                  f"{c['failures'] or ''}")
            late = {k: after[k] - before.get(k, 0) for k in ("channel_late_ticks", "channel_skipped_frames",
                                                                "frames_dropped_slow_client") if k in after}
            print(f"   simulator during the run: {late}")
            fails = sum(c["failures"].values())
            print(f"   goal (issue 3): 0 failures -> {'PASS' if fails == 0 else 'FAIL'}")
            goals.append(fails == 0)
        print(f"\nall goals: {'PASS' if all(goals) else 'FAIL'}")


if __name__ == "__main__":
    main()
