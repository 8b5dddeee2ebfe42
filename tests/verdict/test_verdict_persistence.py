"""A daemon that persists CameraState after every evaluation resumes exactly after a restart."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from verdict_helpers import T0, Driver, bad, good, looks, onvif

from camcheck.verdict import CameraState, CheckOutcome, Evaluation, Status, StatusPolicy, evaluate, new_state
from camcheck.verdict.claims import MeasuredFacts
from camcheck.verdict.maintenance import MaintenanceInfo

SCRIPT: list[tuple[float, CheckOutcome]] = []
_t = T0
for kind in ["ok", "blurred", "blurred", "fail", "fail", "fail", "ok", "onvif_nr", "ok", "onvif_nr", "onvif_nr",
             "ok", "onvif_ok", "onvif_ok", "frozen", "frozen", "ok", "ok", "fail", "ok", "ok"]:
    _t += 45.0
    SCRIPT.append(
        (
            _t,
            {
                "ok": good(_t),
                "fail": bad(_t, "timeout_response"),
                "blurred": looks(_t, "blurred"),
                "frozen": looks(_t, "frozen"),
                "onvif_nr": onvif(_t, "not_recording"),
                "onvif_ok": onvif(_t),
            }[kind],
        )
    )


def run(restart: callable | None) -> tuple[list[Evaluation], CameraState]:
    policy = StatusPolicy()
    state = new_state("cam-7")
    evs = []
    for now, out in SCRIPT:
        ev = evaluate(state, out, now, policy, None)
        evs.append(ev)
        state = restart(ev.state) if restart else ev.state
    return evs, state


def test_json_round_trip_every_step_gives_identical_results() -> None:
    plain, final = run(None)
    restored, final2 = run(lambda s: CameraState.from_json(s.to_json()))
    assert [e.model_dump() for e in plain] == [e.model_dump() for e in restored]
    assert final == final2
    # blurred confirmed -> degraded; 3 timeouts -> broken; 2 good -> working (blur gone); 3 recorder
    # misses -> broken; the 5th change within the hour -> flapping, then silence
    assert [e.transition.to_status for e in plain if e.transition] == [
        Status.working,
        Status.degraded,
        Status.broken,
        Status.working,
        Status.broken,
        Status.flapping,
    ]


def test_state_survives_a_real_sqlite_database_mid_confirmation(tmp_path: Path) -> None:
    policy = StatusPolicy()
    db = sqlite3.connect(tmp_path / "state.db")
    db.execute("CREATE TABLE camera_state (camera_id TEXT PRIMARY KEY, state TEXT NOT NULL)")
    state = evaluate(new_state("cam-1"), good(T0), T0, policy, None).state
    ev = evaluate(state, bad(T0 + 300), T0 + 300, policy, None)
    ev = evaluate(ev.state, bad(T0 + 320), T0 + 320, policy, None)
    assert ev.state.status == Status.working and ev.next_check.at == T0 + 380  # mid-confirmation
    db.execute("INSERT INTO camera_state VALUES (?, ?)", ("cam-1", ev.state.to_json()))
    db.commit()
    db.close()
    uninterrupted = evaluate(ev.state, bad(T0 + 380), T0 + 380, policy, None)

    # "kill -9" and start again: only the database survives
    db = sqlite3.connect(tmp_path / "state.db")
    (text,) = db.execute("SELECT state FROM camera_state WHERE camera_id = 'cam-1'").fetchone()
    db.close()
    restored = CameraState.from_json(text)
    assert json.loads(text)["sources"]["stream"]["consecutive_failures"] == 2
    resumed = evaluate(restored, bad(T0 + 380), T0 + 380, policy, None)
    assert resumed == uninterrupted
    assert resumed.transition is not None and resumed.transition.to_status == Status.broken


def test_maintenance_and_flapping_state_round_trip() -> None:
    p = StatusPolicy(fail_threshold=1, recover_threshold=1)
    st = new_state("c")
    t = T0
    for i in range(12):
        t += 60
        st = evaluate(st, bad(t) if i % 2 else good(t), t, p, None).state
    assert st.status == Status.flapping
    assert CameraState.from_json(st.to_json()) == st
    info = MaintenanceInfo(window_id="w", scope="camera", target_id="c", reason="r", owner="o", until=t + 600)
    st = evaluate(st, good(t + 60), t + 60, p, info).state
    assert st.status == Status.maintenance and CameraState.from_json(st.to_json()) == st


def test_a_state_written_by_a_newer_version_is_read_ignoring_what_it_does_not_know() -> None:
    """Rolling upgrade: nodes of two versions share the registry; a newer node's added fields (at the
    top, in a source, a finding, a run of pictures, a scheduled check, a reason) must not make an
    older node fail to read the state, nor lose what it does know."""
    d = Driver()
    d.feed_all([good, bad, bad, bad])
    d.feed(lambda at: CheckOutcome(at=at, findings=("blurred",), signature=[[100.0] * 16] * 6,
                                   facts=MeasuredFacts(stream_role="sub")))
    state = d.state
    data = json.loads(state.to_json())
    data["added_later"] = {"x": 1}
    next(iter(data["sources"].values()))["added_later"] = 2
    next(iter(data["findings"].values()))["added_later"] = 3
    next(iter(data["next_checks"].values()))["added_later"] = 4
    data["reason_data"]["added_later"] = 5
    data["pictures"]["sub"]["added_later"] = 6
    read = CameraState.from_json(json.dumps(data))
    assert read == state and read.status == Status.broken and read.reason_data is not None
    assert "added_later" not in read.to_json()
