"""Dependency grouping: when most children of one parent (NVR, switch, site uplink) fail together,
the parent is suspected down and ONE incident is raised instead of one alarm per camera.

The daemon calls ``evaluate_group`` after each child's evaluation with the children's current
states and the parent's open incident (persisted like camera states), and passes every child
transition through ``suppress`` while an incident is open: the transition is still recorded, but
marked ``suppressed_by=<parent>`` and not notified. ``probe_children`` names siblings the
scheduler should check at once when a few children start failing, so the incident opens before
the first child completes its own confirmation.

Parents nest (an NVR behind a site's uplink): a parent's children are its cameras and the devices
behind it, a device counting as failing while its own incident is open and weighing as the cameras
behind it. A device's incident that opens while its upstream device may be going down too is held
(``held_since``) until the upstream is judged: covered by the upstream's incident (``covered_by``),
or told as its own once its siblings were checked and the upstream stayed up. One incident for a
site, not one per recorder behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from camcheck.verdict.reasons import Reason, english
from camcheck.verdict.status import CameraState, Evaluation, SourceState, Status


class GroupPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    min_fraction: float = Field(0.8, gt=0, le=1, description="share of children failing together to open")
    min_children: int = Field(3, ge=2, description="fewer failing children never make an incident")
    window_s: float = Field(360.0, gt=0, description="their failures must start within this span")
    close_fraction: float = Field(
        0.5, ge=0, lt=1, description="recovered when fewer than this share still fail (and the rest were re-checked)"
    )
    # Two children failing together is worth checking their siblings at once; one alone is usually
    # the camera's own problem and costs no extra probes.
    probe_min_failing: int = Field(2, ge=1, description="children failing that make siblings worth probing now")
    # A recorder's incident waits this long at most for its upstream device (site, switch) to be
    # judged: its siblings' cameras are checked at once, so it is seldom more than a check or two.
    hold_s: float = Field(120.0, ge=0, description="longest wait for the upstream device's judgement")

    @model_validator(mode="after")
    def _order(self) -> GroupPolicy:
        if self.close_fraction >= self.min_fraction:
            raise ValueError("close_fraction must be below min_fraction (hysteresis)")
        return self


class ParentIncident(BaseModel):
    # Stored (parents.incident): fields a newer node wrote are ignored, as in status.CameraState.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    parent_id: str
    started_at: float
    children_total: int
    affected: list[str]  # children failing when it opened (plus any that failed during it)
    reason: str
    reason_data: Reason | None = None  # the same reason as data (Thai renders it); None in incidents kept before
    recovering_since: float | None = None  # most children delivering again since then
    ended_at: float | None = None
    # Children still failing when the parent recovered: their own problem, report them individually.
    still_failing_at_end: list[str] = Field(default_factory=list)
    cameras_affected: int | None = None  # cameras behind the affected children (None: kept before; = affected)
    held_since: float | None = None  # opened, its announcement waiting for the upstream device's judgement
    covered_by: str | None = None  # the upstream device whose incident told this one

    @property
    def open(self) -> bool:
        return self.ended_at is None

    @property
    def cameras(self) -> int:
        """Cameras behind the affected children."""
        return self.cameras_affected if self.cameras_affected is not None else len(self.affected)

    def closing_reason(self) -> Reason:
        """What the incident's end says (once closed: who is still failing)."""
        return Reason(code="parent_recovered",
                      args={"parent": self.parent_id, "still_failing": self.still_failing_at_end})


class GroupEvaluation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    incident: ParentIncident | None  # the open incident, or the one just closed
    opened: bool = False
    closed: bool = False
    probe_children: list[str] = Field(default_factory=list)
    # Children are worth probing when not checked since this time (a device: its cameras that were not).
    probe_since: float | None = None


@dataclass(frozen=True)
class DeviceChild:
    """A parent device behind this one (an NVR behind a site), as its own judgement left it."""

    incident: ParentIncident | None  # its incident, open or not
    cameras: int  # cameras behind it (its weight: a site's incident counts cameras, not boxes)
    checked_at: float | None  # looked at since then: a sample of its cameras checked (None: never)

    @property
    def failing_since(self) -> float | None:
        return self.incident.started_at if self.incident is not None and self.incident.open else None


def _stream(state: CameraState) -> SourceState | None:
    return state.sources.get("stream")


def _failing_since(state: CameraState) -> float | None:
    """When the child's current run of bad stream checks began, or None if its latest check was good."""
    if state.status == Status.maintenance:
        return None
    s = _stream(state)
    if s is None or s.consecutive_failures == 0:
        return None
    return s.streak_started_at if s.streak_started_at is not None else s.last_check_at


def _largest_cluster(starts: dict[str, float], span: float) -> list[str]:
    """The most children whose failures began within ``span`` seconds of each other."""
    items = sorted(starts.items(), key=lambda kv: (kv[1], kv[0]))
    best: list[str] = []
    lo = 0
    for hi in range(len(items)):
        while items[hi][1] - items[lo][1] > span:
            lo += 1
        if hi - lo + 1 > len(best):
            best = [k for k, _ in items[lo : hi + 1]]
    return best


def _children(
    cameras: Mapping[str, CameraState], devices: Mapping[str, DeviceChild]
) -> tuple[dict[str, float], dict[str, int], dict[str, float | None]]:
    """The counted children's failure starts (failing ones only), weights and latest looks. Cameras
    in maintenance and devices with no camera behind them are left out."""
    failing: dict[str, float] = {}
    weight: dict[str, int] = {}
    checked: dict[str, float | None] = {}
    for cid, st in cameras.items():
        if st.status == Status.maintenance:
            continue
        weight[cid] = 1
        checked[cid] = (s.last_check_at if (s := _stream(st)) is not None else None)
        if (t := _failing_since(st)) is not None:
            failing[cid] = t
    for did, dev in devices.items():
        if dev.cameras <= 0 and dev.failing_since is None:
            continue
        weight[did] = max(1, dev.cameras)
        checked[did] = dev.checked_at
        if (t := dev.failing_since) is not None:
            failing[did] = t
    return failing, weight, checked


def evaluate_group(
    parent_id: str,
    children: Mapping[str, CameraState],
    now: float,
    policy: GroupPolicy,
    incident: ParentIncident | None,
    devices: Mapping[str, DeviceChild] | None = None,
) -> GroupEvaluation:
    """Open, extend or close the parent's incident from its children's current states: its cameras
    (those in maintenance left out of the count) and the devices behind it (`devices`)."""
    if not math.isfinite(now):
        raise ValueError(f"now must be a finite UNIX time, got {now!r}")
    if incident is not None and incident.parent_id != parent_id:
        raise ValueError(f"incident belongs to {incident.parent_id!r}, not {parent_id!r}")
    devices = devices or {}
    failing, weight, checked = _children(children, devices)
    total = len(weight)

    if incident is not None and incident.open:
        inc = incident.model_copy(deep=True)
        inc.affected = sorted(set(inc.affected) | set(failing))
        inc.cameras_affected = sum(weight.get(c, 1) for c in inc.affected)
        if total > 0 and len(failing) >= policy.close_fraction * total:
            inc.recovering_since = None  # still (or again) down
            return GroupEvaluation(incident=inc)
        if inc.recovering_since is None:
            inc.recovering_since = now
        # A child not checked since the parent came back is not "still failing": it has not looked.
        stale = sorted(cid for cid in failing if (checked[cid] or 0.0) < inc.recovering_since)
        if stale:
            return GroupEvaluation(incident=inc, probe_children=stale, probe_since=inc.recovering_since)
        inc.ended_at = now
        inc.still_failing_at_end = sorted(failing)
        return GroupEvaluation(incident=inc, closed=True)

    need = math.ceil(policy.min_fraction * total - 1e-9)
    cluster = _largest_cluster(failing, policy.window_s)
    cameras = sum(weight[c] for c in cluster)
    if total >= 2 and len(cluster) >= need and cameras >= policy.min_children:
        kinds = {c in devices for c in weight}
        why = Reason(code="parent_down", args={
            "parent": parent_id, "failing": len(failing), "total": total, "window_s": policy.window_s,
            "behind": "both" if len(kinds) == 2 else "devices" if True in kinds else "cameras",
            "cameras": sum(weight[c] for c in failing), "address": None, "answers": None})
        inc = ParentIncident(
            parent_id=parent_id,
            started_at=min(failing[c] for c in cluster),
            children_total=total,
            affected=sorted(failing),
            reason=english(why),
            reason_data=why,
            cameras_affected=sum(weight[c] for c in failing),
        )
        return GroupEvaluation(incident=inc, opened=True)

    probe: list[str] = []
    newest: float | None = None
    if sum(weight[c] for c in failing) >= policy.probe_min_failing and sum(weight.values()) >= policy.min_children:
        newest = max(failing.values())
        # Siblings not checked since the failures began: check them now to decide sooner.
        probe = sorted(cid for cid in weight if cid not in failing and (checked[cid] or 0.0) < newest)
    return GroupEvaluation(incident=None, probe_children=probe, probe_since=newest if probe else None)


GRACE_S = 3600.0  # a covered child's recovery this soon after the parent's incident closed is the parent's


def covers(incident: ParentIncident | None, camera_id: str, from_status: Status, to_status: Status, at: float,
           *, grace_s: float = GRACE_S) -> bool:
    """Whether a child's transition is the parent's incident's to tell: any transition while it is
    open, and after it closed, the recovery from broken of a child it covered, within ``grace_s`` of
    the close (its outage was announced as the parent's, so its recovery is too)."""
    if incident is None:
        return False
    if incident.open:
        return True
    covered = camera_id in incident.affected and camera_id not in incident.still_failing_at_end
    recovery = from_status == Status.broken and to_status in (Status.working, Status.degraded)
    recent = incident.ended_at is not None and at - incident.ended_at <= grace_s
    return covered and recovery and recent


def suppress(evaluation: Evaluation, incident: ParentIncident | None, *, grace_s: float = GRACE_S) -> Evaluation:
    """The child's evaluation with its transition marked as covered by the parent's incident when
    covers() says so, and unmarked when it does not: the incident as it stands when the change is
    committed decides, not one read when the check began (it may have closed since)."""
    t = evaluation.transition
    if t is None:
        return evaluation
    covered = incident is not None and covers(incident, t.camera_id, t.from_status, t.to_status, t.at, grace_s=grace_s)
    by = incident.parent_id if covered and incident is not None else None
    if by == t.suppressed_by:
        return evaluation
    return evaluation.model_copy(update={"transition": t.model_copy(update={"suppressed_by": by})})
