"""What each fault profile changes: the clip a stream serves, and the malformed replies of `garbage`."""

from __future__ import annotations

import random

from camcheck.simulator.fleet import LOOK_FAULTS, CameraConfig, FaultSpec, StreamSpec
from camcheck.simulator.media import ClipSpec

# Faults under which a camera sends no RTP although PLAY succeeded (or never gets that far).
SILENT_FAULTS = frozenset({"no_frames", "blackhole"})


def delivered_spec(stream: StreamSpec, fault: FaultSpec) -> tuple[int, int, float]:
    """(width, height, fps) the camera really sends under ``fault`` for a stream configured as ``stream``."""
    width, height, fps = stream.width, stream.height, stream.fps
    if fault.fault == "low_fps":
        fps = fault.fps if fault.fps else max(1.0, round(stream.fps / 5, 3))
    elif fault.fault == "wrong_resolution":
        if fault.width and fault.height:
            width, height = fault.width, fault.height
        else:
            width, height = max(16, stream.width // 4 * 2), max(16, stream.height // 4 * 2)
    return width, height, fps


def clip_spec(camera: CameraConfig, stream_name: str, fault: FaultSpec) -> ClipSpec:
    """The media clip a camera's stream serves under a fault; equal specs share one encoded clip."""
    stream = camera.stream(stream_name)
    width, height, fps = delivered_spec(stream, fault)
    # Keep the GOP's duration when the frame rate drops, as an encoder with a time-based GOP would.
    gop = stream.gop if fps == stream.fps else max(1, round(stream.gop * fps / stream.fps))
    look = LOOK_FAULTS.get(fault.fault, "normal")
    return ClipSpec(
        codec=stream.codec,
        width=width,
        height=height,
        fps=fps,
        gop=gop,
        bitrate_kbps=stream.bitrate_kbps,
        scene=camera.scene,
        look=look,  # type: ignore[arg-type]
        camera_name=osd_name(camera),
    )


def osd_name(camera: CameraConfig) -> str:
    """Text for the OSD: `osd_text`, else the name if the OSD font can draw it, else the id."""
    if camera.osd_text:
        return camera.osd_text[:40]
    name = camera.name
    return name if name.isascii() and 0 < len(name) <= 40 else camera.id[:40]


_GARBAGE = (
    b"RTSP/1.0 2OO OK\r\nCSeq %s\r\nContent-Length: -7\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>camera</html>\r\n\r\n",
    b"\x00\x13\xff\xfeRTSP/9.9 999\r\n\r\n",
    b"RTSP/1.0 200\r\nCSeq: %s\r\nContent-Length: 99999\r\n\r\nv=0\r\n",
    b"RTSP/1.0\r\n\r\n",
)


def garbage_response(cseq: str, rng: random.Random | None = None) -> bytes:
    """A malformed RTSP response, like broken firmware sends: bad status, wrong protocol, binary junk."""
    template = (rng or random).choice(_GARBAGE)
    return template.replace(b"%s", cseq.encode("ascii", "replace")[:16])
