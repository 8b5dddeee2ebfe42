"""What a stream probe returns: facts about one check of one camera, ready to serialise.

These names are part of camcheck's public JSON (``camcheck probe --json``) and of what the
daemon stores; keep them stable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from camcheck.secrets import Secret

Verdict = Literal["working", "degraded", "broken"]
Transport = Literal["tcp", "udp"]

# Why a check could not prove the camera works. Exactly one, or None.
FAILURES: tuple[str, ...] = (
    "dns",
    "unreachable",
    "refused",
    "timeout_connect",
    "timeout_response",
    "auth_failed",
    "not_found",
    "session_limit",
    "rtsp_error",
    "no_video_track",
    "no_frames",
    "stalled",
    "decode_failed",
    "protocol_error",
)

# What is wrong with a stream that does deliver pictures.
IMAGE_FINDINGS: tuple[str, ...] = ("frozen", "black", "dark", "covered", "blurred", "overexposed", "scene_changed")
STREAM_FINDINGS: tuple[str, ...] = ("low_fps", "packet_loss", "resolution_mismatch")
FINDINGS: tuple[str, ...] = IMAGE_FINDINGS + STREAM_FINDINGS

# Findings that make a delivering camera useless (broken) rather than merely degraded.
BROKEN_FINDINGS: frozenset[str] = frozenset({"frozen", "black", "covered"})

EXIT_CODES: dict[str, int] = {"working": 0, "degraded": 1, "broken": 2}


@dataclass(frozen=True)
class RtspTarget:
    """One camera stream to check. ``url`` carries no credentials; they travel separately."""

    url: str
    username: str | None = None
    password: Secret | None = None
    transport: Transport = "tcp"
    # Registered/configured claims the probe can check on the spot (None = not claimed).
    expected_width: int | None = None
    expected_height: int | None = None
    expected_fps: float | None = None
    # Reference picture of the camera's normal view (JPEG/PNG bytes) for scene_changed.
    reference_image: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RtspSettings:
    """How to check. The deadline passed beside these bounds everything."""

    window: float = 2.0  # seconds of RTP to read after PLAY
    want_snapshot: bool = False  # return a JPEG of the decoded keyframe
    snapshot_max_width: int = 1280
    user_agent: str = "camcheck"
    # Seconds to wait after the first keyframe for a second one (the frozen test compares them);
    # None = default_keyframe_wait(window). Cameras with long GOPs ("smart" codecs) need more.
    keyframe_wait: float | None = None
    # rtsps:// only. Cameras mostly carry self-signed certificates: verifying is a choice, with the
    # system's CAs or `tls_ca_file` (the fleet's own CA).
    tls_verify: bool = False
    tls_ca_file: str | None = None

    def __post_init__(self) -> None:
        w = self.keyframe_wait
        if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w <= 600):
            raise ValueError(f"keyframe_wait must be None or seconds in (0, 600], not {w!r}")


def default_keyframe_wait(window: float) -> float:
    """How long a check waits for a second keyframe by default: one GOP of a typical camera."""
    return max(2 * window, 4.0)


@dataclass
class Timings:
    """Seconds from the start of the check to each step's completion (None = not reached)."""

    connect: float | None = None
    describe: float | None = None
    setup: float | None = None
    play: float | None = None
    first_packet: float | None = None
    first_frame: float | None = None


@dataclass
class StreamFacts:
    codec: str | None = None  # "h264" | "h265"
    width: int | None = None
    height: int | None = None
    fps: float | None = None  # measured from the RTP timestamps/arrivals of whole frames
    fps_declared: float | None = None  # from SDP a=framerate (or SPS timing) when present
    gop_s: float | None = None  # measured keyframe interval
    # Only one keyframe came: the interval is longer than this (first keyframe to last frame read).
    gop_min_s: float | None = None
    bitrate_kbps: float | None = None
    packet_loss: float | None = None  # fraction of RTP packets missing by sequence number
    keyframe_bytes: int | None = None
    frames: int | None = None  # whole frames received in the window
    packets: int | None = None
    transport: str | None = None


@dataclass
class Observation:
    url: str  # credentials masked
    verdict: Verdict
    failure: str | None = None
    message: str = ""  # one human sentence: what was seen, what is wrong
    timings: Timings = field(default_factory=Timings)
    stream: StreamFacts = field(default_factory=StreamFacts)
    image: dict[str, float | None] = field(default_factory=dict)  # the measures the verdict used
    findings: list[str] = field(default_factory=list)
    started_at: float = 0.0  # wall clock, UNIX seconds
    duration: float = 0.0  # seconds the whole check took
    snapshot_jpeg: bytes | None = field(default=None, repr=False)  # not serialised
    # K1's coarse luma grid (image.picture_signature_change): the status machine compares it across
    # checks (verdict.unchanged); not serialised
    signature: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("snapshot_jpeg", None)
        d.pop("signature", None)
        return d


def verdict_for(failure: str | None, findings: list[str]) -> Verdict:
    """The single-check verdict: broken on any failure or a useless picture, degraded on any
    other finding, working otherwise. The daemon confirms across checks before changing status."""
    if failure is not None or any(f in BROKEN_FINDINGS for f in findings):
        return "broken"
    if findings:
        return "degraded"
    return "working"
