"""The contract between the daemon and every exporter.

The daemon owns the truth (a ``dict[str, CameraView]``); exporters only ever see these frozen views
and transition events. Nothing here may carry a secret: views are built from the registry's public
fields and measurements, never from stream URLs or credentials.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from camcheck.exporters.api.reason_words import reason_text

STATUSES: tuple[str, ...] = ("unknown", "working", "degraded", "broken", "maintenance", "flapping")


@dataclass(frozen=True)
class CameraView:
    """Everything an exporter may know about one camera — never a secret."""

    camera_id: str
    name: str | None
    parent_id: str | None  # NVR/switch/site
    site: str | None  # for MQTT topics; default parent or "default"
    labels: dict[str, str]  # the small configurable set of registry labels (district, agency) for metrics
    status: str  # unknown|working|degraded|broken|maintenance|flapping
    status_since: float | None  # UNIX time
    reason: str | None
    findings: tuple[str, ...]
    # fps, width, height, bitrate_kbps, gop_s, codec, clock_offset_s, retention_days, recording_active,
    # unchanged_s
    measured: dict[str, float | str | bool | None]
    info: dict[str, str]  # static facts: brand, model, firmware, codec, resolution
    last_check_at: float | None
    last_success_at: float | None
    last_check_duration: float | None
    registry_label_th: str | None = None  # national status label
    registry_label_en: str | None = None
    reason_data: dict[str, Any] | None = None  # the reason as {code, args}: its Thai sentence is rendered from it

    @property
    def topic_site(self) -> str:
        """The site segment used in MQTT topics: site, else parent, else "default"."""
        return self.site or self.parent_id or "default"


@dataclass(frozen=True)
class TransitionEvent:
    event_id: str  # unique (uuid4 hex), for exactly-once checks by consumers
    camera_id: str
    at: float
    from_status: str
    to_status: str
    reason: str
    findings: tuple[str, ...]
    view: CameraView  # state after the transition
    reason_data: dict[str, Any] | None = None  # the reason as {code, args} (camcheck.verdict.reasons)

    @classmethod
    def new(
        cls,
        view: CameraView,
        from_status: str,
        reason: str,
        *,
        at: float | None = None,
        findings: tuple[str, ...] | None = None,
        reason_data: dict[str, Any] | None = None,
    ) -> "TransitionEvent":
        """Build an event for ``view`` (already in its new state) with a fresh event id."""
        return cls(
            event_id=uuid.uuid4().hex,
            camera_id=view.camera_id,
            at=time.time() if at is None else at,
            from_status=from_status,
            to_status=view.status,
            reason=reason,
            findings=view.findings if findings is None else findings,
            view=view,
            reason_data=reason_data,
        )


@dataclass(frozen=True)
class OpenIncident:
    """A parent device's (recorder, switch, site) incident open now, as /metrics shows it."""

    parent_id: str
    cameras: int  # cameras behind the failing children
    since: float  # UNIX time it began
    name: str | None = None  # as the parents sheet gives it
    covered_by: str | None = None  # the upstream device whose incident tells it (a site's uplink)


@runtime_checkable
class Exporter(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None:  # flush what can be flushed quickly; durable state survives
        ...

    def publish_state(self, view: CameraView) -> None:  # never blocks, never raises
        ...

    def publish_transition(self, event: TransitionEvent) -> None:  # never blocks, never raises; durable before return
        ...

    def remove_camera(self, camera_id: str) -> None: ...


def view_to_dict(view: CameraView) -> dict[str, object]:
    """The public JSON shape of a camera's state (MQTT state payload, webhook ``camera`` field)."""
    return {
        "camera_id": view.camera_id,
        "name": view.name,
        "parent_id": view.parent_id,
        "site": view.topic_site,
        "labels": dict(view.labels),
        "status": view.status,
        "status_label_th": view.registry_label_th,
        "status_label_en": view.registry_label_en,
        "since": view.status_since,
        "reason": view.reason,
        "reason_th": reason_text(view.reason, view.reason_data, "th"),
        "findings": list(view.findings),
        "measured": {k: v for k, v in view.measured.items() if v is None or isinstance(v, (int, float, str, bool))},
        "info": dict(view.info),
        "last_check_at": view.last_check_at,
        "last_success_at": view.last_success_at,
        "last_check_duration": view.last_check_duration,
    }


def event_to_dict(event: TransitionEvent) -> dict[str, object]:
    """The public JSON shape of a transition (MQTT events payload, webhook default body)."""
    return {
        "event_id": event.event_id,
        "type": "camcheck.transition",
        "camera_id": event.camera_id,
        "at": event.at,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "reason_th": reason_text(event.reason, event.reason_data, "th"),
        "findings": list(event.findings),
        "camera": view_to_dict(event.view),
    }


__all__ = ["STATUSES", "CameraView", "TransitionEvent", "Exporter", "view_to_dict", "event_to_dict"]
