"""A status reason in the reader's language.

The verdict keeps each reason as data (camcheck.verdict.reasons: a code and its arguments) beside
its English sentence. English readers get that sentence as stored; Thai readers get the same
counts, dates and causes in Thai, rendered here from the data. The checks' own words (`said`: what
the camera answered) stay as they were said. A reason stored without data (before migration 0005)
or with a code this version does not know is shown in English rather than lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from camcheck.exporters.api.models import Text
from camcheck.exporters.api.words import finding_text, fmt_time, state_text
from camcheck.secrets import mask_text
from camcheck.verdict.reasons import Reason, fmt_span

SCOPE_TH = {"camera": "กล้อง", "parent": "อุปกรณ์แม่", "site": "จุดติดตั้ง"}


def reason_text(text: str | None, data: dict[str, Any] | None, lang: str) -> str | None:
    """The reason in `lang` ("th" or "en"), masked; None when there is none."""
    if not text:
        return None
    if lang != "th" or not data:
        return mask_text(text)
    try:
        return mask_text(thai(Reason.model_validate(data)))
    except (KeyError, TypeError, ValueError, ValidationError):
        return mask_text(text)


def reason_pair(text: str | None, data: dict[str, Any] | None) -> Text | None:
    """The reason in Thai and English, for the API."""
    th, en = reason_text(text, data, "th"), reason_text(text, data, "en")
    return Text(th=th, en=en) if th and en else None


def _when(ts: float) -> str:
    return fmt_time(datetime.fromtimestamp(ts, tz=UTC), "th")


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} ชั่วโมง"
    return f"{seconds / 60:.0f} นาที" if seconds >= 120 else f"{seconds:.0f} วินาที"


def span_text(seconds: float, lang: str) -> str:
    """A duration as the reasons say it, in Thai or English."""
    return _span(seconds) if lang == "th" else fmt_span(seconds)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} นาที"


def _what(a: dict[str, Any]) -> str:
    run = a.get("unchanged")
    parts = []
    for key in a.get("keys", []):
        if key == "unchanged" and run:
            parts.append(f"ภาพไม่เปลี่ยนแปลงเลยตั้งแต่ {_when(run['since'])} ({_span(run['span_s'])} "
                         f"จากการตรวจ {run['checks']} ครั้ง อาจเป็นภาพค้าง)")
        else:
            parts.append(finding_text(key, "th"))
    return ", ".join(parts) or "ไม่มีรายละเอียด"


def _said(a: dict[str, Any]) -> str:
    return f" (ผลการตรวจ: {a['said']})" if a.get("said") else ""


def thai(r: Reason) -> str:
    """The reason as one Thai sentence (KeyError if its arguments are incomplete)."""
    a = r.args
    match r.code:
        case "broken_recorder":
            return f"ตรวจเครื่องบันทึกไม่ผ่าน {a['n']} ครั้งติดต่อกัน: {_what(a)}{_said(a)}"
        case "broken_stream":
            return f"ไม่ได้รับภาพที่ใช้งานได้ {a['n']} ครั้งติดต่อกัน ตั้งแต่ {_when(a['since'])}: {_what(a)}{_said(a)}"
        case "broken_picture":
            return f"ภาพใช้งานไม่ได้ {a['n']} ครั้งติดต่อกัน ตั้งแต่ {_when(a['since'])}: {_what(a)}"
        case "degraded":
            lead = "กลับมาส่งภาพได้แล้ว แต่มีข้อบกพร่อง" if a["again"] else "มีข้อบกพร่อง"
            return f"{lead}: {_what(a)}{_said(a)}"
        case "working_first":
            return "ผ่านการตรวจครั้งแรก: ได้ภาพสดที่ใช้งานได้"
        case "working_again":
            return f"กลับมาใช้งานได้: ตรวจผ่าน {a['n']} ครั้งติดต่อกัน"
        case "working_cleared":
            return "ข้อบกพร่องหมดไปแล้ว: ได้ภาพสดที่ใช้งานได้"
        case "maintenance":
            scope = SCOPE_TH.get(a["scope"], a["scope"])
            return (f"อยู่ระหว่างการซ่อมแซม: ช่วงซ่อมบำรุงหมายเลข {a['window']} ของ{scope} {a['target']} "
                    f"({a['why']}; ผู้รับผิดชอบ {a['owner']}) ถึง {_when(a['until'])}")
        case "maintenance_end_failing":
            return f"สิ้นสุดช่วงซ่อมบำรุงหมายเลข {a['window']} แล้ว แต่กล้องยังใช้งานไม่ได้: {_what(a)}{_said(a)}"
        case "maintenance_end_unchecked":
            return f"สิ้นสุดช่วงซ่อมบำรุงหมายเลข {a['window']} แล้ว ยังไม่ได้ตรวจหลังจากนั้น"
        case "maintenance_end":
            return f"สิ้นสุดช่วงซ่อมบำรุงหมายเลข {a['window']} แล้ว สถานะกล้อง: {state_text(a['status'], 'th')}"
        case "flap_stable":
            return f"สถานะคงที่แล้ว {_minutes(a['stable_s'])} หลังจากไม่เสถียร: {state_text(a['status'], 'th')}"
        case "flapping":
            return (f"สถานะไม่เสถียร: เปลี่ยน {a['changes']} ครั้งภายใน {_minutes(a['window_s'])} "
                    f"(ล่าสุด {state_text(a['from_status'], 'th')} → {state_text(a['to_status'], 'th')}); "
                    f"งดแจ้งเตือนจนกว่าสถานะจะคงที่ {_minutes(a['stable_s'])}")
        case "status":
            return f"สถานะ: {state_text(a['status'], 'th')}"
        case "parent_down":
            behind = a.get("behind", "cameras")
            what = {"devices": "อุปกรณ์", "both": "อุปกรณ์และกล้อง"}.get(behind, "กล้อง")
            cams = f" (กล้อง {a['cameras']} ตัว)" if behind != "cameras" else ""
            said = ""
            if a.get("address") and a.get("answers") is not None:
                said = (f" ที่อยู่ {a['address']} ยังตอบสนอง: อุปกรณ์เปิดอยู่ ให้ตรวจสอบสิ่งที่อยู่หลังอุปกรณ์" if a["answers"]
                        else f" ที่อยู่ {a['address']} ไม่ตอบสนองเช่นกัน: ตรวจสอบไฟฟ้าหรือเครือข่ายที่ไปถึงอุปกรณ์")
            return (f"อุปกรณ์แม่ {a['parent']} น่าจะขัดข้อง: {what} {a['failing']} จาก {a['total']} "
                    f"ตัวที่ต่อผ่านอุปกรณ์นี้{cams} หยุดส่งภาพภายใน {_minutes(a['window_s'])}{said}")
        case "parent_recovered":
            still = ", ".join(a["still_failing"]) or "ไม่มี"
            return f"อุปกรณ์แม่ {a['parent']} กลับมาใช้งานได้แล้ว กล้องที่ยังขัดข้อง: {still}"
    raise KeyError(r.code)
