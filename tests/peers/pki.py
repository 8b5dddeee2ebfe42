"""A test PKI made with Debian's openssl: a CA and a camera certificate it issued for 127.0.0.1,
as a fleet's own CA would (for rtsps:// peers)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> Path:
    """Write ca.pem (the CA) and server.pem (the camera's certificate, the CA's, then its key) into
    `d`; returns `d`."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=camcheck test CA", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "cam.key", "-out", "cam.csr", "-subj", "/CN=camera",
             cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "cam.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
             "cam.pem", "-days", "2", "-extfile", "san.ext", cwd=d)
    (d / "server.pem").write_text((d / "cam.pem").read_text() + (d / "ca.pem").read_text() + (d / "cam.key").read_text())
    return d


@contextlib.contextmanager
def openssl_s_server(pki: Path) -> Iterator[int]:
    """Debian's `openssl s_server` on 127.0.0.1 with the camera certificate: a TLS server that is
    not RTSP (OpenSSL's answer to plain text on a TLS port). Yields its port; killed by PID."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki / "cam.pem"),
                             "-key", str(pki / "cam.key"), "-quiet"], cwd=pki, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("openssl s_server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)
