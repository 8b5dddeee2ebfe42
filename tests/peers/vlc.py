"""VLC's RTSP server (`cvlc --sout '#rtp{sdp=rtsp://…}'`) as a test peer: RTP over UDP only.

VLC refuses to run as root, so as root it runs as `nobody` through runuser. Its RTSP output answers
461 Unsupported Transport to TCP interleaved requests (a real trap: some cameras do the same).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def available() -> bool:
    return shutil.which("cvlc") is not None and shutil.which("ffmpeg") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _describe_status(port: int, url: str) -> str | None:
    """The status line's start ("RTSP/1.0 200") of a DESCRIBE, or None without an answer. VLC opens
    its port before its stream is set up and answers 500 until then: an open port is not ready."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
        s.settimeout(0.5)
        s.sendall(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n".encode())
        line = s.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        return " ".join(line.split()[:2]) or None
    return None


@contextlib.contextmanager
def vlc_rtsp_server(seconds: int = 30) -> Iterator[str]:
    """Serve a looping 640x360 H.264 test clip; yields the rtsp:// URL. Killed by process group."""
    tmp = Path(tempfile.mkdtemp(prefix="camcheck-vlc-"))
    os.chmod(tmp, 0o755)  # readable by `nobody`
    clip = tmp / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", str(seconds),
                    "-c:v", "libx264", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p", str(clip)], check=True, timeout=120)
    os.chmod(clip, 0o644)
    port = _free_port()
    cmd = ["cvlc", "-q", str(clip), "--loop", "--sout", f"#rtp{{sdp=rtsp://127.0.0.1:{port}/test}}", "--sout-keep"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "nobody", "--", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"rtsp://127.0.0.1:{port}/test"
        deadline = time.monotonic() + 20
        status = "no connection"
        while time.monotonic() < deadline:
            status = _describe_status(port, url) or status
            if status.endswith(" 200"):
                break
            if proc.poll() is not None:
                raise RuntimeError("VLC exited before serving")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"VLC did not start serving RTSP (last DESCRIBE: {status})")
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
