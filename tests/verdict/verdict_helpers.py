"""Small builders for check outcomes and a driver that follows the machine's own schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from camcheck.verdict import CameraState, CheckOutcome, Evaluation, StatusPolicy, Transition, evaluate, new_state
from camcheck.verdict.maintenance import MaintenanceInfo

T0 = 1_780_000_000.0  # a fixed wall-clock instant (2026), so reasons and times are reproducible


def good(at: float = T0, *findings: str) -> CheckOutcome:
    return CheckOutcome(at=at, findings=findings)


def bad(at: float = T0, failure: str = "unreachable") -> CheckOutcome:
    return CheckOutcome(at=at, failure=failure)


def looks(at: float, *findings: str) -> CheckOutcome:
    """A stream check that delivered pictures with these findings."""
    return CheckOutcome(at=at, findings=findings)


def onvif(at: float, *findings: str) -> CheckOutcome:
    return CheckOutcome(source="onvif", at=at, findings=findings)


class Driver:
    """Feeds outcomes one after another, at the times the machine asks for (or given times),
    collecting every transition."""

    def __init__(self, policy: StatusPolicy | None = None, camera: str = "cam-1", start: float = T0) -> None:
        self.policy = policy or StatusPolicy()
        self.state: CameraState = new_state(camera)
        self.now = start
        self.transitions: list[Transition] = []
        self.evaluations: list[Evaluation] = []

    def feed(
        self,
        make: Callable[[float], CheckOutcome],
        at: float | None = None,
        maint: MaintenanceInfo | None = None,
    ) -> Evaluation:
        if at is not None:
            self.now = at
        ev = evaluate(self.state, make(self.now), self.now, self.policy, maint)
        self.state = ev.state
        self.evaluations.append(ev)
        if ev.transition is not None:
            self.transitions.append(ev.transition)
        assert ev.next_check is not None
        self.now = ev.next_check.at  # follow the machine's own schedule by default
        return ev

    def feed_all(self, makes: Iterable[Callable[[float], CheckOutcome]]) -> list[Evaluation]:
        return [self.feed(m) for m in makes]

    def statuses(self) -> list[tuple[str, str]]:
        return [(t.from_status.value, t.to_status.value) for t in self.transitions]


OK = good


def FAIL(at: float) -> CheckOutcome:  # noqa: N802 - reads like a constant in sequences
    return bad(at)
