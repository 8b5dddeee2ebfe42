"""Status reasons as data: every reason the status machine gives carries its code and arguments,
the English sentence is exactly what the data renders, and the Thai sentence (what the dashboard
and the committee's report show in Thai) says the same counts, dates and causes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from verdict_helpers import FAIL, OK, T0, Driver, looks

from camcheck.exporters.api.reason_words import reason_pair, reason_text, thai
from camcheck.verdict import CheckOutcome, StatusPolicy, Transition, active_window, tick
from camcheck.verdict.grouping import GroupPolicy, evaluate_group
from camcheck.verdict.claims import MeasuredFacts
from camcheck.verdict.maintenance import MaintenanceWindow
from camcheck.verdict.reasons import CODES, Reason, english
from camcheck.verdict.unchanged import stored_signature

THAI = re.compile(r"[\u0E00-\u0E7F]")
BE_YEAR = "2569"  # T0 is in 2026 CE: Thai dates are in the Buddhist era


def _window(hours: float = 1, start: float = T0 + 1000) -> MaintenanceWindow:
    return MaintenanceWindow(id="mw-7", scope="camera", target_id="cam-1", reason="replace lens",
                             owner="Somchai", starts_at=start, expires_at=start + hours * 3600)


def _maintained(end_with) -> list[Transition]:  # noqa: ANN001
    d = Driver()
    d.feed(OK)
    w = _window()
    ev = tick(d.state, w.starts_at, d.policy, active_window("cam-1", [], [w], w.starts_at))
    d.state = ev.state
    d.transitions.append(ev.transition)
    d.feed(end_with, at=w.expires_at, maint=active_window("cam-1", [], [w], w.expires_at))
    return d.transitions


def _scenarios() -> list[Transition]:
    out: list[Transition] = []
    d = Driver()  # working_first, broken_stream (with the camera's words), working_again
    d.feed(OK)
    d.feed_all([lambda t: CheckOutcome(at=t, failure="not_found", message="DESCRIBE answered 404 Not Found")] * 3)
    d.feed_all([OK] * 3)
    out += d.transitions
    d = Driver()  # broken_picture, then degraded again, then cleared
    d.feed(OK)
    d.feed_all([lambda t: looks(t, "black")] * 3)
    d.feed_all([lambda t: looks(t, "blurred")] * 3)
    d.feed_all([OK] * 3)
    out += d.transitions
    d = Driver()  # degraded from working
    d.feed_all([OK, lambda t: looks(t, "blurred"), lambda t: looks(t, "blurred")])
    out += d.transitions
    rec = Driver()  # broken_recorder
    rec.feed(OK)
    rec.feed_all([lambda t: CheckOutcome(source="onvif", at=t, findings=("not_recording",),
                                         message="no recording since 2026-12-01")] * 3)
    out += rec.transitions
    out += _maintained(FAIL)  # maintenance, maintenance_end_failing
    out += _maintained(OK)  # maintenance_end
    fresh = Driver()  # a window ends on a camera never checked: maintenance_end_unchecked
    w = _window()
    for at, info in ((w.starts_at, active_window("cam-1", [], [w], w.starts_at)), (w.expires_at, None)):
        ev = tick(fresh.state, at, fresh.policy, info)
        fresh.state = ev.state
        out.append(ev.transition)
    flap = Driver(StatusPolicy(fail_threshold=1, recover_threshold=1))  # flapping, flap_stable
    flap.feed(OK)
    for i in range(10):
        flap.feed(FAIL if i % 2 == 0 else OK, at=T0 + 60 * (i + 1))
    ev = tick(flap.state, flap.state.last_change_at + flap.policy.flap_stable_s, flap.policy, None)
    out += [*flap.transitions, ev.transition]
    still = Driver(StatusPolicy(unchanged_after_s=3600, unchanged_min_checks=4))  # unchanged, with since when
    sig = stored_signature(np.full((6, 16), 100.0))
    for k in range(7):
        still.feed(lambda at: CheckOutcome(at=at, signature=sig, facts=MeasuredFacts(stream_role="sub")),
                   at=T0 + 600 * k)
    still.feed_all([lambda at: CheckOutcome(at=at, signature=sig, facts=MeasuredFacts(stream_role="sub"))] * 2)
    out += still.transitions
    return [t for t in out if t is not None]


TRANSITIONS = _scenarios()


def _incident_reasons() -> list[tuple[str, Reason]]:
    """(sentence, data) of a parent's incident opening and closing (grouping.py)."""
    children = {}
    for i in range(1, 5):
        d = Driver(camera=f"nvr-ch{i}")
        d.feed(OK)
        d.feed(FAIL, at=T0 + 600 + i)
        children[d.state.camera_id] = d.state
    g = evaluate_group("nvr-1", children, T0 + 610, GroupPolicy(), None)
    assert g.opened and g.incident is not None and g.incident.reason_data is not None
    closed = g.incident.model_copy(update={"ended_at": T0 + 900, "still_failing_at_end": ["nvr-ch3"]})
    return [(g.incident.reason, g.incident.reason_data), (english(closed.closing_reason()), closed.closing_reason())]


INCIDENTS = _incident_reasons()


def test_every_reason_carries_data_that_renders_its_english_sentence() -> None:
    for t in TRANSITIONS:
        assert t.reason_data is not None, t.reason
        assert english(t.reason_data) == t.reason
        assert set(t.reason_data.args) <= set(CODES[t.reason_data.code]) | {"unchanged"}, t.reason_data
    for sentence, data in INCIDENTS:
        assert english(data) == sentence and set(data.args) == set(CODES[data.code])
    assert INCIDENTS[0][0] == "Parent nvr-1 suspected down: 4 of 4 cameras behind it stopped delivering within 6 min."
    # every code the machine can reach is reached here ("status" is the fallback for none of them)
    assert {t.reason_data.code for t in TRANSITIONS} | {r.code for _, r in INCIDENTS} == set(CODES) - {"status"}


def test_the_thai_sentence_says_the_same_counts_dates_and_causes() -> None:
    by_code: dict[str, Transition] = {}
    for t in TRANSITIONS:
        by_code.setdefault(t.reason_data.code, t)  # the first: from the scenario written for it
        text = thai(t.reason_data)
        said = t.reason_data.args.get("said")
        words = text.replace(f"(ผลการตรวจ: {said})", "") if said else text  # the camera's words stay as said
        assert THAI.search(text) and not re.search(r"\b(consecutive|checks|since|Maintenance)\b", words), text
    broken = thai(by_code["broken_stream"].reason_data)
    assert broken.startswith("ไม่ได้รับภาพที่ใช้งานได้ 3 ครั้งติดต่อกัน ตั้งแต่ ") and BE_YEAR in broken
    assert "ไม่พบสตรีมวิดีโอตามที่อยู่ที่ลงทะเบียน" in broken  # not_found, in the finding's Thai words
    assert broken.endswith("(ผลการตรวจ: DESCRIBE answered 404 Not Found)")  # the camera's words as said
    assert "ภาพมืดดำทั้งหมด" in thai(by_code["broken_picture"].reason_data)
    assert "ไม่มีการบันทึกภาพ" in thai(by_code["broken_recorder"].reason_data)
    again = thai(by_code["working_again"].reason_data)
    assert again == "กลับมาใช้งานได้: ตรวจผ่าน 2 ครั้งติดต่อกัน"
    maint = thai(by_code["maintenance"].reason_data)
    assert "mw-7" in maint and "replace lens" in maint and "Somchai" in maint and "ของกล้อง cam-1" in maint
    flapping = thai(by_code["flapping"].reason_data)
    assert "ครั้งภายใน 60 นาที" in flapping and "งดแจ้งเตือน" in flapping
    unchanged = next(t for t in TRANSITIONS if "unchanged" in t.findings)
    text = thai(unchanged.reason_data)
    # T0 is 2026-05-28 20:26:40 UTC: 29 May 2569 BE, 03:26 in Thailand (UTC+7)
    assert "ภาพไม่เปลี่ยนแปลงเลยตั้งแต่ 29/05/2569 03:26 (1.0 ชั่วโมง จากการตรวจ 9 ครั้ง อาจเป็นภาพค้าง)" in text
    opened, closed = (thai(r) for _, r in INCIDENTS)
    assert opened == "อุปกรณ์แม่ nvr-1 น่าจะขัดข้อง: กล้อง 4 จาก 4 ตัวที่ต่อผ่านอุปกรณ์นี้ หยุดส่งภาพภายใน 6 นาที"
    assert closed == "อุปกรณ์แม่ nvr-1 กลับมาใช้งานได้แล้ว กล้องที่ยังขัดข้อง: nvr-ch3"


def test_readers_get_the_stored_sentence_when_there_is_no_data_and_secrets_stay_masked() -> None:
    t = next(t for t in TRANSITIONS if t.reason_data.code == "broken_stream")
    data = t.reason_data.model_dump()
    assert reason_text(t.reason, data, "en") == t.reason
    assert reason_text(t.reason, None, "th") == t.reason  # stored before migration 0005
    assert reason_text(t.reason, {"code": "from_a_newer_version", "args": {}}, "th") == t.reason
    assert reason_text(t.reason, {"code": "broken_stream", "args": {"n": 3}}, "th") == t.reason  # incomplete
    assert reason_text(None, None, "th") is None
    leaky = Reason(code="broken_stream", args={"n": 3, "since": T0, "keys": ["auth_failed"], "unchanged": None,
                                               "said": "DESCRIBE rtsp://admin:hunter2@10.0.0.5/x answered 401"})
    pair = reason_pair(english(leaky), leaky.model_dump())
    assert pair is not None and "hunter2" not in pair.th + pair.en and "admin:***@" in pair.th


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_renders_from_its_documented_arguments(code: str) -> None:
    samples = {"n": 3, "since": T0, "keys": ["stalled"], "said": "x", "again": True, "window": "mw-1",
               "scope": "site", "target": "site-A", "why": "road works", "owner": "district", "until": T0 + 3600,
               "status": "working", "stable_s": 1800.0, "changes": 5, "window_s": 3600.0,
               "from_status": "working", "to_status": "broken", "parent": "nvr-1", "failing": 4, "total": 5,
               "still_failing": ["ch-2"], "behind": "both", "cameras": 17,
               "address": "10.20.0.5", "answers": False}
    r = Reason(code=code, args={k: samples[k] for k in CODES[code]})
    assert english(r) and THAI.search(thai(r))


def test_a_site_down_counts_the_devices_and_the_cameras_behind_them() -> None:
    def said(behind: str) -> tuple[str, str]:
        r = Reason(code="parent_down", args={"parent": "site-1", "failing": 3, "total": 3, "window_s": 360.0,
                                             "behind": behind, "cameras": 24})
        return english(r), thai(r)

    assert said("devices") == (
        "Parent site-1 suspected down: 3 of 3 devices behind it (24 cameras) stopped delivering within 6 min.",
        "อุปกรณ์แม่ site-1 น่าจะขัดข้อง: อุปกรณ์ 3 จาก 3 ตัวที่ต่อผ่านอุปกรณ์นี้ (กล้อง 24 ตัว) หยุดส่งภาพภายใน 6 นาที")
    assert said("both")[0].startswith("Parent site-1 suspected down: 3 of 3 devices and cameras behind it (24 cameras)")
    # told with whether the parent's address answered (the daemon asks it once, before telling)
    def asked(answers: bool) -> tuple[str, str]:
        r = Reason(code="parent_down", args={"parent": "nvr-1", "failing": 4, "total": 4, "window_s": 360.0,
                                             "behind": "cameras", "cameras": 4, "address": "10.20.0.5:8000",
                                             "answers": answers})
        return english(r), thai(r)

    assert asked(True)[0].endswith("within 6 min. Its address 10.20.0.5:8000 answers: the device is on; look behind it.")
    assert asked(False)[0].endswith(" Its address 10.20.0.5:8000 does not answer either: its power or the network to it.")
    assert asked(True)[1].endswith(" ที่อยู่ 10.20.0.5:8000 ยังตอบสนอง: อุปกรณ์เปิดอยู่ ให้ตรวจสอบสิ่งที่อยู่หลังอุปกรณ์")
    assert asked(False)[1].endswith(" ที่อยู่ 10.20.0.5:8000 ไม่ตอบสนองเช่นกัน: ตรวจสอบไฟฟ้าหรือเครือข่ายที่ไปถึงอุปกรณ์")
    # an incident kept before devices nested (no `behind`) reads as it did
    old = Reason(code="parent_down", args={"parent": "nvr-1", "failing": 4, "total": 4, "window_s": 360.0})
    assert english(old) == "Parent nvr-1 suspected down: 4 of 4 cameras behind it stopped delivering within 6 min."
    assert thai(old) == "อุปกรณ์แม่ nvr-1 น่าจะขัดข้อง: กล้อง 4 จาก 4 ตัวที่ต่อผ่านอุปกรณ์นี้ หยุดส่งภาพภายใน 6 นาที"
