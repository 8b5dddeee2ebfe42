"""camcheck statuses -> the national dashboard's status labels (Thai and English).

The national scale has four values: ใช้ได้ปกติ (working normally), ใช้งานไม่ได้ (not working),
ชำรุด (broken), อยู่ระหว่างการซ่อมแซม (under repair). Decisions:

* degraded -> ใช้ได้ปกติ: the camera delivers live, usable pictures; the scale has no "degraded",
  and the dashboard's problem list carries the findings (low fps, retention below claim...).
* broken splits by cause. A camera that delivers nothing (unreachable, refused, login rejected, no
  frames...) -> ใช้งานไม่ได้ "not working": it cannot be used, and the cause is often the link or
  power, not the device. A camera that is reachable but defective (frozen, black or covered
  picture; recorder not recording) -> ชำรุด "broken": the device itself needs repair.
* maintenance -> อยู่ระหว่างการซ่อมแซม.
* flapping -> ใช้งานไม่ได้ when it has been broken during the flapping (it cannot be relied on),
  else ใช้ได้ปกติ (it only wavers between working and degraded).
* unknown -> no national label ("unverified", ยังไม่ได้ตรวจสอบ): never counted as working.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from camcheck.probe.observation import FAILURES
from camcheck.verdict.status import CameraState, Status

LabelCode = Literal["working_normally", "not_working", "broken", "under_repair", "unverified"]


class NationalLabel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: LabelCode
    th: str
    en: str
    national: bool  # False: not one of the four national values (exports leave the cell empty)


LABELS: dict[LabelCode, NationalLabel] = {
    "working_normally": NationalLabel(code="working_normally", th="ใช้ได้ปกติ", en="working normally", national=True),
    "not_working": NationalLabel(code="not_working", th="ใช้งานไม่ได้", en="not working", national=True),
    "broken": NationalLabel(code="broken", th="ชำรุด", en="broken", national=True),
    "under_repair": NationalLabel(
        code="under_repair", th="อยู่ระหว่างการซ่อมแซม", en="under repair", national=True
    ),
    "unverified": NationalLabel(code="unverified", th="ยังไม่ได้ตรวจสอบ", en="not yet verified", national=False),
}


def label_for_status(status: Status, broken_keys: list[str] | tuple[str, ...] = (), *, flap_worst: Status | None = None) -> NationalLabel:
    """The label for a status; ``broken_keys`` (failure kinds/findings) decide not working vs broken."""
    if status in (Status.working, Status.degraded):
        return LABELS["working_normally"]
    if status == Status.maintenance:
        return LABELS["under_repair"]
    if status == Status.unknown:
        return LABELS["unverified"]
    if status == Status.flapping:
        return LABELS["not_working"] if flap_worst == Status.broken else LABELS["working_normally"]
    # broken: no delivery at all (or cause unknown) -> not working; useless delivery -> broken
    if not broken_keys or any(k in FAILURES for k in broken_keys):
        return LABELS["not_working"]
    return LABELS["broken"]


def label_for(state: CameraState) -> NationalLabel:
    keys = [k for s in state.sources.values() if s.broken for k in s.broken_keys]
    return label_for_status(state.status, keys, flap_worst=state.flap_worst)
