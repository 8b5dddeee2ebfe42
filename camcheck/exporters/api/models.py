"""The API's response and request bodies. The OpenAPI document is generated from these models, and
the tests validate real responses against that document, so the two cannot drift apart silently."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from camcheck.registry.models import (
    CameraRecord,
    CameraState,
    MaintenanceScope,
    Measured,
    NationalStatus,
    Purpose,
)

Scalar = str | float | int | bool | None


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text(_Out):
    th: str
    en: str


class Label(_Out):
    code: Literal["working_normally", "not_working", "broken", "under_repair", "unverified"]
    th: str
    en: str
    national: bool = Field(description="False for 'unverified': not one of the four national values")


class Finding(_Out):
    code: str
    th: str
    en: str
    detail: str | None = None


class Camera(_Out):
    """A registered camera: survey fields as registered, camcheck's verified state and measurements."""

    id: str
    name: str | None = None
    owner_agency: str | None = None
    point_id: str | None = None
    point_name: str | None = None
    lat: float | None = None
    lon: float | None = None
    purposes: list[Purpose] = Field(default_factory=list)
    control_centre: str | None = None
    network_type: str | None = None
    network_provider: str | None = None
    connected: bool | None = None
    brand: str | None = None
    recorder_brand: str | None = None
    recorder_model: str | None = None
    recorded_width: int | None = None
    recorded_height: int | None = None
    max_width: int | None = None
    max_height: int | None = None
    retention_days: int | None = None
    frame_rate: float | None = None
    file_format: str | None = None
    contact_person: str | None = None
    contact_phone: str | None = None
    year_installed: int | None = None
    police_station: str | None = None
    internet_viewable: bool | None = None
    project_name: str | None = None
    registry_status: NationalStatus | None = None
    main_stream_url: str | None = Field(None, description="never carries credentials")
    sub_stream_url: str | None = Field(None, description="never carries credentials")
    onvif_endpoint: str | None = None
    credentials_ref: str | None = Field(None, description="name of a secrets-store entry, never the secret")
    parent_id: str | None = None
    district: str | None = None
    province: str | None = None
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status: CameraState
    status_since: datetime | None = None
    status_reason: str | None = None
    label: Label
    findings: list[Finding] = Field(default_factory=list)
    last_check_at: datetime | None = None
    last_success_at: datetime | None = None
    measured: Measured


class CameraPage(_Out):
    items: list[Camera]
    total: int
    limit: int
    offset: int
    next_offset: int | None = None


class CameraWrite(CameraRecord):
    """Create or replace a camera: the same fields and validation as an imported row."""


class EvidenceMeta(_Out):
    id: int
    kind: Literal["at_change", "last_good", "reference", "unchanged_since"]
    taken_at: datetime
    width: int | None = None
    height: int | None = None
    transition_id: int | None = None
    url: str


class EvidenceList(_Out):
    latest: EvidenceMeta | None = None
    last_good: EvidenceMeta | None = None
    reference: EvidenceMeta | None = None
    # the first picture of the camera's latest run of unchanged pictures (kept at the run's third
    # check): the proof of the `unchanged` finding
    unchanged_since: EvidenceMeta | None = None
    items: list[EvidenceMeta]


class MaintenanceOut(_Out):
    id: int
    scope: MaintenanceScope
    target_id: str
    reason: str
    owner: str
    starts_at: datetime
    expires_at: datetime
    created_at: datetime | None = None
    created_by: str | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    active: bool


class MaintenanceList(_Out):
    items: list[MaintenanceOut]


class Incident(_Out):
    """A parent's outage as the daemon judged it: most cameras behind it stopped delivering together."""

    started_at: datetime
    ended_at: datetime | None = None
    cameras_behind: int  # cameras counted when it opened (those in maintenance left out)
    affected: list[str]  # cameras failing when it opened, and any that failed during it
    still_failing_at_end: list[str] = Field(default_factory=list)  # their own problem: announced individually
    cameras_affected: int = 0  # cameras behind the affected children (a site's: its recorders' cameras)
    # the device it is behind, whose own incident tells this one (a site's uplink down, not each recorder)
    covered_by: str | None = None


class PastIncident(Incident):
    """One incident of a parent, open or past, with why (as told) and how long it lasted."""

    reason: str | None = None  # English, as stored
    reason_text: Text | None = None  # the same in Thai and English
    duration_s: float | None = None  # from its start to its end (None while open)


class IncidentList(_Out):
    items: list[PastIncident]  # newest first


class ParentOut(_Out):
    id: str
    kind: Literal["nvr", "switch", "site", "other"]
    name: str | None = None
    host: str | None = None  # its address (IP or host name[:port]), to look it up
    parent_id: str | None = None  # the device it is behind
    district: str | None = None
    province: str | None = None
    cameras: int  # cameras registered behind it
    status: Literal["suspected_down"] | None = None  # while its incident is open
    status_since: datetime | None = None
    reason: str | None = None  # the incident's reason, English as stored
    reason_text: Text | None = None  # the same in Thai and English
    incident: Incident | None = None  # the open incident, or the latest one

    def title(self) -> str:
        """The parent as people know it: its id, and its name where one was registered."""
        return parent_title(self.id, self.name)

    @property
    def covered_by(self) -> str | None:
        """The device it is behind whose own incident tells this one's open incident (its site's)."""
        return self.incident.covered_by if self.incident is not None and self.incident.ended_at is None else None


def parent_title(parent_id: str, name: str | None) -> str:
    return f"{parent_id} ({name})" if name else parent_id


class ParentList(_Out):
    items: list[ParentOut]
    total: int


class ParentIn(BaseModel):
    """A parent device or site as an integrator's asset list gives it (PUT: what is not given is cleared)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["nvr", "switch", "site", "other"] = "other"
    name: str | None = Field(None, max_length=500, description="what and where it is, as people know it")
    host: str | None = Field(None, max_length=300, description="IP address or host name, optional :port; no credentials")
    parent_id: str | None = Field(None, min_length=1, max_length=128,
                                  description="the device this one is behind (an NVR's site); must exist")
    district: str | None = Field(None, max_length=500)
    province: str | None = Field(None, max_length=500)


class MaintenanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: MaintenanceScope = MaintenanceScope.CAMERA
    target_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=200)
    starts_at: datetime | None = Field(None, description="default: now")
    expires_at: datetime | None = Field(None, description="give expires_at or duration_hours")
    duration_hours: float | None = Field(None, gt=0, le=24 * 366)


class State(_Out):
    id: str
    status: CameraState
    status_text: Text
    label: Label
    since: datetime | None = None
    reason: str | None = None  # English, as stored
    reason_text: Text | None = None  # the same reason in Thai and English
    findings: list[Finding]
    last_check_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int
    consecutive_successes: int
    measured: Measured
    maintenance: list[MaintenanceOut]


class CheckOut(_Out):
    checked_at: datetime
    verdict: str
    failure: str | None = None
    findings: list[Finding]
    measured: Measured
    duration_s: float | None = None
    node_id: str | None = None
    stream: Literal["main", "sub"] | None = Field(
        None, description="the stream a stream check read: main (recorded) or sub; null for ONVIF checks")


class CheckList(_Out):
    items: list[CheckOut]


class TransitionOut(_Out):
    id: int | None = None
    at: datetime
    from_state: CameraState
    to_state: CameraState
    reason: str | None = None  # English, as stored
    reason_text: Text | None = None  # the same reason in Thai and English
    findings: list[Finding]
    evidence_ids: list[int]


class TransitionList(_Out):
    items: list[TransitionOut]


class ComparisonRow(_Out):
    field: str
    title: Text
    registered: Scalar = None
    configured: Scalar = None
    measured: Scalar = None
    result: Literal["match", "mismatch", "not_measured", "not_registered", "info"]
    finding: str | None = None
    message: str | None = None


class Comparison(_Out):
    camera_id: str
    rows: list[ComparisonRow]
    mismatches: int


class Accepted(_Out):
    camera_id: str
    action: str
    detail: str


class CountRow(_Out):
    key: str | None
    th: str
    en: str
    total: int
    by_label: dict[str, int]


class AvailabilityFigure(_Out):
    days: int
    percent: float | None = Field(description="None when nothing in the window counts (all maintenance/unverified)")
    up_s: float
    down_s: float
    maintenance_s: float


class RetentionFigure(_Out):
    registered: int = Field(description="cameras with a registered retention")
    measured: int = Field(description="... of which camcheck measured the recorder's retention")
    compliant: int
    percent: float | None


class ConfirmationForm(_Out):
    points: int
    cameras: int
    internet_viewable: int
    verified_working: int


class Summary(_Out):
    generated_at: datetime
    total: int
    by_state: dict[str, int]
    by_label: list[CountRow]
    by_agency: list[CountRow]
    by_purpose: list[CountRow]
    by_link: list[CountRow]
    by_district: list[CountRow]
    availability: list[AvailabilityFigure]
    retention: RetentionFigure
    confirmation: ConfirmationForm
    never_verified: int
    live: dict[str, Any] | None = Field(None, description="the daemon's own status_counts(), when available")


class MapPoint(_Out):
    id: str
    name: str | None = None
    lat: float
    lon: float
    status: CameraState
    label: str


class MapData(_Out):
    points: list[MapPoint]
    without_gps: int


class Facets(_Out):
    states: list[str]
    labels: list[Label]
    purposes: list[Purpose]
    agencies: list[str]
    districts: list[str]
    provinces: list[str]
    parents: list[str]
    tags: list[str]


class ImportIssue(_Out):
    line: int | None
    column: str | None
    severity: Literal["error", "warning"]
    message: str
    value: str | None = None


class ImportResult(_Out):
    ok: bool
    rows_total: int
    rows_imported: int
    rows_with_errors: int
    rows_rejected: int
    inserted: int
    updated: int
    unchanged: int
    credentials_found: int
    dry_run: bool
    issues: list[ImportIssue]


class AuditEntry(_Out):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None = None
    details: Any = None


class AuditList(_Out):
    items: list[AuditEntry]


class WhoAmI(_Out):
    name: str
    role: Literal["read", "write"]
    via: Literal["bearer", "session", "anonymous"]


class ProblemOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
