"""camcheck.verdict.unchanged and the status machine: when a run of unchanged pictures starts, goes
on, becomes the finding `unchanged`, survives a restart, and clears. (Signatures of real decoded
frames: tests/probe/test_image.py; the daemon against the simulator: tests/daemon/test_daemon_unchanged.py.)"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from verdict_helpers import T0, Driver

from camcheck.verdict import CameraState, CheckOutcome, Status, StatusPolicy
from camcheck.verdict.claims import MeasuredFacts
from camcheck.verdict.unchanged import UNCHANGED_MAX_CHANGE, PictureRun, longest_run, stored_signature, track, unchanged_for

H = 3600.0
SIG = stored_signature(np.full((6, 16), 100.0))


def _run(times: list[float], sig=SIG, run=None):  # noqa: ANN001, ANN202
    for t in times:
        run = track(run, sig, t, horizon_s=H)
    return run


def test_a_run_spanning_the_horizon_over_enough_checks_is_the_finding() -> None:
    run = _run([0, 600, 1200, 1800, 2400, 3000])
    assert run.checks == 6 and unchanged_for(run, horizon_s=H, min_checks=4) is None  # 50 min < 1 h
    run = _run([3600], run=run)
    assert unchanged_for(run, horizon_s=H, min_checks=4) == 3600
    assert unchanged_for(run, horizon_s=H, min_checks=8) is None  # too few checks to say


def test_small_drift_continues_the_run_a_change_starts_a_new_one() -> None:
    run = _run([0, 600])
    drift = stored_signature(np.full((6, 16), 100.0 + UNCHANGED_MAX_CHANGE - 0.01))
    run = track(run, drift, 1200, horizon_s=H)
    assert run.checks == 3 and run.since == 0
    changed = np.full((6, 16), 100.0)
    changed[2, 5] += UNCHANGED_MAX_CHANGE + 0.01  # one cell: something came or went
    run = track(run, stored_signature(changed), 1800, horizon_s=H)
    assert run.checks == 1 and run.since == 1800
    assert run.signature == stored_signature(changed)  # later checks compare with the new picture


def test_a_failed_check_keeps_the_run_a_long_gap_or_another_size_restarts_it() -> None:
    run = _run([0, 600])
    assert track(run, None, 900, horizon_s=H) is run
    assert track(None, None, 900, horizon_s=H) is None
    later = track(run, SIG, 600 + H / 2 + 1, horizon_s=H)  # half a horizon with no picture: no proof
    assert later.checks == 1 and later.since == 600 + H / 2 + 1
    other = track(run, stored_signature(np.full((9, 16), 100.0)), 1200, horizon_s=H)
    assert other.checks == 1 and other.since == 1200


POLICY = StatusPolicy(unchanged_after_s=H, unchanged_min_checks=4)


def picture(sig=SIG, *findings: str, role: str = "sub"):  # noqa: ANN001, ANN201
    return lambda at: CheckOutcome(at=at, findings=findings, signature=sig,
                                   facts=MeasuredFacts(stream_role=role))


def test_the_status_machine_flags_it_keeps_it_across_a_restart_and_clears_it() -> None:
    d = Driver(POLICY)
    for k in range(6):  # every 10 min for 50 min: working, nothing yet
        ev = d.feed(picture(), at=T0 + 600 * k)
    assert d.state.status == Status.working and "unchanged" not in ev.findings
    # a restart: the state is stored as JSON and read back; the run goes on
    d.state = CameraState.from_json(d.state.to_json())
    assert d.state.pictures["sub"].checks == 6
    ev = d.feed(picture(), at=T0 + 3600)
    assert ev.findings == ["unchanged"] and ev.severity == "broken"
    ev = d.feed(picture())  # confirmed by the fast re-checks, like any broken-level finding
    ev = d.feed(picture())
    assert d.state.status == Status.broken and "unchanged" in d.transitions[-1].findings
    # since when, how long, over how many checks: the run's first check (T0) says
    since = datetime.fromtimestamp(T0, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"picture has not changed at all since {since} (1.0 h over 9 checks" in d.transitions[-1].reason
    # the main stream is another picture: its own run, not flagged by the sub-stream's
    ev = d.feed(picture(stored_signature(np.full((6, 16), 50.0)), role="main"))
    assert "unchanged" not in ev.findings and d.state.pictures["main"].checks == 1
    # the view changes: a new run, the finding goes, the camera recovers
    moved = stored_signature(np.full((6, 16), 120.0))
    for _ in range(3):
        ev = d.feed(picture(moved))
    assert "unchanged" not in ev.findings and d.state.status == Status.working


def test_frozen_black_or_covered_say_it_already_and_off_means_off() -> None:
    d = Driver(POLICY)
    for k in range(8):
        ev = d.feed(picture(SIG, "frozen"), at=T0 + 600 * k)
    assert ev.findings == ["frozen"]
    off = Driver(StatusPolicy(unchanged_after_s=0, unchanged_min_checks=4))
    for k in range(8):
        ev = off.feed(picture(), at=T0 + 600 * k)
    assert ev.findings == [] and off.state.pictures == {}


def test_the_longest_run_of_a_cameras_streams() -> None:
    def run(since: float, last: float, checks: int) -> PictureRun:
        return PictureRun(signature=SIG, since=since, last=last, checks=checks)
    assert longest_run({}) is None
    main, sub = run(100, 200, 3), run(0, 250, 2)
    assert longest_run({"main": main, "sub": sub}) is sub
    assert longest_run({"main": run(0, 250, 5), "sub": sub}).checks == 5  # as long: the more checks
