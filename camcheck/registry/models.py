"""Data that crosses the registry's boundary: cameras, checks, transitions, evidence, maintenance.

Registered values (what the national survey claims) and measured values (what camcheck saw) live
side by side and are never merged: the gap between them is a finding.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from camcheck.secrets import split_credentials


class CameraState(str, enum.Enum):
    """camcheck's computed state of a camera (owned by the daemon)."""

    UNKNOWN = "unknown"
    WORKING = "working"
    DEGRADED = "degraded"
    BROKEN = "broken"
    MAINTENANCE = "maintenance"
    FLAPPING = "flapping"


class NationalStatus(str, enum.Enum):
    """The status labels of the national CCTV registry/dashboard."""

    WORKING_NORMALLY = "working_normally"
    NOT_WORKING = "not_working"
    BROKEN = "broken"
    UNDER_REPAIR = "under_repair"

    @property
    def label_th(self) -> str:
        return _NATIONAL_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _NATIONAL_LABELS[self][1]

    def label(self, lang: str) -> str:
        return self.label_th if lang == "th" else self.label_en


_NATIONAL_LABELS: dict[NationalStatus, tuple[str, str]] = {
    NationalStatus.WORKING_NORMALLY: ("ใช้ได้ปกติ", "working normally"),
    NationalStatus.NOT_WORKING: ("ใช้งานไม่ได้", "not working"),
    NationalStatus.BROKEN: ("ชำรุด", "broken"),
    NationalStatus.UNDER_REPAIR: ("อยู่ระหว่างการซ่อมแซม", "under repair"),
}

def national_status(state: "CameraState | str", findings: "list[Any] | None" = None) -> "NationalStatus | None":
    """The national label for a camcheck state (None for ``unknown``: keep the registry's own).

    One mapping for the whole product: camcheck.verdict.labels. ``findings`` tell "not working"
    (no pictures) from "broken" (useless pictures, not recording). A flapping camera cannot be
    relied on when footage is needed, so it counts as not working here.
    """
    from camcheck.verdict.labels import label_for_status
    from camcheck.verdict.status import Status

    status = Status(CameraState(state).value)
    keys = [f for f in (findings or []) if isinstance(f, str)]
    label = label_for_status(status, keys, flap_worst=Status.broken if status == Status.flapping else None)
    return NationalStatus(label.code) if label.national else None


class Purpose(str, enum.Enum):
    DETERRENCE_SURVEILLANCE = "deterrence_surveillance"
    INVESTIGATION = "investigation"
    TRAFFIC = "traffic"

    @property
    def label_th(self) -> str:
        return _PURPOSE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _PURPOSE_LABELS[self][1]

    def label(self, lang: str) -> str:
        return self.label_th if lang == "th" else self.label_en


_PURPOSE_LABELS: dict[Purpose, tuple[str, str]] = {
    Purpose.DETERRENCE_SURVEILLANCE: ("ป้องปรามและเฝ้าระวัง", "deterrence and surveillance"),
    Purpose.INVESTIGATION: ("สืบสวน สอบสวน ติดตามผู้กระทำความผิด", "investigation and tracking offenders"),
    Purpose.TRAFFIC: ("การจราจร", "traffic"),
}


class ParentKind(str, enum.Enum):
    NVR = "nvr"
    SWITCH = "switch"
    SITE = "site"
    OTHER = "other"

    @property
    def label_th(self) -> str:
        """As a Thai parents sheet writes it (the import reads these and the codes alike)."""
        return _PARENT_KIND_LABELS[self][0]

    def label(self, lang: str) -> str:
        return self.label_th if lang == "th" else _PARENT_KIND_LABELS[self][1]


_PARENT_KIND_LABELS: dict[ParentKind, tuple[str, str]] = {
    ParentKind.NVR: ("เครื่องบันทึก", "recorder (NVR)"),
    ParentKind.SWITCH: ("สวิตช์", "switch"),
    ParentKind.SITE: ("จุดติดตั้ง", "site"),
    ParentKind.OTHER: ("อื่นๆ", "other"),
}


class EvidenceKind(str, enum.Enum):
    AT_CHANGE = "at_change"  # snapshot taken when the status changed
    LAST_GOOD = "last_good"  # last picture known good before the change
    REFERENCE = "reference"  # the camera's normal view, for scene_changed; never pruned
    UNCHANGED_SINCE = "unchanged_since"  # first picture of a run that has not changed since (`unchanged`)


class MaintenanceScope(str, enum.Enum):
    CAMERA = "camera"
    PARENT = "parent"
    SITE = "site"  # a parent of kind "site"


_TAG_RE = re.compile(r"^[^,\s][^,]*$")
_ID_RE = re.compile(r"^[^\s/\\][^/\\]{0,127}$")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return value.astimezone(timezone.utc)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class CameraRecord(BaseModel):
    """One camera as the registry knows it: survey fields plus what camcheck needs to reach it.

    Stream URLs never carry credentials (a URL with userinfo is rejected here; the importer strips
    them first and reports it); ``credentials_ref`` names an entry in the secrets store.
    """

    # hide_input_in_errors: a rejected URL may carry a password; errors must never echo it.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    id: str = Field(min_length=1, max_length=128)
    name: str | None = None
    owner_agency: str | None = None
    point_id: str | None = None
    point_name: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    purposes: list[Purpose] = Field(default_factory=list)
    control_centre: str | None = None
    network_type: str | None = None
    network_provider: str | None = None
    connected: bool | None = None
    brand: str | None = None
    recorder_brand: str | None = None
    recorder_model: str | None = None
    recorded_width: int | None = Field(default=None, gt=0, le=20000)
    recorded_height: int | None = Field(default=None, gt=0, le=20000)
    max_width: int | None = Field(default=None, gt=0, le=20000)
    max_height: int | None = Field(default=None, gt=0, le=20000)
    retention_days: int | None = Field(default=None, ge=0, le=3650)
    frame_rate: float | None = Field(default=None, gt=0, le=1000)
    file_format: str | None = None
    contact_person: str | None = None
    contact_phone: str | None = None
    year_installed: int | None = Field(default=None, ge=1950, le=2200)
    police_station: str | None = None
    internet_viewable: bool | None = None
    project_name: str | None = None
    registry_status: NationalStatus | None = None
    main_stream_url: str | None = None
    sub_stream_url: str | None = None
    onvif_endpoint: str | None = None  # host:port
    credentials_ref: str | None = Field(default=None, max_length=200)
    parent_id: str | None = None
    district: str | None = None
    province: str | None = None
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        v = v.strip()
        if not _ID_RE.match(v):
            raise ValueError("camera id must be 1-128 characters without slashes or leading spaces")
        return v

    @field_validator("main_stream_url", "sub_stream_url")
    @classmethod
    def _no_credentials(cls, v: str | None) -> str | None:
        if v is None:
            return None
        bare, user, password = split_credentials(v)
        if user is not None or password is not None or bare != v:
            raise ValueError("stream URLs must not carry credentials; use credentials_ref")
        return v

    @field_validator("purposes")
    @classmethod
    def _unique_purposes(cls, v: list[Purpose]) -> list[Purpose]:
        return sorted(set(v), key=lambda p: list(Purpose).index(p))

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for t in v:
            t = t.strip()
            if not _TAG_RE.match(t):
                raise ValueError(f"bad tag {t!r}: tags may not be empty or contain commas")
            if t not in out:
                out.append(t)
        return out

    @model_validator(mode="after")
    def _pairs(self) -> "CameraRecord":
        for w, h in (("recorded_width", "recorded_height"), ("max_width", "max_height")):
            if (getattr(self, w) is None) != (getattr(self, h) is None):
                raise ValueError(f"{w} and {h} go together")
        return self


# Columns of a camera the import/upsert owns (everything in CameraRecord).
RECORD_FIELDS: tuple[str, ...] = tuple(CameraRecord.model_fields)


class Measured(BaseModel):
    """Facts measured by a check; None = not measured this time (keeps the previous value)."""

    model_config = ConfigDict(extra="forbid")

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    codec: str | None = None
    bitrate_bps: int | None = None
    gop: float | None = None
    retention_days: float | None = None
    recording_active: bool | None = None
    clock_offset_s: float | None = None


MEASURED_COLUMNS: dict[str, str] = {
    "width": "measured_width",
    "height": "measured_height",
    "fps": "measured_fps",
    "codec": "measured_codec",
    "bitrate_bps": "measured_bitrate_bps",
    "gop": "measured_gop",
    "retention_days": "measured_retention_days",
    "recording_active": "recording_active",
    "clock_offset_s": "clock_offset_s",
}


class StoredCamera(CameraRecord):
    """A camera as stored: the registry record plus camcheck's computed state and measurements."""

    model_config = ConfigDict(extra="forbid")

    created_at: datetime | None = None
    updated_at: datetime | None = None
    status: CameraState = CameraState.UNKNOWN
    status_since: datetime | None = None
    status_reason: str | None = None
    status_reason_data: dict[str, Any] | None = None  # the reason as {code, args} (camcheck.verdict.reasons)
    findings: list[Any] = Field(default_factory=list)
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_check_at: datetime | None = None
    last_success_at: datetime | None = None
    measured: Measured = Field(default_factory=Measured)

    @property
    def verified_status(self) -> NationalStatus | None:
        return national_status(self.status, self.findings)


class CheckRecord(BaseModel):
    """One compact check result."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str
    checked_at: datetime
    verdict: str  # working / degraded / broken (probe vocabulary) or "error"
    failure: str | None = None
    findings: list[Any] = Field(default_factory=list)
    measured: Measured = Field(default_factory=Measured)
    duration_s: float | None = None
    node_id: str | None = None
    stream: Literal["main", "sub"] | None = None  # the stream a stream check read; None for other checks

    @field_validator("checked_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime | None:
        return _utc(v)


class EvidenceRecord(BaseModel):
    """A (downscaled) JPEG kept as proof: inline bytes or a path to a file the daemon wrote."""

    model_config = ConfigDict(extra="forbid")

    kind: EvidenceKind
    taken_at: datetime
    jpeg: bytes | None = Field(default=None, repr=False)
    path: str | None = None
    width: int | None = None
    height: int | None = None
    id: int | None = None  # set by the store

    @field_validator("taken_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _one_source(self) -> "EvidenceRecord":
        if (self.jpeg is None) == (self.path is None):
            raise ValueError("evidence needs exactly one of jpeg bytes or a file path")
        return self

    @property
    def size_bytes(self) -> int | None:
        return len(self.jpeg) if self.jpeg is not None else None


class TransitionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera_id: str
    at: datetime
    from_state: CameraState
    to_state: CameraState
    reason: str | None = None
    reason_data: dict[str, Any] | None = None  # the reason as {code, args} (camcheck.verdict.reasons)
    findings: list[Any] = Field(default_factory=list)
    id: int | None = None  # set by the store
    evidence_ids: list[int] = Field(default_factory=list)  # filled when read back

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime | None:
        return _utc(v)


class MaintenanceWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: MaintenanceScope
    target_id: str
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    starts_at: datetime
    expires_at: datetime
    id: int | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None

    @field_validator("starts_at", "expires_at", "ended_at", "created_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _order(self) -> "MaintenanceWindow":
        if self.expires_at <= self.starts_at:
            raise ValueError("a maintenance window must expire after it starts")
        return self

    def active_at(self, at: datetime) -> bool:
        end = min(self.expires_at, self.ended_at) if self.ended_at else self.expires_at
        return self.starts_at <= at < end


class CameraFilter(BaseModel):
    """Filters for list_cameras; all given filters must match (AND)."""

    model_config = ConfigDict(extra="forbid")

    status: list[CameraState] | None = None
    registry_status: list[NationalStatus] | None = None
    district: str | None = None
    province: str | None = None
    agency: str | None = None
    purpose: Purpose | None = None
    parent_id: str | None = None
    tag: str | None = None
    text: str | None = None  # substring of id, name, point name or agency (case-insensitive)
    enabled: bool | None = None
