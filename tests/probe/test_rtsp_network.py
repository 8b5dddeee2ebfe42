"""Network-level failures: name resolution, refused, unreachable, silent and slow peers, garbage."""

from __future__ import annotations

import asyncio
import errno
import json
import shutil
import subprocess
import sys

import pytest

from camcheck.probe.rtsp_client import map_connect_error
from tests.peers import sockets
from tests.probe._probe_util import assert_failure, probe

pytestmark = pytest.mark.timeout(60)


async def test_dns():
    obs = await probe("rtsp://camera.invalid/stream", timeout=5)
    assert_failure(obs, "dns")
    assert "camera.invalid" in obs.message


async def test_refused():
    with sockets.closed_port() as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x")
    assert_failure(obs, "refused")


async def test_accept_queue_full_is_timeout_connect():
    with sockets.full_backlog() as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=1.5)
    assert_failure(obs, "timeout_connect")
    assert obs.timings.connect is None
    assert obs.duration <= 1.5 + 0.3


async def test_blackhole_is_timeout_response():
    async with sockets.blackhole() as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=1.5)
    assert_failure(obs, "timeout_response")
    assert obs.timings.connect is not None
    assert "DESCRIBE" in obs.message
    assert obs.duration <= 1.5 + 0.3


async def test_slow_drip_costs_exactly_its_deadline():
    async with sockets.slow_drip(interval=0.2) as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=2.0)
    assert_failure(obs, "timeout_response")
    assert obs.duration <= 2.0 + 0.3


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    b"\x00\x01\x02garbage\xff\xfe\r\n\r\n",
    b"RTSP/1.0 2x0 OK\r\nCSeq: 1\r\n\r\n",
    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n",
])
async def test_garbage_reply_is_protocol_error(reply):
    async with sockets.garbage(reply) as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=3)
    assert_failure(obs, "protocol_error")
    assert obs.duration < 2  # recognised at once, not at the deadline


async def test_connection_closed_without_reply_is_protocol_error():
    async def close_at_once(reader, writer):
        await reader.read(100)
        writer.close()

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=3)
    finally:
        server.close()
        await server.wait_closed()
    assert_failure(obs, "protocol_error")
    assert "closed the connection" in obs.message


@pytest.mark.parametrize("err,failure", [
    (errno.ENETUNREACH, "unreachable"),
    (errno.EHOSTUNREACH, "unreachable"),
    (errno.ECONNREFUSED, "refused"),
    (errno.ETIMEDOUT, "timeout_connect"),
])
def test_connect_error_mapping(err, failure):
    exc = ConnectionRefusedError(err, "x") if err == errno.ECONNREFUSED else OSError(err, "x")
    assert map_connect_error("10.0.0.1", 554, exc)[0] == failure


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare(1) not available")
def test_unreachable_in_private_network_namespace():
    """In a fresh network namespace nothing routes (not even loopback is up): connect fails at once
    with ENETUNREACH and no packet leaves the machine."""
    r = subprocess.run(["unshare", "-n", sys.executable, "-m", "camcheck", "probe", "rtsp://10.255.0.1:554/x",
                        "--json", "--timeout", "3"], capture_output=True, text=True, timeout=30)
    if r.returncode not in (0, 1, 2) and "unshare" in r.stderr:
        pytest.skip(f"cannot create a network namespace here: {r.stderr.strip()}")
    out = json.loads(r.stdout)
    assert out["failure"] == "unreachable", out
    assert r.returncode == 2
    assert out["duration"] < 1


async def test_credentials_inside_target_url_are_used_and_masked(gst_digest):
    from camcheck.probe.observation import RtspSettings, RtspTarget
    from camcheck.probe.rtsp import probe_rtsp
    from tests.probe._probe_util import PASSWORD, USER

    target = RtspTarget(url=gst_digest.url("/secure", USER, PASSWORD))
    obs = await probe_rtsp(target, RtspSettings(window=0.5), asyncio.get_running_loop().time() + 8)
    assert obs.failure is None, obs.message
    assert PASSWORD not in json.dumps(obs.to_dict()) and "***" in obs.url


async def test_bad_url_is_rtsp_error_not_a_crash():
    obs = await probe("http://127.0.0.1/x")
    assert_failure(obs, "rtsp_error")


async def test_redirect_is_reported_not_followed_and_masked():
    reply = b"RTSP/1.0 302 Moved Temporarily\r\nCSeq: 1\r\nLocation: rtsp://admin:Hidden-PW1@10.9.9.9/other\r\n\r\n"
    async with sockets.garbage(reply) as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=3)
    assert_failure(obs, "rtsp_error")
    assert "redirect" in obs.message and "10.9.9.9/other" in obs.message
    assert "Hidden-PW1" not in json.dumps(obs.to_dict())


async def test_session_limit_status_from_a_plain_peer():
    async with sockets.garbage(b"RTSP/1.0 453 Not Enough Bandwidth\r\nCSeq: 1\r\n\r\n") as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=3)
    assert_failure(obs, "session_limit")


async def test_reply_body_shorter_than_announced_is_protocol_error():
    # broken firmware: announces a body it never sends; recognised well before the deadline
    async with sockets.garbage(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 99999\r\n\r\nv=0\r\n") as port:
        obs = await probe(f"rtsp://127.0.0.1:{port}/x", timeout=5)
    assert_failure(obs, "protocol_error")
    assert "short" in obs.message and obs.duration < 3


async def test_receive_buffer_grows_for_a_slow_stream_and_keeps_autotuning_otherwise():
    """The probe reads a stream in batches as long as a quarter of the socket's receive buffer
    holds; for a slow stream it asks for a bigger buffer, but only within net.core.rmem_max: an
    explicit size ends Linux's autotuning, which gives a fast stream far more."""
    from camcheck.probe.rtsp_client import RtspClient, _rmem_max

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client closes
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clients = []
    try:
        for _ in range(2):
            client = RtspClient(f"rtsp://127.0.0.1:{port}/x")
            await client.connect()
            clients.append(client)
        slow, fast = clients
        before = slow.receive_buffer()
        assert before and before > 0
        wanted = min(2 * _rmem_max(), 2 * before)
        assert slow.receive_buffer(grow_to=wanted) >= wanted
        assert slow.receive_buffer(grow_to=before) >= wanted  # never shrinks it
        untouched = fast.receive_buffer()
        assert fast.receive_buffer(grow_to=2 * _rmem_max() + 1) == untouched  # beyond the limit: autotuning kept
    finally:
        for client in clients:
            client.close()
        server.close()
        await server.wait_closed()


async def test_batched_reads_take_everything_waiting_before_pausing():
    """Reads are batched (one wake-up per interval), but a read that fills the read buffer means the
    kernel holds more: it is taken in the same batch, not one buffer per interval (which would cap a
    stream at 256 KiB per batch and make an 8 Mbit/s camera wait, or drop frames)."""
    import array
    import fcntl
    import struct
    import termios

    from camcheck.probe.rtsp_client import READ_BUFFER_BYTES, RtspClient

    payload = bytes(1400)
    packet = b"$\x00" + struct.pack("!H", len(payload)) + payload
    count = (2 * READ_BUFFER_BYTES + 100_000) // len(packet)  # > 2 buffers' worth, sent at once
    go, done = asyncio.Event(), asyncio.Event()

    async def burst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        writer.write(packet * count)
        await done.wait()
        writer.close()

    server = await asyncio.start_server(burst, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RtspClient(f"rtsp://127.0.0.1:{port}/x")
    got = []
    try:
        await client.connect()
        conn = client._conn
        assert conn is not None
        conn.channels[0] = lambda data, now: got.append(len(data))
        # Let the whole burst queue up in the kernel first (in a receive buffer that holds it).
        if (client.receive_buffer(grow_to=8 * READ_BUFFER_BYTES) or 0) < 8 * READ_BUFFER_BYTES:
            pytest.skip("net.core.rmem_max is too small for a receive buffer of several read buffers")
        conn._stop_reading()
        go.set()
        sock = conn.sock
        queued = array.array("i", [0])
        for _ in range(500):  # until the kernel holds all of it on our side
            fcntl.ioctl(sock.fileno(), termios.FIONREAD, queued)
            if queued[0] >= count * len(packet):
                break
            await asyncio.sleep(0.01)
        assert queued[0] >= count * len(packet)
        loop = asyncio.get_running_loop()
        start = loop.time()
        client.batch_reads(0.5)
        while len(got) < count and loop.time() - start < 2:
            await asyncio.sleep(0.01)
        assert len(got) == count
        # All of it at the first batch (0.5 s), not one buffer per batch (the third would be at 1.5 s).
        assert loop.time() - start < 0.5 + 0.3
    finally:
        done.set()
        client.close()
        server.close()
        await server.wait_closed()
