"""rtsps:// (RTSP over TLS) against Debian's GStreamer RTSP server serving TLS with a certificate
issued by a test CA (openssl): the stream is read inside the TLS connection, Digest auth works
through it, certificates are verified when asked (the fleet's CA, system CAs, host names), and a
plain server, a black hole, a stall or a wrong transport each get a clear failure within the deadline."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from camcheck.probe.observation import Observation, RtspSettings, RtspTarget
from camcheck.probe.rtsp import probe_rtsp
from camcheck.secrets import Secret
from tests.peers import gst
from tests.peers.pki import make_pki, openssl_s_server
from tests.peers.sockets import blackhole, garbage
from tests.probe._probe_util import GST_H, GST_W, PASSWORD, USER, _h264, _h265, _stall_launch, assert_failure

pytestmark = [pytest.mark.peer, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def gst_tls(pki: Path) -> Iterator[gst.GstServer]:
    if not gst.available():
        pytest.skip("GStreamer RTSP server (python3-gi) not installed")
    mounts = [
        {"path": "/h264", "launch": _h264(), "protocols": "tcp"},
        {"path": "/h265", "launch": _h265(), "protocols": "tcp"},
        {"path": "/stall", "launch": _stall_launch(), "protocols": "tcp"},
    ]
    with gst.gst_rtsp_server(mounts, tls_pem=pki / "server.pem") as srv:
        yield srv


@pytest.fixture(scope="module")
def gst_tls_digest(pki: Path) -> Iterator[gst.GstServer]:
    if not gst.available():
        pytest.skip("GStreamer RTSP server (python3-gi) not installed")
    mounts = [{"path": "/private", "launch": _h264(), "protocols": "tcp",
               "auth": {"user": USER, "password": PASSWORD, "digest": True}}]
    with gst.gst_rtsp_server(mounts, tls_pem=pki / "server.pem") as srv:
        yield srv


async def _probe(url: str, *, timeout: float = 8.0, transport: str = "tcp", user: str | None = None,
                 password: str | None = None, verify: bool = False, ca_file: Path | None = None,
                 window: float = 1.0) -> Observation:
    target = RtspTarget(url=url, username=user, password=Secret(password) if password else None, transport=transport)
    settings = RtspSettings(window=window, want_snapshot=True, tls_verify=verify,
                            tls_ca_file=str(ca_file) if ca_file else None)
    return await probe_rtsp(target, settings, asyncio.get_running_loop().time() + timeout)


@pytest.mark.parametrize("codec", ["h264", "h265"])
async def test_a_healthy_stream_over_tls(gst_tls: gst.GstServer, codec: str) -> None:
    obs = await _probe(gst_tls.url(f"/{codec}"))
    assert obs.failure is None and obs.verdict == "working", obs.message
    st = obs.stream
    assert st.codec == codec and (st.width, st.height) == (GST_W, GST_H)
    assert st.fps == pytest.approx(25, rel=0.05) and st.gop_s == pytest.approx(1.0, rel=0.05)
    assert st.packet_loss == 0 and st.transport == "tcp"
    assert 0 < obs.timings.connect <= obs.timings.describe <= obs.timings.play <= obs.timings.first_frame
    assert obs.snapshot_jpeg and obs.snapshot_jpeg[:2] == b"\xff\xd8"
    assert obs.url.startswith("rtsps://")


async def test_a_stall_inside_tls(gst_tls: gst.GstServer) -> None:
    obs = await _probe(gst_tls.url("/stall"), window=2.0)  # 30 frames (1.2 s), then silence
    assert_failure(obs, "stalled")
    assert obs.stream.frames and obs.stream.frames >= 10  # frames came first, decrypted as they came


async def test_udp_configured_is_read_inside_the_tls_connection(gst_tls: gst.GstServer) -> None:
    """A fleet set to UDP: RTP over UDP would leave the TLS connection (and this mount is TCP only)."""
    obs = await _probe(gst_tls.url("/h264"), transport="udp")
    assert obs.failure is None, obs.message
    assert obs.stream.transport == "tcp"


async def test_digest_auth_inside_tls(gst_tls_digest: gst.GstServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    srv = gst_tls_digest
    obs = await _probe(srv.url("/private"), user=USER, password=PASSWORD)
    assert obs.failure is None, obs.message
    bad = await _probe(srv.url("/private"), user=USER, password="wrong-" + PASSWORD)
    assert_failure(bad, "auth_failed")
    none = await _probe(srv.url("/private"))
    assert_failure(none, "auth_failed")
    text = caplog.text + json.dumps([o.to_dict() for o in (obs, bad, none)])
    assert PASSWORD not in text


async def test_certificates_are_verified_when_asked(gst_tls: gst.GstServer, pki: Path) -> None:
    ok = await _probe(gst_tls.url("/h264"), verify=True, ca_file=pki / "ca.pem")  # the fleet's CA
    assert ok.failure is None, ok.message
    system = await _probe(gst_tls.url("/h264"), verify=True)  # the system's CAs do not know it
    assert_failure(system, "protocol_error")
    assert "certificate" in system.message and "rejected" in system.message
    assert system.timings.connect is None and system.duration < 3
    # issued for 127.0.0.1, reached as localhost: the name does not match
    other_name = await _probe(gst_tls.url("/h264", host="localhost"), verify=True, ca_file=pki / "ca.pem")
    assert_failure(other_name, "protocol_error")
    assert "localhost" in other_name.message


async def test_rtsps_to_a_plain_rtsp_server_says_so(gst_open: gst.GstServer) -> None:
    obs = await _probe(gst_open.url("/h264").replace("rtsp://", "rtsps://", 1))
    assert_failure(obs, "protocol_error")
    assert "TLS handshake" in obs.message and "rtsps" in obs.message
    assert obs.duration < 3


async def test_plain_rtsp_to_a_tls_port_suggests_rtsps(gst_tls: gst.GstServer, pki: Path) -> None:
    """What TLS servers do to plain text: GnuTLS (GStreamer) resets, OpenSSL closes, some send an alert."""
    reset = await _probe(gst_tls.url("/h264").replace("rtsps://", "rtsp://", 1))
    assert_failure(reset, "refused")
    assert "serves only rtsps://" in reset.message and reset.duration < 3
    with openssl_s_server(pki) as port:
        closed = await _probe(f"rtsp://127.0.0.1:{port}/h264")
    assert_failure(closed, "protocol_error")
    assert "serves only rtsps://" in closed.message and closed.duration < 3
    # a TLS alert record (fatal, unexpected_message), as some embedded TLS stacks send
    async with garbage(b"\x15\x03\x03\x00\x02\x02\x0a") as port:
        alert = await _probe(f"rtsp://127.0.0.1:{port}/h264")
    assert_failure(alert, "protocol_error")
    assert "answered in TLS" in alert.message and "rtsps://" in alert.message


async def test_a_black_hole_costs_its_deadline_as_a_camera_not_answering() -> None:
    async with blackhole() as port:
        obs = await _probe(f"rtsps://127.0.0.1:{port}/x", timeout=2.0)
    assert_failure(obs, "timeout_response")
    assert "TLS handshake" in obs.message
    assert 1.5 <= obs.duration <= 2.0 + 0.3  # its deadline (less the teardown grace), never more


def test_cli_probes_rtsps(gst_tls_digest: gst.GstServer, pki: Path) -> None:
    cmd = [sys.executable, "-m", "camcheck", "probe", gst_tls_digest.url("/private"), "--user", USER,
           "--password-env", "CAM_PW", "--tls-ca-file", str(pki / "ca.pem"), "--json", "--window", "1"]
    env = {"CAM_PW": PASSWORD, "PATH": "/usr/bin:/bin"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["verdict"] == "working" and d["url"].startswith("rtsps://") and d["stream"]["transport"] == "tcp"
    assert PASSWORD not in r.stdout + r.stderr
    udp = subprocess.run([*cmd, "--transport", "udp"], capture_output=True, text=True, timeout=60, env=env)
    assert udp.returncode == 3 and "TLS" in udp.stderr
    plain = subprocess.run([sys.executable, "-m", "camcheck", "probe", "rtsp://127.0.0.1:9/x", "--tls-verify"],
                           capture_output=True, text=True, timeout=60, env=env)
    assert plain.returncode == 3 and "rtsps://" in plain.stderr
