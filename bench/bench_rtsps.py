"""What TLS costs a check: the same stream probed over rtsp:// and rtsps://, side by side.

    .venv/bin/python bench/bench_rtsps.py [--repeat 20] [--size 640x360] [--bitrate 1024] [--verify]

Two Debian GStreamer RTSP servers (tests/peers; needs python3-gi and gstreamer1.0-rtsp) serve the
same live H.264 source, one plain and one over TLS with a certificate issued by a test CA (openssl).
camcheck's probe checks each `--repeat` times, back to back, in this process: CPU per check is the
getrusage(SELF) delta (threads included), wall the mean check duration, connect the mean time to a
connected (and, for rtsps, TLS-handshaken) session. `--verify` verifies the certificate with the
test CA (the fleet-CA setting). The servers' own encoding CPU is theirs, not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camcheck.probe.observation import RtspSettings, RtspTarget  # noqa: E402
from camcheck.probe.rtsp import probe_rtsp  # noqa: E402
from tests.peers import gst  # noqa: E402
from tests.peers.pki import make_pki  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _run(url: str, repeat: int, settings: RtspSettings) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    await probe_rtsp(RtspTarget(url=url), settings, loop.time() + 10)  # warm-up: imports, decoder tables
    cpu0, walls, connects, failures = _cpu(), [], [], 0
    for _ in range(repeat):
        obs = await probe_rtsp(RtspTarget(url=url), settings, loop.time() + 10)
        failures += obs.failure is not None
        walls.append(obs.duration)
        if obs.timings.connect is not None:
            connects.append(obs.timings.connect)
    return {"cpu_ms": (_cpu() - cpu0) / repeat * 1000, "wall_s": statistics.mean(walls),
            "connect_ms": statistics.mean(connects) * 1000 if connects else float("nan"), "failures": failures}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--bitrate", type=int, default=1024, help="kbit/s")
    ap.add_argument("--verify", action="store_true", help="verify the certificate with the test CA")
    a = ap.parse_args()
    if not gst.available():
        print("needs Debian's GStreamer RTSP server (python3-gi, gstreamer1.0-rtsp)", file=sys.stderr)
        return 2
    w, h = (int(x) for x in a.size.split("x"))
    mounts = [{"path": "/cam", "launch": gst.h264_launch(width=w, height=h, gop=25, bitrate_kbps=a.bitrate),
               "protocols": "tcp"}]
    with tempfile.TemporaryDirectory() as d:
        pki = make_pki(Path(d))
        with gst.gst_rtsp_server(mounts) as plain, gst.gst_rtsp_server(mounts, tls_pem=pki / "server.pem") as tls:
            base = RtspSettings(window=2.0)
            secure = RtspSettings(window=2.0, tls_verify=a.verify, tls_ca_file=str(pki / "ca.pem") if a.verify else None)
            print(f"{a.size} H.264 {a.bitrate} kbit/s, GOP 1 s, {a.repeat} checks each, window 2 s")
            rows = [("rtsp://", asyncio.run(_run(plain.url("/cam"), a.repeat, base))),
                    ("rtsps://" + (" (verified)" if a.verify else ""), asyncio.run(_run(tls.url("/cam"), a.repeat, secure)))]
    print(f"{'':24} {'CPU ms/check':>13} {'wall s':>8} {'connect ms':>11} {'failures':>9}")
    for name, r in rows:
        print(f"{name:24} {r['cpu_ms']:13.1f} {r['wall_s']:8.2f} {r['connect_ms']:11.1f} {r['failures']:9d}")
    print(f"TLS costs {rows[1][1]['cpu_ms'] / rows[0][1]['cpu_ms']:.2f}x the plain check's CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
