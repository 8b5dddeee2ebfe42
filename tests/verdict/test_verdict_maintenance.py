"""Maintenance windows: scope, validation, status inside, reporting at the end, availability."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from verdict_helpers import FAIL, OK, T0, Driver

from camcheck.verdict import (
    MaintenanceWindow,
    Status,
    StatusPolicy,
    Transition,
    active_window,
    availability,
    availability_days,
    tick,
)


def window(id_: str = "mw-1", scope: str = "camera", target: str = "cam-1", start: float = T0, hours: float = 2) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=id_, scope=scope, target_id=target, reason="replace lens", owner="Somchai (district office)",
        starts_at=start, expires_at=start + hours * 3600,
    )


def test_active_window_by_camera_parent_and_site() -> None:
    ws = [
        window("w-cam", "camera", "cam-1", hours=1),
        window("w-nvr", "parent", "nvr-7", hours=3),
        window("w-site", "site", "site-A", start=T0 + 10 * 3600),
        window("w-other", "camera", "cam-2"),
    ]
    info = active_window("cam-1", ["nvr-7", "site-A"], ws, T0 + 60)
    assert info is not None and info.window_id == "w-cam" and info.until == T0 + 3 * 3600  # until all are over
    info = active_window("cam-1", ["nvr-7", "site-A"], ws, T0 + 2 * 3600)
    assert info is not None and info.window_id == "w-nvr" and info.scope == "parent"
    assert active_window("cam-1", ["nvr-7", "site-A"], ws, T0 + 4 * 3600) is None
    info = active_window("cam-3", ["site-A"], ws, T0 + 10 * 3600 + 1)
    assert info is not None and info.window_id == "w-site"
    assert active_window("cam-3", ["nvr-9"], ws, T0 + 60) is None
    # a camera-scoped window for a *parent* id does not cover the children
    assert active_window("cam-9", ["cam-1"], ws, T0 + 60) is None


def test_window_ended_early_keeps_expiry_for_audit() -> None:
    w = window().end_early(T0 + 600, "Somchai")
    assert w.expires_at == T0 + 7200 and w.ended_at == T0 + 600 and w.ended_by == "Somchai"
    assert w.is_active(T0 + 599) and not w.is_active(T0 + 600)
    assert active_window("cam-1", [], [w], T0 + 700) is None
    with pytest.raises(ValueError, match="who ended"):
        window().end_early(T0 + 1, " ")


@pytest.mark.parametrize(
    "change, match",
    [
        ({"reason": " "}, "reason and an owner"),
        ({"owner": ""}, "reason and an owner"),
        ({"expires_at": T0}, "expires_at must be after"),
        ({"expires_at": T0 + 100 * 86400}, "longer than"),
        ({"scope": "planet"}, "scope"),
    ],
)
def test_bad_windows_are_rejected(change: dict, match: str) -> None:
    base = window().model_dump() | change
    with pytest.raises(ValidationError, match=match):
        MaintenanceWindow(**base)


def test_inside_window_no_broken_transition_and_end_while_down_reports_at_once() -> None:
    d = Driver()
    w = window(start=T0 + 1000, hours=1)
    d.feed(OK)
    d.feed(OK)
    info = active_window("cam-1", [], [w], T0 + 1000)
    ev = tick(d.state, T0 + 1000, d.policy, info)  # window starts: under repair at once
    assert ev.transition is not None and ev.transition.to_status == Status.maintenance
    assert "replace lens" in ev.transition.reason and "Somchai" in ev.transition.reason
    d.state = ev.state
    d.transitions.append(ev.transition)
    t = T0 + 1100
    while t < w.expires_at:
        ev = d.feed(FAIL, at=t, maint=active_window("cam-1", [], [w], t))
        assert ev.transition is None
        t = ev.next_check.at
    assert d.state.status == Status.maintenance and d.state.underlying == Status.broken
    assert ev.next_check.reason == "maintenance_end" and ev.next_check.at == w.expires_at
    # The check at the window's end still fails: broken at once, no 20 s / 60 s re-confirmation.
    ev = d.feed(FAIL, at=w.expires_at, maint=active_window("cam-1", [], [w], w.expires_at))
    assert ev.transition is not None
    assert (ev.transition.from_status, ev.transition.to_status) == (Status.maintenance, Status.broken)
    assert "still failing" in ev.transition.reason and ev.transition.maintenance_window_id == "mw-1"
    assert d.statuses() == [("unknown", "working"), ("working", "maintenance"), ("maintenance", "broken")]


def test_end_of_window_after_one_failure_is_broken_at_once_via_tick() -> None:
    d = Driver()
    w = window(hours=1)
    d.feed(OK, at=T0 - 600)
    d.feed(OK, at=T0 + 10, maint=active_window("cam-1", [], [w], T0 + 10))
    d.feed(FAIL, at=T0 + 3500, maint=active_window("cam-1", [], [w], T0 + 3500))  # only one failure
    ev = tick(d.state, w.expires_at, d.policy, active_window("cam-1", [], [w], w.expires_at))
    assert ev.transition is not None and ev.transition.to_status == Status.broken


def test_end_of_window_after_repair_is_working_at_once() -> None:
    d = Driver()
    w = window(hours=1)
    d.feed_all([OK, FAIL, FAIL, FAIL])
    assert d.state.status == Status.broken
    d.feed(FAIL, at=T0 + 5, maint=active_window("cam-1", [], [w], T0 + 5))
    d.feed(OK, at=T0 + 3000, maint=active_window("cam-1", [], [w], T0 + 3000))
    ev = d.feed(OK, at=w.expires_at, maint=None)
    assert ev.transition is not None and (ev.transition.from_status, ev.transition.to_status) == (
        Status.maintenance,
        Status.working,
    )


def _t(at: float, a: Status, b: Status, cam: str = "cam-1") -> Transition:
    return Transition(camera_id=cam, at=at, from_status=a, to_status=b, reason="test")


def test_availability_excludes_maintenance() -> None:
    H = 3600.0
    ts = [
        _t(T0, Status.unknown, Status.working),
        _t(T0 + 10 * H, Status.working, Status.broken),
        _t(T0 + 12 * H, Status.broken, Status.maintenance),
        _t(T0 + 20 * H, Status.maintenance, Status.working),
    ]
    a = availability(ts, T0, T0 + 24 * H)
    assert a.up_s == 14 * H and a.down_s == 2 * H and a.maintenance_s == 8 * H
    assert a.percent == pytest.approx(100 * 14 / 16)
    # without the maintenance window the same downtime would count fully
    no_mw = [ts[0], ts[1], _t(T0 + 20 * H, Status.broken, Status.working)]
    assert availability(no_mw, T0, T0 + 24 * H).percent == pytest.approx(100 * 14 / 24)


def test_availability_from_the_machine_and_edge_cases() -> None:
    d = Driver()
    w = window(start=T0 + 3600, hours=1)
    d.feed(OK)
    t = d.now
    while t < T0 + 3 * 3600:
        ev = d.feed(FAIL if t >= T0 + 1800 else OK, at=t, maint=active_window("cam-1", [], [w], t))
        t = ev.next_check.at
    a = availability(d.transitions, T0, T0 + 3 * 3600)
    into = next(t.at for t in d.transitions if t.to_status == Status.maintenance)
    out = next(t.at for t in d.transitions if t.from_status == Status.maintenance)
    # the first check inside the window puts it in maintenance; the end is exact (scheduled at expiry)
    assert T0 + 3600 <= into < T0 + 3600 + 300 and out == w.expires_at
    assert a.maintenance_s == out - into
    assert a.down_s > 0 and a.up_s > 0 and a.percent is not None and a.percent < 50
    days = availability_days(d.transitions, T0 + 3 * 3600)
    assert set(days) == {7, 30} and days[7].unknown_s > 0  # before the first check: excluded
    assert availability([], T0, T0 + 10).percent is None
    assert availability([], T0, T0 + 10, status_at_start=Status.working).percent == 100.0
    with pytest.raises(ValueError, match="end > start"):
        availability([], T0, T0)
    with pytest.raises(ValueError, match="several cameras"):
        availability([_t(T0, Status.unknown, Status.working), _t(T0, Status.unknown, Status.working, "cam-2")], T0, T0 + 1)


def test_flapping_counts_as_down() -> None:
    ts = [_t(T0, Status.unknown, Status.working), _t(T0 + 50, Status.working, Status.flapping)]
    assert availability(ts, T0, T0 + 100).percent == 50.0


def test_next_check_lands_on_window_end_when_it_comes_first() -> None:
    d = Driver(StatusPolicy(interval_s=600))
    w = window(hours=0.25)  # 900 s
    ev = d.feed(OK, at=T0, maint=active_window("cam-1", [], [w], T0))
    assert ev.next_check.reason == "normal" and ev.next_check.at == T0 + 600
    ev = d.feed(OK, at=T0 + 600, maint=active_window("cam-1", [], [w], T0 + 600))
    assert ev.next_check.reason == "maintenance_end" and ev.next_check.at == w.expires_at
