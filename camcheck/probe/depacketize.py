"""RTP video: measuring a stream from packet headers and reassembling only the frames worth decoding.

The hot path (`RtpCollector.feed`) runs once per RTP packet. It parses the 12-byte header with one
``struct.unpack_from`` on the packet as it lies in the receive buffer and keeps plain counters
(packets, bytes, sequence numbers, frame timestamps, keyframe timestamps, each inter frame's
payload size: see ``inter_sizes``). Payload bytes are
copied only for the access units (AUs) the probe will decode: the first keyframe, the few frames
right after it, and the latest keyframe. An AU whose first NAL unit is an ordinary (non-key) slice
is never copied unless it is one of those few following frames.

Codecs: H.264 (RFC 6184: single NAL, STAP-A, FU-A; packetization-mode 0/1) and H.265 (RFC 7798:
single NAL, AP, FU; no DONL). SPS parsing gives width/height (after cropping) and VUI timing.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

_RTP_HEADER = struct.Struct("!BBHII")
_U16 = struct.Struct("!H")
START_CODE = b"\x00\x00\x00\x01"

H264_IDR = 5
H264_SEI, H264_SPS, H264_PPS, H264_AUD = 6, 7, 8, 9
H264_STAP_A, H264_FU_A = 24, 28
H265_VPS, H265_SPS, H265_PPS = 32, 33, 34
H265_AP, H265_FU = 48, 49

# An AU larger than this is not a camera frame (a 4K IDR is a few MB at most): drop it.
MAX_AU_BYTES = 16 * 1024 * 1024


def nal_type(codec: str, first_byte: int) -> int:
    return first_byte & 0x1F if codec == "h264" else (first_byte >> 1) & 0x3F


def is_keyframe_nal(codec: str, t: int) -> bool:
    # H.264 IDR; H.265 IRAP (BLA/IDR/CRA, 16..21) — each starts a decodable picture.
    return t == H264_IDR if codec == "h264" else 16 <= t <= 21


def is_plain_slice(codec: str, t: int) -> bool:
    """A VCL NAL unit of a non-key picture: the AU it starts needs no copying."""
    return 1 <= t <= 4 if codec == "h264" else t <= 9


def is_vcl(codec: str, t: int) -> bool:
    return 1 <= t <= 5 if codec == "h264" else t <= 31


def is_parameter_set(codec: str, t: int) -> bool:
    return t in (H264_SPS, H264_PPS) if codec == "h264" else t in (H265_VPS, H265_SPS, H265_PPS)


@dataclass
class AccessUnit:
    """One picture's NAL units (no start codes), in order."""

    nals: list[bytes]
    timestamp: int  # unwrapped RTP timestamp
    keyframe: bool
    arrival: float  # loop time the last packet arrived

    @property
    def size(self) -> int:
        return sum(len(n) for n in self.nals)

    def annexb(self, parameter_sets: list[bytes] | None = None) -> bytes:
        """Annex-B bytes, with ``parameter_sets`` first when the AU does not carry its own."""
        nals = self.nals
        if parameter_sets:
            nals = list(parameter_sets) + nals
        return START_CODE + START_CODE.join(nals)


class RtpCollector:
    """Counts what arrives and keeps the AUs to decode. Feed it RTP packets of one video track."""

    def __init__(
        self,
        codec: str,
        payload_type: int,
        clock_rate: int,
        frames_after_keyframe: int,
        notify: Callable[[], None] | None = None,
        window_s: float | None = None,
        frames_needed: int | None = None,
    ) -> None:
        if codec not in ("h264", "h265"):
            raise ValueError(f"unsupported codec {codec!r}")
        self.codec = codec
        self.h264 = codec == "h264"
        self.payload_type = payload_type
        self.clock_rate = clock_rate or 90000
        self.frames_after_keyframe = max(0, frames_after_keyframe)
        # `following_done` (the reader may stop) once this many are in; up to frames_after_keyframe
        # are kept while reading goes on anyway (the probe proves motion from as few as it can).
        self.frames_needed = self.frames_after_keyframe if frames_needed is None else (
            min(max(0, frames_needed), self.frames_after_keyframe))
        self.notify = notify
        # K2 is the last keyframe of the window, counted on the RTP clock from the first frame, so a
        # late-running reader (busy host) does not swap in a keyframe from far beyond the window.
        self.window_ticks = None if window_s is None else int(window_s * self.clock_rate)
        # counters
        self.packets = 0
        self.bytes = 0
        self.ignored = 0  # other payload type / SSRC
        self.malformed = 0
        self.first_arrival: float | None = None
        self.last_arrival: float | None = None
        self.ssrc: int | None = None
        self._seq_base: int | None = None
        self._seq_max = 0
        self._seq_cycles = 0
        # frames
        self.frames = 0
        self.first_frame_ts: int | None = None
        self.last_frame_ts: int | None = None
        self.first_frame_arrival: float | None = None
        self.last_frame_arrival: float | None = None
        self.keyframe_ts: list[int] = []
        self._frame_times: list[tuple[float, int]] = []  # (arrival, RTP timestamp) of each frame, for fps
        self.declared_fps: float | None = None  # from the SDP or SPS, when known (see fps)
        self._reordered = False  # a frame's timestamp went back (B-frames)
        self.corrupt_keyframes = 0
        # RTP payload bytes of each complete inter (non-key) frame, in arrival order, less the
        # non-picture NAL units of the frames whose NAL units are read (those starting with a
        # delimiter or SEI): a frozen sensor gives the encoder nothing to code, so most of them are
        # nearly empty (image.empty_frames).
        self.inter_sizes: list[int] = []
        # current AU
        self._au_open = False
        self._au_raw_ts = 0
        self._au_ts = 0
        self._au_capture = False
        self._au_nals: list[bytes] = []
        self._au_bytes = 0
        self._au_payload = 0  # RTP payload bytes of the open AU, copied or not
        self._au_key = False
        self._au_vcl = False
        self._au_corrupt = False
        self._au_last_seq = 0
        self._au_plain = False  # started with a non-key slice (counted as a frame, not inspected)
        self._fu: bytearray | None = None
        self._ts_last_raw: int | None = None
        self._ts_ext = 0
        # captures
        self.first_key: AccessUnit | None = None
        self.following: list[AccessUnit] = []
        self._following_left = 0
        self.following_done = False
        self.last_key: AccessUnit | None = None
        self.first_key_arrival: float | None = None
        self.parameter_sets: dict[int, bytes] = {}  # latest in-band VPS/SPS/PPS by NAL type

    # ---- hot path -------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview, now: float) -> None:
        n = len(data)
        if n < 12:
            self.malformed += 1
            return
        b0, b1, seq, ts, ssrc = _RTP_HEADER.unpack_from(data, 0)
        if b0 >> 6 != 2:
            self.malformed += 1
            return
        if b1 & 0x7F != self.payload_type:
            self.ignored += 1
            return
        if ssrc != self.ssrc:
            if self.ssrc is not None:
                self.ignored += 1
                return
            self.ssrc = ssrc
        off = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:
            if n < off + 4:
                self.malformed += 1
                return
            off += 4 + 4 * _U16.unpack_from(data, off + 2)[0]
        end = n - data[n - 1] if b0 & 0x20 else n
        if off > end:
            self.malformed += 1
            return
        # sequence numbers (RFC 3550 A.1, without probation: a probe is short)
        if self._seq_base is None:
            self._seq_base = self._seq_max = seq
            self.first_arrival = now
            self._after_first_packet()
        else:
            delta = (seq - self._seq_max) & 0xFFFF
            if 0 < delta < 0x8000:
                if seq < self._seq_max:
                    self._seq_cycles += 0x10000
                self._seq_max = seq
        self.packets += 1
        self.bytes += n
        self.last_arrival = now

        if not self._au_open or ts != self._au_raw_ts:
            if self._au_open:
                self._finish_au(now)
            if off < end:
                self._start_au(ts, data, off, now)
            else:
                return
        elif self._au_capture and ((self._au_last_seq + 1) & 0xFFFF) != seq:
            self._au_corrupt = True  # a packet of an AU we copy is missing
        self._au_payload += end - off
        if self._au_capture and off < end:
            self._au_last_seq = seq
            self._capture(data, off, end)
        if b1 & 0x80:
            self._finish_au(now)

    def feed_interleaved(self, buf: bytearray, mv: memoryview, pos: int, end: int, channel: int, now: float) -> int:
        """Take the run of RTP packets interleaved on ``channel`` (RFC 2326 10.12: '$', channel,
        16-bit length, packet) that starts at ``buf[pos]``, up to ``end``; return where the run
        stopped (another channel, an RTSP message, or an incomplete packet: the caller's business).

        The same as ``feed`` on each packet, minus its per-packet call: most packets of a stream
        continue an access unit that is only counted (a P-frame's FU-A fragments: ~15 per frame at
        1080p 4 Mbit/s), and for those this loop updates the counters in place. Any other packet
        (a new frame, a frame being copied, a marker, an unusual header) goes through ``feed``."""
        unpack = _RTP_HEADER.unpack_from
        pt = self.payload_type
        # A middle fragment of a fragmented NAL unit: FU-A (H.264) or FU (H.265) payload header,
        # then the FU header with neither the start (0x80) nor the end (0x40) bit.
        fu_type, fu_hdr = (H264_FU_A, 1) if self.h264 else (H265_FU, 2)
        packets = nbytes = 0
        while end - pos >= 4 and buf[pos] == 0x24 and buf[pos + 1] == channel:
            size = (buf[pos + 2] << 8) | buf[pos + 3]
            nxt = pos + 4 + size
            if nxt > end:
                break
            if size > 12 + fu_hdr and self._au_open:
                b0, b1, seq, ts, ssrc = unpack(buf, pos + 4)
                p = pos + 16  # the payload
                # V=2 without padding, extension, CSRCs or marker; this stream; the open AU's
                # timestamp; and, in an AU being copied, the middle of a NAL unit being copied,
                # right after its previous packet.
                if b0 == 0x80 and b1 == pt and ts == self._au_raw_ts and ssrc == self.ssrc and (
                        not self._au_capture or (
                            self._fu is not None and not self._au_corrupt
                            and seq == (self._au_last_seq + 1) & 0xFFFF
                            and (buf[p] & 0x1F if self.h264 else (buf[p] >> 1) & 0x3F) == fu_type
                            and not buf[p + fu_hdr] & 0xC0)):
                    if self._au_capture:
                        self._au_last_seq = seq
                        self._fu += mv[p + fu_hdr + 1 : nxt]
                    delta = (seq - self._seq_max) & 0xFFFF
                    if 0 < delta < 0x8000:
                        if seq < self._seq_max:
                            self._seq_cycles += 0x10000
                        self._seq_max = seq
                    packets += 1
                    nbytes += size
                    self._au_payload += nxt - p
                    pos = nxt
                    continue
            view = mv[pos + 4 : nxt]
            self.feed(view, now)
            view.release()
            pos = nxt
        if packets:
            self.packets += packets
            self.bytes += nbytes
            self.last_arrival = now
        return pos

    def _after_first_packet(self) -> None:
        if self.notify:
            self.notify()

    def _start_au(self, ts: int, data, off: int, now: float) -> None:
        # unwrap the 32-bit timestamp against the previous AU
        if self._ts_last_raw is None:
            self._ts_ext = ts
        else:
            d = (ts - self._ts_last_raw) & 0xFFFFFFFF
            self._ts_ext += d - 0x100000000 if d >= 0x80000000 else d
        self._ts_last_raw = ts
        self._au_open = True
        self._au_raw_ts = ts
        self._au_ts = self._ts_ext
        b = data[off]
        if self.h264:
            t = b & 0x1F
            if t == H264_FU_A and off + 1 < len(data):
                t = data[off + 1] & 0x1F
            elif t == H264_STAP_A and off + 3 < len(data):
                t = data[off + 3] & 0x1F
        else:
            t = (b >> 1) & 0x3F
            if t == H265_FU and off + 2 < len(data):
                t = data[off + 2] & 0x3F
            elif t == H265_AP and off + 4 < len(data):
                t = (data[off + 4] >> 1) & 0x3F
        plain = is_plain_slice(self.codec, t)
        self._au_plain = plain
        self._au_capture = (not plain) or self._following_left > 0
        self._au_nals = []
        self._au_bytes = 0
        self._au_payload = 0
        self._au_key = False
        self._au_vcl = plain
        self._au_corrupt = False
        self._fu = None

    def _add_nal(self, nal: bytes) -> None:
        if not nal:
            return
        t = nal[0] & 0x1F if self.h264 else (nal[0] >> 1) & 0x3F
        if is_keyframe_nal(self.codec, t):
            self._au_key = True
        if is_vcl(self.codec, t):
            self._au_vcl = True
        else:
            # Not picture data (delimiter, SEI, parameter sets): a camera that sends them with every
            # frame must not make its skip-only frames look coded (inter_sizes).
            self._au_payload -= len(nal)
            if is_parameter_set(self.codec, t):
                self.parameter_sets[t] = nal
        self._au_bytes += len(nal)
        if self._au_bytes > MAX_AU_BYTES:
            self._au_corrupt = True
            return
        self._au_nals.append(nal)

    def _capture(self, data, off: int, end: int) -> None:
        if self._au_corrupt:
            return
        b = data[off]
        if self.h264:
            t = b & 0x1F
            if t == H264_FU_A:
                if off + 2 > end:
                    self._au_corrupt = True
                    return
                fu = data[off + 1]
                if fu & 0x80:
                    self._fu = bytearray(((b & 0xE0) | (fu & 0x1F),))
                elif self._fu is None:
                    self._au_corrupt = True  # continuation without a start
                    return
                self._fu += data[off + 2 : end]
                if fu & 0x40:
                    self._add_nal(bytes(self._fu))
                    self._fu = None
            elif t == H264_STAP_A:
                self._aggregate(data, off + 1, end)
            elif 1 <= t <= 23:
                self._add_nal(bytes(data[off:end]))
            else:
                self._au_corrupt = True  # STAP-B/MTAP/FU-B: interleaved mode, not supported
        else:
            t = (b >> 1) & 0x3F
            if t == H265_FU:
                if off + 3 > end:
                    self._au_corrupt = True
                    return
                fu = data[off + 2]
                if fu & 0x80:
                    self._fu = bytearray(((b & 0x81) | ((fu & 0x3F) << 1), data[off + 1]))
                elif self._fu is None:
                    self._au_corrupt = True
                    return
                self._fu += data[off + 3 : end]
                if fu & 0x40:
                    self._add_nal(bytes(self._fu))
                    self._fu = None
            elif t == H265_AP:
                self._aggregate(data, off + 2, end)
            elif t < 48:
                self._add_nal(bytes(data[off:end]))
            else:
                self._au_corrupt = True  # PACI or reserved

    def _aggregate(self, data, i: int, end: int) -> None:
        while i + 2 <= end:
            size = (data[i] << 8) | data[i + 1]
            i += 2
            if size == 0 or i + size > end:
                self._au_corrupt = True
                return
            self._add_nal(bytes(data[i : i + size]))
            i += size

    def _finish_au(self, now: float) -> None:
        if not self._au_open:
            return
        self._au_open = False
        ts = self._au_ts
        if self._au_capture and self._fu is not None:
            self._au_corrupt = True  # last fragment never came
        if self._au_vcl and ts != self.last_frame_ts:
            if self.last_frame_ts is not None and ts < self.last_frame_ts:
                self._reordered = True  # B-frames: sent in decoding order, stamped in display order
            self.frames += 1
            if self.first_frame_ts is None:
                self.first_frame_ts = ts
                self.first_frame_arrival = now
            self.last_frame_ts = ts
            self.last_frame_arrival = now
            self._frame_times.append((now, ts))
            if not self._au_key:
                self.inter_sizes.append(self._au_payload)
        if not self._au_capture:
            return
        nals = self._au_nals
        self._au_nals = []
        if self._au_key:
            if not self.keyframe_ts or self.keyframe_ts[-1] != ts:
                self.keyframe_ts.append(ts)
            if self._au_corrupt:
                self.corrupt_keyframes += 1
                return
            au = AccessUnit(nals, ts, True, now)
            if self.first_key is None:
                self.first_key = au
                self.first_key_arrival = now
                self._following_left = self.frames_after_keyframe
                self.following_done = self.frames_needed == 0
            else:
                if self._following_left:
                    self._following_left = 0  # a GOP shorter than the follow-up: done
                    self.following_done = True
                if not self._window_closed():
                    self.last_key = au
            if self.notify:
                self.notify()
            return
        if self._following_left > 0 and self._au_vcl:
            if self._au_corrupt:
                self._following_left = 0  # cannot decode past a damaged reference
            else:
                self.following.append(AccessUnit(nals, ts, False, now))
                self._following_left -= 1
            if not self.following_done and (self._following_left == 0 or len(self.following) >= self.frames_needed):
                self.following_done = True
                if self.notify:
                    self.notify()
            elif self._following_left == 0 and self.notify:  # complete: the first picture pass may start
                self.notify()

    @property
    def following_complete(self) -> bool:
        """K1 is in and no more frames after it will be kept (all wanted are in, or capture ended)."""
        return self.first_key is not None and self._following_left == 0

    def _window_closed(self) -> bool:
        """A keyframe at or past the window's end is already held as K2."""
        return (self.window_ticks is not None and self.last_key is not None and self.first_frame_ts is not None
                and self.last_key.timestamp - self.first_frame_ts >= self.window_ticks)

    def close(self, now: float) -> None:
        """End of reading: account for an AU that is still open (its marker never came)."""
        if self._au_open:
            # An unfinished AU at the end is incomplete: do not keep it for decoding.
            if self._au_capture:
                self._au_corrupt = True
            counted = len(self.inter_sizes)
            self._finish_au(now)
            del self.inter_sizes[counted:]  # its size is not known: its last packets never came

    # ---- results --------------------------------------------------------------------------------

    @property
    def packets_expected(self) -> int:
        if self._seq_base is None:
            return 0
        return self._seq_cycles + self._seq_max - self._seq_base + 1

    @property
    def packet_loss(self) -> float | None:
        expected = self.packets_expected
        if expected <= 0:
            return None
        return max(0, expected - self.packets) / expected

    @property
    def fps(self) -> float | None:
        """Whole frames per second from RTP timestamps; from arrival times when the timestamps are
        not plausible (constant, or disagreeing with the wall clock by more than 2x)."""
        if self.frames < 2 or self.first_frame_ts is None or self.last_frame_ts is None:
            return None
        span_ts, intervals = self._clock_span()
        span_wall = (self.last_frame_arrival or 0.0) - (self.first_frame_arrival or 0.0)
        if span_ts <= 0 or (span_wall >= 0.5 and not (0.5 <= span_ts / span_wall <= 2.0)
                            and not self._caught_up(span_ts / intervals, span_ts, span_wall)):
            span_ts, intervals = span_wall, self.frames - 1
        if span_ts <= 0:
            return None
        fps = intervals / span_ts
        return fps if 0 < fps <= 1000 else None

    def _clock_span(self) -> tuple[float, int]:
        """(seconds on the RTP clock, frame intervals in them) over the frames read. With B-frames
        (timestamps out of order) only up to the last B-frame: the anchor frames after it come
        before the B-frames shown ahead of them, which may not have arrived yet."""
        if not self._reordered:
            return (self.last_frame_ts - self.first_frame_ts) / self.clock_rate, self.frames - 1
        times = self._frame_times
        last_b = next(i for i in range(len(times) - 1, 0, -1) if times[i][1] < times[i - 1][1])
        upto = times[last_b][1]
        shown = [ts for _, ts in times if ts <= upto]
        # A B-frame shown before every other frame read gives 0 s: fps then counts arrivals.
        return (upto - min(shown)) / self.clock_rate, len(shown) - 1

    @property
    def gop_s(self) -> float | None:
        k = self.keyframe_ts
        if len(k) < 2:
            return None
        gop = (k[-1] - k[0]) / (len(k) - 1) / self.clock_rate
        return gop if gop > 0 else None

    def _caught_up(self, interval: float, span_ts: float, span_wall: float) -> bool:
        """Timestamps ahead of the wall clock because the camera sent its GOP cache faster than real
        time on PLAY, then frames in real time: judged by the declared frame rate when known, else
        by the second half of the read, where a burst is over but a wrong clock still runs away.
        Timestamps behind the wall clock are never excused: a camera stamping frames it does not
        send (low_fps) looks like that."""
        if span_ts <= span_wall:
            return False
        if self.declared_fps:
            # Arrivals are read in batches of up to a second: the declared rate is the better judge.
            return abs(1 / interval / self.declared_fps - 1) <= 0.25
        times = self._frame_times
        end_wall, end_ts = times[-1]
        mid = end_wall - span_wall / 2
        mid_wall, mid_ts = times[max(0, bisect.bisect_right(times, mid, key=lambda t: t[0]) - 1)]
        tail_wall = end_wall - mid_wall
        if tail_wall <= 0:
            return True
        return 0.5 <= (end_ts - mid_ts) / self.clock_rate / tail_wall <= 2.0

    @property
    def gop_min_s(self) -> float | None:
        """With fewer than two keyframes seen, the keyframe interval is longer than this: seconds
        from the keyframe (or, with none, from the first frame) to the last frame read; else None."""
        k = self.keyframe_ts
        if len(k) > 1 or self.last_frame_ts is None or self.first_frame_ts is None:
            return None
        span = (self.last_frame_ts - (k[0] if k else self.first_frame_ts)) / self.clock_rate
        return span if span > 0 else None

    def bitrate_kbps(self) -> float | None:
        """Bits of RTP per second over the frames received (each frame lasting 1/fps)."""
        fps = self.fps
        if fps and self.frames >= 2:
            return self.bytes * 8 / (self.frames / fps) / 1000
        if self.first_arrival is not None and self.last_arrival is not None:
            span = self.last_arrival - self.first_arrival
            if span >= 0.5:
                return self.bytes * 8 / span / 1000
        return None

    def sps_for(self, au: AccessUnit) -> bytes | None:
        """The SPS ``au`` carries, else the latest one that came in-band (None: neither)."""
        return find_sps(self.codec, au.nals) or self.parameter_sets.get(H264_SPS if self.h264 else H265_SPS)

    def parameter_sets_for(self, au: AccessUnit, sdp_sets: list[bytes]) -> list[bytes]:
        """The parameter sets to put before ``au`` when it does not carry them itself."""
        have = {nal_type(self.codec, n[0]) for n in au.nals if n}
        need = (H264_SPS, H264_PPS) if self.h264 else (H265_VPS, H265_SPS, H265_PPS)
        if all(t in have for t in need):
            return []
        out: list[bytes] = []
        by_type: dict[int, bytes] = {}
        for nal in sdp_sets:
            if nal:
                by_type.setdefault(nal_type(self.codec, nal[0]), nal)
        by_type.update(self.parameter_sets)
        for t in need:
            if t not in have and t in by_type:
                out.append(by_type[t])
        return out


# ---- SPS parsing -----------------------------------------------------------------------------------


class BitstreamError(ValueError):
    pass


class BitReader:
    """MSB-first bit reader with exp-Golomb codes over an RBSP (emulation prevention removed)."""

    __slots__ = ("_v", "_n", "pos")

    def __init__(self, rbsp: bytes) -> None:
        self._v = int.from_bytes(rbsp, "big")
        self._n = len(rbsp) * 8
        self.pos = 0

    def u(self, k: int) -> int:
        if k == 0:
            return 0
        if self.pos + k > self._n:
            raise BitstreamError("read past the end of the NAL unit")
        self.pos += k
        return (self._v >> (self._n - self.pos)) & ((1 << k) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise BitstreamError("exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def unescape_rbsp(nal: bytes) -> bytes:
    """Remove emulation prevention bytes (00 00 03 -> 00 00)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00") if b"\x00\x00\x03" in nal else nal


@dataclass
class SpsInfo:
    width: int
    height: int
    fps: float | None = None  # from VUI timing, when present
    extra: dict = field(default_factory=dict)


_H264_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _h264_scaling_list(r: BitReader, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + r.se() + 256) % 256
        last = nxt if nxt != 0 else last


def _skip_vui_head(r: BitReader) -> None:
    """Skip the VUI fields H.264 and H.265 share before their timing information: aspect ratio,
    overscan, video signal type (with colour description) and chroma sample location."""
    if r.u(1) and r.u(8) == 255:  # aspect_ratio_info_present, Extended_SAR
        r.u(16)
        r.u(16)
    if r.u(1):  # overscan_info_present
        r.u(1)
    if r.u(1):  # video_signal_type_present
        r.u(3)
        r.u(1)
        if r.u(1):  # colour_description_present
            r.u(24)
    if r.u(1):  # chroma_loc_info_present
        r.ue()
        r.ue()


def parse_h264_sps(nal: bytes) -> SpsInfo:
    r = BitReader(unescape_rbsp(nal[1:]))
    profile = r.u(8)
    r.u(8)  # constraint flags
    r.u(8)  # level
    r.ue()  # sps id
    chroma = 1
    separate = 0
    if profile in _H264_HIGH_PROFILES:
        chroma = r.ue()
        if chroma == 3:
            separate = r.u(1)
        r.ue()
        r.ue()  # bit depths
        r.u(1)
        if r.u(1):  # seq_scaling_matrix_present
            for i in range(8 if chroma != 3 else 12):
                if r.u(1):
                    _h264_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.u(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.u(1)
    w_mbs = r.ue() + 1
    h_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        r.u(1)
    r.u(1)  # direct_8x8
    cl = cr = ct = cb = 0
    if r.u(1):
        cl, cr, ct, cb = r.ue(), r.ue(), r.ue(), r.ue()
    if chroma == 0 or separate:
        crop_x, crop_y = 1, 2 - frame_mbs_only
    else:
        sub_w = 1 if chroma == 3 else 2
        sub_h = 2 if chroma == 1 else 1
        crop_x, crop_y = sub_w, sub_h * (2 - frame_mbs_only)
    width = w_mbs * 16 - crop_x * (cl + cr)
    height = (2 - frame_mbs_only) * h_units * 16 - crop_y * (ct + cb)
    fps = None
    try:
        if r.u(1):  # vui_parameters_present
            _skip_vui_head(r)
            if r.u(1):  # timing_info_present
                units, scale = r.u(32), r.u(32)
                if units and scale:
                    fps = scale / (2 * units)
    except BitstreamError:
        pass
    if width <= 0 or height <= 0:
        raise BitstreamError("SPS gives no picture size")
    return SpsInfo(width, height, _plausible_fps(fps), {"profile": profile})


def _h265_profile_tier_level(r: BitReader, max_sub_layers_minus1: int) -> None:
    r.u(32)
    r.u(32)
    r.u(32)  # general: 2+1+5 + 32 flags + 4 + 43 + 1 + 8 level = 96 bits
    sub_profile = []
    sub_level = []
    for _ in range(max_sub_layers_minus1):
        sub_profile.append(r.u(1))
        sub_level.append(r.u(1))
    if max_sub_layers_minus1 > 0:
        for _ in range(max_sub_layers_minus1, 8):
            r.u(2)
    for i in range(max_sub_layers_minus1):
        if sub_profile[i]:
            r.u(32)
            r.u(32)
            r.u(24)  # 88 bits: the general profile fields without the level
        if sub_level[i]:
            r.u(8)


def _h265_scaling_list_data(r: BitReader) -> None:
    for size_id in range(4):
        for _ in range(0, 6, 3 if size_id == 3 else 1):
            if not r.u(1):
                r.ue()
            else:
                coef = min(64, 1 << (4 + (size_id << 1)))
                if size_id > 1:
                    r.se()
                for _ in range(coef):
                    r.se()


def parse_h265_sps(nal: bytes) -> SpsInfo:
    r = BitReader(unescape_rbsp(nal[2:]))
    r.u(4)  # vps id
    max_sub_layers_minus1 = r.u(3)
    r.u(1)
    _h265_profile_tier_level(r, max_sub_layers_minus1)
    r.ue()  # sps id
    chroma = r.ue()
    separate = 0
    if chroma == 3:
        separate = r.u(1)
    width = r.ue()
    height = r.ue()
    if r.u(1):  # conformance window
        cl, cr, ct, cb = r.ue(), r.ue(), r.ue(), r.ue()
        sub_w = 2 if chroma in (1, 2) and not separate else 1
        sub_h = 2 if chroma == 1 and not separate else 1
        width -= sub_w * (cl + cr)
        height -= sub_h * (ct + cb)
    if width <= 0 or height <= 0:
        raise BitstreamError("SPS gives no picture size")
    fps = None
    try:
        fps = _h265_vui_fps(r, max_sub_layers_minus1)
    except BitstreamError:
        pass
    return SpsInfo(width, height, _plausible_fps(fps))


def _h265_vui_fps(r: BitReader, max_sub_layers_minus1: int) -> float | None:
    r.ue()
    r.ue()  # bit depths
    log2_max_poc_lsb = r.ue() + 4
    ordering_all = r.u(1)
    for _ in range(0 if ordering_all else max_sub_layers_minus1, max_sub_layers_minus1 + 1):
        r.ue()
        r.ue()
        r.ue()
    for _ in range(6):
        r.ue()  # block sizes, transform hierarchy depths
    if r.u(1) and r.u(1):  # scaling_list_enabled, sps_scaling_list_data_present
        _h265_scaling_list_data(r)
    r.u(1)  # amp
    r.u(1)  # sao
    if r.u(1):  # pcm
        r.u(4)
        r.u(4)
        r.ue()
        r.ue()
        r.u(1)
    num_sets = r.ue()
    if num_sets > 64:
        raise BitstreamError("too many short-term reference picture sets")
    num_deltas: list[int] = []
    for idx in range(num_sets):
        inter = r.u(1) if idx else 0
        if inter:
            r.u(1)
            r.ue()
            count = 0
            for _ in range(num_deltas[idx - 1] + 1):
                used = r.u(1)
                use_delta = 1 if used else r.u(1)
                count += 1 if (used or use_delta) else 0
            num_deltas.append(count)
        else:
            neg, pos = r.ue(), r.ue()
            if neg > 16 or pos > 16:
                raise BitstreamError("bad reference picture set")
            for _ in range(neg + pos):
                r.ue()
                r.u(1)
            num_deltas.append(neg + pos)
    if r.u(1):  # long_term_ref_pics_present
        for _ in range(r.ue()):
            r.u(log2_max_poc_lsb)
            r.u(1)
    r.u(1)  # temporal mvp
    r.u(1)  # strong intra smoothing
    if not r.u(1):  # vui_parameters_present
        return None
    _skip_vui_head(r)
    r.u(1)
    r.u(1)
    r.u(1)
    if r.u(1):  # default display window
        r.ue()
        r.ue()
        r.ue()
        r.ue()
    if r.u(1):  # vui_timing_info_present
        units, scale = r.u(32), r.u(32)
        if units and scale:
            return scale / units
    return None


def _plausible_fps(fps: float | None) -> float | None:
    return fps if fps is not None and 0 < fps <= 1000 else None


def parse_sps(codec: str, nal: bytes) -> SpsInfo:
    """Width/height (cropped) and VUI frame rate from an SPS NAL unit (with its header)."""
    if not nal:
        raise BitstreamError("empty SPS")
    return parse_h264_sps(nal) if codec == "h264" else parse_h265_sps(nal)


def find_sps(codec: str, nals: list[bytes]) -> bytes | None:
    want = H264_SPS if codec == "h264" else H265_SPS
    for nal in nals:
        if nal and nal_type(codec, nal[0]) == want:
            return nal
    return None
