"""Dependency grouping: one parent incident instead of one alarm per child."""

from __future__ import annotations

import heapq

import pytest
from pydantic import ValidationError
from verdict_helpers import T0, bad, good

from camcheck.verdict import (
    CameraState,
    DeviceChild,
    GroupPolicy,
    ParentIncident,
    Status,
    StatusPolicy,
    Transition,
    evaluate,
    evaluate_group,
    new_state,
    suppress,
)


class Fleet:
    """A tiny stand-in for the scheduler: children of one NVR checked on a staggered 5-minute
    cycle, fast re-checks and sibling probes honoured, each child's transitions passed through
    the parent's incident as the daemon must."""

    def __init__(self, n: int, parent: str = "nvr-1") -> None:
        self.parent = parent
        self.policy = StatusPolicy()
        self.gpolicy = GroupPolicy()
        self.states: dict[str, CameraState] = {f"ch{i:02d}": new_state(f"ch{i:02d}") for i in range(n)}
        self.queue: list[tuple[float, int, str]] = []
        self.seq = 0
        self.incident: ParentIncident | None = None
        self.incidents_opened: list[ParentIncident] = []
        self.incidents_closed: list[ParentIncident] = []
        self.transitions: list[Transition] = []
        for i, cid in enumerate(self.states):
            self.push(T0 + 30.0 * i, cid)

    def push(self, at: float, cid: str) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, cid))

    def run(
        self,
        until: float,
        down: set[str],
        down_from: float,
        down_to: float = float("inf"),
        also_down: set[str] = frozenset(),
    ) -> None:
        """Children in ``down`` fail between ``down_from`` and ``down_to``; ``also_down`` fail throughout."""
        while self.queue and self.queue[0][0] < until:
            at, _, cid = heapq.heappop(self.queue)
            if self.states[cid].last_check_at is not None and at < self.states[cid].last_check_at:
                continue
            failing = (cid in down and down_from <= at < down_to) or cid in also_down
            ev = evaluate(self.states[cid], bad(at) if failing else good(at), at, self.policy, None)
            ev = suppress(ev, self.incident)
            self.states[cid] = ev.state
            if ev.transition is not None:
                self.transitions.append(ev.transition)
            self.push(ev.next_check.at, cid)
            g = evaluate_group(self.parent, self.states, at, self.gpolicy, self.incident)
            if g.opened:
                self.incidents_opened.append(g.incident)
            if g.closed:
                self.incidents_closed.append(g.incident)
                self.incident = g.incident  # kept briefly so covered recoveries stay quiet
            elif g.incident is not None:
                self.incident = g.incident
            for sib in g.probe_children:  # check siblings now: decide before anyone confirms alone
                self.push(at, sib)

    def notified(self) -> list[Transition]:
        return [t for t in self.transitions if t.notify and t.from_status != Status.unknown]


def test_nine_of_ten_children_fail_one_incident_no_child_alarms() -> None:
    f = Fleet(10)
    f.run(T0 + 600, set(), 0)  # all working
    down = {f"ch{i:02d}" for i in range(9)}
    f.run(T0 + 3600, down, T0 + 600)
    assert len(f.incidents_opened) == 1
    inc = f.incidents_opened[0]
    assert inc.parent_id == "nvr-1" and inc.children_total == 10 and len(inc.affected) >= 8
    assert f.incident is not None and set(f.incident.affected) == down  # the 9th joined once checked
    assert "nvr-1 suspected down" in inc.reason
    assert f.notified() == []  # no child raised its own alarm
    broken = [t for t in f.transitions if t.to_status == Status.broken]
    assert {t.camera_id for t in broken} == down  # but every child's change is recorded...
    assert all(t.suppressed_by == "nvr-1" for t in broken)  # ...marked as covered by the parent
    assert all(f.states[c].status == Status.broken for c in down) and f.states["ch09"].status == Status.working
    # the NVR comes back: the incident closes once, recoveries stay quiet
    f.run(T0 + 7200, down, T0 + 600, T0 + 3600)
    assert len(f.incidents_closed) == 1 and f.incidents_closed[0].still_failing_at_end == []
    assert all(f.states[c].status == Status.working for c in down)
    assert f.notified() == []
    assert len(f.incidents_opened) == 1


def test_one_child_failing_alone_raises_its_own_transition() -> None:
    f = Fleet(10)
    f.run(T0 + 600, set(), 0)
    f.run(T0 + 3600, {"ch03"}, T0 + 600)
    assert f.incidents_opened == []
    assert [(t.camera_id, t.to_status) for t in f.notified()] == [("ch03", Status.broken)]


def test_two_children_failing_get_siblings_probed_but_no_incident() -> None:
    f = Fleet(10)
    f.run(T0 + 600, set(), 0)
    f.run(T0 + 3600, {"ch01", "ch02"}, T0 + 600)
    assert f.incidents_opened == []
    assert sorted(t.camera_id for t in f.notified()) == ["ch01", "ch02"]


def test_child_still_failing_when_parent_recovers_is_reported() -> None:
    f = Fleet(5)
    f.run(T0 + 600, set(), 0)
    down = {f"ch{i:02d}" for i in range(5)}
    f.run(T0 + 3600, down, T0 + 600)
    assert len(f.incidents_opened) == 1
    # everything but ch04 comes back
    f.run(T0 + 7200, down, T0 + 600, T0 + 3600, also_down={"ch04"})
    assert f.incidents_closed and f.incidents_closed[0].still_failing_at_end == ["ch04"]
    assert f.states["ch04"].status == Status.broken
    # the others' recoveries stay quiet; ch04 is now its own problem (the daemon announces it at close)
    assert f.notified() == []
    assert all(f.states[c].status == Status.working for c in down - {"ch04"})


def test_the_incident_at_commit_decides_cover_and_can_lift_it() -> None:
    """A change marked covered by the incident as read when its check began is unmarked when, by its
    commit, the incident has closed with that camera still failing: it is the camera's own now
    (a worker's stale copy of the open incident hid such a recovery from everyone)."""
    from camcheck.verdict import Evaluation

    inc = ParentIncident(parent_id="nvr-1", started_at=T0, children_total=4, affected=["ch1", "ch2", "ch3", "ch4"],
                         reason="down")
    recovery = Transition(camera_id="ch4", at=T0 + 100, from_status=Status.broken, to_status=Status.working,
                          reason="back")
    ev = suppress(Evaluation(state=new_state("ch4"), transition=recovery), inc)
    assert ev.transition is not None and ev.transition.suppressed_by == "nvr-1" and not ev.transition.notify
    closed = inc.model_copy(update={"ended_at": T0 + 90, "still_failing_at_end": ["ch4"]})
    lifted = suppress(ev, closed)
    assert lifted.transition is not None and lifted.transition.suppressed_by is None and lifted.transition.notify
    # a camera the incident did cover: its recovery soon after the close stays the parent's
    other = suppress(Evaluation(state=new_state("ch1"), transition=recovery.model_copy(update={"camera_id": "ch1"})),
                     closed)
    assert other.transition is not None and other.transition.suppressed_by == "nvr-1"
    assert suppress(ev, None).transition.suppressed_by is None  # type: ignore[union-attr]


def test_group_rules_directly() -> None:
    p = GroupPolicy(min_children=3, min_fraction=0.8, window_s=300)

    def failing_since(t: float) -> CameraState:
        st = new_state("x")
        for k in range(3):
            st = evaluate(st, bad(t + 20 * k), t + 20 * k, StatusPolicy(), None).state
        return st

    ok = evaluate(new_state("y"), good(T0), T0, StatusPolicy(), None).state
    # two children only: never an incident, whatever the fraction
    g = evaluate_group("sw", {"a": failing_since(T0), "b": failing_since(T0)}, T0 + 100, p, None)
    assert g.incident is None
    # four of five, but their failures began far apart: not "together"
    apart = {"a": failing_since(T0), "b": failing_since(T0 + 1000), "c": failing_since(T0 + 2000),
             "d": failing_since(T0 + 3000), "e": ok}
    assert evaluate_group("sw", apart, T0 + 3100, p, None).incident is None
    together = {"a": failing_since(T0), "b": failing_since(T0 + 50), "c": failing_since(T0 + 100),
                "d": failing_since(T0 + 250), "e": ok}
    g = evaluate_group("sw", together, T0 + 300, p, None)
    assert g.opened and g.incident is not None and g.incident.started_at == T0
    with pytest.raises(ValueError, match="belongs to"):
        evaluate_group("other", together, T0 + 300, p, g.incident)
    with pytest.raises(ValidationError, match="close_fraction"):
        GroupPolicy(min_fraction=0.5, close_fraction=0.6)


def _down(parent: str, since: float, cameras: int) -> DeviceChild:
    """A recorder whose own incident is open since `since`, its cameras all checked then."""
    inc = ParentIncident(parent_id=parent, started_at=since, children_total=cameras,
                         affected=[f"{parent}-ch{i}" for i in range(cameras)], reason="down")
    return DeviceChild(incident=inc, cameras=cameras, checked_at=since + 30)


def _up(cameras: int, checked_at: float) -> DeviceChild:
    return DeviceChild(incident=None, cameras=cameras, checked_at=checked_at)


def test_a_site_is_down_when_most_devices_behind_it_are_and_counts_their_cameras() -> None:
    """A site's uplink: its recorders' incidents open together and the site's opens over them,
    counting the recorders and the cameras behind them (one incident, not one per recorder)."""
    p = GroupPolicy()
    two_of_three = {"nvr-a": _down("nvr-a", T0, 8), "nvr-b": _down("nvr-b", T0 + 40, 6),
                    "nvr-c": _up(8, T0 + 60)}
    assert evaluate_group("site-1", {}, T0 + 100, p, None, two_of_three).incident is None  # 67 % < 80 %
    three = {**two_of_three, "nvr-c": _down("nvr-c", T0 + 70, 8)}
    g = evaluate_group("site-1", {}, T0 + 100, p, None, three)
    assert g.opened and g.incident is not None
    assert (g.incident.affected, g.incident.cameras, g.incident.started_at) == (["nvr-a", "nvr-b", "nvr-c"], 22, T0)
    assert g.incident.reason == ("Parent site-1 suspected down: 3 of 3 devices behind it (22 cameras) "
                                 "stopped delivering within 6 min.")
    # two recorders are enough (each is already a group's judgement); one alone is its own incident
    assert evaluate_group("site-1", {}, T0 + 100, p, None,
                          {"nvr-a": _down("nvr-a", T0, 8), "nvr-b": _down("nvr-b", T0, 2)}).opened
    assert evaluate_group("site-1", {}, T0 + 100, p, None, {"nvr-a": _down("nvr-a", T0, 8)}).incident is None
    # devices with no camera behind them are not counted; a recorder down with cameras on the site itself
    empty = {**three, "sw-spare": _up(0, None)}
    assert evaluate_group("site-1", {}, T0 + 100, p, None, empty).incident.children_total == 3  # type: ignore[union-attr]

    def failing(cid: str, t: float) -> CameraState:
        return evaluate(new_state(cid), bad(t), t, StatusPolicy(), None).state

    ok = evaluate(new_state("cam-ok"), good(T0 + 50), T0 + 50, StatusPolicy(), None).state
    mixed = evaluate_group("site-2", {"cam-x": failing("cam-x", T0 + 10), "cam-y": failing("cam-y", T0 + 20)},
                           T0 + 100, p, None, {"nvr-a": _down("nvr-a", T0, 8)})
    assert mixed.opened and mixed.incident is not None and mixed.incident.cameras == 10
    assert "3 of 3 devices and cameras behind it (10 cameras)" in mixed.incident.reason
    assert evaluate_group("site-2", {"cam-x": failing("cam-x", T0 + 10), "cam-ok": ok}, T0 + 100, p, None,
                          {"nvr-a": _down("nvr-a", T0, 8)}).incident is None  # 2 of 3 failing


def test_one_recorder_down_gets_its_siblings_cameras_checked_and_the_site_waits_for_them() -> None:
    p = GroupPolicy()
    stale = {"nvr-a": _down("nvr-a", T0, 8), "nvr-b": _up(8, T0 - 200), "nvr-c": _up(8, T0 + 50)}
    g = evaluate_group("site-1", {}, T0 + 100, p, None, stale)
    # nvr-b's cameras were last all checked before nvr-a went down: check them now (those not since T0)
    assert (g.incident, g.probe_children, g.probe_since) == (None, ["nvr-b"], T0)
    fresh = {**stale, "nvr-b": _up(8, T0 + 60)}
    g = evaluate_group("site-1", {}, T0 + 100, p, None, fresh)
    assert (g.incident, g.probe_children) == (None, [])  # checked and delivering: nvr-a is down on its own


def test_a_site_closes_when_its_devices_are_back_and_names_those_still_down() -> None:
    p = GroupPolicy()
    three = {d: _down(d, T0, 8) for d in ("nvr-a", "nvr-b", "nvr-c")}
    g = evaluate_group("site-1", {}, T0 + 100, p, None, three)
    assert g.opened and g.incident is not None
    back = {"nvr-a": _up(8, T0 + 900), "nvr-b": _up(8, T0 + 900), "nvr-c": _down("nvr-c", T0, 8)}
    # nvr-c still down, and its cameras not looked at since the site came back: look first
    g2 = evaluate_group("site-1", {}, T0 + 1000, p, g.incident, back)
    assert (g2.closed, g2.probe_children, g2.probe_since) == (False, ["nvr-c"], T0 + 1000)
    looked = {**back, "nvr-c": DeviceChild(incident=back["nvr-c"].incident, cameras=8, checked_at=T0 + 1010)}
    g3 = evaluate_group("site-1", {}, T0 + 1020, p, g2.incident, looked)
    assert g3.closed and g3.incident is not None and g3.incident.still_failing_at_end == ["nvr-c"]
