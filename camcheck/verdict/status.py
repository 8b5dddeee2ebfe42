"""The status machine: a camera's persisted state + one check outcome -> new state, at most one
transition, and when to check next.

Pure and deterministic: no I/O, no clock reads (``now`` is passed in), inputs are never mutated.
Everything crossing the boundary is a pydantic model that round-trips through JSON exactly, so a
daemon that persists ``CameraState`` after every evaluation resumes counters after a crash.

How it decides (per source: "stream" checks and "onvif" checks count separately, because a
stream check every 5 minutes must not erase an hourly recorder finding):

* a check is *bad* when it has a failure (no pictures) or a broken-level finding (frozen, black,
  covered, not_recording); a source becomes broken after N consecutive bad checks (more if a
  finding's own confirmation count is higher), re-checked fast (20 s, 60 s) meanwhile;
* a broken source recovers after M consecutive checks that are not bad; for a finding whose
  detector misses now and then (frozen), ``finding_miss_tolerance`` misses in a row are
  inconclusive, whether the finding is pending or confirmed;
* degraded-level findings (blurred, low_fps, claim gaps...) are confirmed after their own count of
  consecutive sightings and cleared after M consecutive checks without them; a check that could
  not see (stream failure, ONVIF unreachable) neither confirms nor clears them;
* what only one stream shows is judged on that stream: the recorded (main) stream's size, rate and
  codec on main-stream checks, a dead sub-stream (``sub_stream_down``, carried by the main-stream
  check made in its place) on sub-stream checks;
* the camera is broken if any source is, else degraded if any degraded finding is confirmed, else
  working; it stays ``unknown`` until the first verdict is settled;
* more than K status changes within the flap window -> ``flapping`` (one transition), silent until
  no change for ``flap_stable_s``; maintenance overrides everything and its end is reported at once.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from camcheck.probe.observation import BROKEN_FINDINGS as PICTURE_BROKEN
from camcheck.probe.observation import FAILURES, Observation
from camcheck.verdict.claims import (
    ClaimFinding,
    MAIN_STREAM_FINDINGS,
    ClaimTolerance,
    MeasuredFacts,
    RegisteredClaims,
    StreamRole,
    compare_claims,
)
from camcheck.verdict.maintenance import MaintenanceInfo
from camcheck.verdict.policy import (
    KNOWN_FINDINGS,
    ONVIF_BLIND_FINDINGS,
    ONVIF_FINDINGS,
    SUB_STREAM_FINDINGS,
    Source,
    StatusPolicy,
)
from camcheck.verdict.reasons import Reason, english
from camcheck.verdict.unchanged import PictureRun, Signature, longest_run, stored_signature, track, unchanged_for

CheckSeverity = Literal["ok", "degraded", "broken"]
NextReason = Literal["normal", "confirm_failure", "confirm_recovery", "confirm_finding", "backoff", "maintenance_end"]
SCHEMA_VERSION = 1


class Status(str, Enum):
    unknown = "unknown"
    working = "working"
    degraded = "degraded"
    broken = "broken"
    maintenance = "maintenance"
    flapping = "flapping"


_RANK = {Status.unknown: -1, Status.working: 0, Status.degraded: 1, Status.broken: 2}

# Stored state (CameraState and what it holds): a field written by a newer camcheck is ignored, so
# nodes of two versions share one registry during a rolling upgrade. Incompatible changes bump
# SCHEMA_VERSION instead.
_Model = ConfigDict(extra="ignore", allow_inf_nan=False)
_StoredFrozen = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)


# --------------------------------------------------------------------------------------------
# Input: one check outcome
# --------------------------------------------------------------------------------------------


class CheckOutcome(BaseModel):
    """One check of one camera, reduced to what the status machine needs."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    source: Source = "stream"
    at: float  # when the check started (UNIX seconds); informational, ``now`` drives the machine
    failure: str | None = None
    findings: tuple[str, ...] = ()
    facts: MeasuredFacts = MeasuredFacts()
    claim_findings: tuple[ClaimFinding, ...] = ()  # claimed vs measured values behind *_claim findings
    message: str = ""
    has_snapshot: bool = False
    # The picture's signature (stream checks that decoded one): unchanged.py compares it over time.
    signature: Signature | None = None
    # What the check said about a finding, where its code alone does not name the cause (a dead
    # sub-stream: which failure, in the camera's words). Secrets masked by the caller.
    details: dict[str, str] = Field(default_factory=dict)

    @field_validator("findings")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in v if f not in KNOWN_FINDINGS]
        if unknown:
            raise ValueError(f"unknown findings: {', '.join(unknown)}")
        return tuple(dict.fromkeys(v))  # de-duplicated, order kept

    @model_validator(mode="after")
    def _consistent(self) -> CheckOutcome:
        if self.failure is not None:
            if self.source != "stream":
                raise ValueError("only stream checks carry a failure; ONVIF problems are findings")
            if self.failure not in FAILURES:
                raise ValueError(f"unknown failure {self.failure!r}")
        if self.source == "stream":
            onvif = [f for f in self.findings if f in ONVIF_FINDINGS]
            if onvif:
                raise ValueError(f"ONVIF findings in a stream check: {', '.join(onvif)}")
        if set(SUB_STREAM_FINDINGS) & set(self.findings) and (
                self.source != "stream" or self.facts.stream_role != "main"):
            raise ValueError("sub_stream_down comes with the main-stream check made in the sub-stream's place")
        return self

    def with_sub_stream_down(self, said: str) -> CheckOutcome:
        """This main-stream outcome, from a check made because the registered sub-stream delivered
        nothing (`said`: the sub-stream check's own words, secrets masked)."""
        return self.model_copy(update={
            "findings": (*self.findings, "sub_stream_down"),
            "details": {**self.details, "sub_stream_down": _bounded(said)},
        })

    def with_claims(self, claims: RegisteredClaims, tolerance: ClaimTolerance | None = None) -> CheckOutcome:
        """This outcome plus the gaps between the registry's claims and what it measured."""
        gaps = compare_claims(claims, self.facts, tolerance)
        return self.model_copy(
            update={
                "findings": tuple(dict.fromkeys([*self.findings, *(g.key for g in gaps)])),
                "claim_findings": (*self.claim_findings, *gaps),
            }
        )


def from_observation(obs: Observation, *, stream_role: Literal["main", "sub"] = "main") -> CheckOutcome:
    """Adapter from the stream probe's Observation. ``stream_role`` says which stream was probed
    (sub-stream sizes are not compared to the registry's recorded-resolution claims)."""
    s = obs.stream
    facts = MeasuredFacts(
        stream_role=stream_role,
        width=s.width or None,
        height=s.height or None,
        fps=s.fps,
        codec=s.codec,
        packet_loss=s.packet_loss,
        bitrate_kbps=s.bitrate_kbps,
    )
    return CheckOutcome(
        source="stream",
        at=obs.started_at,
        failure=obs.failure,
        # The probe lists its failure among its findings too; here it travels once, as the failure.
        findings=tuple(f for f in obs.findings if f not in FAILURES),
        facts=facts,
        message=obs.message,
        has_snapshot=obs.snapshot_jpeg is not None,
        signature=stored_signature(obs.signature) if obs.signature is not None else None,
    )


def from_onvif(
    findings: list[str] | tuple[str, ...],
    at: float,
    *,
    retention_days: float | None = None,
    recording_format: str | None = None,
    max_width: int | None = None,
    max_height: int | None = None,
    message: str = "",
) -> CheckOutcome:
    """Adapter for an ONVIF (device/recording) check given as plain finding strings."""
    bad = [f for f in findings if f not in ONVIF_FINDINGS]
    if bad:
        raise ValueError(f"not ONVIF findings: {', '.join(bad)} (known: {', '.join(ONVIF_FINDINGS)})")
    return CheckOutcome(
        source="onvif",
        at=at,
        findings=tuple(findings),
        facts=MeasuredFacts(
            retention_days=retention_days, recording_format=recording_format, max_width=max_width, max_height=max_height
        ),
        message=message,
    )


def from_onvif_observation(obs: Any) -> CheckOutcome:
    """Adapter from camcheck.probe.onvif.OnvifObservation (duck-typed so the verdict does not
    import the SOAP stack): its finding codes, the shortest retention among its recordings, and
    the encoder's maximum resolution."""
    retention: list[float] = []
    for r in (obs.recording or {}).get("recordings", []) or []:
        if r.get("retention_days") is not None:
            retention.append(float(r["retention_days"]))
    max_res = obs.max_resolution or {}
    return from_onvif(
        list(dict.fromkeys(obs.codes())),
        obs.started_at,
        retention_days=min(retention) if retention else None,
        max_width=max_res.get("width") or None,
        max_height=max_res.get("height") or None,
        message=obs.message,
    )


# --------------------------------------------------------------------------------------------
# Persisted state
# --------------------------------------------------------------------------------------------


class SourceState(BaseModel):
    """Counters for one kind of check (stream or ONVIF)."""

    model_config = _Model

    consecutive_failures: int = 0
    consecutive_successes: int = 0
    streak_started_at: float | None = None  # first bad check of the current bad streak
    broken: bool = False
    broken_since: float | None = None
    broken_keys: list[str] = Field(default_factory=list)  # what made it broken (latest bad check)
    last_check_at: float | None = None
    last_success_at: float | None = None
    last_severity: CheckSeverity | None = None
    last_bad_keys: list[str] = Field(default_factory=list)
    last_message: str = ""  # what the latest bad check said (the probe's words, secrets masked)
    # which stream the latest bad stream check read: a failure of the recorded (main) stream must be
    # confirmed, and its recovery proven, on that stream, not dismissed by the sub-stream
    bad_stream: StreamRole | None = None
    last_main_at: float | None = None  # the latest check of the main (recorded) stream


class FindingTrack(BaseModel):
    """Consecutive sightings of one finding, for per-finding confirmation."""

    model_config = _Model

    source: Source
    count: int = 0  # consecutive checks that showed it (tolerated misses do not break the run)
    absent: int = 0  # consecutive checks without it since it was confirmed
    misses: int = 0  # checks without it while pending, forgiven up to the policy's miss tolerance
    first_seen: float
    last_seen: float
    confirmed: bool = False
    said: str | None = None  # what the latest check that showed it said (CheckOutcome.details)


class NextCheck(BaseModel):
    """A scheduling hint for the collector: when to run the next check of ``source``."""

    model_config = _StoredFrozen

    source: Source
    at: float
    reason: NextReason
    priority: bool = False  # suspected camera: schedule before routine checks
    want_snapshot: bool = False  # the next check may cause a transition: bring evidence


class CameraState(BaseModel):
    model_config = _Model

    camera_id: str = Field(min_length=1)
    status: Status = Status.unknown
    since: float | None = None
    reason: str = ""
    reason_data: Reason | None = None  # the same reason as data (Thai pages render it)
    # What the hysteresis says, ignoring maintenance and flapping (always unknown/working/degraded/broken).
    underlying: Status = Status.unknown
    underlying_since: float | None = None
    sources: dict[str, SourceState] = Field(default_factory=dict)
    findings: dict[str, FindingTrack] = Field(default_factory=dict)
    recent_changes: list[float] = Field(default_factory=list)  # underlying changes, for flap detection
    last_change_at: float | None = None
    flap_worst: Status | None = None  # worst underlying status seen while flapping
    maintenance_window_id: str | None = None
    last_check_at: float | None = None
    last_success_at: float | None = None
    next_checks: dict[str, NextCheck] = Field(default_factory=dict)
    pictures: dict[str, PictureRun] = Field(default_factory=dict)  # by stream role: unchanged.py
    schema_version: int = SCHEMA_VERSION

    @field_validator("underlying")
    @classmethod
    def _plain(cls, v: Status) -> Status:
        if v in (Status.maintenance, Status.flapping):
            raise ValueError("underlying status is never maintenance or flapping")
        return v

    @field_validator("schema_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"camera state schema {v} is not supported (expected {SCHEMA_VERSION})")
        return v

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> CameraState:
        return cls.model_validate_json(text)

    def confirmed_findings(self) -> list[str]:
        return sorted(k for k, t in self.findings.items() if t.confirmed)

    def pending_findings(self) -> list[str]:
        return sorted(k for k, t in self.findings.items() if not t.confirmed)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


class Transition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    camera_id: str
    at: float
    from_status: Status
    to_status: Status
    reason: str  # one human sentence
    reason_data: Reason | None = None  # the same reason as data (code and arguments)
    findings: list[str] = Field(default_factory=list)  # what is wrong (failure kinds and findings)
    failure: str | None = None
    source: Source | None = None  # which kind of check caused it (None: time or maintenance)
    capture_evidence: bool = False  # store the snapshot (and the last good one) with this transition
    maintenance_window_id: str | None = None
    suppressed_by: str | None = None  # parent id when a parent incident covers it (not notified)

    @property
    def notify(self) -> bool:
        return self.suppressed_by is None


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    state: CameraState
    transition: Transition | None = None
    next_check: NextCheck | None = None  # None from tick(): keep the schedule you have
    severity: CheckSeverity | None = None  # of this check alone
    findings: list[str] = Field(default_factory=list)  # of this check, with what its history added (unchanged)
    confirmed_findings: list[str] = Field(default_factory=list)
    pending_findings: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------------


def _classify(obs: CheckOutcome, policy: StatusPolicy) -> tuple[CheckSeverity, list[str], list[str], bool]:
    """(severity, bad keys, all findings incl. policy-derived ones, blind)."""
    findings = list(obs.findings)
    if obs.source == "stream" and obs.failure is None:
        f = obs.facts
        if policy.max_packet_loss is not None and f.packet_loss is not None and f.packet_loss > policy.max_packet_loss:
            findings.append("packet_loss")
        if policy.min_fps is not None and f.fps is not None and f.fps < policy.min_fps:
            findings.append("low_fps")
        findings = list(dict.fromkeys(findings))
    bad = ([obs.failure] if obs.failure else []) + [f for f in findings if policy.severity(f) == "broken"]
    blind = obs.failure is not None or (obs.source == "onvif" and any(f in ONVIF_BLIND_FINDINGS for f in findings))
    if bad:
        sev: CheckSeverity = "broken"
    elif any(policy.severity(f) == "degraded" for f in findings):
        sev = "degraded"
    else:
        sev = "ok"
    return sev, bad, findings, blind


def _forgiven_misses(st: CameraState, source: Source, findings: list[str], policy: StatusPolicy) -> list[str]:
    # Pending and confirmed alike: a confirmed freeze that a single check misses is no more a
    # recovery than a pending one is a reset (the simulator's frozen camera, missed in pairs of
    # checks, otherwise went back to working for good within minutes).
    return [
        name for name, t in st.findings.items()
        if t.source == source and name not in findings
        and policy.severity(name) == "broken" and t.misses < policy.finding_miss_tolerance.get(name, 0)
    ]


def _update_tracks(
    st: CameraState, source: Source, findings: list[str], blind: bool, now: float, policy: StatusPolicy,
    role: StreamRole | None = None,
    details: dict[str, str] | None = None,
) -> None:
    seen = set(findings)
    for f in findings:
        t = st.findings.get(f)
        if t is None or t.source != source:
            t = FindingTrack(source=source, first_seen=now, last_seen=now)
            st.findings[f] = t
        t.count += 1
        t.absent = 0
        t.misses = 0
        t.last_seen = now
        t.said = (details or {}).get(f)
        if t.count >= policy.required(f):
            t.confirmed = True
    for name, t in list(st.findings.items()):
        if t.source != source or name in seen:
            continue
        # A check that could not see the picture/recorder says nothing about what it would show.
        if blind and name not in ONVIF_BLIND_FINDINGS:
            continue
        # Nor does a sub-stream check about the recorded stream's size, rate and codec, nor a
        # main-stream check about the sub-stream (one made in its place carries sub_stream_down).
        if (role == "sub" and name in MAIN_STREAM_FINDINGS) or (role == "main" and name in SUB_STREAM_FINDINGS):
            continue
        if t.confirmed:
            t.absent += 1
            if t.absent >= policy.recover_threshold:
                del st.findings[name]
        elif t.misses < policy.finding_miss_tolerance.get(name, 0):
            t.misses += 1  # an intermittent single-check detector: a degraded finding's miss is forgiven too
        else:
            del st.findings[name]  # a pending finding must be seen in consecutive checks


def _underlying(st: CameraState, policy: StatusPolicy) -> Status:
    if any(s.broken for s in st.sources.values()):
        return Status.broken
    if any(t.confirmed and policy.severity(k) == "degraded" for k, t in st.findings.items()):
        return Status.degraded
    stream = st.sources.get("stream")
    if stream is None or stream.last_success_at is None:
        # "Working" means pictures were seen: an ONVIF answer alone proves the device, not the video.
        return Status.unknown
    if st.underlying == Status.unknown:
        # The first verdict waits until nothing is pending, so a new camera does not go
        # unknown -> working -> broken within a minute.
        pending = any(not t.confirmed and policy.severity(k) != "info" for k, t in st.findings.items())
        if pending or any(s.consecutive_failures > 0 for s in st.sources.values()):
            return Status.unknown
    return Status.working


def _keys_args(keys: list[str], st: CameraState) -> dict[str, Any]:
    """`keys` for a reason, with the run of identical pictures when one of them is `unchanged`."""
    run = longest_run(st.pictures) if "unchanged" in keys else None
    unchanged = {"since": run.since, "span_s": run.last - run.since, "checks": run.checks} if run else None
    return {"keys": list(keys), "unchanged": unchanged}


MESSAGE_MAX = 300  # characters of a check's message kept in the state and the reason


def _said(name: str | None, src: SourceState | None) -> str | None:
    """The latest bad check's own words, for a reason: they name the cause ("DESCRIBE ... answered
    404", "the certificate of ... was rejected (self-signed certificate)"); an operator needs them
    to act. For failures and recorder problems; a picture finding's words are its measures."""
    if src is None or not src.last_message:
        return None
    if name == "stream" and not any(k in FAILURES for k in src.broken_keys):
        return None
    return src.last_message


def _bounded(message: str) -> str:
    text = " ".join(message.split()).rstrip(".")
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def _worst_source(st: CameraState) -> tuple[str | None, SourceState | None]:
    broken = [(n, s) for n, s in st.sources.items() if s.broken]
    if not broken:
        return None, None
    return min(broken, key=lambda ns: (ns[1].broken_since or 0.0, ns[0]))


def _problem_keys(st: CameraState, policy: StatusPolicy) -> list[str]:
    keys: list[str] = []
    for s in st.sources.values():
        if s.broken:
            keys.extend(s.broken_keys)
    keys.extend(k for k, t in st.findings.items() if t.confirmed and policy.severity(k) != "info")
    return sorted(dict.fromkeys(keys))


def _reason_for(st: CameraState, old: Status, new: Status, now: float, policy: StatusPolicy) -> Reason:
    if new == Status.broken:
        name, src = _worst_source(st)
        assert src is not None
        n = src.consecutive_failures
        keys = _keys_args(src.broken_keys, st)
        if name == "onvif":
            return Reason(code="broken_recorder", args={"n": n, **keys, "said": _said(name, src)})
        since = src.streak_started_at or now
        if any(k in FAILURES for k in src.broken_keys):
            return Reason(code="broken_stream", args={"n": n, "since": since, **keys, "said": _said(name, src)})
        return Reason(code="broken_picture", args={"n": n, "since": since, **keys})
    if new == Status.degraded:
        degraded = sorted(k for k, t in st.findings.items() if t.confirmed and policy.severity(k) == "degraded")
        said = "; ".join(t.said for k in degraded if (t := st.findings[k]).said) or None
        return Reason(code="degraded", args={"again": old == Status.broken, **_keys_args(degraded, st), "said": said})
    if new == Status.working:
        if old == Status.unknown:
            return Reason(code="working_first")
        if old == Status.broken:
            return Reason(code="working_again", args={"n": policy.recover_threshold})
        return Reason(code="working_cleared")
    return Reason(code="status", args={"status": new.value})


def _clamp_now(state: CameraState, now: float) -> float:
    if not math.isfinite(now):
        raise ValueError(f"now must be a finite UNIX time, got {now!r}")
    # A wall clock stepped back by NTP must not make counters or durations negative.
    latest = max((t for t in (state.last_check_at, state.since, state.last_change_at) if t is not None), default=now)
    return max(now, latest)


def _record_change(st: CameraState, now: float, policy: StatusPolicy) -> None:
    st.recent_changes = [t for t in st.recent_changes if t > now - policy.flap_window_s] + [now]
    st.last_change_at = now


def _make(
    st: CameraState,
    old: Status,
    new: Status,
    now: float,
    why: Reason,
    policy: StatusPolicy,
    source: Source | None,
    window_id: str | None = None,
) -> Transition:
    reason = english(why)
    st.status = new
    st.since = now
    st.reason = reason
    st.reason_data = why
    keys = _problem_keys(st, policy) if new in (Status.broken, Status.degraded, Status.flapping) else []
    failure = next((k for k in keys if k in FAILURES), None)
    return Transition(
        camera_id=st.camera_id,
        at=now,
        from_status=old,
        to_status=new,
        reason=reason,
        reason_data=why,
        findings=keys,
        failure=failure,
        source=source,
        capture_evidence=new in (Status.working, Status.degraded, Status.broken),
        maintenance_window_id=window_id,
    )


def _exit_maintenance(st: CameraState, now: float, policy: StatusPolicy) -> Status:
    """Status at the end of maintenance, from the latest check of each source, without re-confirmation."""
    for s in st.sources.values():
        if s.last_severity == "broken":
            if not s.broken:
                s.broken = True
                s.broken_since = now
            s.broken_keys = list(s.last_bad_keys)
        elif s.broken:
            s.broken = False  # the latest check is good: the repair is taken at its word, at once
            s.broken_since = None
            s.broken_keys = []
    new = _underlying(st, policy)
    st.underlying = new
    st.underlying_since = now
    return new


def _settle(
    st: CameraState,
    now: float,
    policy: StatusPolicy,
    maint: MaintenanceInfo | None,
    source: Source | None,
) -> Transition | None:
    new_under = _underlying(st, policy)
    changed = new_under != st.underlying
    old_under = st.underlying
    if changed:
        st.underlying = new_under
        st.underlying_since = now

    if maint is not None:
        if st.status != Status.maintenance:
            old = st.status
            st.maintenance_window_id = maint.window_id
            st.flap_worst = None
            why = Reason(code="maintenance", args={
                "window": maint.window_id, "scope": maint.scope, "target": maint.target_id, "why": maint.reason,
                "owner": maint.owner, "until": maint.until})
            return _make(st, old, Status.maintenance, now, why, policy, None, maint.window_id)
        st.maintenance_window_id = maint.window_id
        return None

    if st.status == Status.maintenance:
        window = st.maintenance_window_id
        st.maintenance_window_id = None
        new = _exit_maintenance(st, now, policy)
        if new == Status.broken:
            name, src = _worst_source(st)
            why = Reason(code="maintenance_end_failing", args={
                "window": window, **_keys_args(src.broken_keys if src else [], st), "said": _said(name, src)})
        elif new == Status.unknown:
            why = Reason(code="maintenance_end_unchecked", args={"window": window})
        else:
            why = Reason(code="maintenance_end", args={"window": window, "status": new.value})
        return _make(st, Status.maintenance, new, now, why, policy, source, window)

    if st.status == Status.flapping:
        if changed:
            _record_change(st, now, policy)
            st.flap_worst = max(st.flap_worst or new_under, new_under, key=lambda s: _RANK[s])
            return None
        if st.last_change_at is not None and now - st.last_change_at >= policy.flap_stable_s:
            new = st.underlying
            st.flap_worst = None
            why = Reason(code="flap_stable", args={"stable_s": policy.flap_stable_s, "status": new.value})
            return _make(st, Status.flapping, new, now, why, policy, source)
        return None

    if st.underlying == st.status:
        return None
    old = st.status
    countable = old != Status.unknown
    if countable:
        recent = [t for t in st.recent_changes if t > now - policy.flap_window_s]
        if len(recent) >= policy.flap_max_transitions:
            _record_change(st, now, policy)
            st.flap_worst = max(old, st.underlying, key=lambda s: _RANK[s])
            why = Reason(code="flapping", args={
                "changes": len(recent) + 1, "window_s": policy.flap_window_s, "from_status": old_under.value,
                "to_status": st.underlying.value, "stable_s": policy.flap_stable_s})
            return _make(st, old, Status.flapping, now, why, policy, source)
        _record_change(st, now, policy)
    return _make(st, old, st.underlying, now, _reason_for(st, old, st.underlying, now, policy), policy, source)


def _next_check(
    st: CameraState, source: Source, now: float, policy: StatusPolicy, maint: MaintenanceInfo | None
) -> NextCheck:
    src = st.sources[source]
    normal = policy.normal_interval(source)
    if maint is not None:
        if maint.until <= now + normal:
            # Check right when the window ends, so a camera still down is reported at once.
            return NextCheck(source=source, at=max(maint.until, now), reason="maintenance_end", want_snapshot=True)
        return NextCheck(source=source, at=now + normal, reason="normal")
    if not src.broken and src.consecutive_failures > 0:
        delay = policy.confirm_delay(source, src.consecutive_failures)
        return NextCheck(source=source, at=now + delay, reason="confirm_failure", priority=True, want_snapshot=True)
    if src.broken and src.consecutive_successes > 0:
        return NextCheck(
            source=source, at=now + policy.recover_delay_s, reason="confirm_recovery", priority=True, want_snapshot=True
        )
    unsettled = any(
        # misses: a confirmed finding one check did not see is looked at again soon, not at the
        # normal interval (a freeze that really ended must not take an interval longer to clear)
        t.source == source and policy.severity(k) != "info" and (not t.confirmed or t.absent > 0 or t.misses > 0)
        for k, t in st.findings.items()
    )
    if unsettled:
        return NextCheck(
            source=source, at=now + min(policy.finding_confirm_delay_s, normal), reason="confirm_finding", want_snapshot=True
        )
    if src.broken and src.broken_since is not None:
        backoff = policy.backoff_interval(now - src.broken_since)
        if backoff is not None:
            every = max(backoff, normal)
            if source == "stream":
                every = min(every, policy.max_check_interval_s)  # long-broken, but still at least hourly
            return NextCheck(source=source, at=now + every, reason="backoff")
    return NextCheck(source=source, at=now + normal, reason="normal")


def _with_unchanged(st: CameraState, obs: CheckOutcome, now: float, policy: StatusPolicy) -> CheckOutcome:
    """The outcome plus `unchanged` when its stream's picture has stayed the same for the policy's
    hours (unchanged.py; the run is kept in `st`), unless the check already says frozen, black or
    covered."""
    if obs.source != "stream" or not policy.unchanged_after_s:
        return obs
    role = obs.facts.stream_role
    run = track(st.pictures.get(role), obs.signature, now, horizon_s=policy.unchanged_after_s)
    if run is not None:
        st.pictures[role] = run
    if obs.signature is None or PICTURE_BROKEN & set(obs.findings):
        return obs
    if unchanged_for(run, horizon_s=policy.unchanged_after_s, min_checks=policy.unchanged_min_checks) is None:
        return obs
    return obs.model_copy(update={"findings": (*obs.findings, "unchanged")})


def evaluate(
    state: CameraState,
    obs: CheckOutcome,
    now: float,
    policy: StatusPolicy,
    in_maintenance: MaintenanceInfo | None,
) -> Evaluation:
    """Fold one check outcome into the camera's state."""
    now = _clamp_now(state, now)
    st = state.model_copy(deep=True)
    obs = _with_unchanged(st, obs, now, policy)
    src = st.sources.setdefault(obs.source, SourceState())
    severity, bad, findings, blind = _classify(obs, policy)
    forgiven = _forgiven_misses(st, obs.source, findings, policy) if severity == "ok" else []
    if forgiven:
        # The check missed a suspected broken finding it only sometimes sees (a frozen picture whose
        # keyframes the encoder re-coded differently): inconclusive, it neither clears nor confirms.
        blind = True
        for name in forgiven:
            st.findings[name].misses += 1

    src.last_check_at = now
    st.last_check_at = now
    if obs.source == "stream" and obs.facts.stream_role == "main":
        src.last_main_at = now
    src.last_severity = severity
    src.last_bad_keys = bad
    src.last_message = _bounded(obs.message) if severity == "broken" else ""
    if severity == "broken":
        src.bad_stream = obs.facts.stream_role if obs.source == "stream" else None
        if src.consecutive_failures == 0:
            src.streak_started_at = now
        src.consecutive_failures += 1
        src.consecutive_successes = 0
        required = max(policy.required(k) for k in bad)
        if src.broken:
            src.broken_keys = bad  # keep the current cause for labels and reasons
        elif src.consecutive_failures >= required:
            src.broken = True
            src.broken_since = now
            src.broken_keys = bad
    elif not blind:
        src.consecutive_successes += 1
        src.consecutive_failures = 0
        src.streak_started_at = None
        src.last_success_at = now
        st.last_success_at = now
        if src.broken and src.consecutive_successes >= policy.recover_threshold:
            src.broken = False
            src.broken_since = None
            src.broken_keys = []
    _update_tracks(st, obs.source, findings, blind, now, policy,
                   obs.facts.stream_role if obs.source == "stream" else None, obs.details)

    transition = _settle(st, now, policy, in_maintenance, obs.source)
    nxt = _next_check(st, obs.source, now, policy, in_maintenance)
    st.next_checks[obs.source] = nxt
    return Evaluation(
        state=st,
        transition=transition,
        next_check=nxt,
        findings=list(obs.findings),
        severity=severity,
        confirmed_findings=st.confirmed_findings(),
        pending_findings=st.pending_findings(),
    )


def tick(state: CameraState, now: float, policy: StatusPolicy, in_maintenance: MaintenanceInfo | None) -> Evaluation:
    """Apply the passage of time without a check: a maintenance window starting or ending, or
    flapping ending after a stable period. Call it when a window starts/ends or on a slow timer."""
    now = _clamp_now(state, now)
    st = state.model_copy(deep=True)
    transition = _settle(st, now, policy, in_maintenance, None)
    return Evaluation(
        state=st,
        transition=transition,
        confirmed_findings=st.confirmed_findings(),
        pending_findings=st.pending_findings(),
    )


def new_state(camera_id: str) -> CameraState:
    return CameraState(camera_id=camera_id)
