"""Profile G analysis: what a recorder's answers mean for "does it really record, and for how long".

Pure functions over plain values, all judged on the camera's clock (its ``now``), so a recorder
whose clock is off is neither blamed nor excused for the checker's clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

DAY = 86400.0


@dataclass
class HistoryEvent:
    """One RecordingHistory/Track/State event: data present (True) or absent (False) from ``time``."""

    time: dt.datetime
    present: bool
    start_state: bool = False


@dataclass
class Gap:
    start: dt.datetime
    end: dt.datetime
    open: bool = False  # still going on at the camera's now (recording stopped)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "duration_s": round(self.seconds, 1), "open": self.open}


@dataclass
class TrackFacts:
    token: str
    type: str | None = None
    encoding: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bitrate_kbps: int | None = None


@dataclass
class RecordingFacts:
    token: str
    source_name: str | None = None
    source_id: str | None = None
    status: str | None = None  # RecordingStatus from Search: Recording/Stopped/...
    job_state: str | None = None  # Active/Idle from the Recording service (None = no job seen)
    max_retention_days: float | None = None  # configured ceiling, 0 = none
    earliest: dt.datetime | None = None
    latest: dt.datetime | None = None
    retention_days: float | None = None
    latest_age_s: float | None = None
    active: bool | None = None
    tracks: list[TrackFacts] = field(default_factory=list)
    gaps_24h: list[Gap] = field(default_factory=list)
    recorded_hours_24h: float | None = None
    history_source: str | None = None  # "events" | "earliest_latest" (no RecordingHistory answer)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["earliest"] = _iso(self.earliest)
        d["latest"] = _iso(self.latest)
        d["gaps_24h"] = [g.to_dict() for g in self.gaps_24h]
        for k in ("retention_days", "latest_age_s", "recorded_hours_24h", "max_retention_days"):
            if d[k] is not None:
                d[k] = round(d[k], 3)
        return d


def _iso(v: dt.datetime | None) -> str | None:
    return None if v is None else v.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_duration_s(text: str | dt.timedelta | None) -> float | None:
    """xs:duration (PnDTnHnMnS; years/months as 365/30 days) to seconds; None if unreadable."""
    if text is None:
        return None
    if isinstance(text, dt.timedelta):
        return text.total_seconds()
    import re

    m = re.fullmatch(
        r"\s*(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?"
        r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?\s*",
        str(text),
    )
    if not m or str(text).strip() in ("P", "PT"):
        return None
    y, mo, d, h, mi, s = (float(x) if x else 0.0 for x in m.groups()[1:])
    total = y * 365 * DAY + mo * 30 * DAY + d * DAY + h * 3600 + mi * 60 + s
    return -total if m.group(1) else total


def presence_timeline(
    events: list[HistoryEvent],
    window_start: dt.datetime,
    now: dt.datetime,
    earliest: dt.datetime | None,
    latest: dt.datetime | None,
) -> tuple[list[tuple[dt.datetime, dt.datetime]], str]:
    """Intervals with data inside [window_start, now], from RecordingHistory events when there are
    any, else from EarliestRecording/LatestRecording (no gaps can be seen then)."""
    if events:
        evs = sorted(events, key=lambda e: (e.time, not e.start_state))
        floor = max(window_start, earliest) if earliest is not None else window_start
        state: bool | None = None
        cursor = floor
        out: list[tuple[dt.datetime, dt.datetime]] = []
        for e in evs:
            t = min(max(e.time, floor), now)
            if state is None:
                # A start-state event says what held at the window start; otherwise the first
                # change implies the opposite held before it.
                state = e.present if e.start_state else not e.present
                if e.start_state:
                    continue
            if state and t > cursor:
                out.append((cursor, t))
            state, cursor = e.present, t
        if state and now > cursor:
            end = min(now, latest) if latest is not None else now
            if end > cursor:
                out.append((cursor, end))
        return _merge(out), "events"
    if earliest is None or latest is None:
        return [], "earliest_latest"
    a, b = max(earliest, window_start), min(latest, now)
    return ([(a, b)] if b > a else []), "earliest_latest"


def _merge(iv: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in sorted(iv):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def gaps_from_presence(
    present: list[tuple[dt.datetime, dt.datetime]],
    window_start: dt.datetime,
    now: dt.datetime,
    earliest: dt.datetime | None,
    min_gap_s: float,
) -> list[Gap]:
    """Holes between present intervals in the window. Time before the earliest data is retention,
    not a gap; the stretch after the last data is an *open* gap (recording stopped)."""
    start = max(window_start, earliest) if earliest is not None else window_start
    gaps: list[Gap] = []
    cursor = start
    for a, b in present:
        if a - cursor >= dt.timedelta(seconds=min_gap_s):
            gaps.append(Gap(cursor, a))
        cursor = max(cursor, b)
    if now - cursor >= dt.timedelta(seconds=min_gap_s):
        gaps.append(Gap(cursor, now, open=True))
    return gaps


def analyse_recording(
    rec: RecordingFacts,
    events: list[HistoryEvent],
    camera_now: dt.datetime,
    stale_after_s: float,
    min_gap_s: float,
    window_h: float = 24.0,
) -> RecordingFacts:
    """Fill in retention, activity, gaps and recorded hours of ``rec`` (in place; returned)."""
    if rec.earliest is not None:
        rec.retention_days = max(0.0, (camera_now - rec.earliest).total_seconds() / DAY)
    if rec.latest is not None:
        rec.latest_age_s = (camera_now - rec.latest).total_seconds()
    job_ok = rec.job_state == "Active" if rec.job_state is not None else rec.status == "Recording"
    fresh = rec.latest_age_s is not None and rec.latest_age_s <= stale_after_s
    rec.active = bool(job_ok and fresh)
    window_start = camera_now - dt.timedelta(hours=window_h)
    present, source = presence_timeline(events, window_start, camera_now, rec.earliest, rec.latest)
    rec.history_source = source
    rec.recorded_hours_24h = sum((b - a).total_seconds() for a, b in present) / 3600.0
    gaps = gaps_from_presence(present, window_start, camera_now, rec.earliest, min_gap_s)
    # A trailing "gap" shorter than the staleness allowance is just the newest data in flight.
    rec.gaps_24h = [g for g in gaps if not (g.open and g.seconds <= stale_after_s)]
    return rec
