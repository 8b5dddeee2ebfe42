"""Run Debian's GStreamer RTSP server as a test peer (see gst_rtsp_server.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"

# Live 640x360 H.264 test source, camera-like: fixed GOP, no B-frames (unless `bframes`: Main
# profile, frames sent in decoding order, as a few camera models do), SPS/PPS with every IDR.
def h264_launch(
    source: str = "videotestsrc is-live=true pattern=ball",
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    gop: int = 50,
    bitrate_kbps: int = 512,
    bframes: int = 0,
) -> str:
    # zerolatency rules B-frames out
    enc = f"bframes={bframes} b-adapt=false" if bframes else "tune=zerolatency bframes=0"
    profile = "main" if bframes else "baseline"
    return (
        f"( {source} ! videoconvert ! videoscale ! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 "
        f"! x264enc {enc} speed-preset=ultrafast key-int-max={gop} bitrate={bitrate_kbps} "
        f"! video/x-h264,profile={profile} ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def h265_launch(source: str = "videotestsrc is-live=true pattern=ball", width: int = 640, height: int = 360,
                fps: int = 25, gop: int = 50, bitrate_kbps: int = 512) -> str:
    return (
        f"( {source} ! videoconvert ! videoscale ! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 "
        f"! x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={bitrate_kbps} "
        f"! rtph265pay name=pay0 pt=96 config-interval=-1 )"
    )


@dataclass
class GstServer:
    port: int
    pid: int
    scheme: str = "rtsp"  # rtsps: the server speaks RTSP over TLS only

    def url(self, path: str, user: str | None = None, password: str | None = None, host: str = "127.0.0.1") -> str:
        cred = f"{user}:{password}@" if user else ""
        return f"{self.scheme}://{cred}{host}:{self.port}{path}"


def available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    r = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer"],
        capture_output=True,
    )
    return r.returncode == 0


@contextlib.contextmanager
def gst_rtsp_server(mounts: list[dict], port: int = 0, ready_timeout: float = 20.0,
                    tls_pem: Path | None = None) -> Iterator[GstServer]:
    """Start the server with ``mounts`` (see gst_rtsp_server.py; over TLS with ``tls_pem``, its
    certificate chain and key), yield it, and kill it by PID."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"port": port, "mounts": mounts, **({"tls_pem": str(tls_pem)} if tls_pem else {})}, f)
        cfg = f.name
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(SCRIPT), cfg],
        stdout=subprocess.PIPE,
        stderr=None if os.environ.get("CAMCHECK_PEER_STDERR") else subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if line.startswith("READY") or not line:
                break
        if not line.startswith("READY"):
            raise RuntimeError(f"GStreamer RTSP server did not start: {line!r}")
        yield GstServer(port=int(line.split()[1]), pid=proc.pid, scheme="rtsps" if tls_pem else "rtsp")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        os.unlink(cfg)
