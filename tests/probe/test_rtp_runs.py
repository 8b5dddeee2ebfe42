"""RtpCollector.feed_interleaved (runs of interleaved packets, read off a real TCP connection) must
leave the collector exactly as feeding the same packets one by one does, whatever the stream does:
loss, reordering, header options, markers missing, other channels and RTSP messages in between."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Callable

import pytest

from camcheck.probe.depacketize import RtpCollector
from camcheck.probe.rtsp_client import _RtspConnection
from camcheck.simulator.media import ClipSpec, load_clip
from camcheck.simulator.rtp import packetize_au

pytestmark = pytest.mark.timeout(120)

MTU = 300  # small: every keyframe and most P-frames travel as many FU fragments


def _rtp(seq: int, ts: int, payload: bytes, marker: bool, pt: int = 96, ssrc: int = 7, csrc: int = 0,
         ext: bool = False, pad: int = 0) -> bytes:
    b0 = 0x80 | csrc | (0x10 if ext else 0) | (0x20 if pad else 0)
    head = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    head += b"\x00\x00\x00\x01" * csrc
    if ext:
        head += b"\xbe\xde\x00\x01abcd"
    return head + payload + (b"\x00" * (pad - 1) + bytes([pad]) if pad else b"")


Packet = tuple[int, bytes]  # (interleaved channel, RTP/RTCP packet); channel -1: an RTSP message


def _stream(codec: str, rng: random.Random, perturb: bool) -> list[Packet]:
    spec = ClipSpec(codec, 320, 180, 25, 10, 300 if codec == "h265" else 256, seconds=1.2)
    seq = 65400  # the sequence number wraps within the stream
    ts = 0xFFFFFFFF - 3600 * 12  # and so does the timestamp
    out: list[Packet] = []
    # Some frames end with a fragmented SEI after the slice, so that a fragmented NAL unit is
    # followed by another within one frame (cameras do this; the clip's encoder does not).
    sei = (b"\x06" if codec == "h264" else b"\x50\x01") + bytes(range(256)) * 3
    lose_one = perturb  # at least one loss, whatever the clip's packet count draws
    for au in load_clip(spec).access_units * 2:
        nals = [*au.nals, sei] if rng.random() < 0.3 else au.nals
        payloads = packetize_au(nals, codec, MTU)
        for i, payload in enumerate(payloads):
            marker = i == len(payloads) - 1
            opts: dict = {}
            if perturb and len(out) > 20:  # (the first packets set the stream's source)
                roll = rng.random()
                if roll < 0.004 or (lose_one and len(out) >= 60):
                    lose_one = False
                    seq += 1  # lost (rarely: one loss spoils a whole keyframe)
                    continue
                if roll < 0.02:
                    marker = False  # a camera that forgets the marker
                elif roll < 0.03:
                    opts = {"pad": 4}
                elif roll < 0.04:
                    opts = {"ext": True}
                elif roll < 0.045:
                    opts = {"csrc": 1}
                elif roll < 0.05:
                    out.append((0, _rtp(seq, ts, payload, marker, pt=97)))  # another payload type
                elif roll < 0.055:
                    out.append((0, _rtp(seq, ts, payload, marker, ssrc=8)))  # another source
                elif roll < 0.06:
                    out.append((1, b"\x81\xc8\x00\x06" + bytes(24)))  # RTCP sender report
                elif roll < 0.065:
                    out.append((-1, b"GET_PARAMETER rtsp://cam/ RTSP/1.0\r\nCSeq: 9\r\n\r\n"))
                elif roll < 0.07:
                    out.append((0, _rtp(seq, ts, b"", marker)[:10]))  # truncated header
            out.append((0, _rtp(seq, ts, payload, marker, **opts)))
            seq += 1
        ts += 3600
    if perturb:  # a few neighbours swapped: reordering
        for _ in range(6):
            k = rng.randrange(len(out) - 1)
            out[k], out[k + 1] = out[k + 1], out[k]
    return out


def _collector(codec: str) -> RtpCollector:
    return RtpCollector(codec, 96, 90000, 8, window_s=0.5, frames_needed=2)


def _state(col: RtpCollector) -> dict:
    def au(a):  # noqa: ANN001, ANN202
        return None if a is None else (a.nals, a.timestamp, a.keyframe)

    return {
        "counts": (col.packets, col.bytes, col.ignored, col.malformed, col.packets_expected, col.frames,
                   col.corrupt_keyframes, col.first_frame_ts, col.last_frame_ts, col.ssrc),
        "keyframes": list(col.keyframe_ts),
        "inter_sizes": list(col.inter_sizes),
        "first_key": au(col.first_key),
        "following": [au(a) for a in col.following],
        "last_key": au(col.last_key),
        "parameter_sets": dict(col.parameter_sets),
        "done": (col.following_done, col.following_complete),
    }


def _reference(codec: str, packets: list[Packet]) -> dict:
    col = _collector(codec)
    for channel, data in packets:
        if channel == 0:
            col.feed(data, 1.0)
    col.close(1.0)
    return _state(col)


def _wire(packets: list[Packet]) -> bytes:
    return b"".join(data if ch < 0 else b"$" + bytes([ch]) + struct.pack("!H", len(data)) + data
                    for ch, data in packets)


async def _over_tcp(codec: str, wire: bytes, rng: random.Random, spy: Callable[[], None]) -> dict:
    """Send the bytes in random pieces over a socket pair; the probe's connection reads them."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    conn = _RtspConnection(loop, ours)
    col = _collector(codec)

    def feed(data, now):  # noqa: ANN001, ANN202
        spy()
        col.feed(data, now)

    conn.channels[0] = feed
    conn.channels[1] = lambda data, now: None
    conn.runs[0] = col.feed_interleaved
    try:
        pos = 0
        while pos < len(wire):
            n = rng.choice((1, 3, 7, 500, 1400, 5000, 20000))
            await loop.sock_sendall(theirs, wire[pos : pos + n])
            pos += n
            if rng.random() < 0.3:
                await asyncio.sleep(0)
        for _ in range(200):
            await asyncio.sleep(0.005)
            if conn.received == len(wire):
                break
        assert conn.received == len(wire) and conn.error is None
    finally:
        conn.close()
        theirs.close()
    col.close(1.0)
    # Arrival times differ (they are real here); everything else must not.
    return _state(col)


@pytest.mark.parametrize("codec", ["h264", "h265"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_runs_leave_the_collector_as_packet_by_packet_feeding(codec: str, seed: int) -> None:
    rng = random.Random(seed)
    packets = _stream(codec, rng, perturb=True)
    calls = [0]
    got = await _over_tcp(codec, _wire(packets), rng, lambda: calls.__setitem__(0, calls[0] + 1))
    assert got == _reference(codec, packets)
    assert got["keyframes"] and got["counts"][4] > got["counts"][0]  # keyframes came, packets were lost


@pytest.mark.parametrize("codec", ["h264", "h265"])
async def test_runs_take_most_packets_without_a_call_each(codec: str) -> None:
    # A clean stream: only frame starts, ends and the like go through `feed`; the fragments in
    # between (counted, or appended to the NAL unit being copied) do not.
    rng = random.Random(0)
    packets = _stream(codec, rng, perturb=False)
    calls = [0]
    got = await _over_tcp(codec, _wire(packets), rng, lambda: calls.__setitem__(0, calls[0] + 1))
    assert got == _reference(codec, packets)
    assert got["counts"][0] == len(packets) and got["first_key"] is not None and len(got["following"]) == 8
    assert calls[0] < len(packets) / 3
