"""Cost of the camera simulator: N simultaneous sub-stream clients (640x360, 512 kbit/s, TCP interleaved).

    .venv/bin/python bench/bench_simulator.py                       # 100 (baseline) and 1000 streams
    .venv/bin/python bench/bench_simulator.py --streams 100 500 1000 2000 --duration 30

For each N: starts `camcheck simulate` as a subprocess (quick fleet, N/4 cameras with 4 sessions each),
opens N RTSP sessions (Digest auth, RTP over TCP) from `--client-procs` load-generator processes (a minimal
asyncio RTSP client that counts bytes, frames, sequence gaps and late frames), and reads the simulator's
CPU time (/proc/<pid>/stat) and RSS (/proc/<pid>/status) over the measuring window. Prints CPU % and MB
per 100 streams, delivered vs nominal bitrate, late and missing frames, beside the 100-stream baseline
and the nominal cost (the bytes the streams must carry).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FPS = 25
NOMINAL_KBPS = 512
LATE_S = 0.25
POLL_S = 0.05  # a frame later than this behind its RTP timestamp's schedule counts as late
TICKS = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------------------------
# load generator (runs in its own process)

class Stream(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.responses: asyncio.Queue[tuple[int, dict[str, str], bytes]] = asyncio.Queue()
        self.counting = False
        self.bytes = 0
        self.frames = 0
        self.packets = 0
        self.gaps = 0
        self.late = 0
        self.last_seq: int | None = None
        self.t0: float | None = None
        self.ts0 = 0
        self.lost = False

    def connection_made(self, transport):  # type: ignore[override]
        self.transport = transport

    def connection_lost(self, exc):  # type: ignore[override]
        self.lost = True
        self.responses.put_nowait((0, {}, b""))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        off = 0
        n = len(buf)
        now = None
        while off < n:
            if buf[off] == 0x24:
                if n - off < 4:
                    break
                size = (buf[off + 2] << 8) | buf[off + 3]
                end = off + 4 + size
                if end > n:
                    break
                if buf[off + 1] == 0 and self.counting:
                    self.packets += 1
                    self.bytes += size
                    seq = (buf[off + 6] << 8) | buf[off + 7]
                    if self.last_seq is not None and seq != (self.last_seq + 1) & 0xFFFF:
                        self.gaps += (seq - self.last_seq - 1) & 0xFFFF
                    self.last_seq = seq
                    if buf[off + 5] & 0x80:  # marker: last packet of a frame
                        self.frames += 1
                        ts = struct.unpack_from(">I", buf, off + 8)[0]
                        now = now or time.monotonic()
                        if self.t0 is None:
                            self.t0, self.ts0 = now, ts
                        else:
                            due = self.t0 + ((ts - self.ts0) & 0xFFFFFFFF) / 90000
                            if now - due > LATE_S:
                                self.late += 1
                                self.t0, self.ts0 = now, ts  # re-anchor: count each stall once
                off = end
                continue
            end = buf.find(b"\r\n\r\n", off)
            if end < 0:
                break
            head = bytes(buf[off:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            clen = int(headers.get("content-length", "0"))
            if end + 4 + clen > n:
                break
            body = bytes(buf[end + 4 : end + 4 + clen])
            self.responses.put_nowait((int(head[0].split(" ")[1]), headers, body))
            off = end + 4 + clen
        del buf[:off]


class Client:
    def __init__(self, url: str, user: str, password: str) -> None:
        m = re.match(r"rtsp://(?:[^@]*@)?([^:/]+):(\d+)(/.*)", url)
        assert m
        self.host, self.port, self.path = m.group(1), int(m.group(2)), m.group(3)
        self.url = f"rtsp://{self.host}:{self.port}{self.path}"
        self.user, self.password = user, password
        self.cseq = 0
        self.auth: dict[str, str] | None = None
        self.proto: Stream | None = None

    async def request(self, method: str, url: str, extra: str = "") -> tuple[int, dict[str, str], bytes]:
        assert self.proto and self.proto.transport
        for _ in range(2):
            self.cseq += 1
            auth = ""
            if self.auth:
                h = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
                realm, nonce = self.auth["realm"], self.auth["nonce"]
                ha1, ha2 = h(f"{self.user}:{realm}:{self.password}"), h(f"{method}:{url}")
                resp = h(f"{ha1}:{nonce}:{ha2}")
                auth = (f'Authorization: Digest username="{self.user}", realm="{self.auth["realm"]}", '
                        f'nonce="{self.auth["nonce"]}", uri="{url}", response="{resp}"\r\n')
            self.proto.transport.write(f"{method} {url} RTSP/1.0\r\nCSeq: {self.cseq}\r\n{auth}{extra}\r\n".encode())
            status, headers, body = await asyncio.wait_for(self.proto.responses.get(), 30)
            if status == 401 and self.auth is None:
                self.auth = dict(re.findall(r'(\w+)="([^"]*)"', headers.get("www-authenticate", "")))
                continue
            return status, headers, body
        return status, headers, body

    async def start(self) -> Stream:
        loop = asyncio.get_running_loop()
        _, self.proto = await loop.create_connection(Stream, self.host, self.port)
        st, _, _ = await self.request("DESCRIBE", self.url, "Accept: application/sdp\r\n")
        if st != 200:
            raise RuntimeError(f"DESCRIBE {st}")
        st, h, _ = await self.request("SETUP", self.url + "/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n")
        if st != 200:
            raise RuntimeError(f"SETUP {st}")
        sid = h["session"].split(";")[0]
        st, _, _ = await self.request("PLAY", self.url + "/", f"Session: {sid}\r\nRange: npt=0.000-\r\n")
        if st != 200:
            raise RuntimeError(f"PLAY {st}")
        return self.proto


async def client_main(urls: list[str], user: str, password: str, duration: float, warmup: float) -> dict:
    sem = asyncio.Semaphore(40)
    failures: list[str] = []
    # Once a session plays, its socket leaves asyncio and is polled every POLL_S: one recv per socket and
    # round instead of one callback per frame keeps the load generator cheaper than what it measures.
    socks: list[tuple[Stream, socket.socket]] = []
    chunk = bytearray(1 << 18)
    view = memoryview(chunk)
    done = False

    def sweep() -> None:
        for st, raw in socks:
            try:
                n = raw.recv_into(chunk)
            except BlockingIOError:
                continue
            except OSError:
                st.lost = True
                continue
            if n == 0:
                st.lost = True
                continue
            st.data_received(view[:n])

    async def poller() -> None:
        while not done:
            t = time.monotonic()
            sweep()
            await asyncio.sleep(max(0.0, POLL_S - (time.monotonic() - t)))

    async def open_one(u: str) -> Stream | None:
        async with sem:
            try:
                st = await Client(u, user, password).start()
            except Exception as exc:  # noqa: BLE001  # counted and reported
                failures.append(f"{type(exc).__name__}: {exc}")
                return None
        assert st.transport is not None
        st.transport.pause_reading()
        raw = socket.socket(fileno=os.dup(st.transport.get_extra_info("socket").fileno()))
        raw.setblocking(False)
        socks.append((st, raw))
        return st

    poll_task = asyncio.create_task(poller())
    t_open = time.monotonic()
    streams = [s for s in await asyncio.gather(*(open_one(u) for u in urls)) if s is not None]
    open_s = time.monotonic() - t_open
    print("OPENED", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "GO": every process is open
    await asyncio.sleep(warmup)  # let the GOP bursts of joining clients pass
    for st in streams:
        st.counting = True
    cpu0 = os.times()
    t0 = time.monotonic()
    await asyncio.sleep(duration)
    elapsed = time.monotonic() - t0
    for st in streams:
        st.counting = False
    done = True
    await poll_task
    cpu = os.times()
    for _, raw in socks:
        raw.close()
    return {
        "client_cpu_s": cpu.user + cpu.system - cpu0.user - cpu0.system,
        "streams": len(streams), "failed": len(failures), "failures": failures[:5], "open_s": open_s,
        "elapsed": elapsed, "bytes": sum(s.bytes for s in streams), "frames": sum(s.frames for s in streams),
        "packets": sum(s.packets for s in streams), "gaps": sum(s.gaps for s in streams),
        "late": sum(s.late for s in streams), "lost_conn": sum(1 for s in streams if s.lost),
        "min_frames": min((s.frames for s in streams), default=0),
    }


# ----------------------------------------------------------------------------------------------
# orchestration

def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def proc_user_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(n: int, duration: float, client_procs: int, warmup: float) -> dict:
    from camcheck.simulator.fleet import StreamSpec, quick_fleet
    from camcheck.simulator.server import RtspServer
    from camcheck.simulator.testing import fleet_process

    per_cam = 4
    cams = math.ceil(n / per_cam)
    sub = StreamSpec(codec="h264", width=640, height=360, fps=FPS, gop=50, bitrate_kbps=NOMINAL_KBPS)
    main = StreamSpec(codec="h264", width=1280, height=720, fps=FPS, gop=50, bitrate_kbps=2048)
    cfg = quick_fleet(cams, "none", "h264", max_sessions=per_cam, main=main, sub=sub, password="bench")
    asyncio.run(RtspServer(cfg).prepare())  # encode/cache clips first: RSS then shows serving, not encoding
    with fleet_process(cfg) as fleet:
        pid = fleet.pid
        rss_idle = proc_rss_mb(pid)
        urls = [fleet.url(c, "sub") for c in fleet.camera_ids for _ in range(per_cam)][:n]
        procs = []
        for i in range(client_procs):
            part = urls[i::client_procs]
            url_file = Path(tempfile.mkdtemp(prefix="bench-sim-")) / "urls.json"
            url_file.write_text(json.dumps(part))
            p = subprocess.Popen(
                [sys.executable, __file__, "--client", str(url_file), "--duration", str(duration), "--warmup", str(warmup)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            procs.append(p)
        try:
            for p in procs:
                assert p.stdout is not None
                line = p.stdout.readline()
                if line.strip() != "OPENED":
                    raise RuntimeError(f"load generator failed: {line!r}")
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("GO\n")
                p.stdin.flush()
            time.sleep(warmup)
            cpu0, t0 = proc_cpu_s(pid), time.monotonic()
            ut0 = proc_user_s(pid)
            time.sleep(duration * 0.9)
            cpu1, t1 = proc_cpu_s(pid), time.monotonic()
            ut1 = proc_user_s(pid)
            rss = proc_rss_mb(pid)
            stats = fleet.stats()
            load = os.getloadavg()[0]
            results = [json.loads(p.stdout.read()) for p in procs]  # type: ignore[union-attr]
            for p in procs:
                p.wait(timeout=60)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
    tot = {k: sum(r[k] for r in results) for k in ("streams", "failed", "bytes", "frames", "gaps", "late", "lost_conn", "packets")}
    elapsed = max(r["elapsed"] for r in results)
    streams = max(tot["streams"], 1)
    return {
        "n": n, "cameras": cams, **tot, "elapsed": elapsed,
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "rss_mb": rss, "rss_idle_mb": rss_idle,
        "kbps_per_stream": tot["bytes"] * 8 / 1000 / elapsed / streams,
        "fps_per_stream": tot["frames"] / elapsed / streams,
        "min_frames": min(r["min_frames"] for r in results),
        "open_s": max(r["open_s"] for r in results), "failures": sum((r["failures"] for r in results), []),
        "sim_stats": stats, "loadavg": load, "user_share": (ut1 - ut0) / max(cpu1 - cpu0, 1e-9),
        "client_cpu_pct": 100 * sum(r["client_cpu_s"] for r in results) / elapsed,
    }


def report(rows: list[dict]) -> None:
    print()
    print(f"{'streams':>8} {'ok':>6} {'sim CPU %':>9} {'CPU%/100':>9} {'RSS MB':>7} {'MB/100':>7} "
          f"{'kbit/s/str':>10} {'fps/str':>7} {'late':>6} {'seq gaps':>8} {'skipped@sim':>11} {'open s':>6} {'load':>5} {'clientCPU%':>10}")
    base_rss = None
    for r in rows:
        per100 = r["cpu_pct"] / r["streams"] * 100 if r["streams"] else float("nan")
        if base_rss is None:
            base_rss = r["rss_idle_mb"]
        mb100 = (r["rss_mb"] - r["rss_idle_mb"]) / r["streams"] * 100 if r["streams"] else float("nan")
        print(f"{r['n']:>8} {r['streams']:>6} {r['cpu_pct']:>9.1f} {per100:>9.2f} {r['rss_mb']:>7.0f} {mb100:>7.1f} "
              f"{r['kbps_per_stream']:>10.0f} {r['fps_per_stream']:>7.2f} {r['late']:>6} {r['gaps']:>8} "
              f"{r['sim_stats']['channel_skipped_frames']:>11} {r['open_s']:>6.1f} {r['loadavg']:>5.1f} "
              f"{r['client_cpu_pct']:>10.0f}")
        if r["failed"]:
            print(f"         {r['failed']} sessions failed to open, e.g. {r['failures'][:2]}")
    print(f"\nnominal per stream: {NOMINAL_KBPS} kbit/s, {FPS} frames/s (clip's measured rate is ~{NOMINAL_KBPS} "
          f"kbit/s incl. keyframes); RSS idle (fleet loaded, no clients): {base_rss:.0f} MB.")
    print("CPU% is of one core; the machine has", os.cpu_count(), "cores. 'late' = frames > "
          f"{LATE_S * 1000:.0f} ms behind their RTP timestamp schedule; 'seq gaps' = RTP packets missing at the client; "
          "'skipped@sim' = frames a channel skipped because the simulator's loop got no CPU for over 5 s "
          "(each skip costs every client of that clip a frame); 'load' = 1-min load average of the shared machine; "
          "clientCPU% = load generators, whole run.")
    n_rows = [r for r in rows if r["streams"]]
    if len(n_rows) >= 2:
        a, b = n_rows[0], n_rows[-1]
        print(f"scaling {a['streams']} -> {b['streams']} streams: CPU x{b['cpu_pct'] / max(a['cpu_pct'], 0.01):.1f}, "
              f"delivered {b['bytes'] * 8 / b['elapsed'] / 1e6:.0f} Mbit/s vs nominal {b['streams'] * NOMINAL_KBPS / 1000:.0f} Mbit/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, nargs="+", default=[100, 1000], help="stream counts to measure (first = baseline)")
    ap.add_argument("--duration", type=float, default=20.0, help="measuring window per run, seconds (default 20)")
    ap.add_argument("--warmup", type=float, default=4.0, help="seconds after all sessions play before measuring")
    ap.add_argument("--client-procs", type=int, default=2, help="load-generator processes (default 2)")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--client", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        os.nice(5)  # the load generators yield to the simulator they measure (and to everyone else)
        urls = json.loads(args.client.read_text())
        res = asyncio.run(client_main(urls, "admin", "bench", args.duration, args.warmup))
        print(json.dumps(res), flush=True)
        return 0
    if any(n < 1 or n > 20000 for n in args.streams) or not 1 <= args.client_procs <= 8 or not 1 <= args.duration <= 600:
        ap.error("streams 1..20000, client-procs 1..8, duration 1..600")
    rows = []
    for n in args.streams:
        print(f"measuring {n} streams for {args.duration:g} s ...", file=sys.stderr, flush=True)
        rows.append(run_one(n, args.duration, args.client_procs, args.warmup))
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
