"""The verdict: facts vs registered claims vs policy -> findings and a status that can be trusted.

Pure, deterministic code (no I/O, no clock reads): the daemon passes a camera's persisted state
and a new check outcome and gets back the new state, at most one transition, and when to check next.

Daemon contract, in order, for each finished check of a camera:
1. ``outcome = from_observation(obs)`` (or ``from_onvif_observation``), ``.with_claims(claims)``;
2. ``ev = evaluate(state, outcome, now, policy, active_window(camera, parents, windows, now))``;
3. for a camera behind a parent: ``ev = suppress(ev, incident)``, then
   ``g = evaluate_group(parent, children_states, now, group_policy, incident)``; probe
   ``g.probe_children`` at once; on ``g.closed`` announce ``still_failing_at_end`` individually;
4. persist ``ev.state`` (JSON) and ``ev.transition`` (even when suppressed); notify only if
   ``transition.notify``; schedule ``ev.next_check``.
Call ``tick()`` when a maintenance window starts or ends and on a slow timer (flapping ends by time).
"""

from camcheck.verdict.availability import Availability, availability, availability_days
from camcheck.verdict.claims import ClaimFinding, ClaimTolerance, MeasuredFacts, RegisteredClaims, compare_claims
from camcheck.verdict.grouping import (
    DeviceChild,
    GroupEvaluation,
    GroupPolicy,
    ParentIncident,
    evaluate_group,
    suppress,
)
from camcheck.verdict.labels import NationalLabel, label_for, label_for_status
from camcheck.verdict.maintenance import MaintenanceInfo, MaintenanceWindow, active_window
from camcheck.verdict.policy import StatusPolicy
from camcheck.verdict.status import (
    CameraState,
    CheckOutcome,
    Evaluation,
    NextCheck,
    Status,
    Transition,
    evaluate,
    from_observation,
    from_onvif,
    from_onvif_observation,
    new_state,
    tick,
)

__all__ = [
    "Availability",
    "CameraState",
    "CheckOutcome",
    "DeviceChild",
    "ClaimFinding",
    "ClaimTolerance",
    "Evaluation",
    "GroupEvaluation",
    "GroupPolicy",
    "MaintenanceInfo",
    "MaintenanceWindow",
    "MeasuredFacts",
    "NationalLabel",
    "NextCheck",
    "ParentIncident",
    "RegisteredClaims",
    "Status",
    "StatusPolicy",
    "Transition",
    "active_window",
    "availability",
    "availability_days",
    "compare_claims",
    "evaluate",
    "evaluate_group",
    "from_observation",
    "from_onvif",
    "from_onvif_observation",
    "label_for",
    "label_for_status",
    "new_state",
    "suppress",
    "tick",
]
