"""The probe against a scripted RTSP peer: packetisation modes, undecodable video, TEARDOWN always."""

from __future__ import annotations

import asyncio
import base64
import random
from fractions import Fraction

import av
import numpy as np
import pytest

from camcheck.probe.observation import RtspSettings, RtspTarget
from camcheck.probe.rtsp import probe_rtsp
from tests.peers.rtsp_script import scripted_rtsp
from tests.probe._probe_util import assert_failure, first_pass_threads, probe

pytestmark = pytest.mark.timeout(60)

W, H = 320, 240


def encode(codec: str, n: int = 25, gop: int = 25, size: tuple[int, int] = (W, H)) -> list[list[bytes]]:
    """n frames of a moving noisy picture, as lists of NAL units (no start codes)."""
    w, h = size
    enc = av.CodecContext.create("libx264" if codec == "h264" else "libx265", "w")
    enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
    enc.time_base = Fraction(1, 25)
    enc.gop_size = gop
    enc.max_b_frames = 0
    enc.options = {"preset": "ultrafast", "tune": "zerolatency"} if codec == "h264" else \
        {"preset": "ultrafast", "x265-params": f"keyint={gop}:min-keyint={gop}:bframes=0:repeat-headers=1:log-level=none"}
    rng = np.random.default_rng(1)
    out: list[list[bytes]] = []
    base = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    packets = []
    for i in range(n):
        img = np.roll(base, i * 3, axis=1)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        packets += enc.encode(frame)
    packets += enc.encode(None)
    for p in packets:
        data = bytes(p)
        nals = [x.rstrip(b"\x00") for x in data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01") if x]
        out.append(nals)
    return out


def packetize(codec: str, frames: list[list[bytes]], mtu: int = 1200) -> list[list[bytes]]:
    """RFC 6184/7798 packetisation: parameter sets aggregated (STAP-A / AP), big NALs fragmented."""
    result = []
    for nals in frames:
        payloads: list[bytes] = []
        params = [n for n in nals if (n[0] & 0x1F in (7, 8) if codec == "h264" else (n[0] >> 1) & 0x3F in (32, 33, 34))]
        rest = [n for n in nals if n not in params]
        if params:
            agg = b"".join(len(n).to_bytes(2, "big") + n for n in params)
            payloads.append((b"\x18" if codec == "h264" else bytes([48 << 1, 1])) + agg)
        for nal in rest:
            if len(nal) <= mtu:
                payloads.append(nal)
                continue
            if codec == "h264":
                hdr, body, t = nal[0], nal[1:], nal[0] & 0x1F
                chunks = [body[i:i + mtu] for i in range(0, len(body), mtu)]
                for i, c in enumerate(chunks):
                    fu = (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0) | t
                    payloads.append(bytes([(hdr & 0xE0) | 28, fu]) + c)
            else:
                t, body = (nal[0] >> 1) & 0x3F, nal[2:]
                chunks = [body[i:i + mtu] for i in range(0, len(body), mtu)]
                for i, c in enumerate(chunks):
                    fu = (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0) | t
                    payloads.append(bytes([(nal[0] & 0x81) | (49 << 1), nal[1], fu]) + c)
        result.append(payloads)
    return result


def sdp_for(codec: str, params: list[bytes]) -> str:
    if codec == "h264":
        sprop = ",".join(base64.b64encode(p).decode() for p in params)
        fmtp = f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sprop}\r\n"
        enc = "H264"
    else:
        vps, sps, pps = (base64.b64encode(p).decode() for p in params)
        fmtp = f"a=fmtp:96 sprop-vps={vps};sprop-sps={sps};sprop-pps={pps}\r\n"
        enc = "H265"
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=scripted\r\nt=0 0\r\na=control:*\r\n"
            f"m=video 0 RTP/AVP 96\r\na=rtpmap:96 {enc}/90000\r\n{fmtp}a=framerate:25\r\na=control:track1\r\n")


@pytest.mark.parametrize("codec", ["h264", "h265"])
async def test_aggregated_and_fragmented_packets(codec):
    frames = encode(codec)
    params = [n for n in frames[0] if (n[0] & 0x1F in (7, 8) if codec == "h264" else (n[0] >> 1) & 0x3F in (32, 33, 34))]
    async with scripted_rtsp(sdp_for(codec, params), packetize(codec, frames, mtu=400)) as peer:
        obs = await probe(peer.url(), window=1.2)
        await asyncio.wait_for(peer.teardown.wait(), 2)
    assert obs.failure is None, obs.message
    assert (obs.stream.width, obs.stream.height) == (W, H)
    assert obs.stream.fps_declared == 25 and obs.stream.fps == pytest.approx(25, rel=0.05)
    assert obs.stream.gop_s == pytest.approx(1.0, rel=0.05)
    assert obs.image.get("brightness") is not None
    assert peer.methods[:3] == ["DESCRIBE", "SETUP", "PLAY"] and "TEARDOWN" in peer.methods


async def test_pictures_bigger_than_the_sdp_announces_are_decoded_on_a_worker_thread(monkeypatch):
    # The SDP's SPS says 320x240 (a sub-stream size: decoded on the probe's thread), the stream's own
    # SPS says 1280x720: what the decoder will make is what decides where it runs.
    import threading

    sdp_params = [n for n in encode("h264", n=1)[0] if n[0] & 0x1F in (7, 8)]
    frames = encode("h264", n=25, size=(1280, 720))
    ran_on = first_pass_threads(monkeypatch)
    async with scripted_rtsp(sdp_for("h264", sdp_params), packetize("h264", frames)) as peer:
        obs = await probe(peer.url(), window=1.2)
    assert obs.failure is None, obs.message
    assert (obs.stream.width, obs.stream.height) == (1280, 720)
    assert len(ran_on) == 1 and ran_on[0] != threading.get_ident()


async def test_undecodable_keyframes_are_decode_failed():
    good = encode("h264", n=2)
    params = [n for n in good[0] if n[0] & 0x1F in (7, 8)]
    rng = random.Random(7)
    bad_idr = b"\x65" + bytes(rng.getrandbits(8) for _ in range(3000))
    frames = [params + [bad_idr]] + [[b"\x41" + bytes(rng.getrandbits(8) for _ in range(300))] for _ in range(24)]
    async with scripted_rtsp(sdp_for("h264", params), packetize("h264", frames)) as peer:
        obs = await probe(peer.url(), window=1.2)
    assert_failure(obs, "decode_failed")
    assert obs.stream.fps == pytest.approx(25, rel=0.05)  # the stream facts are still measured
    assert "TEARDOWN" in peer.methods


async def test_cancelled_probe_still_tears_down():
    frames = encode("h264", n=25)
    params = [n for n in frames[0] if n[0] & 0x1F in (7, 8)]
    async with scripted_rtsp(sdp_for("h264", params), packetize("h264", frames)) as peer:
        target = RtspTarget(url=peer.url())
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(probe_rtsp(target, RtspSettings(window=5), loop.time() + 10))
        for _ in range(200):
            if "PLAY" in peer.methods:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(peer.teardown.wait(), 2)
    assert peer.methods.count("TEARDOWN") == 1


async def test_deadline_inside_stream_still_tears_down():
    frames = encode("h264", n=25)
    params = [n for n in frames[0] if n[0] & 0x1F in (7, 8)]
    async with scripted_rtsp(sdp_for("h264", params), packetize("h264", frames)) as peer:
        obs = await probe(peer.url(), window=10, timeout=1.5)  # window longer than the deadline
        await asyncio.wait_for(peer.teardown.wait(), 2)
    assert obs.failure is None, obs.message  # a picture was decoded in the time there was
    assert obs.duration <= 1.5 + 0.2


async def test_a_reply_larger_than_the_read_buffer_is_read_whole():
    """The connection is read into one buffer (256 KiB); a DESCRIBE reply larger than that (a camera
    with a bloated SDP) arrives over many reads, the buffer grows, and the stream after it is read."""
    from camcheck.probe.rtsp_client import READ_BUFFER_BYTES

    frames = encode("h264", n=25)
    params = [n for n in frames[0] if n[0] & 0x1F in (7, 8)]
    padding = "".join(f"a=x-vendor-{i}:{'p' * 1000}\r\n" for i in range(READ_BUFFER_BYTES // 1000 + 100))
    sdp = sdp_for("h264", params) + padding
    assert len(sdp) > READ_BUFFER_BYTES + 64 * 1024
    async with scripted_rtsp(sdp, packetize("h264", frames)) as peer:
        obs = await probe(peer.url(), window=1.2)
        await asyncio.wait_for(peer.teardown.wait(), 2)
    assert obs.failure is None, obs.message
    assert (obs.stream.width, obs.stream.height) == (W, H)
    assert obs.stream.fps == pytest.approx(25, rel=0.05)
