"""Decoding the few access units a probe keeps, with PyAV's bare codec (no demuxer, no probing).

Runs in a worker thread (`pictures.in_thread`) for pictures bigger than a sub-stream's: libavcodec
releases the GIL while it decodes, so hundreds of concurrent probes share the cores instead of
queueing on the interpreter (small pictures decode on the probe's thread: `pictures.run_pass`).
Each batch (a keyframe and the frames that depend on it) gets a fresh single-threaded decoder:
frame threading would only add latency and buffering for the one or few pictures we need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

CODEC_NAMES = {"h264": "h264", "h265": "hevc"}

# Pixel formats whose first plane is 8-bit luma we can view without conversion.
_LUMA8_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"})


@dataclass
class Picture:
    luma: np.ndarray  # uint8 HxW
    timestamp: int  # RTP timestamp (unwrapped) of the access unit
    keyframe: bool


@dataclass
class DecodeOutput:
    pictures: list[Picture]
    width: int | None = None
    height: int | None = None
    snapshot_jpeg: bytes | None = None
    errors: list[str] | None = None  # decoder errors, for the message when nothing decoded


def _luma(frame: av.VideoFrame) -> np.ndarray:
    if frame.format.name in _LUMA8_FORMATS:
        # A view of the decoder's Y plane (row stride = line size), no copy: the array keeps the
        # plane, hence the refcounted frame buffer, alive for as long as the analysis needs it.
        plane = frame.planes[0]
        arr = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return arr[: frame.height, : frame.width]
    return frame.to_ndarray(format="gray")  # e.g. 10-bit HEVC: let swscale reduce it


def _jpeg(frame: av.VideoFrame, max_width: int) -> bytes | None:
    import cv2  # only when a snapshot is asked for

    w, h = frame.width, frame.height
    if max_width and w > max_width:
        h = max(2, round(h * max_width / w / 2) * 2)
        w = max_width
    bgr = frame.reformat(width=w, height=h, format="bgr24").to_ndarray()
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else None


def decode_batches(
    codec: str,
    batches: list[list[tuple[bytes, int, bool]]],
    want_snapshot: bool = False,
    snapshot_max_width: int = 1280,
    enough: Callable[[Picture, Picture], bool] | None = None,
) -> DecodeOutput:
    """Decode each batch of (annex-b access unit, rtp timestamp, keyframe) in a fresh decoder.

    ``enough(first picture, latest picture)`` is asked after every picture that follows the first
    one; True ends all decoding there (the probe stops as soon as a frame after the first keyframe
    proves motion: the remaining frames and the second keyframe would only serve the frozen test).
    With ``enough``, ``pictures`` keeps only the first and the latest picture: each one in between
    is let go once judged, so the decoder recycles its buffer instead of touching fresh memory for
    the next (at 1080p that page-faulting cost as much as decoding a P-frame). The snapshot is
    taken from the last keyframe decoded (the freshest picture), encoded once at the end.
    Blocking: the probe calls it through ``pictures.run_pass``.
    """
    out = DecodeOutput(pictures=[], errors=[])
    snapshot: list[av.VideoFrame] = []  # the last keyframe decoded, when a snapshot is wanted
    for batch in batches:
        if batch and _decode_batch(codec, batch, out, snapshot if want_snapshot else None, enough):
            break
    if snapshot:
        out.snapshot_jpeg = _jpeg(snapshot[-1], snapshot_max_width)
    return out


def _decode_batch(
    codec: str,
    batch: list[tuple[bytes, int, bool]],
    out: DecodeOutput,
    snapshot: list[av.VideoFrame] | None,
    enough: Callable[[Picture, Picture], bool] | None,
) -> bool:
    """Decode one batch in a fresh decoder into ``out``; True when ``enough`` ended decoding."""
    ctx = av.CodecContext.create(CODEC_NAMES[codec], "r")
    ctx.thread_count = 1
    # No deblocking for the P-frames after the keyframe (keyframes stay exact): about a third
    # less decoding for them. A frozen stream's P-frames are skip blocks, which deblocking does
    # not touch, so the frozen test sees the same pictures; live ones only differ a bit more.
    ctx.options = {"skip_loop_filter": "nokey"}
    keyframes = {ts: key for _, ts, key in batch}
    for packet in [*(_packet(data, ts) for data, ts, _key in batch), None]:  # None drains
        try:
            frames = ctx.decode(packet)
        except av.FFmpegError as exc:
            out.errors.append(str(exc))
            continue
        for frame in frames:
            ts = frame.pts if frame.pts is not None else batch[0][1]
            key = keyframes.get(ts, bool(frame.key_frame))
            pictures = out.pictures
            if enough is not None and len(pictures) > 1:
                del pictures[1:]  # the previous latest was judged not enough: let it go
            pictures.append(Picture(_luma(frame), ts, key))
            out.width, out.height = frame.width, frame.height
            if key and snapshot is not None:
                snapshot[:] = [frame]
            del frame  # the picture's view holds the buffer; no other reference may
            if enough is not None and len(pictures) > 1 and enough(pictures[0], pictures[-1]):
                return True
        frames = None  # before the next decode, which may then reuse this frame's buffer
    return False


def _packet(data: bytes, ts: int) -> av.Packet:
    packet = av.Packet(data)
    packet.pts = ts
    return packet
