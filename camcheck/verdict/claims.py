"""Registered claims vs measured facts.

The registry's values are claims (what the survey says the camera does); the probe and the ONVIF
collector measure facts. Every gap becomes a ClaimFinding that keeps both values side by side, so
the registry's claim is never overwritten by a measurement.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ClaimKey = Literal[
    "resolution_below_claim",
    "resolution_differs_from_claim",
    "max_resolution_below_claim",
    "fps_below_claim",
    "retention_below_claim",
    "codec_mismatch",
    "format_mismatch",
]
StreamRole = Literal["main", "sub"]


class RegisteredClaims(BaseModel):
    """What the registry says (survey fields 7-11). None = not claimed, nothing to compare."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    width: int | None = Field(None, gt=0)  # resolution of the recorded picture
    height: int | None = Field(None, gt=0)
    max_width: int | None = Field(None, gt=0)  # maximum recording resolution
    max_height: int | None = Field(None, gt=0)
    fps: float | None = Field(None, gt=0)
    retention_days: float | None = Field(None, gt=0)
    codec: str | None = None
    recording_format: str | None = None


class MeasuredFacts(BaseModel):
    """What was measured. ``stream_role`` says whether width/height/fps come from the main stream
    (the recorded one, comparable to the claims) or a sub-stream (not comparable: skipped)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    stream_role: StreamRole = "main"
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    fps: float | None = Field(None, ge=0)
    codec: str | None = None
    packet_loss: float | None = Field(None, ge=0, le=1)
    bitrate_kbps: float | None = Field(None, ge=0)
    max_width: int | None = Field(None, gt=0)  # from the encoder's options (ONVIF)
    max_height: int | None = Field(None, gt=0)
    retention_days: float | None = Field(None, ge=0)  # age of the oldest recording kept
    recording_format: str | None = None


class ClaimTolerance(BaseModel):
    """How far a measurement may fall short of its claim before it is a finding.

    Decisions: fps may be up to 10 % or 1 fps low, whichever is larger (cameras report 25 and
    deliver 24.6; 12.5 fps claims measure 12); resolution must be *at least* the claim (a 4MP stream
    where 1080p is registered is not a problem; "exact" is available for audits that want it);
    retention may be a day short (the oldest recording of a 30-day recorder is ~29.x days old).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    fps_rel: float = Field(0.10, ge=0, lt=1)
    fps_abs: float = Field(1.0, ge=0)
    resolution: Literal["at_least", "exact"] = "at_least"
    retention_days_abs: float = Field(1.0, ge=0)


class ClaimFinding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    key: ClaimKey
    field: str  # the registry field compared
    claimed: str | float | int
    measured: str | float | int
    message: str


_CODEC_ALIASES = {
    "h264": "h264",
    "avc": "h264",
    "h265": "h265",
    "hevc": "h265",
    "mjpeg": "mjpeg",
    "mjpg": "mjpeg",
    "jpeg": "mjpeg",
    "mpeg4": "mpeg4",
    "h265+": "h265",
    "h264+": "h264",
}


def normalise_codec(value: str) -> str:
    """"H.264", "h264", "AVC" -> "h264"; unknown names are lower-cased without dots/spaces."""
    key = re.sub(r"[\s._\-]", "", value.strip().lower())
    return _CODEC_ALIASES.get(key, key)


def normalise_format(value: str) -> str:
    """".MP4", "mp4 " -> "mp4". Codec names written as a file format are normalised as codecs."""
    key = value.strip().lower().lstrip(".")
    return normalise_codec(key) if normalise_codec(key) in set(_CODEC_ALIASES.values()) else key


def _fmt_res(w: int, h: int) -> str:
    return f"{w}x{h}"


# What only a check of the main (recorded) stream compares (compare_claims): a sub-stream check
# neither sees nor clears them.
MAIN_STREAM_FINDINGS: frozenset[str] = frozenset(
    {"resolution_below_claim", "resolution_differs_from_claim", "fps_below_claim", "codec_mismatch"})


def compare_claims(
    claims: RegisteredClaims, measured: MeasuredFacts, tolerance: ClaimTolerance | None = None
) -> list[ClaimFinding]:
    """Every claim the measurement contradicts. A claim or a measurement that is missing is not
    compared (no finding): absence of evidence is reported elsewhere (failures, no_profile_g)."""
    tol = tolerance or ClaimTolerance()
    out: list[ClaimFinding] = []

    if measured.stream_role == "main":
        if claims.width and claims.height and measured.width and measured.height:
            cw, ch, mw, mh = claims.width, claims.height, measured.width, measured.height
            if mw < cw or mh < ch:
                out.append(
                    ClaimFinding(
                        key="resolution_below_claim",
                        field="resolution",
                        claimed=_fmt_res(cw, ch),
                        measured=_fmt_res(mw, mh),
                        message=f"stream is {mw}x{mh}, registry says {cw}x{ch}",
                    )
                )
            elif tol.resolution == "exact" and (mw, mh) != (cw, ch):
                out.append(
                    ClaimFinding(
                        key="resolution_differs_from_claim",
                        field="resolution",
                        claimed=_fmt_res(cw, ch),
                        measured=_fmt_res(mw, mh),
                        message=f"stream is {mw}x{mh}, registry says exactly {cw}x{ch}",
                    )
                )
        if claims.fps and measured.fps is not None:
            allowed = max(claims.fps * tol.fps_rel, tol.fps_abs)
            if measured.fps < claims.fps - allowed:
                out.append(
                    ClaimFinding(
                        key="fps_below_claim",
                        field="fps",
                        claimed=claims.fps,
                        measured=round(measured.fps, 2),
                        message=f"stream runs at {measured.fps:.1f} fps, registry says {claims.fps:g} fps",
                    )
                )

    if claims.max_width and claims.max_height and measured.max_width and measured.max_height:
        if measured.max_width < claims.max_width or measured.max_height < claims.max_height:
            out.append(
                ClaimFinding(
                    key="max_resolution_below_claim",
                    field="max_resolution",
                    claimed=_fmt_res(claims.max_width, claims.max_height),
                    measured=_fmt_res(measured.max_width, measured.max_height),
                    message=(
                        f"encoder offers at most {measured.max_width}x{measured.max_height}, "
                        f"registry says {claims.max_width}x{claims.max_height}"
                    ),
                )
            )

    if claims.retention_days and measured.retention_days is not None:
        if measured.retention_days < claims.retention_days - tol.retention_days_abs:
            out.append(
                ClaimFinding(
                    key="retention_below_claim",
                    field="retention_days",
                    claimed=claims.retention_days,
                    measured=round(measured.retention_days, 2),
                    message=(
                        f"recorder keeps {measured.retention_days:.1f} days, "
                        f"registry says {claims.retention_days:g} days"
                    ),
                )
            )

    if claims.codec and measured.codec and measured.stream_role == "main":
        if normalise_codec(claims.codec) != normalise_codec(measured.codec):
            out.append(
                ClaimFinding(
                    key="codec_mismatch",
                    field="codec",
                    claimed=claims.codec,
                    measured=measured.codec,
                    message=f"stream is {measured.codec}, registry says {claims.codec}",
                )
            )

    if claims.recording_format and measured.recording_format:
        if normalise_format(claims.recording_format) != normalise_format(measured.recording_format):
            out.append(
                ClaimFinding(
                    key="format_mismatch",
                    field="recording_format",
                    claimed=claims.recording_format,
                    measured=measured.recording_format,
                    message=f"recorder writes {measured.recording_format}, registry says {claims.recording_format}",
                )
            )
    return out
