"""Reading a camera's SDP (RFC 8866): which video track to set up, its codec and parameter sets.

Only what a probe needs: the first H.264/H.265 video media, its control URL resolved the way
cameras expect, sprop parameter sets, the clock rate and a declared frame rate.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

# Encoding names (rtpmap) camcheck decodes, mapped to its codec names.
SUPPORTED_CODECS: dict[str, str] = {"H264": "h264", "H265": "h265", "HEVC": "h265"}
# Static payload types of video codecs camcheck does not decode (RFC 3551), for a clear message.
STATIC_VIDEO_PT: dict[int, str] = {26: "JPEG", 31: "H261", 32: "MPV", 34: "H263"}


class SdpError(ValueError):
    """The SDP has no usable video track (message says why, without credentials)."""


@dataclass
class VideoTrack:
    codec: str  # "h264" | "h265"
    payload_type: int
    clock_rate: int
    control_url: str  # absolute URL for SETUP
    parameter_sets: list[bytes] = field(default_factory=list)  # NAL units (no start codes) from fmtp
    fmtp: dict[str, str] = field(default_factory=dict)
    framerate: float | None = None  # a=framerate (media or session level)


@dataclass
class SessionDescription:
    aggregate_url: str  # absolute URL for PLAY/TEARDOWN
    video: VideoTrack
    media_kinds: list[str]  # every m= line's media and encoding, for messages


def _join_control(base: str, control: str) -> str:
    """Resolve a=control the way cameras and common clients do (live555, ffmpeg): an absolute URL
    is used as is, a relative one is appended to the base with one '/' between."""
    control = control.strip()
    if not control or control == "*":
        return base
    if "://" in control:
        return control
    if base.endswith("/"):
        return base + control.lstrip("/")
    return base + "/" + control.lstrip("/")


def _parse_framerate(value: str) -> float | None:
    try:
        fps = float(value.strip())
    except ValueError:
        return None
    return fps if 0 < fps <= 1000 else None


def _b64(value: str) -> bytes | None:
    value = value.strip()
    if not value:
        return None
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def _parameter_sets(codec: str, fmtp: dict[str, str]) -> list[bytes]:
    out: list[bytes] = []
    if codec == "h264":
        for part in fmtp.get("sprop-parameter-sets", "").split(","):
            nal = _b64(part)
            if nal:
                out.append(nal)
    else:
        for key in ("sprop-vps", "sprop-sps", "sprop-pps"):
            for part in fmtp.get(key, "").split(","):
                nal = _b64(part)
                if nal:
                    out.append(nal)
    return out


def parse_sdp(text: str, base_url: str) -> SessionDescription:
    """Parse ``text``; ``base_url`` is Content-Base, else Content-Location, else the DESCRIBE URL.

    Raises SdpError when there is no H.264/H.265 video track (message names what there is).
    """
    session_control: str | None = None
    session_framerate: float | None = None
    medias: list[dict] = []
    current: dict | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            parts = value.split()
            pts: list[int] = []
            for p in parts[3:]:
                if p.isdigit():
                    pts.append(int(p))
            current = {"media": parts[0].lower() if parts else "", "pts": pts, "rtpmap": {}, "fmtp": {},
                       "control": None, "framerate": None}
            medias.append(current)
            continue
        if kind != "a":
            continue
        name, _, attr = value.partition(":")
        name = name.strip().lower()
        if current is None:
            if name == "control":
                session_control = attr
            elif name in ("framerate", "x-framerate"):
                session_framerate = _parse_framerate(attr)
            continue
        if name == "control":
            current["control"] = attr
        elif name in ("framerate", "x-framerate"):
            current["framerate"] = _parse_framerate(attr)
        elif name == "rtpmap":
            pt_s, _, enc = attr.partition(" ")
            if pt_s.strip().isdigit():
                enc_name, _, rest = enc.strip().partition("/")
                clock_s = rest.partition("/")[0]
                current["rtpmap"][int(pt_s)] = (enc_name.upper(), int(clock_s) if clock_s.isdigit() else 0)
        elif name == "fmtp":
            pt_s, _, params = attr.partition(" ")
            if pt_s.strip().isdigit():
                d: dict[str, str] = {}
                for item in params.split(";"):
                    k, sep, v = item.strip().partition("=")
                    if sep:
                        d[k.strip().lower()] = v.strip()
                current["fmtp"][int(pt_s)] = d

    aggregate = _join_control(base_url, session_control) if session_control else base_url
    kinds: list[str] = []
    unsupported: list[str] = []
    for m in medias:
        encs = [m["rtpmap"].get(pt, (STATIC_VIDEO_PT.get(pt, f"payload {pt}"), 90000))[0] for pt in m["pts"]]
        kinds.append(f"{m['media']} {'/'.join(encs) or '?'}")
        if m["media"] != "video":
            continue
        for pt in m["pts"]:
            enc, clock = m["rtpmap"].get(pt, (STATIC_VIDEO_PT.get(pt, ""), 90000))
            codec = SUPPORTED_CODECS.get(enc)
            if codec is None:
                unsupported.append(enc or f"payload type {pt}")
                continue
            fmtp = m["fmtp"].get(pt, {})
            control = _join_control(base_url, m["control"]) if m["control"] is not None else base_url
            track = VideoTrack(
                codec=codec,
                payload_type=pt,
                clock_rate=clock or 90000,
                control_url=control,
                parameter_sets=_parameter_sets(codec, fmtp),
                fmtp=fmtp,
                framerate=m["framerate"] or session_framerate,
            )
            return SessionDescription(aggregate_url=aggregate, video=track, media_kinds=kinds)
    if unsupported:
        names = ", ".join(sorted(set(unsupported)))
        hint = " (MJPEG)" if "JPEG" in unsupported else ""
        raise SdpError(
            f"the camera offers video only as {names}{hint}, which camcheck does not decode; "
            "configure the stream as H.264 or H.265"
        )
    if kinds:
        raise SdpError(f"no video track in the stream description (it has: {'; '.join(kinds)})")
    raise SdpError("no media in the stream description")
