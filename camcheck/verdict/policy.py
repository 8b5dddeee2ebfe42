"""How strict the status machine is: confirmation counts, re-check delays, flapping, backoff.

Every number here is a policy decision an operator may tune per deployment (or per camera, with
``policy.model_copy(update=...)``); the defaults follow issue 5.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from camcheck.probe.observation import FAILURES, FINDINGS

Severity = Literal["broken", "degraded", "info"]
Source = Literal["stream", "onvif"]

# Findings an ONVIF (device/recording) check reports, as plain strings.
# (Same codes as camcheck.probe.onvif.ONVIF_FINDINGS; its "critical/warning/info" describe the ONVIF
# check itself, while the status severity below is this policy's decision.)
ONVIF_FINDINGS: tuple[str, ...] = (
    "onvif_unreachable",
    "onvif_timeout",
    "onvif_auth_failed",
    "onvif_bad_reply",
    "clock_drift",
    "not_recording",
    "recording_gaps",
    "retention_short",
    "config_mismatch",
    "no_profile_g",
)
# ONVIF findings that mean the check could not see anything else (other ONVIF findings stay as they were).
# An ONVIF check that could not talk to the device says nothing about its recordings.
ONVIF_BLIND_FINDINGS: frozenset[str] = frozenset(
    {"onvif_unreachable", "onvif_timeout", "onvif_auth_failed", "onvif_bad_reply"}
)

# Registered claim vs measured fact (see claims.py).
CLAIM_FINDINGS: tuple[str, ...] = (
    "resolution_below_claim",
    "resolution_differs_from_claim",
    "max_resolution_below_claim",
    "fps_below_claim",
    "retention_below_claim",
    "codec_mismatch",
    "format_mismatch",
)

# Findings from a camera's checks over time, not from one check (see unchanged.py).
HISTORY_FINDINGS: tuple[str, ...] = ("unchanged",)

# The registered sub-stream delivers nothing while the main (recorded) stream plays: the daemon
# checked the main stream in its place. The live view is lost, the footage is not, so it is
# degraded (or info), never broken: the camera does what the police need of it.
SUB_STREAM_FINDINGS: tuple[str, ...] = ("sub_stream_down",)

KNOWN_FINDINGS: frozenset[str] = (frozenset(FINDINGS) | frozenset(ONVIF_FINDINGS) | frozenset(CLAIM_FINDINGS)
                                  | frozenset(HISTORY_FINDINGS) | frozenset(SUB_STREAM_FINDINGS))

# Decision: "verified working" includes recording (the police's complaint is footage that was never
# recorded), so not_recording makes a camera broken, like a frozen/black/covered picture. And it means
# a live, *changing* picture: one that has not changed at all for a day (unchanged.py) is not verified
# working either (operators who watch views where nothing ever happens can take it out of the list).
DEFAULT_BROKEN_FINDINGS: frozenset[str] = frozenset({"frozen", "black", "covered", "not_recording", "unchanged"})
# Facts worth keeping that say nothing about the camera's health (a recorder without Profile G
# cannot be asked about recordings; that is not the camera's fault).
DEFAULT_INFO_FINDINGS: frozenset[str] = frozenset({"no_profile_g"})


class StatusPolicy(BaseModel):
    """Hysteresis, confirmation and scheduling policy for one camera (or a whole deployment)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    # --- hysteresis -------------------------------------------------------------------------
    fail_threshold: int = Field(3, ge=1, le=20, description="N: consecutive failing checks before broken")
    recover_threshold: int = Field(2, ge=1, le=20, description="M: consecutive good checks before recovery")
    degrade_threshold: int = Field(2, ge=1, le=20, description="checks a degraded finding must persist")
    # Per-finding confirmation counts. Broken-level findings can only *raise* the count above N
    # (never lower it: "broken after N consecutive failing checks" is a floor).
    finding_confirmations: dict[str, int] = Field(
        default_factory=lambda: {"frozen": 3, "covered": 3, "black": 3, "scene_changed": 3}
    )

    # Broken-level findings whose single-check detector is known to miss now and then: this many
    # misses in a row are forgiven (the check counts as inconclusive) instead of restarting
    # confirmation (pending) or counting towards recovery (confirmed: recovering then takes this
    # many checks more). Frozen: a frozen camera's encoder sometimes re-codes the same keyframe at
    # another quality, so one check in several looks live (measured: tests/data/image-calibration.json).
    finding_miss_tolerance: dict[str, int] = Field(default_factory=lambda: {"frozen": 1})

    # --- what each finding means ---------------------------------------------------------------
    broken_findings: frozenset[str] = DEFAULT_BROKEN_FINDINGS
    info_findings: frozenset[str] = DEFAULT_INFO_FINDINGS
    # Degraded thresholds applied to measured stream facts (None = off). The probe flags its own
    # packet_loss/low_fps too; these let a deployment be stricter or looser without re-probing.
    max_packet_loss: float | None = Field(0.05, ge=0.0, le=1.0)
    min_fps: float | None = Field(None, gt=0.0)
    # A stream's picture that has not changed at all (unchanged.py) for this long, over at least
    # this many checks, is the finding `unchanged` (0 = off).
    unchanged_after_s: float = Field(86400.0, ge=0.0, le=31 * 86400.0)
    unchanged_min_checks: int = Field(12, ge=2, le=10_000)

    # --- scheduling -------------------------------------------------------------------------
    interval_s: float = Field(300.0, gt=0.0, le=3600.0, description="normal stream check interval")
    onvif_interval_s: float = Field(3600.0, gt=0.0, le=86400.0, description="normal ONVIF check interval")
    # Fast re-checks while confirming a failure: delay after the 1st, 2nd... failing check.
    confirm_delays_s: tuple[float, ...] = (20.0, 60.0)
    onvif_confirm_delays_s: tuple[float, ...] = (120.0, 300.0)
    # Re-check delay while confirming a recovery (after a good check on a broken camera).
    recover_delay_s: float = Field(30.0, gt=0.0)
    # Re-check delay while a degraded finding is pending confirmation or clearing.
    finding_confirm_delay_s: float = Field(60.0, gt=0.0)
    # Long-broken backoff: (broken for at least this many seconds, check every this many seconds).
    backoff_schedule: tuple[tuple[float, float], ...] = ((3600.0, 900.0), (6 * 3600.0, 1800.0), (24 * 3600.0, 3600.0))
    max_check_interval_s: float = Field(3600.0, gt=0.0, description="never check less often than this")

    # --- flapping ---------------------------------------------------------------------------
    flap_max_transitions: int = Field(4, ge=1, le=100, description="K: more than K changes in the window = flapping")
    flap_window_s: float = Field(3600.0, gt=0.0)
    flap_stable_s: float = Field(1800.0, gt=0.0, description="no change for this long ends flapping")

    @field_validator("confirm_delays_s", "onvif_confirm_delays_s")
    @classmethod
    def _delays_positive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(d <= 0 for d in v):
            raise ValueError("confirmation delays must be a non-empty list of positive seconds")
        return v

    @field_validator("finding_miss_tolerance")
    @classmethod
    def _known_tolerances(cls, v: dict[str, int]) -> dict[str, int]:
        for key, count in v.items():
            if key not in KNOWN_FINDINGS:
                raise ValueError(f"finding_miss_tolerance: unknown finding {key!r}")
            if not 0 <= count <= 5:
                raise ValueError(f"finding_miss_tolerance[{key!r}] must be between 0 and 5, got {count}")
        return v

    @field_validator("finding_confirmations")
    @classmethod
    def _known_counts(cls, v: dict[str, int]) -> dict[str, int]:
        for key, count in v.items():
            if key not in KNOWN_FINDINGS:
                raise ValueError(f"finding_confirmations: unknown finding {key!r}")
            if not 1 <= count <= 20:
                raise ValueError(f"finding_confirmations[{key!r}] must be between 1 and 20, got {count}")
        return v

    @field_validator("broken_findings", "info_findings")
    @classmethod
    def _known_findings(cls, v: frozenset[str]) -> frozenset[str]:
        unknown = sorted(set(v) - KNOWN_FINDINGS)
        if unknown:
            raise ValueError(f"unknown findings: {', '.join(unknown)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> StatusPolicy:
        if self.interval_s > self.max_check_interval_s:
            raise ValueError(f"interval_s={self.interval_s:g} exceeds max_check_interval_s={self.max_check_interval_s:g}")
        both = self.broken_findings & self.info_findings
        if both:
            raise ValueError(f"findings both broken and info: {', '.join(sorted(both))}")
        never_broken = self.broken_findings & set(SUB_STREAM_FINDINGS)
        if never_broken:
            raise ValueError(f"{', '.join(sorted(never_broken))} cannot be broken: the recorded stream plays "
                             "(make it degraded, the default, or info)")
        last = 0.0
        for after, every in self.backoff_schedule:
            if after <= last or every <= 0:
                raise ValueError("backoff_schedule must be increasing (after_s, every_s) pairs with positive values")
            if every > self.max_check_interval_s:
                raise ValueError(
                    f"backoff_schedule checks every {every:g} s, beyond max_check_interval_s={self.max_check_interval_s:g}"
                )
            last = after
        return self

    # --- helpers used by the status machine -------------------------------------------------
    def severity(self, key: str) -> Severity:
        """How bad one failure kind or finding is."""
        if key in FAILURES or key in self.broken_findings:
            return "broken"
        if key in self.info_findings:
            return "info"
        return "degraded"

    def required(self, key: str) -> int:
        """Consecutive sightings before ``key`` is confirmed."""
        if key in FAILURES:
            return self.fail_threshold
        if self.severity(key) == "broken":
            return max(self.fail_threshold, self.finding_confirmations.get(key, self.fail_threshold))
        return self.finding_confirmations.get(key, self.degrade_threshold)

    def normal_interval(self, source: Source) -> float:
        return self.interval_s if source == "stream" else self.onvif_interval_s

    def confirm_delay(self, source: Source, failures_so_far: int) -> float:
        delays = self.confirm_delays_s if source == "stream" else self.onvif_confirm_delays_s
        return delays[min(failures_so_far, len(delays)) - 1]

    def backoff_interval(self, broken_for_s: float) -> float | None:
        """Interval for a camera broken this long, or None when it is not long-broken yet."""
        chosen: float | None = None
        for after, every in self.backoff_schedule:
            if broken_for_s >= after:
                chosen = every
        return None if chosen is None else min(chosen, self.max_check_interval_s)
