"""Unit tests of the pure parts: SDP, RTP counters, SPS parsing, Digest."""

from __future__ import annotations

import hashlib
import struct
from fractions import Fraction

import av
import numpy as np
import pytest

from camcheck.probe.depacketize import RtpCollector, parse_sps
from camcheck.probe.rtsp_client import Authenticator, Challenge, choose_challenge, parse_challenges
from camcheck.probe.sdp import SdpError, parse_sdp
from camcheck.secrets import Secret

SDP = """v=0\r
o=- 1 1 IN IP4 10.0.0.1\r
s=cam\r
t=0 0\r
a=control:*\r
m=audio 0 RTP/AVP 0\r
a=control:trackID=2\r
m=video 0 RTP/AVP 96\r
a=rtpmap:96 H264/90000\r
a=fmtp:96 packetization-mode=1;profile-level-id=42c00d;sprop-parameter-sets=Z0LADdoFB+hAAAADAEAAAAyjxQqo,aM4PyA==\r
a=framerate:12.5\r
a=control:trackID=1\r
"""


def test_sdp_video_track_and_control_resolution():
    s = parse_sdp(SDP, "rtsp://10.0.0.1/Streaming/101")
    v = s.video
    assert (v.codec, v.payload_type, v.clock_rate, v.framerate) == ("h264", 96, 90000, 12.5)
    assert v.control_url == "rtsp://10.0.0.1/Streaming/101/trackID=1"
    assert s.aggregate_url == "rtsp://10.0.0.1/Streaming/101"
    assert [p[0] & 0x1F for p in v.parameter_sets] == [7, 8]
    assert parse_sps("h264", v.parameter_sets[0]).width == 320
    # Content-Base with a trailing slash, absolute control URLs
    s2 = parse_sdp(SDP.replace("trackID=1", "rtsp://10.0.0.1/other/track"), "rtsp://10.0.0.1/base/")
    assert s2.video.control_url == "rtsp://10.0.0.1/other/track"
    assert parse_sdp(SDP, "rtsp://10.0.0.1/base/").video.control_url == "rtsp://10.0.0.1/base/trackID=1"


def test_sdp_without_supported_video():
    with pytest.raises(SdpError, match="MJPEG"):
        parse_sdp("v=0\r\nm=video 0 RTP/AVP 26\r\n", "rtsp://h/x")
    with pytest.raises(SdpError, match="no video track.*audio"):
        parse_sdp("v=0\r\nm=audio 0 RTP/AVP 0\r\n", "rtsp://h/x")


def _sps_of(codec: str, width: int, height: int, fps: int = 25) -> bytes:
    enc = av.CodecContext.create("libx264" if codec == "h264" else "libx265", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = Fraction(1, fps)
    enc.framerate = Fraction(fps, 1)
    enc.options = {"preset": "ultrafast"} if codec == "h264" else {"preset": "ultrafast", "x265-params": "log-level=none"}
    f = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
    data = b"".join(bytes(p) for p in enc.encode(f)) + b"".join(bytes(p) for p in enc.encode(None))
    want = 7 if codec == "h264" else 33
    for nal in data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01"):
        if nal and ((nal[0] & 0x1F) if codec == "h264" else (nal[0] >> 1) & 0x3F) == want:
            return nal.rstrip(b"\x00")
    raise AssertionError("no SPS")


@pytest.mark.parametrize("codec", ["h264", "h265"])
@pytest.mark.parametrize("size", [(1920, 1080), (640, 360), (352, 288)])
def test_sps_size_with_cropping_and_timing(codec, size):
    info = parse_sps(codec, _sps_of(codec, *size, fps=25))
    assert (info.width, info.height) == size
    assert info.fps == pytest.approx(25)


def _rtp(seq: int, ts: int, payload: bytes, marker: bool = True, pt: int = 96, csrc: int = 0,
         ext: bytes | None = None, pad: int = 0) -> bytes:
    b0 = 0x80 | csrc | (0x10 if ext is not None else 0) | (0x20 if pad else 0)
    head = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, 7)
    head += b"\x00\x00\x00\x01" * csrc
    if ext is not None:
        head += b"\xbe\xde" + struct.pack("!H", len(ext) // 4) + ext
    return head + payload + (b"\x00" * (pad - 1) + bytes([pad]) if pad else b"")


def test_counters_sequence_wrap_loss_and_header_options():
    col = RtpCollector("h264", 96, 90000, frames_after_keyframe=1)
    seq = 65530
    ts = 0xFFFFFFFF - 3000 * 5  # timestamps wrap too
    for i in range(20):
        if i == 7:
            seq += 1  # one packet lost
            ts += 3600
            continue
        nal = b"\x65" + b"k" * 50 if i in (0, 10) else b"\x41" + b"p" * 20
        col.feed(_rtp(seq, ts, nal, csrc=2 if i % 3 == 0 else 0, ext=b"abcd" if i % 4 == 0 else None,
                      pad=3 if i % 5 == 0 else 0), now=i * 0.04)
        seq += 1
        ts += 3600
    col.close(1.0)
    assert col.packets == 19 and col.packets_expected == 20
    assert col.packet_loss == pytest.approx(0.05)
    assert col.frames == 19
    assert col.fps == pytest.approx(18 / 0.76)  # 19 whole frames over 19 frame intervals (one frame lost)
    assert col.gop_s == pytest.approx(0.4)
    assert col.first_key is not None and col.first_key.nals == [b"\x65" + b"k" * 50]  # padding stripped
    assert len(col.following) == 1 and col.last_key is not None


@pytest.mark.parametrize("codec", ["h264", "h265"])
@pytest.mark.parametrize("extras", [False, True], ids=["slices only", "with delimiter and SEI"])
def test_inter_frame_sizes_are_each_inter_frames_payload_bytes(codec, extras):
    # A real clip, packetized as the simulator sends it (small MTU: big frames travel as fragments):
    # each complete inter frame's RTP payload bytes of picture data, in order; keyframes and the
    # frame still open when reading ends (its size is not known) are left out. A camera that starts
    # every frame with an access unit delimiter and an SEI (some do) gets the same sizes.
    from camcheck.simulator.media import ClipSpec, load_clip
    from camcheck.simulator.rtp import packetize_au

    aus = load_clip(ClipSpec(codec, 320, 180, 25, 10, 256, seconds=1.2)).access_units
    aud, sei = (b"\x09\xf0", b"\x06\x05" + bytes(40)) if codec == "h264" else (b"\x46\x01\x50", b"\x4e\x01" + bytes(40))
    col = RtpCollector(codec, 96, 90000, frames_after_keyframe=2)
    seq, expected = 0, []
    for i, au in enumerate(aus):
        payloads = packetize_au([aud, sei, *au.nals] if extras else au.nals, codec, 300)
        last = i == len(aus) - 1
        if last:
            payloads = payloads[:-1] or payloads  # its marker never comes
        for k, payload in enumerate(payloads):
            col.feed(_rtp(seq, 3600 * i, payload, marker=not last and k == len(payloads) - 1), now=i * 0.04)
            seq += 1
        if not au.keyframe and not last:
            expected.append(sum(len(p) for p in packetize_au(au.nals, codec, 300)))
    col.close(1.0)
    assert col.inter_sizes == expected
    assert len(expected) == len(aus) - sum(a.keyframe for a in aus) - (0 if aus[-1].keyframe else 1)
    assert any(n > 300 for n in expected)  # fragmented frames among them


def test_constant_timestamps_give_no_fps_rather_than_nonsense():
    col = RtpCollector("h264", 96, 90000, 0)
    for i in range(10):
        col.feed(_rtp(i, 0, b"\x41xx"), now=i * 0.04)
    assert col.frames == 1 and col.fps is None


def _frames(col: RtpCollector, arrivals: list[float], spacing: int = 3600, key_every: int = 0, seq0: int = 0) -> None:
    """One single-packet frame per arrival time, `spacing` RTP ticks apart, a keyframe first."""
    for i, now in enumerate(arrivals):
        key = i == 0 or (key_every and i % key_every == 0)
        col.feed(_rtp(seq0 + i, i * spacing, (b"\x65" if key else b"\x41") + b"x" * 10), now=now)


def test_fewer_than_two_keyframes_give_a_lower_bound_on_the_gop_not_a_gop():
    col = RtpCollector("h264", 96, 90000, 0)
    _frames(col, [i * 0.04 for i in range(76)])  # 3 s at 25 fps, a keyframe at the start only
    col.close(3.1)
    assert col.gop_s is None
    assert col.gop_min_s == pytest.approx(3.0)
    two = RtpCollector("h264", 96, 90000, 0)
    _frames(two, [i * 0.04 for i in range(76)], key_every=50)
    two.close(3.1)
    assert two.gop_s == pytest.approx(2.0) and two.gop_min_s is None
    none = RtpCollector("h264", 96, 90000, 0)  # joined mid-GOP, no keyframe yet: longer than the read
    for i in range(51):
        none.feed(_rtp(i, i * 3600, b"\x41" + b"x" * 10), now=i * 0.04)
    none.close(2.1)
    assert none.first_key is None and none.gop_min_s == pytest.approx(2.0)


@pytest.mark.parametrize("declared", [25.0, None])
def test_fps_counts_a_gop_cache_burst_by_its_timestamps(declared):
    # PLAY on a camera with a GOP cache: 6 s of frames at once, then 2 s in real time. The wall
    # clock saw 201 frames in 2 s; the stream is 25 fps.
    col = RtpCollector("h264", 96, 90000, 0)
    col.declared_fps = declared
    _frames(col, [0.0] * 150 + [0.04 * (i + 1) for i in range(51)])
    col.close(2.1)
    assert col.fps == pytest.approx(25, rel=0.01)


def test_fps_with_b_frames_counts_up_to_the_last_b_frame():
    # Decoding order I0 P3 B1 B2 P6 B4 B5 ... P24, then P27 whose B25 B26 have not come: 25 fps.
    order = [0]
    for anchor in range(3, 25, 3):
        order += [anchor, anchor - 2, anchor - 1]
    order.append(27)
    col = RtpCollector("h264", 96, 90000, 0)
    for i, frame in enumerate(order):
        col.feed(_rtp(i, frame * 3600, (b"\x65" if i == 0 else b"\x41") + b"x" * 10), now=i * 0.04)
    col.close(2.0)
    assert col.frames == len(order)
    assert col.fps == pytest.approx(25)  # counted to the end, (26 frames - 1) / 1.08 s = 23.1
    join = RtpCollector("h264", 96, 90000, 0)  # joined on an anchor, then the B-frame shown before it
    join.feed(_rtp(0, 6 * 3600, b"\x41" + b"x" * 10), now=0.0)
    join.feed(_rtp(1, 4 * 3600, b"\x41" + b"x" * 10), now=0.04)
    assert join.fps == pytest.approx(25)  # nothing on the clock before it: counted on arrivals


@pytest.mark.parametrize("declared", [25.0, None])
def test_fps_believes_the_wall_clock_when_timestamps_lie(declared):
    # Stamped as 25 fps but 5 frames a second arrive (the simulator's low_fps): the wall clock wins.
    slow = RtpCollector("h264", 96, 90000, 0)
    slow.declared_fps = declared
    _frames(slow, [i * 0.2 for i in range(21)])
    slow.close(4.1)
    assert slow.fps == pytest.approx(5, rel=0.01)
    # Stamped 5 fps apart but 25 frames a second arrive for 4 s, no burst: the clock is wrong.
    fast = RtpCollector("h264", 96, 90000, 0)
    fast.declared_fps = declared
    _frames(fast, [i * 0.04 for i in range(101)], spacing=18000)
    fast.close(4.1)
    assert fast.fps == pytest.approx(25, rel=0.01)


def test_digest_rfc2617_vector():
    # RFC 2617 section 3.5 example (qop=auth), reused for RTSP by RFC 2326.
    ch = parse_challenges(['Digest realm="testrealm@host.com", qop="auth,auth-int", '
                           'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'])
    auth = Authenticator(choose_challenge(ch), "Mufasa", Secret("Circle Of Life"))
    auth._cnonce = "0a4f113b"
    header = auth.header("GET", "/dir/index.html")
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "nc=00000001" in header and "Circle" not in header


def test_digest_legacy_without_qop_and_basic_fallback():
    ch = parse_challenges(['Basic realm="x"', 'Digest realm="cam", nonce="abc"'])
    chosen = choose_challenge(ch)
    assert chosen.scheme == "digest"
    auth = Authenticator(chosen, "u", Secret("p"))
    h = hashlib.md5
    ha1 = h(b"u:cam:p").hexdigest()
    ha2 = h(b"DESCRIBE:rtsp://h/x").hexdigest()
    assert f'response="{h(f"{ha1}:abc:{ha2}".encode()).hexdigest()}"' in auth.header("DESCRIBE", "rtsp://h/x")
    assert choose_challenge([Challenge("basic", {"realm": "x"})]).scheme == "basic"
    assert choose_challenge([Challenge("digest", {"algorithm": "SHA-512-256"})]) is None


def test_second_keyframe_is_the_last_one_of_the_window_on_the_rtp_clock():
    col = RtpCollector("h264", 96, 90000, frames_after_keyframe=0, window_s=1.0)
    for i in range(100):  # 25 fps, a keyframe every 0.4 s, all read at once (a late reader)
        col.feed(_rtp(i, i * 3600, (b"\x65" if i % 10 == 0 else b"\x41") + b"x" * 10), now=0.0)
    assert col.first_key.timestamp == 0
    assert col.last_key.timestamp == 30 * 3600  # the first keyframe at/after 1.0 s, not the one at 3.6 s
    assert col.gop_s == pytest.approx(0.4)  # all keyframes still count for the GOP
