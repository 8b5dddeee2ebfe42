"""A registered sub-stream that delivers nothing while the main (recorded) stream plays.

The daemon then checks the main stream in the sub-stream's place; that check carries
`sub_stream_down`. The camera is degraded (the live view is lost, not the footage), never broken;
main-stream checks made on schedule say nothing of the sub-stream, and only sub-stream checks that
deliver clear it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from camcheck.exporters.api.reason_words import thai
from camcheck.verdict import CheckOutcome, Status, StatusPolicy
from camcheck.verdict.claims import MeasuredFacts
from camcheck.verdict.reasons import english
from tests.verdict.verdict_helpers import Driver

SAID = "sub-stream rtsp://10.0.0.7:554/Streaming/Channels/102: not_found: DESCRIBE answered 404 Not Found"


def in_place(t: float) -> CheckOutcome:
    """A main-stream check made because the sub-stream failed: the main stream plays."""
    return CheckOutcome(at=t, facts=MeasuredFacts(width=1920, height=1080, fps=25.0)).with_sub_stream_down(SAID)


def main(t: float) -> CheckOutcome:
    """A main-stream check made on schedule (once per claims interval)."""
    return CheckOutcome(at=t, facts=MeasuredFacts(width=1920, height=1080, fps=25.0))


def sub(t: float) -> CheckOutcome:
    return CheckOutcome(at=t, facts=MeasuredFacts(stream_role="sub", width=640, height=360, fps=25.0))


def test_a_dead_sub_stream_degrades_and_names_its_cause() -> None:
    d = Driver()
    d.feed_all([sub, sub])
    assert d.state.status == Status.working
    d.feed(in_place)
    assert d.state.pending_findings() == ["sub_stream_down"] and d.state.status == Status.working
    d.feed(in_place)
    assert d.statuses() == [("unknown", "working"), ("working", "degraded")]
    t = d.transitions[-1]
    assert t.findings == ["sub_stream_down"] and t.failure is None
    assert t.reason_data is not None and t.reason_data.args["said"] == SAID
    assert t.reason == english(t.reason_data)
    assert t.reason.startswith("Degraded: the sub-stream (live view) delivers nothing; the recorded stream plays (")
    assert "404 Not Found" in t.reason
    th = thai(t.reason_data)
    assert th.startswith("มีข้อบกพร่อง: สตรีมรอง (ภาพสด) ไม่ส่งภาพ") and f"(ผลการตรวจ: {SAID})" in th
    # the source never counted a failure: the recorded stream played all along
    assert d.state.sources["stream"].consecutive_failures == 0 and not d.state.sources["stream"].broken


def test_scheduled_main_checks_neither_confirm_nor_clear_it() -> None:
    d = Driver()
    d.feed_all([sub, sub, in_place, main, main, main])
    assert d.state.pending_findings() == ["sub_stream_down"]  # three main reads said nothing of the sub
    d.feed(in_place)
    assert d.state.status == Status.degraded
    d.feed_all([main] * 5)
    assert d.state.status == Status.degraded
    d.feed_all([sub, main, sub])  # the sub-stream delivers again: cleared by sub-stream checks only
    assert d.statuses()[-1] == ("degraded", "working") and len(d.transitions) == 3


def test_a_pending_sighting_that_the_sub_stream_contradicts_is_dropped() -> None:
    d = Driver()
    d.feed_all([sub, sub, in_place, sub, in_place, sub])
    assert d.statuses() == [("unknown", "working")] and d.state.findings == {}


def test_it_may_be_info_or_degraded_but_never_broken() -> None:
    with pytest.raises(ValidationError, match="sub_stream_down cannot be broken: the recorded stream plays"):
        StatusPolicy(broken_findings=frozenset({"frozen", "sub_stream_down"}))
    quiet = Driver(StatusPolicy(info_findings=frozenset({"no_profile_g", "sub_stream_down"})))
    quiet.feed_all([sub, sub, in_place, in_place, in_place])
    assert quiet.statuses() == [("unknown", "working")]
    assert quiet.state.confirmed_findings() == ["sub_stream_down"]  # kept, but says nothing of health


def test_only_a_main_stream_check_carries_it() -> None:
    with pytest.raises(ValidationError, match="sub_stream_down comes with the main-stream check"):
        CheckOutcome(at=0.0, findings=("sub_stream_down",), facts=MeasuredFacts(stream_role="sub"))
    with pytest.raises(ValidationError, match="sub_stream_down comes with the main-stream check"):
        CheckOutcome(source="onvif", at=0.0, findings=("sub_stream_down",))
