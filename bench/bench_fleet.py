"""Fleet benchmark: the daemon checking a simulated fleet with injected faults, beside ffmpeg's cost.

    .venv/bin/python bench/bench_fleet.py --quick              # 200 cameras, < 3 minutes
    .venv/bin/python bench/bench_fleet.py                      # 1,000 cameras
    .venv/bin/python bench/bench_fleet.py --cameras 5000          # one simulator process served 5,000 here
    .venv/bin/python bench/bench_fleet.py --quick --workers 2  # `camcheck run --workers 2`
    .venv/bin/python bench/bench_fleet.py --quick --hold-s 240 # are faults still flagged 4 min on?
    .venv/bin/python bench/bench_fleet.py --quick --codec mixed # H.264 and H.265 cameras, alternating
    .venv/bin/python bench/bench_fleet.py --quick --codec h265 --scene parking --fps 25 --gop 25
    .venv/bin/python bench/bench_fleet.py --quick --size 1280x720 --bitrate 1500 --scene garden
    .venv/bin/python bench/bench_fleet.py --quick --gop 150 --start live       # 10 s GOP ("smart codec")
    .venv/bin/python bench/bench_fleet.py --quick --gop 150 --start live --max-keyframe-wait 0  # as before
    .venv/bin/python bench/bench_fleet.py --quick --register main-onvif --main-size 1280x720 --main-bitrate 1500

What runs (all on this machine, all real processes):
- the simulator (`camcheck simulate`, 1 or more child processes) serving N sub-stream cameras
  (H.264 640x360, 15 fps, 2 s GOP, 512 kbit/s, digest auth; ``--codec h265`` or ``mixed``: H.265,
  or every other camera H.265, with the detection table split by codec; ``--scene``, ``--fps``,
  ``--gop``, ``--size`` and ``--bitrate`` change the simulator's scene and the stream's frame rate,
  keyframe interval, picture size and bitrate);
  With ``--register main`` the registry lists each camera's main stream only (``--main-size``,
  ``--main-bitrate``), as provincial sheets do; ``main-onvif`` adds its ONVIF device (the simulator's,
  listing both streams), from which the daemon finds the sub-stream;
- `camcheck run` (one child process, SQLite registry in a temp dir) with a short interval, so the
  daemon always has a backlog and what is measured is its capacity, not the interval;
- after the first full cycle (every camera checked once, references recorded), ~1.5 % of the cameras
  each get one fault: offline, frozen, covered, black, stall_after, auth_fail, low_fps, moved.

Reported: first-cycle time, checks/s at capacity and the fleet that implies on a 5-minute cycle,
daemon CPU seconds per check and % of 2 cores, peak RSS (daemon figures: the primary and its worker
processes together; checks counted in the registry), and a confusion table (injected fault ->
final status and findings, after the confirmation checks). Beside it, `ffmpeg -frames:v 1` per camera
measured on a sample of cameras and extrapolated to the same fleet. The simulator shares the CPU with
the daemon: its CPU is reported too, and the capacity figure is therefore a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from camcheck.simulator.testing import ProcessFleetHandle, fleet_process  # noqa: E402

SUB = {"codec": "h264", "width": 640, "height": 360, "fps": 15, "gop": 30, "bitrate_kbps": 512}
PASSWORD = "bench-pw"
PW_ENV = "CAMCHECK_BENCH_CAM_PW"
FAULTS: dict[str, dict[str, Any]] = {
    "offline": {},
    "frozen": {},
    "covered": {},
    "black": {},
    "stall_after": {"after_s": 0.5},
    "auth_fail": {},
    "low_fps": {},
    "moved": {},
}
# What a detection looks like: the status the camera should end in, or a finding it should carry.
EXPECTED = {
    "offline": "broken", "auth_fail": "broken", "stall_after": "broken", "frozen": "broken", "black": "broken",
    "covered": "broken", "moved": "scene_changed", "low_fps": "low_fps",
}
CLK = os.sysconf("SC_CLK_TCK")
CYCLE_S = 300.0
CORES = 2


# -- process figures --------------------------------------------------------------------------------
def cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# -- set-up -----------------------------------------------------------------------------------------
def camera_codecs(ids: list[str], codec: str, plan: dict[str, str]) -> dict[str, str]:
    """Each camera's codec: `codec`, or with ``mixed`` H.264 and H.265 alternately, among the
    healthy cameras and among the cameras of each fault (`plan`) alike."""
    if codec != "mixed":
        return dict.fromkeys(ids, codec)
    out = {cid: ("h264", "h265")[i % 2] for i, cid in enumerate(c for c in ids if c not in plan)}
    seen: Counter[str] = Counter()
    for cid, fault in plan.items():
        out[cid] = ("h264", "h265")[seen[fault] % 2]
        seen[fault] += 1
    return out


def fleet_config(ids: list[str], codecs: dict[str, str], sub: dict[str, Any] = SUB,
                 scene: str = "street", start: str = "keyframe", main: dict[str, Any] | None = None,
                 onvif: bool = False) -> dict[str, Any]:
    def cam(cid: str) -> dict[str, Any]:
        spec = {**sub, "codec": codecs[cid]}
        return {"id": cid, "scene": scene, "main": {**(main or sub), "codec": codecs[cid]}, "sub": spec}

    return {
        "onvif_port_base": 0 if onvif else None,
        "defaults": {
            "credentials": {"username": "admin", "password": PASSWORD, "auth": "digest"},
            "max_sessions": 2,
            "osd_text": "BENCH",
            "start": start,
        },
        "cameras": [cam(cid) for cid in ids],
    }


def plan_faults(ids: list[str], percent: float) -> dict[str, str]:
    """Every fault on ``percent`` % of the cameras (at least one each), spread over the fleet."""
    per = max(1, round(len(ids) * percent / 100))
    step = max(1, len(ids) // (per * len(FAULTS)))
    plan: dict[str, str] = {}
    i = 3
    for _ in range(per):
        for fault in FAULTS:
            while ids[i % len(ids)] in plan:
                i += 1
            plan[ids[i % len(ids)]] = fault
            i += step
    return plan


async def register(db_url: str, cameras: dict[str, dict[str, str]]) -> None:
    """`cameras`: id -> the record's sub_stream_url, or main_stream_url (and onvif_endpoint)."""
    from camcheck.registry.models import CameraRecord
    from camcheck.registry.store import open_store

    store = await open_store(db_url, migrate=True)
    try:
        records = [CameraRecord(id=cid, name=f"bench {cid}", credentials_ref="sim", district="Bench",
                                owner_agency="Bench", **fields) for cid, fields in cameras.items()]
        for i in range(0, len(records), 1000):
            await store.upsert_cameras(records[i:i + 1000])
    finally:
        await store.close()


def daemon_config(db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "node_id": "bench",
        "database": {"url": db_url},
        "http": {"bind": "127.0.0.1", "port": 0},
        "schedule": {"interval": args.interval, "max_in_flight": args.max_in_flight, "per_parent": 4,
                     "onvif_interval": 86400},
        "probe": {"timeout": 10, "window": args.window, "max_keyframe_wait": args.max_keyframe_wait},
        # Confirmation re-checks a few seconds apart (production: 20 s and 60 s), so the benchmark
        # sees confirmed verdicts in minutes.
        "status": {"confirm_delays_s": [3.0, 3.0], "recover_delay_s": 3.0, "finding_confirm_delay_s": 3.0,
                   "unchanged_after_s": args.unchanged_after_s, "unchanged_min_checks": args.unchanged_min_checks},
        "credentials": {"sim": {"username": "admin", "password_env": PW_ENV}},
    }


class Daemon:
    def __init__(self, config_path: Path, log_path: Path, workers: int = 1) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115
        env = {**os.environ, PW_ENV: PASSWORD}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "camcheck", "--log-level", "WARNING", "run", "--config", str(config_path),
             "--workers", str(workers)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.port = 0

    def wait_ready(self, timeout: float = 120) -> None:
        """The HTTP port is only logged at INFO: ask the kernel which port the daemon listens on."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"camcheck run exited: {self.log_path.read_text()[-2000:]}")
            port = _listening_port(self.pid)
            if port:
                self.port = port
                with contextlib.suppress(OSError):
                    self.healthz()
                    return
            time.sleep(0.2)
        raise RuntimeError("camcheck run did not start")

    def healthz(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as r:
            return json.loads(r.read())

    def pids(self) -> list[int]:
        """The primary and its worker processes (`camcheck run --workers N`)."""
        try:
            kids = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            kids = []
        return [self.pid, *(int(k) for k in kids)]

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


def _listening_port(pid: int) -> int | None:
    """A TCP port in LISTEN state owned by ``pid`` (from /proc, no extra tools)."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
                  if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
    except OSError:
        return None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "0A" and parts[9] in inodes:  # 0A = LISTEN
            return int(parts[1].split(":")[1], 16)
    return None


# -- reading the registry -----------------------------------------------------------------------------
def db_counts(path: Path) -> tuple[int, int]:
    """(cameras checked at least once, check rows)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        checked = db.execute("SELECT count(*) FROM cameras WHERE last_check_at IS NOT NULL").fetchone()[0]
        rows = db.execute("SELECT count(*) FROM check_results").fetchone()[0]
    return checked, rows


def final_states(path: Path) -> dict[str, tuple[str, list[str]]]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        rows = db.execute("SELECT id, status, findings FROM cameras").fetchall()
    return {cid: (status, (json.loads(f) if f else None) or []) for cid, status, f in rows}


def last_failures(path: Path, ids: list[str]) -> dict[str, str]:
    out = {}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        for cid in ids:
            row = db.execute("SELECT verdict, failure, findings FROM check_results WHERE camera_id=? "
                             "ORDER BY id DESC LIMIT 1", (cid,)).fetchone()
            if row:
                out[cid] = row[1] or row[0] + (f" {row[2]}" if row[2] else "")
    return out


# -- ffmpeg baseline ----------------------------------------------------------------------------------
def ffmpeg_baseline(urls: list[str], tmp: Path) -> dict[str, float]:
    """`ffmpeg -frames:v 1` per camera, one after another: CPU and wall per camera."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return {}
    ok = 0
    cpu0, t0 = children_cpu(), time.monotonic()
    for i, url in enumerate(urls):
        r = subprocess.run(
            [ffmpeg, "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url, "-frames:v", "1",
             "-f", "image2", "-y", str(tmp / f"ff{i}.jpg")],
            capture_output=True, timeout=30)
        ok += r.returncode == 0
    n = len(urls)
    return {"n": n, "ok": ok, "cpu_per_check": (children_cpu() - cpu0) / n, "wall_per_check": (time.monotonic() - t0) / n}


# -- the run ------------------------------------------------------------------------------------------
def _size(text: str) -> tuple[int, int]:
    """--size WxH (or 720p, 2MP...: the registry's parser), even dimensions, as the simulator's encoders need."""
    from camcheck.registry.normalize import parse_resolution

    try:
        (w, h), _ = parse_resolution(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    if not (64 <= w <= 3840 and 64 <= h <= 2160 and w % 2 == 0 and h % 2 == 0):
        raise argparse.ArgumentTypeError(f"{text}: width and height must be even, 64-3840 x 64-2160")
    return w, h


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="200 cameras, short phases (< 3 minutes)")
    ap.add_argument("--interval", type=float, default=10.0,
                    help="daemon check interval; short, so the daemon runs at capacity (default 10 s)")
    ap.add_argument("--max-in-flight", type=int, default=100)
    ap.add_argument("--window", type=float, default=2.0, help="seconds of stream read per check")
    ap.add_argument("--fault-percent", type=float, default=1.5, help="cameras per fault kind, %% (default 1.5)")
    ap.add_argument("--detect-s", type=float, default=None,
                    help="max seconds to wait for confirmed verdicts (default: 2 first cycles + 30 s, "
                         "at least 75 s quick / 240 s; a fault is only seen when its camera's turn comes)")
    ap.add_argument("--hold-s", type=float, default=0.0,
                    help="keep the faults and go on checking at least this long after injecting them, then "
                         "report the final statuses: a fault detected once but not held (a frozen camera "
                         "that goes back to working) shows as a miss (default 0: stop once all are detected)")
    ap.add_argument("--sim-procs", type=int, default=1, help="simulator child processes")
    ap.add_argument("--workers", type=int, default=1, help="camcheck run --workers N (processes checking cameras)")
    ap.add_argument("--codec", choices=("h264", "h265", "mixed"), default="h264",
                    help="the cameras' codec (mixed: every other camera H.265; default h264)")
    ap.add_argument("--scene", choices=("street", "lobby", "parking", "garden"), default="street",
                    help="the simulator's scene for every camera (default street)")
    ap.add_argument("--fps", type=int, default=SUB["fps"], help=f"stream frame rate (default {SUB['fps']})")
    ap.add_argument("--gop", type=int, default=SUB["gop"], help=f"frames per keyframe interval (default {SUB['gop']})")
    ap.add_argument("--size", type=_size, default=(SUB["width"], SUB["height"]),
                    help=f"picture size WxH, or a name such as 720p (default {SUB['width']}x{SUB['height']})")
    ap.add_argument("--bitrate", type=int, default=SUB["bitrate_kbps"],
                    help=f"stream bitrate, kbit/s (default {SUB['bitrate_kbps']})")
    ap.add_argument("--start", choices=("keyframe", "live"), default="keyframe",
                    help="where a camera's new session starts: at its last keyframe (a GOP cache, the "
                         "default) or mid-GOP at the next frame")
    ap.add_argument("--max-keyframe-wait", type=float, default=20.0,
                    help="the daemon's probe.max_keyframe_wait (default 20; 0 = never wait longer than "
                         "max(2 x window, 4 s) for a second keyframe, as before long-GOP support)")
    ap.add_argument("--register", choices=("sub", "main", "main-onvif"), default="sub",
                    help="what the registry lists per camera: its sub-stream (default), its main stream only, "
                         "or its main stream and ONVIF device (the daemon then finds the sub-stream)")
    ap.add_argument("--main-size", type=_size, default=None, help="main stream picture size (default: --size)")
    ap.add_argument("--main-bitrate", type=int, default=None, help="main stream kbit/s (default: --bitrate)")
    ap.add_argument("--unchanged-after-s", type=float, default=86400.0,
                    help="status.unchanged_after_s: a picture that has not changed for this long is `unchanged` "
                    "(default a day, as in production; e.g. 60 with --hold-s 180 to see it in the benchmark)")
    ap.add_argument("--unchanged-min-checks", type=int, default=12, help="status.unchanged_min_checks")
    ap.add_argument("--ffmpeg-sample", type=int, default=20)
    ap.add_argument("--keep", type=Path, help="copy the registry and the daemon's log into this directory")
    args = ap.parse_args()
    if args.hold_s < 0:
        ap.error("--hold-s must be >= 0")
    if args.quick:
        args.cameras = 200
        args.ffmpeg_sample = min(args.ffmpeg_sample, 10)
    n = args.cameras
    ids = [f"b{i:05d}" for i in range(n)]
    plan = plan_faults(ids, args.fault_percent)
    codecs = camera_codecs(ids, args.codec, plan)
    sub = {**SUB, "fps": args.fps, "gop": args.gop, "width": args.size[0], "height": args.size[1],
           "bitrate_kbps": args.bitrate}
    main_size = args.main_size or args.size
    main_spec = {**sub, "width": main_size[0], "height": main_size[1], "bitrate_kbps": args.main_bitrate or args.bitrate}
    role = "sub" if args.register == "sub" else "main"
    print(f"bench_fleet: {n} cameras (sub-stream {args.codec} {sub['width']}x{sub['height']}@{sub['fps']}fps "
          f"GOP {sub['gop']} {sub['bitrate_kbps']} kbit/s, scene {args.scene}), {len(plan)} with a fault, interval {args.interval:g}s, "
          f"max_in_flight {args.max_in_flight}, window {args.window:g}s, {args.sim_procs} simulator process(es), "
          f"{args.workers} daemon process(es), sessions start at {'a keyframe' if args.start == 'keyframe' else 'the next frame'}, "
          f"max keyframe wait {args.max_keyframe_wait:g}s; registered: "
          + ("the sub-stream" if role == "sub" else
             f"the main stream ({main_spec['width']}x{main_spec['height']} {main_spec['bitrate_kbps']} kbit/s)"
             + (" and the ONVIF device" if args.register == "main-onvif" else " only")),
          flush=True)

    with tempfile.TemporaryDirectory(prefix="camcheck-bench-fleet-") as tmpdir, contextlib.ExitStack() as stack:
        tmp = Path(tmpdir)
        t_sim = time.monotonic()
        chunks = [ids[i::args.sim_procs] for i in range(args.sim_procs)]
        fleets: list[ProcessFleetHandle] = [stack.enter_context(fleet_process(fleet_config(c, codecs, sub, args.scene, args.start, main_spec,
                                                                                    args.register == "main-onvif"),
                                                                          startup_timeout=900))
                                            for c in chunks]
        owner = {cid: f for f, c in zip(fleets, chunks) for cid in c}
        print(f"simulator ready in {time.monotonic() - t_sim:.1f}s (pids {[f.pid for f in fleets]})", flush=True)

        db_path = tmp / "registry.db"
        db_url = f"sqlite:///{db_path}"
        t_reg = time.monotonic()
        def record(cid: str) -> dict[str, str]:
            if role == "sub":
                return {"sub_stream_url": owner[cid].url(cid, "sub")}
            fields = {"main_stream_url": owner[cid].url(cid, "main")}
            if args.register == "main-onvif":
                fields["onvif_endpoint"] = owner[cid].onvif_endpoint(cid)
            return fields

        asyncio.run(register(db_url, {cid: record(cid) for cid in ids}))
        print(f"registered {n} cameras in {time.monotonic() - t_reg:.1f}s", flush=True)

        import yaml

        cfg_path = tmp / "camcheck.yaml"
        cfg_path.write_text(yaml.safe_dump(daemon_config(db_url, args)), encoding="utf-8")
        daemon = Daemon(cfg_path, tmp / "daemon.log", args.workers)
        stack.callback(daemon.stop)
        t_start = time.monotonic()
        daemon.wait_ready()
        print(f"daemon pid {daemon.pid} ready in {time.monotonic() - t_start:.1f}s", flush=True)

        def sample() -> dict[str, float]:
            # Checks from the registry: /healthz counts only the primary's, not its workers'.
            h = daemon.healthz()
            pids = daemon.pids()
            return {"t": time.monotonic(), "checks": db_counts(db_path)[1], "in_flight": h["in_flight"],
                    "cpu": sum(cpu_s(p) for p in pids), "sim_cpu": sum(cpu_s(f.pid) for f in fleets),
                    "rss": sum(rss_mb(p) for p in pids), "procs": len(pids)}

        def progress(label: str, s0: dict[str, float], s: dict[str, float], checked: int) -> None:
            dt = max(1e-6, s["t"] - s0["t"])
            rate = (s["checks"] - s0["checks"]) / dt
            print(f"  [{label} {s['t'] - t_start:6.1f}s] checked {checked}/{n}, checks {s['checks']}, "
                  f"{rate:5.1f} checks/s, in flight {s['in_flight']}, CPU (% of one core) daemon "
                  f"{(s['cpu'] - s0['cpu']) / dt * 100:3.0f}% sim {(s['sim_cpu'] - s0['sim_cpu']) / dt * 100:3.0f}%, "
                  f"RSS {s['rss']:.0f} MB ({s['procs']:.0f} processes), load {os.getloadavg()[0]:.1f}", flush=True)

        # Phase 1: the first full cycle.
        s0 = sample()
        s0["t"] = t_start
        limit = time.monotonic() + max(600.0, n * 0.5)
        last = s0
        while True:
            time.sleep(5)
            s = sample()
            checked, _ = db_counts(db_path)
            progress("cycle", last, s, checked)
            last = s
            if checked >= n:
                break
            if time.monotonic() > limit:
                print("first cycle did not complete in time", flush=True)
                break
        cycle_s = time.monotonic() - t_start
        cycle_checks = s["checks"]
        print(f"first cycle: every camera checked once after {cycle_s:.1f}s ({cycle_checks} checks)", flush=True)

        # Phase 2: inject the faults; measure at capacity while the verdicts get confirmed. At capacity
        # a faulty camera is first seen on its turn in the cycle, and a degraded finding's confirmation
        # re-checks are not prioritised: allow two cycles.
        detect_s = args.detect_s or max(75.0 if args.quick else 240.0, 2 * cycle_s + 30)
        t_f = time.monotonic()
        for cid, fault in plan.items():
            owner[cid].set_fault(cid, fault, **FAULTS[fault])
        print(f"injected {len(plan)} faults in {time.monotonic() - t_f:.1f}s: "
              f"{dict(Counter(plan.values()))}; waiting up to {detect_s:.0f}s for confirmed verdicts", flush=True)
        m0 = sample()
        last = m0
        end = time.monotonic() + max(detect_s, args.hold_s)
        min_measure = max(30.0 if args.quick else 60.0, args.hold_s)
        while time.monotonic() < end:
            time.sleep(5)
            s = sample()
            progress("detect", last, s, n)
            last = s
            states = final_states(db_path)
            settled = all(_detected(plan[c], *states[c]) for c in plan)
            if settled and s["t"] - m0["t"] >= min_measure:
                break
        m1 = sample()
        peak_rss = sum(rss_mb(p, "VmHWM") for p in daemon.pids())
        states = final_states(db_path)
        failures = last_failures(db_path, list(plan))
        rc = daemon.stop()
        problems = [ln for ln in (tmp / "daemon.log").read_text(errors="replace").splitlines()
                    if " WARNING " in ln or " ERROR " in ln or "Traceback" in ln]

        dt = m1["t"] - m0["t"]
        checks = m1["checks"] - m0["checks"]
        rate = checks / dt if dt else 0.0
        cpu_per_check = (m1["cpu"] - m0["cpu"]) / checks if checks else float("nan")
        sim_per_check = (m1["sim_cpu"] - m0["sim_cpu"]) / checks if checks else float("nan")
        daemon_share = (m1["cpu"] - m0["cpu"]) / dt / CORES * 100 if dt else 0.0

        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("registry.db", "daemon.log"):
                shutil.copy(tmp / name, args.keep / name)
            (args.keep / "faults.json").write_text(json.dumps(plan, indent=1))

        # Phase 3: ffmpeg on a sample of healthy cameras (the daemon is stopped: no contention).
        healthy = [c for c in ids if c not in plan][: args.ffmpeg_sample]
        print(f"ffmpeg -frames:v 1 on {len(healthy)} cameras, one after another ...", flush=True)
        ff = ffmpeg_baseline([owner[c].url(c, role, credentials=True) for c in healthy], tmp)

    # -- report ---------------------------------------------------------------------------------------
    print()
    print(f"== camcheck fleet benchmark: {n} cameras, {os.cpu_count()} CPUs (figures are for this machine) ==")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine slows checks/s, "
          "not CPU per check)")
    print(f"daemon exit status after SIGTERM: {rc}; {len(problems)} warning/error lines in its log")
    for line in list(dict.fromkeys(ln.split(" ", 2)[-1][:160] for ln in problems))[:8]:
        print(f"  log: {line}")
    print(f"first cycle (every camera checked once, start-up included): {cycle_s:.1f} s")
    print(f"measured at capacity over {dt:.0f} s: {checks} checks, {rate:.1f} checks/s")
    print(f"  -> fleet on a 5-minute cycle at this rate: {rate * CYCLE_S:,.0f} cameras")
    print(f"daemon CPU: {cpu_per_check * 1000:.1f} ms per check, {daemon_share:.0f} % of {CORES} cores "
          f"(simulator: {sim_per_check * 1000:.1f} ms per check, same cores)")
    print(f"  -> CPU-bound fleet on a 5-minute cycle with {CORES} cores: {CORES * CYCLE_S / cpu_per_check:,.0f} cameras")
    print(f"daemon RSS: {m1['rss']:.0f} MB now, {peak_rss:.0f} MB peak")
    print()
    print("detection (injected fault -> final status [findings], after confirmation):")
    split = args.codec == "mixed"  # one row per fault and codec
    by_fault: dict[tuple[str, str], list[str]] = defaultdict(list)
    for cid, fault in plan.items():
        by_fault[(fault, codecs[cid] if split else "")].append(cid)
    print(f"  {'fault':<17} {'n':>3} {'detected':>9}  final status / findings (last check)")
    total_ok = 0
    for fault in FAULTS:
        for codec in (("h264", "h265") if split else ("",)):
            cams = by_fault.get((fault, codec), [])
            det = sum(_detected(fault, *states[c]) for c in cams)
            total_ok += det
            outcomes = Counter(f"{states[c][0]}[{','.join(states[c][1])}] ({failures.get(c, '-')})" for c in cams)
            label = f"{fault} {codec}".strip()
            print(f"  {label:<17} {len(cams):>3} {det:>4}/{len(cams):<4}  "
                  + "; ".join(f"{k} x{v}" for k, v in outcomes.items()))
    for codec in (("h264", "h265") if split else ("",)):
        healthy_states = Counter(states[c][0] for c in ids if c not in plan and (not codec or codecs[c] == codec))
        label = f"healthy {codec}".strip()
        print(f"  {label:<17} {sum(healthy_states.values()):>3}  status: {dict(healthy_states)}")
    print(f"  detected {total_ok}/{len(plan)} injected faults")
    print()
    if ff:
        ff_cores = ff["cpu_per_check"] * n / CYCLE_S
        cc_cores = cpu_per_check * n / CYCLE_S
        print(f"side by side, {n} cameras on a 5-minute cycle:")
        print(f"  {'':<28}{'camcheck daemon':>18}{'ffmpeg -frames:v 1':>22}")
        print(f"  {'CPU per camera check':<28}{cpu_per_check * 1000:>15.1f} ms{ff['cpu_per_check'] * 1000:>19.1f} ms")
        print(f"  {'cores for the fleet':<28}{cc_cores:>18.2f}{ff_cores:>22.2f}")
        print(f"  {'max fleet on 2 cores':<28}{CORES * CYCLE_S / cpu_per_check:>18,.0f}"
              f"{CORES * CYCLE_S / ff['cpu_per_check']:>22,.0f}")
        print(f"  {'wall per check (one at once)':<28}{'-':>18}{ff['wall_per_check']:>20.2f} s")
        print(f"  {'what it verifies':<28}{'live, moving, usable':>18}{'one frame decoded':>22}")
        print(f"  (ffmpeg: {ff['ok']}/{ff['n']} snapshots succeeded, measured on {ff['n']} cameras, extrapolated)")
    return 0 if rc == 0 else 1


def _detected(fault: str, status: str, findings: list[str]) -> bool:
    want = EXPECTED[fault]
    return status == want or want in findings


if __name__ == "__main__":
    sys.exit(main())
