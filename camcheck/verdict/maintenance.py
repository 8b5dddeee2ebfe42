"""Maintenance windows ("under repair", อยู่ระหว่างการซ่อมแซม) for a camera, a parent device or a site.

A window always has a reason, an owner and an expiry: an open-ended window would hide a dead
camera forever. Ending a window early keeps the original expiry and records who ended it, so the
registry's audit log can show both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scope = Literal["camera", "parent", "site"]
_SCOPE_RANK = {"camera": 0, "parent": 1, "site": 2}

# Longest window accepted; longer work is a registry decision (remove the camera), not maintenance.
MAX_WINDOW_S = 90 * 86400.0


class MaintenanceWindow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1)
    scope: Scope
    target_id: str = Field(min_length=1)  # camera id, parent device id or site id
    reason: str
    owner: str
    starts_at: float
    expires_at: float
    created_at: float | None = None
    ended_at: float | None = None  # set when ended early
    ended_by: str | None = None

    @field_validator("reason", "owner")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty: every maintenance window needs a reason and an owner")
        return v.strip()

    @model_validator(mode="after")
    def _times(self) -> MaintenanceWindow:
        if self.expires_at <= self.starts_at:
            raise ValueError(f"window {self.id!r}: expires_at must be after starts_at")
        if self.expires_at - self.starts_at > MAX_WINDOW_S:
            raise ValueError(f"window {self.id!r}: longer than {MAX_WINDOW_S / 86400:g} days")
        if self.ended_at is not None and self.ended_at < self.starts_at:
            raise ValueError(f"window {self.id!r}: ended_at before starts_at")
        return self

    @property
    def effective_end(self) -> float:
        return self.expires_at if self.ended_at is None else min(self.ended_at, self.expires_at)

    def is_active(self, now: float) -> bool:
        return self.starts_at <= now < self.effective_end

    def end_early(self, at: float, by: str) -> MaintenanceWindow:
        """A copy ended at ``at`` by ``by`` (the original expiry is kept for the audit log)."""
        if not by.strip():
            raise ValueError("ending a maintenance window needs the name of who ended it")
        return self.model_copy(update={"ended_at": max(at, self.starts_at), "ended_by": by.strip()})


class MaintenanceInfo(BaseModel):
    """The window that puts one camera in maintenance now (what evaluate() needs)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    window_id: str
    scope: Scope
    target_id: str
    reason: str
    owner: str
    until: float  # when this camera leaves maintenance unless another window covers it


def active_window(
    camera: str, parents: Sequence[str], windows: Iterable[MaintenanceWindow], now: float
) -> MaintenanceInfo | None:
    """The maintenance covering ``camera`` at ``now`` via itself or any of its ``parents``
    (NVR, switch, site... in any order), or None.

    When several cover it, ``until`` is the latest end among them (the camera stays in maintenance
    until all are over) and the reported window is the most specific one (camera over parent over site).
    """
    targets = {camera: "camera"} | {p: "parent" for p in parents}
    hits = [
        w
        for w in windows
        if w.is_active(now)
        and w.target_id in targets
        and (w.scope == "camera") == (targets[w.target_id] == "camera")
    ]
    if not hits:
        return None
    best = min(hits, key=lambda w: (_SCOPE_RANK[w.scope], -w.effective_end, w.id))
    return MaintenanceInfo(
        window_id=best.id,
        scope=best.scope,
        target_id=best.target_id,
        reason=best.reason,
        owner=best.owner,
        until=max(w.effective_end for w in hits),
    )
