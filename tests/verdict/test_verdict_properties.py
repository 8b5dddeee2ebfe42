"""Properties of the status machine over arbitrary check sequences (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camcheck.verdict import CameraState, CheckOutcome, Evaluation, Status, StatusPolicy, evaluate, new_state, tick
from camcheck.verdict.maintenance import MaintenanceInfo

T0 = 1_780_000_000.0
PLAIN = {Status.unknown, Status.working, Status.degraded, Status.broken}

KINDS = {
    # name: (source, failure, findings, bad for its source, blind)
    "ok": ("stream", None, (), False, False),
    "unreachable": ("stream", "unreachable", (), True, True),
    "timeout": ("stream", "timeout_response", (), True, True),
    "frozen": ("stream", None, ("frozen",), True, False),
    "blurred": ("stream", None, ("blurred",), False, False),
    "lowfps_dark": ("stream", None, ("low_fps", "dark"), False, False),
    "onvif_ok": ("onvif", None, (), False, False),
    "onvif_nr": ("onvif", None, ("not_recording",), True, False),
    "onvif_down": ("onvif", None, ("onvif_unreachable",), False, True),
    "onvif_drift": ("onvif", None, ("clock_drift", "no_profile_g"), False, False),
}


@dataclass(frozen=True)
class Step:
    dt: float
    kind: str
    maintenance: bool


steps = st.lists(
    st.builds(
        Step,
        dt=st.sampled_from([1.0, 20.0, 30.0, 60.0, 300.0, 900.0, 2000.0, 4000.0]),
        kind=st.sampled_from(sorted(KINDS)),
        maintenance=st.sampled_from([False, False, False, True]),
    ),
    min_size=1,
    max_size=60,
)
policies = st.sampled_from(
    [
        StatusPolicy(),
        StatusPolicy(fail_threshold=1, recover_threshold=1, flap_max_transitions=2, flap_window_s=900, flap_stable_s=600),
        StatusPolicy(fail_threshold=4, recover_threshold=3, degrade_threshold=1),
    ]
)
SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def outcome(kind: str, at: float) -> CheckOutcome:
    source, failure, findings, _, _ = KINDS[kind]
    return CheckOutcome(source=source, at=at, failure=failure, findings=findings)


def maint(now: float) -> MaintenanceInfo:
    return MaintenanceInfo(window_id="w", scope="camera", target_id="cam", reason="repair", owner="ops", until=now + 3600)


def drive(
    seq: list[Step], policy: StatusPolicy, restart: bool = False
) -> list[tuple[float, Step, CameraState, Evaluation]]:
    state = new_state("cam")
    now = T0
    out = []
    for s in seq:
        now += s.dt
        ev = evaluate(state, outcome(s.kind, now), now, policy, maint(now) if s.maintenance else None)
        out.append((now, s, state, ev))
        state = CameraState.from_json(ev.state.to_json()) if restart else ev.state
    return out


@SETTINGS
@given(steps, policies)
def test_transitions_are_consistent_and_settling_is_idempotent(seq: list[Step], policy: StatusPolicy) -> None:
    for now, _, before, ev in drive(seq, policy):
        t = ev.transition
        if t is None:
            assert ev.state.status == before.status
        else:
            assert t.from_status == before.status and t.to_status == ev.state.status and t.from_status != t.to_status
            assert t.at == now and t.reason
        assert ev.state.underlying in PLAIN
        # nothing is left to settle: the same instant never yields a second transition
        assert tick(ev.state, now, policy, None if ev.state.status != Status.maintenance else maint(now)).transition is None


@SETTINGS
@given(steps, policies)
def test_no_transition_in_maintenance_except_entering_it(seq: list[Step], policy: StatusPolicy) -> None:
    for _, s, before, ev in drive(seq, policy):
        if s.maintenance:
            assert ev.state.status == Status.maintenance
            if ev.transition is not None:
                assert ev.transition.to_status == Status.maintenance and before.status != Status.maintenance


@SETTINGS
@given(steps, policies)
def test_broken_never_reached_with_fewer_than_n_consecutive_bad_checks(seq: list[Step], policy: StatusPolicy) -> None:
    history: dict[str, list[bool]] = {"stream": [], "onvif": []}
    for _, s, _, ev in drive(seq, policy):
        source, _, _, is_bad, blind = KINDS[s.kind]
        if is_bad or not blind:  # a blind check that is not bad neither extends nor breaks a streak
            history[source].append(is_bad)
        t = ev.transition
        if t is not None and t.to_status == Status.broken and t.from_status in PLAIN:
            assert any(
                len(h) >= policy.fail_threshold and all(h[-policy.fail_threshold :]) for h in history.values()
            ), (t, history)
            assert t.source == source


@SETTINGS
@given(steps, policies)
def test_at_most_k_ordinary_transitions_in_any_flap_window(seq: list[Step], policy: StatusPolicy) -> None:
    times = [
        ev.transition.at
        for _, _, _, ev in drive(seq, policy)
        if ev.transition is not None
        and ev.transition.from_status in PLAIN - {Status.unknown}
        and ev.transition.to_status in PLAIN
    ]
    for t in times:
        in_window = [u for u in times if t - policy.flap_window_s < u <= t]
        assert len(in_window) <= policy.flap_max_transitions


@SETTINGS
@given(steps, policies)
def test_restart_after_every_step_changes_nothing(seq: list[Step], policy: StatusPolicy) -> None:
    plain = [ev.model_dump() for *_, ev in drive(seq, policy)]
    restarted = [ev.model_dump() for *_, ev in drive(seq, policy, restart=True)]
    assert plain == restarted


@SETTINGS
@given(steps, policies)
def test_next_check_is_soon_enough(seq: list[Step], policy: StatusPolicy) -> None:
    for now, s, _, ev in drive(seq, policy):
        nxt = ev.next_check
        assert nxt is not None and nxt.source == KINDS[s.kind][0] and nxt.at > now - 1e-9
        if nxt.source == "stream":
            assert nxt.at - now <= policy.max_check_interval_s  # long-broken or not: at least hourly
        if nxt.reason in ("confirm_failure", "confirm_recovery"):
            assert nxt.priority and nxt.at - now <= max(policy.confirm_delays_s + policy.onvif_confirm_delays_s)
