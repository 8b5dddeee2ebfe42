"""Plain words (Thai and English) for what the API, the dashboard and the report show to people:
camcheck states, national labels, purposes, failures and findings.

Codes stay the stable machine names; these sentences are for the ops team and the committee.
Unknown codes are shown as themselves (never dropped: a new finding must not vanish from a report).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from camcheck.registry.models import Purpose
from camcheck.secrets import mask_text
from camcheck.verdict.labels import LABELS, LabelCode, label_for_status
from camcheck.verdict.status import Status

Lang = Literal["th", "en"]
LANGS: tuple[Lang, ...] = ("th", "en")

STATE_WORDS: dict[str, tuple[str, str]] = {
    "unknown": ("ยังไม่ได้ตรวจสอบ", "not yet verified"),
    "working": ("ใช้งานได้", "working"),
    "degraded": ("ใช้งานได้แต่มีข้อบกพร่อง", "working with problems"),
    "broken": ("เสีย", "broken"),
    "maintenance": ("อยู่ระหว่างการซ่อมบำรุง", "under maintenance"),
    "flapping": ("ไม่เสถียร", "unstable (flapping)"),
}

# Failures (no usable picture) and findings (a picture, but something is wrong), in plain words.
FINDING_WORDS: dict[str, tuple[str, str]] = {
    # stream failures
    "dns": ("หาชื่อเครื่องของกล้องไม่พบ (DNS)", "the camera's host name could not be found (DNS)"),
    "unreachable": ("ติดต่อกล้องทางเครือข่ายไม่ได้", "the camera cannot be reached over the network"),
    "refused": ("กล้องปฏิเสธการเชื่อมต่อ", "the camera refused the connection"),
    "timeout_connect": ("เชื่อมต่อกล้องไม่สำเร็จภายในเวลาที่กำหนด", "connecting to the camera timed out"),
    "timeout_response": ("กล้องไม่ตอบภายในเวลาที่กำหนด", "the camera did not answer in time"),
    "auth_failed": ("ชื่อผู้ใช้หรือรหัสผ่านของกล้องไม่ถูกต้อง", "the camera rejected the login"),
    "not_found": ("ไม่พบสตรีมวิดีโอตามที่อยู่ที่ลงทะเบียน", "no video stream at the registered address"),
    "session_limit": ("กล้องมีผู้ชมเต็มจำนวนแล้ว", "the camera has no free viewing sessions"),
    "rtsp_error": ("กล้องตอบกลับด้วยข้อผิดพลาด", "the camera answered with an error"),
    "no_video_track": ("สตรีมไม่มีภาพวิดีโอ", "the stream carries no video"),
    "no_frames": ("ไม่ได้รับภาพจากกล้อง", "no pictures arrived from the camera"),
    "stalled": ("ภาพหยุดส่งกลางคัน", "the picture stopped arriving"),
    "decode_failed": ("ถอดรหัสภาพไม่ได้", "the pictures could not be decoded"),
    "protocol_error": ("กล้องสื่อสารผิดรูปแบบ", "the camera broke the streaming protocol"),
    # picture findings
    "frozen": ("ภาพค้าง ไม่เปลี่ยนแปลง", "the picture is frozen"),
    "black": ("ภาพมืดดำทั้งหมด", "the picture is black"),
    "dark": ("ภาพมืดเกินไป", "the picture is too dark"),
    "covered": ("เลนส์ถูกบังหรือปิด", "the lens is covered"),
    "blurred": ("ภาพเบลอ ไม่ชัด", "the picture is blurred"),
    "overexposed": ("ภาพสว่างจ้าเกินไป", "the picture is overexposed"),
    "scene_changed": ("มุมกล้องเปลี่ยนไปจากภาพอ้างอิง", "the camera points elsewhere than its reference view"),
    "low_fps": ("จำนวนภาพต่อวินาทีต่ำ", "the frame rate is low"),
    "packet_loss": ("ข้อมูลภาพสูญหายระหว่างทาง", "video data is lost on the way"),
    "resolution_mismatch": ("ความละเอียดภาพไม่ตรงกับที่กำหนด", "the resolution differs from the configured one"),
    # recorder (ONVIF) findings
    "onvif_unreachable": ("ติดต่อเครื่องบันทึก/กล้องทาง ONVIF ไม่ได้", "the device cannot be reached over ONVIF"),
    "onvif_timeout": ("อุปกรณ์ไม่ตอบทาง ONVIF ภายในเวลาที่กำหนด", "the device did not answer over ONVIF in time"),
    "onvif_auth_failed": ("อุปกรณ์ปฏิเสธการเข้าสู่ระบบ ONVIF", "the device rejected the ONVIF login"),
    "onvif_bad_reply": ("อุปกรณ์ตอบ ONVIF ผิดรูปแบบ", "the device's ONVIF answer was malformed"),
    "clock_drift": ("นาฬิกาของอุปกรณ์คลาดเคลื่อน", "the device clock is wrong"),
    "not_recording": ("ไม่มีการบันทึกภาพ", "the recorder is not recording"),
    "recording_gaps": ("การบันทึกมีช่วงขาดหาย", "the recording has gaps"),
    "retention_short": ("เก็บบันทึกได้น้อยวันกว่าที่กำหนด", "recordings are kept fewer days than required"),
    "config_mismatch": ("การตั้งค่าของอุปกรณ์ไม่ตรงกับทะเบียน", "the device settings differ from the registry"),
    "no_profile_g": ("อุปกรณ์ไม่รองรับการตรวจสอบการบันทึก (ONVIF Profile G)",
                     "the device cannot be asked about its recordings (no ONVIF Profile G)"),
    # over time (the daemon)
    "unchanged": ("ภาพไม่เปลี่ยนแปลงเลยตลอดหลายชั่วโมง อาจเป็นภาพค้าง ควรเปิดดู",
                  "the picture has not changed at all for hours: possibly frozen; look at it"),
    "sub_stream_down": ("สตรีมรอง (ภาพสด) ไม่ส่งภาพ แต่สตรีมหลักที่บันทึกยังส่งภาพได้",
                        "the sub-stream (live view) delivers nothing; the recorded main stream plays"),
    # the daemon's dependency grouping
    "parent_down": ("อุปกรณ์แม่ (เครื่องบันทึก สวิตช์ หรือจุดติดตั้ง) ขัดข้อง",
                    "its parent device (recorder, switch or site) is down"),
    # registered claim vs measured fact
    "resolution_below_claim": ("ความละเอียดต่ำกว่าที่ลงทะเบียนไว้", "the resolution is below the registered one"),
    "resolution_differs_from_claim": ("ความละเอียดไม่ตรงกับที่ลงทะเบียนไว้", "the resolution differs from the registered one"),
    "max_resolution_below_claim": ("ความละเอียดสูงสุดต่ำกว่าที่ลงทะเบียนไว้",
                                   "the maximum resolution is below the registered one"),
    "fps_below_claim": ("จำนวนภาพต่อวินาทีต่ำกว่าที่ลงทะเบียนไว้", "the frame rate is below the registered one"),
    "retention_below_claim": ("จำนวนวันที่เก็บบันทึกจริงน้อยกว่าที่ลงทะเบียนไว้",
                              "recordings are kept fewer days than registered"),
    "codec_mismatch": ("รูปแบบการเข้ารหัสภาพไม่ตรงกับที่ลงทะเบียนไว้", "the video codec differs from the registered one"),
    "format_mismatch": ("รูปแบบไฟล์บันทึกไม่ตรงกับที่ลงทะเบียนไว้", "the recording file format differs from the registered one"),
}

NETWORK_LINK_WORDS: dict[str, tuple[str, str]] = {
    "linked": ("เชื่อมโยงแล้ว", "linked"),
    "not_linked": ("ยังไม่เชื่อมโยง", "not linked"),
    "unknown": ("ไม่ระบุ", "not stated"),
}


def fmt_time(value: datetime | None, lang: str) -> str:
    if value is None:
        return "—"
    local = value.astimezone(timezone(timedelta(hours=7)))  # Thailand has one time zone, no DST
    if lang == "th":
        return f"{local.day:02d}/{local.month:02d}/{local.year + 543} {local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M} (UTC+7)"


class Bilingual(Protocol):
    """Anything that holds its words in both languages (the API's Text, labels, findings, report rows)."""

    @property
    def th(self) -> str: ...

    @property
    def en(self) -> str: ...


def pick(pair: tuple[str, str], lang: str) -> str:
    """(Thai, English): the Thai in Thai, English otherwise."""
    return pair[0] if lang == "th" else pair[1]


def in_lang(words: Bilingual, lang: str) -> str:
    """The Thai words in Thai, the English otherwise: the one rule every page, report and listing follows."""
    return words.th if lang == "th" else words.en


def state_text(state: str, lang: str) -> str:
    pair = STATE_WORDS.get(state)
    return pick(pair, lang) if pair else state


def purpose_text(purpose: str, lang: str) -> str:
    try:
        return Purpose(purpose).label(lang)
    except ValueError:
        return purpose


def label_text(code: str, lang: str) -> str:
    label = LABELS.get(code)  # type: ignore[call-overload]
    if label is None:
        return code
    return in_lang(label, lang)


def finding_code(item: Any) -> str | None:
    """The code of a stored finding: daemons store plain codes or dicts with key/code."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for k in ("key", "code", "finding", "failure"):
            v = item.get(k)
            if isinstance(v, str):
                return v
    return None


def finding_detail(item: Any) -> str | None:
    if isinstance(item, dict):
        msg = item.get("message")
        if isinstance(msg, str) and msg:
            return mask_text(msg)
    return None


def finding_text(code: str, lang: str) -> str:
    pair = FINDING_WORDS.get(code)
    return pick(pair, lang) if pair else code.replace("_", " ")


def finding_codes(findings: list[Any] | None, reason: str | None = None) -> list[str]:
    codes = [c for c in (finding_code(f) for f in findings or []) if c]
    if reason and reason in FINDING_WORDS and reason not in codes:
        codes.append(reason)  # a daemon may put the failure code in the reason
    return list(dict.fromkeys(codes))


def national_label_code(state: str, findings: list[Any] | None = None, reason: str | None = None) -> LabelCode:
    """The national dashboard label for a stored camera state.

    Uses camcheck.verdict.labels; a flapping camera counts as "not working" here because the
    registry does not keep which state it wavered through and it cannot be relied on for footage.
    """
    try:
        status = Status(state)
    except ValueError:
        return "unverified"
    flap_worst = Status.broken if status == Status.flapping else None
    return label_for_status(status, finding_codes(findings, reason), flap_worst=flap_worst).code
