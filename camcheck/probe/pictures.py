"""The pictures a stream probe decodes and analyses, in two passes (worker-thread functions).

First pass (``first_pass``), started on a worker as soon as the first keyframe K1 and the frames after
it are in, while the probe goes on reading (on the probe's own thread: once reading is over): decode
K1, then the frames after it one by one until one proves motion (``image.MotionProof``), and
measure K1 (``image.analyse_first``). Only K1's measures and two small views of it outlive the pass
(~0.2 MB), never a decoded frame.

Second pass (``second_pass``), after TEARDOWN: decode the last keyframe K2 of the window only when
the first pass did not prove motion (K2 serves the frozen test alone, which motion rules out) and
complete the analysis (``image.analyse_second``). (The probe still waits for K2 to arrive: it
also gives the measured keyframe interval.)

Both are blocking. The probe runs them through ``run_pass``: on its own (event-loop) thread when
the stream's pictures are small, on this module's threads otherwise. Neither raises for a camera's
fault: what did not decode is in ``errors``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from camcheck.probe.decode import Picture, decode_batches
from camcheck.probe.image import (
    DecodedFrame,
    FirstKeyframe,
    ImageAnalysis,
    MotionProof,
    analyse_first,
    analyse_second,
    load_reference,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
_threads: ThreadPoolExecutor | None = None


def in_thread(fn: Callable[..., T], *args: object) -> Future[T]:
    """Run a pass on the picture threads (as many as asyncio's default executor would have).

    A plain ``concurrent.futures.Future``: unlike ``asyncio.to_thread`` it does not wake the event
    loop when the pass ends, which matters for the first pass: it ends while the probe sleeps
    between reads, and on a VM every wake-up of an idle thread costs 65-300 us of CPU. The probe
    looks at it when it needs it (``asyncio.wrap_future`` if it is not done yet)."""
    global _threads
    if _threads is None:
        _threads = ThreadPoolExecutor(min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="camcheck-pictures")
    return _threads.submit(fn, *args)


# Pictures up to this many pixels (PAL D1, the usual sub-stream) are decoded on the probe's own
# thread: a 640x360 first pass blocks the event loop for ~3-4 ms, and handing it to a worker cost
# ~1-1.5 ms more CPU per check (the worker's wake-up, its cold caches, the two threads trading the
# GIL while the probe keeps reading; measured alternating both ways, 11.1 vs 9.2-9.9 ms per 360p
# check). Bigger pictures block the loop for tens of ms: they go to the threads, where they also
# use the second core.
INLINE_MAX_PIXELS = 720 * 576


def runs_inline(pixels: int | None) -> bool:
    """Whether ``run_pass`` runs a pass of pictures of this many pixels here and now."""
    return pixels is not None and 0 < pixels <= INLINE_MAX_PIXELS


def run_pass(pixels: int | None, fn: Callable[..., T], *args: object) -> Future[T]:
    """Run a pass where it costs least: here and now when the picture is known to have at most
    INLINE_MAX_PIXELS pixels (the future is done on return), else ``in_thread``. Exceptions end
    up in the future either way."""
    if not runs_inline(pixels):
        return in_thread(fn, *args)
    fut: Future[T] = Future()
    try:
        fut.set_result(fn(*args))
    except Exception as exc:  # noqa: BLE001 - delivered to the caller like a thread's exception
        fut.set_exception(exc)
    return fut


Unit = tuple[bytes, int, bool]  # annex-b access unit, RTP timestamp (unwrapped), keyframe


@dataclass(frozen=True)
class PictureJob:
    """What both passes need besides the access units."""

    codec: str
    clock_rate: int
    want_snapshot: bool = False
    snapshot_max_width: int = 1280
    reference_image: bytes | None = None
    url: str = ""  # masked, for log messages

    def reference(self):  # noqa: ANN201 - np.ndarray | None
        if not self.reference_image:
            return None
        try:
            return load_reference(self.reference_image)
        except ValueError as exc:
            log.warning("%s: reference image ignored: %s", self.url, exc)
            return None


@dataclass
class FirstPass:
    first: FirstKeyframe | None  # None: K1 did not decode
    moving: bool  # a frame after K1 proved motion: K2 is not needed
    timestamp: int | None = None  # K1's RTP timestamp
    width: int | None = None
    height: int | None = None
    snapshot_jpeg: bytes | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class SecondPass:
    analysis: ImageAnalysis | None  # None: no picture decoded at all
    width: int | None = None
    height: int | None = None
    snapshot_jpeg: bytes | None = None
    errors: list[str] = field(default_factory=list)


def _frame(p: Picture, t0: int, clock: int) -> DecodedFrame:
    return DecodedFrame(image=p.luma, t=(p.timestamp - t0) / clock, keyframe=p.keyframe)


def first_pass(job: PictureJob, k1_and_after: list[Unit]) -> FirstPass:
    """Decode K1 and as many frames after it as it takes to prove motion; measure K1."""
    proof: MotionProof | None = None
    moving = False

    def enough(k1: Picture, last: Picture) -> bool:
        nonlocal proof, moving
        if not k1.keyframe:  # K1 did not decode: what came out of the frames after it proves nothing
            return True
        try:
            if proof is None:
                proof = MotionProof(DecodedFrame(image=k1.luma, t=0.0, keyframe=True))
            moving = proof.shows_motion(DecodedFrame(image=last.luma, t=0.0, keyframe=False))
        except ValueError:  # e.g. a picture too small to analyse: analyse_first says so
            return True
        return moving

    out = decode_batches(job.codec, [k1_and_after], job.want_snapshot, job.snapshot_max_width, enough)
    pictures, out.pictures = out.pictures, []
    result = FirstPass(first=None, moving=False, width=out.width, height=out.height,
                       snapshot_jpeg=out.snapshot_jpeg, errors=list(out.errors or []))
    if not pictures or not pictures[0].keyframe:
        return result
    t0 = pictures[0].timestamp
    frames = [_frame(p, t0, job.clock_rate) for p in pictures]
    del pictures
    try:
        result.first = analyse_first(frames[0], frames[1:], job.reference(), proof=proof)
    except ValueError as exc:
        result.errors.append(str(exc))
        return result
    result.moving = moving
    result.timestamp = t0
    return result


def second_pass(job: PictureJob, first: FirstPass, k2: Unit | None, empty: float | None = None) -> SecondPass:
    """Complete the analysis: with K2 (decoded here) when given, else with K1 alone, and with the
    window's empty_frames fraction (`empty`). When K1 did not decode, K2 stands in as the only picture."""
    result = SecondPass(analysis=None, width=first.width, height=first.height,
                        snapshot_jpeg=first.snapshot_jpeg, errors=list(first.errors))
    picture = None
    if k2 is not None:
        out = decode_batches(job.codec, [[k2]], job.want_snapshot, job.snapshot_max_width)
        result.errors += out.errors or []
        if out.pictures and out.pictures[0].keyframe:
            picture = out.pictures[0]
            result.width, result.height = out.width, out.height
            result.snapshot_jpeg = out.snapshot_jpeg or result.snapshot_jpeg
    try:
        if first.first is not None:
            last = _frame(picture, first.timestamp or 0, job.clock_rate) if picture is not None else None
            result.analysis = analyse_second(first.first, last, empty)
        elif picture is not None:
            result.analysis = analyse_second(analyse_first(_frame(picture, picture.timestamp, job.clock_rate),
                                                           (), job.reference()), None, empty)
    except ValueError as exc:
        result.errors.append(str(exc))
    return result
