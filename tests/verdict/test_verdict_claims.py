"""Registered claims vs measured facts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from verdict_helpers import T0, Driver

from camcheck.verdict import CheckOutcome, ClaimTolerance, MeasuredFacts, RegisteredClaims, Status, compare_claims

FULL_HD_25 = RegisteredClaims(width=1920, height=1080, fps=25, retention_days=30, codec="H.264", recording_format="MP4")


def keys(findings: list) -> list[str]:
    return [f.key for f in findings]


def test_720p_at_12fps_where_1080p_at_25_is_registered() -> None:
    out = compare_claims(FULL_HD_25, MeasuredFacts(width=1280, height=720, fps=12.0, codec="h264"))
    assert keys(out) == ["resolution_below_claim", "fps_below_claim"]
    res, fps = out
    assert (res.claimed, res.measured, res.field) == ("1920x1080", "1280x720", "resolution")
    assert (fps.claimed, fps.measured) == (25.0, 12.0)
    assert "12.0 fps" in fps.message and "25 fps" in fps.message


def test_retention_3_days_where_30_are_registered() -> None:
    out = compare_claims(FULL_HD_25, MeasuredFacts(retention_days=3.2))
    assert keys(out) == ["retention_below_claim"]
    assert (out[0].claimed, out[0].measured) == (30.0, 3.2)
    assert compare_claims(FULL_HD_25, MeasuredFacts(retention_days=29.4)) == []  # a day's slack


@pytest.mark.parametrize(
    "claimed, measured, finding",
    [
        (25, 24.6, False),
        (25, 22.5, False),  # exactly 10 % low
        (25, 22.4, True),
        (12.5, 11.3, False),  # 10 % of 12.5 = 1.25 fps
        (12.5, 11.2, True),
        (5, 4.0, False),  # 1 fps slack beats 10 % for low rates
        (5, 3.9, True),
        (25, 30.0, False),  # more than claimed is fine
    ],
)
def test_fps_tolerance(claimed: float, measured: float, finding: bool) -> None:
    out = compare_claims(RegisteredClaims(fps=claimed), MeasuredFacts(fps=measured))
    assert (keys(out) == ["fps_below_claim"]) is finding


def test_resolution_at_least_or_exact() -> None:
    claims = RegisteredClaims(width=1920, height=1080)
    assert compare_claims(claims, MeasuredFacts(width=2560, height=1440)) == []
    assert compare_claims(claims, MeasuredFacts(width=1920, height=1088)) == []  # coded height of 1080p
    exact = ClaimTolerance(resolution="exact")
    assert keys(compare_claims(claims, MeasuredFacts(width=2560, height=1440), exact)) == ["resolution_differs_from_claim"]
    assert keys(compare_claims(claims, MeasuredFacts(width=1920, height=720))) == ["resolution_below_claim"]


def test_sub_stream_is_not_compared_with_recorded_resolution() -> None:
    sub = MeasuredFacts(stream_role="sub", width=640, height=360, fps=10.0, codec="h265")
    assert compare_claims(FULL_HD_25, sub) == []


def test_codec_and_format_normalised_before_comparing() -> None:
    assert compare_claims(FULL_HD_25, MeasuredFacts(codec="avc", recording_format=".mp4")) == []
    out = compare_claims(FULL_HD_25, MeasuredFacts(codec="hevc", recording_format="AVI"))
    assert keys(out) == ["codec_mismatch", "format_mismatch"]
    assert (out[0].claimed, out[0].measured) == ("H.264", "hevc")
    assert compare_claims(RegisteredClaims(recording_format="H.265"), MeasuredFacts(recording_format="HEVC")) == []


def test_max_resolution_claim() -> None:
    claims = RegisteredClaims(max_width=2688, max_height=1520)
    assert keys(compare_claims(claims, MeasuredFacts(max_width=1920, max_height=1080))) == ["max_resolution_below_claim"]
    assert compare_claims(claims, MeasuredFacts(max_width=2688, max_height=1520)) == []


def test_missing_values_are_not_findings() -> None:
    assert compare_claims(RegisteredClaims(), MeasuredFacts(width=640, height=360, fps=1.0, retention_days=0.5)) == []
    assert compare_claims(FULL_HD_25, MeasuredFacts()) == []


def test_bad_claims_rejected() -> None:
    with pytest.raises(ValidationError):
        RegisteredClaims(fps=-1)
    with pytest.raises(ValidationError):
        MeasuredFacts(fps=float("nan"))
    with pytest.raises(ValidationError):
        RegisteredClaims(width=1920, extra_field=1)


def test_claim_gaps_make_a_camera_degraded_with_both_values_kept() -> None:
    d = Driver()

    def check(t: float) -> CheckOutcome:
        return CheckOutcome(at=t, facts=MeasuredFacts(width=1280, height=720, fps=12.0)).with_claims(FULL_HD_25)

    first = check(T0)
    assert first.findings == ("resolution_below_claim", "fps_below_claim")
    assert first.claim_findings[0].claimed == "1920x1080" and first.claim_findings[0].measured == "1280x720"
    d.feed(check)
    d.feed(check)
    assert d.statuses() == [("unknown", "degraded")]  # a new camera waits: no working -> degraded blip
    assert d.transitions[-1].findings == ["fps_below_claim", "resolution_below_claim"]
    assert d.state.status == Status.degraded


def test_sub_stream_checks_neither_confirm_nor_clear_what_only_the_main_stream_shows() -> None:
    """The daemon reads the sub-stream between main-stream checks: those checks compare no recorded
    size, rate or codec, so they must not reset a pending claim finding or count towards clearing one."""
    d = Driver()

    def main(t: float) -> CheckOutcome:
        return CheckOutcome(at=t, facts=MeasuredFacts(width=1280, height=720, fps=12.0)).with_claims(FULL_HD_25)

    def sub(t: float) -> CheckOutcome:
        return CheckOutcome(at=t, facts=MeasuredFacts(stream_role="sub", width=640, height=360, fps=12.0)).with_claims(
            FULL_HD_25)

    def main_fixed(t: float) -> CheckOutcome:
        return CheckOutcome(at=t, facts=MeasuredFacts(width=1920, height=1080, fps=25.0)).with_claims(FULL_HD_25)

    d.feed_all([main, sub, sub])
    assert d.state.status == Status.unknown and d.state.pending_findings() == ["fps_below_claim", "resolution_below_claim"]
    d.feed(main)  # the second main-stream sighting confirms them
    assert d.statuses() == [("unknown", "degraded")]
    d.feed_all([sub] * 5)
    assert d.state.status == Status.degraded  # five sub-stream checks later: still what is recorded
    d.feed_all([main_fixed, sub, main_fixed])  # the encoder set right: cleared by main-stream checks only
    assert d.statuses()[-1] == ("degraded", "working") and len(d.transitions) == 2
