"""One live timeline per encoded clip, shared by every camera and client that shows that clip.

A `Channel` walks through its clip's access units at the clip's frame rate (looping forever) and hands
each AU, already cut into complete RTP packets, to its subscribers. Sequence numbers and timestamps are
pure functions of the AU's index on the timeline, so packets are built once per AU for all clients and a
TCP client receives one pre-joined, interleaved-framed ``bytes`` per AU: the per-client cost is one
``transport.write``. The channel ticks only while it has subscribers; its position is derived from the
clock, so it is "live" either way.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import struct
from dataclasses import dataclass, field
from typing import Protocol

from camcheck.simulator.media import Clip
from camcheck.simulator.rtp import DEFAULT_MTU_PAYLOAD, packetize_au, rtp_header

log = logging.getLogger(__name__)

PAYLOAD_TYPE = 96
# Behind schedule by more than this (the loop got no CPU), the channel skips ahead like an overloaded
# encoder drops frames; shorter hiccups are caught up by sending the missed frames late, so that clients
# of a busy simulator see late frames, never gaps that look like packet loss.
MAX_CATCH_UP_S = 5.0
MAX_BATCH = 25  # at most this many late frames go out in one write


class Subscriber(Protocol):
    def on_aus(self, channel: "Channel", aus: "list[BuiltAU]", now: float) -> None:
        """Consecutive AUs now due (normally one; several when the loop ran late)."""


@dataclass
class PacketizedClip:
    """A clip's AUs cut into RTP payloads once; shared by every channel (normally one) of the clip."""

    clip: Clip
    codec: str
    fps: float
    payloads: list[tuple[bytes, ...]]
    keyframe_positions: list[int]
    seq_prefix: list[int]  # packets before AU i within one loop
    loop_packets: int

    @classmethod
    def build(cls, clip: Clip, mtu: int = DEFAULT_MTU_PAYLOAD) -> "PacketizedClip":
        payloads = [packetize_au(au.nals, clip.spec.codec, mtu) for au in clip.access_units]
        prefix, total = [], 0
        for p in payloads:
            prefix.append(total)
            total += len(p)
        keys = [i for i, au in enumerate(clip.access_units) if au.keyframe] or [0]
        return cls(clip, clip.spec.codec, float(clip.spec.fps), payloads, keys, prefix, total)


@dataclass
class BuiltAU:
    """One AU on a channel's timeline as complete RTP packets (header + payload)."""

    k: int
    keyframe: bool
    seq: int  # of the first packet
    timestamp: int
    packets: tuple[bytes, ...]
    octets: int  # RTP payload octets, for RTCP SR
    _blobs: dict[int, bytes] = field(default_factory=dict)

    def blob(self, rtp_channel: int) -> bytes:
        """All packets framed for RTSP interleaving ('$', channel, length), joined for one write."""
        b = self._blobs.get(rtp_channel)
        if b is None:
            head = bytes((0x24, rtp_channel))
            b = b"".join(head + struct.pack(">H", len(p)) + p for p in self.packets)
            self._blobs[rtp_channel] = b
        return b


class Channel:
    """The live timeline of one clip. Create with `ChannelSet.channel`; not thread-safe (one event loop)."""

    def __init__(self, pclip: PacketizedClip, epoch: float, rng: random.Random | None = None) -> None:
        r = rng or random.SystemRandom()
        self.pclip = pclip
        self.fps = pclip.fps
        self.epoch = epoch
        self.ssrc = r.getrandbits(32)
        self.seq_base = r.getrandbits(16)
        self.ts_base = r.getrandbits(32)
        self.n = len(pclip.payloads)
        self.subscribers: set[Subscriber] = set()
        self.next_k: int | None = None
        self.task: asyncio.Task[None] | None = None
        self._cache: dict[int, BuiltAU] = {}
        self.late_ticks = 0
        self.skipped_frames = 0
        self.emitted = 0
        self._keep = self.gop_span() + 2  # enough AUs for a join at the last keyframe

    # --- the timeline as pure functions of the AU index k ---
    def index_at(self, t: float) -> int:
        return int((t - self.epoch) * self.fps)

    def seq_of(self, k: int) -> int:
        loops, i = divmod(k, self.n)
        return (self.seq_base + loops * self.pclip.loop_packets + self.pclip.seq_prefix[i]) & 0xFFFF

    def ts_of(self, k: int) -> int:
        return (self.ts_base + round(k * 90000 / self.fps)) & 0xFFFFFFFF

    def ts_at(self, t: float) -> int:
        """RTP timestamp corresponding to loop time t (for RTCP SR)."""
        return (self.ts_base + round((t - self.epoch) * 90000)) & 0xFFFFFFFF

    def frame_ticks(self) -> int:
        return round(90000 / self.fps)

    def last_keyframe(self, k: int) -> int:
        loops, i = divmod(k, self.n)
        pos = self.pclip.keyframe_positions
        j = bisect.bisect_right(pos, i) - 1
        return loops * self.n + pos[j] if j >= 0 else (loops - 1) * self.n + pos[-1]

    def au(self, k: int) -> BuiltAU:
        built = self._cache.get(k)
        if built is not None:
            return built
        i = k % self.n
        payloads = self.pclip.payloads[i]
        seq0, ts = self.seq_of(k), self.ts_of(k)
        last = len(payloads) - 1
        pkts = tuple(
            rtp_header(PAYLOAD_TYPE, j == last, seq0 + j, ts, self.ssrc) + p for j, p in enumerate(payloads)
        )
        built = BuiltAU(k, self.pclip.clip.access_units[i].keyframe, seq0, ts, pkts, sum(len(p) for p in payloads))
        self._cache[k] = built
        if len(self._cache) > self._keep + 8:
            oldest = k - self._keep
            for old in [x for x in self._cache if x < oldest]:
                del self._cache[old]
        return built

    def gop_span(self) -> int:
        pos = self.pclip.keyframe_positions
        gaps = [b - a for a, b in zip(pos, pos[1:])] + [self.n - pos[-1] + pos[0]]
        return max(gaps)

    # --- subscription ---
    def start_point(self, now: float, at_keyframe: bool) -> tuple[int, int]:
        """(first index the subscriber gets, index of the next live AU) for a client joining now."""
        nxt = self.next_k if self.task is not None and self.next_k is not None else self.index_at(now) + 1
        if at_keyframe:
            return self.last_keyframe(nxt - 1), nxt
        return nxt, nxt

    def subscribe(self, sub: Subscriber, now: float, next_k: int | None = None) -> None:
        """Deliver live AUs to ``sub``; ``next_k`` (from `start_point`) pins where a stopped channel resumes."""
        self.subscribers.add(sub)
        if self.task is None:
            self.next_k = next_k if next_k is not None else self.index_at(now) + 1
            self.task = asyncio.get_running_loop().create_task(self._run(), name="sim-channel")

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.subscribers:
                assert self.next_k is not None
                due = self.epoch + self.next_k / self.fps
                now = loop.time()
                if due > now:
                    await asyncio.sleep(due - now)
                    now = loop.time()
                elif now - due > MAX_CATCH_UP_S:
                    target = self.index_at(now)
                    self.skipped_frames += target - self.next_k
                    self.next_k = target
                elif now - due > 1 / self.fps:
                    self.late_ticks += 1
                # Frames already due (the loop was late) go out together: one write per client instead
                # of one per frame, so a starved simulator catches up cheaply instead of falling behind.
                last_due = min(self.index_at(now), self.next_k + MAX_BATCH - 1)
                ks = range(self.next_k, max(self.next_k, last_due) + 1)
                self.next_k = ks[-1] + 1
                aus = [self.au(k) for k in ks]
                self.emitted += len(aus)
                for sub in list(self.subscribers):
                    try:
                        sub.on_aus(self, aus, now)
                    except Exception:  # one broken client must not stop the camera
                        log.exception("subscriber failed; dropping it")
                        self.subscribers.discard(sub)
        finally:
            self.task = None

    def stop(self) -> None:
        self.subscribers.clear()
        if self.task is not None:
            self.task.cancel()
