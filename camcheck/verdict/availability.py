"""Availability over a window, from a camera's status transitions.

Decisions: working and degraded count as up (the picture is usable); broken and flapping count
as down (a flapping camera cannot be relied on); maintenance and unknown are excluded from the
denominator (downtime under repair is planned; time before the first verdict proves nothing).
Transitions suppressed by a parent incident are real status changes and count like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from camcheck.verdict.status import Status, Transition

UP = frozenset({Status.working, Status.degraded})
DOWN = frozenset({Status.broken, Status.flapping})
DAY_S = 86400.0


class Availability(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    start: float
    end: float
    up_s: float
    down_s: float
    maintenance_s: float
    unknown_s: float
    percent: float | None  # None when nothing in the window counts (all maintenance/unknown)


def availability(
    transitions: Sequence[Transition], start: float, end: float, *, status_at_start: Status | None = None
) -> Availability:
    """Availability in [start, end). ``transitions`` are one camera's, in any order; the status at
    ``start`` is taken from the last transition before it, else ``status_at_start``, else the first
    transition's ``from_status``, else unknown."""
    if not end > start:
        raise ValueError(f"availability window must have end > start (got {start} .. {end})")
    ids = {t.camera_id for t in transitions}
    if len(ids) > 1:
        raise ValueError(f"transitions of several cameras mixed: {', '.join(sorted(ids))}")
    ordered = sorted(transitions, key=lambda t: t.at)
    before = [t for t in ordered if t.at <= start]
    if before:
        current = before[-1].to_status
    elif status_at_start is not None:
        current = status_at_start
    elif ordered:
        current = ordered[0].from_status
    else:
        current = Status.unknown

    spans = {s: 0.0 for s in Status}
    cursor = start
    for t in ordered:
        if t.at <= start:
            continue
        if t.at >= end:
            break
        spans[current] += t.at - cursor
        cursor = t.at
        current = t.to_status
    spans[current] += end - cursor

    up = sum(spans[s] for s in UP)
    down = sum(spans[s] for s in DOWN)
    counted = up + down
    return Availability(
        start=start,
        end=end,
        up_s=up,
        down_s=down,
        maintenance_s=spans[Status.maintenance],
        unknown_s=spans[Status.unknown],
        percent=None if counted <= 0 else round(100.0 * up / counted, 4),
    )


def availability_days(
    transitions: Sequence[Transition], now: float, days: Sequence[int] = (7, 30), *, status_at_start: Status | None = None
) -> dict[int, Availability]:
    """The report's 7- and 30-day figures ending at ``now``."""
    return {d: availability(transitions, now - d * DAY_S, now, status_at_start=status_at_start) for d in days}
