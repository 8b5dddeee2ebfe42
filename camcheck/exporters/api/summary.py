"""Fleet figures shared by the API's /summary, the dashboard overview and the committee report:
counts by national label, agency, purpose, network link and district; availability over 7/30 days;
retention compliance; the provincial confirmation-form numbers.

Decisions (also in docs/api.md):
- Labels come from camcheck.verdict.labels (``unknown`` = "not yet verified", never counted as working).
- Network link: ``connected`` yes -> linked, no -> not linked; not stated -> linked when a control
  centre is named, else "not stated".
- Points (confirmation form): distinct installation point id, else point name, else the camera itself.
- Availability: camcheck.verdict.availability per camera over its transitions (maintenance and
  unverified time excluded); fleet/group figures are total up-time / (up + down) time.
- Retention compliance: cameras with a registered retention whose recorder retention was measured;
  compliant when no ``retention_below_claim`` gap (camcheck.verdict.claims, default tolerance).
"""

from __future__ import annotations

import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from camcheck.exporters.api import queries
from camcheck.exporters.api.models import (
    AvailabilityFigure,
    ConfirmationForm,
    CountRow,
    RetentionFigure,
    Summary,
)
from camcheck.exporters.api.words import NETWORK_LINK_WORDS, in_lang, national_label_code, pick
from camcheck.registry.models import CameraFilter, CameraState, Purpose
from camcheck.registry.store import Store
from camcheck.verdict.availability import availability
from camcheck.verdict.claims import MeasuredFacts, RegisteredClaims, compare_claims
from camcheck.verdict.labels import LABELS
from camcheck.verdict.status import Status, Transition

LABEL_ORDER = ("working_normally", "not_working", "broken", "under_repair", "unverified")
NOT_STATED = ("ไม่ระบุ", "not stated")


@dataclass
class CamFigures:
    row: dict[str, Any]
    label: str
    up: dict[int, float] = field(default_factory=dict)
    down: dict[int, float] = field(default_factory=dict)
    maint: dict[int, float] = field(default_factory=dict)
    retention: str | None = None  # None (not registered) / "unmeasured" / "compliant" / "short"


@dataclass
class Fleet:
    generated_at: datetime
    days: tuple[int, ...]
    cams: list[CamFigures]


def link_key(row: dict[str, Any]) -> str:
    if row.get("connected") is True:
        return "linked"
    if row.get("connected") is False:
        return "not_linked"
    return "linked" if row.get("control_centre") else "unknown"


def point_key(row: dict[str, Any]) -> str:
    if row.get("point_id"):
        return f"id:{row['point_id']}"
    if row.get("point_name"):
        return f"name:{row['point_name']}".strip().lower()
    return f"cam:{row['id']}"


def _retention(row: dict[str, Any]) -> str | None:
    claimed = row.get("retention_days")
    if not claimed:
        return None
    measured = row.get("measured_retention_days")
    if measured is None:
        return "unmeasured"
    gaps = compare_claims(RegisteredClaims(retention_days=claimed), MeasuredFacts(retention_days=max(0.0, measured)))
    return "short" if gaps else "compliant"


async def collect(store: Store, filters: CameraFilter | None = None, *, now: datetime | None = None,
                  days: tuple[int, ...] = (7, 30), progress: Callable[[str, int, int], None] | None = None) -> Fleet:
    now = now or datetime.now(timezone.utc)
    rows = await queries.summary_rows(store, filters)
    if progress:
        progress("cameras", len(rows), len(rows))
    cams = {r["id"]: CamFigures(r, national_label_code(r["status"], r["findings"], r["status_reason"]),
                                retention=_retention(r)) for r in rows}
    longest = max(days) if days else 0
    if cams and longest:
        start_all = now - timedelta(days=longest)
        trans = await queries.transitions_since(store, start_all, set(cams))
        by_cam: dict[str, list[Transition]] = defaultdict(list)
        for t in trans:
            try:
                by_cam[t["camera_id"]].append(Transition(
                    camera_id=t["camera_id"], at=t["at"].timestamp(), from_status=Status(t["from_state"]),
                    to_status=Status(t["to_state"]), reason=""))
            except ValueError:
                continue
        end = now.timestamp()
        for i, (cid, cf) in enumerate(cams.items(), start=1):
            ts = by_cam.get(cid, [])
            created = cf.row.get("created_at")
            for d in days:
                start = end - d * 86400.0
                if not ts and created is not None:
                    start = max(start, created.timestamp())  # no history before the camera existed
                if end <= start:
                    continue
                if not ts:  # no change in the window: the current state all along (most of a fleet)
                    st = cf.row["status"]
                    span = end - start
                    cf.up[d] = span if st in ("working", "degraded") else 0.0
                    cf.down[d] = span if st in ("broken", "flapping") else 0.0
                    cf.maint[d] = span if st == "maintenance" else 0.0
                    continue
                a = availability(ts, start, end)
                cf.up[d], cf.down[d], cf.maint[d] = a.up_s, a.down_s, a.maintenance_s
            if progress and (i % 2000 == 0 or i == len(cams)):
                progress("availability", i, len(cams))
    return Fleet(now, days, list(cams.values()))


_CACHE: "weakref.WeakKeyDictionary[Store, dict[str, tuple[float, Fleet]]]" = weakref.WeakKeyDictionary()
CACHE_SECONDS = 10.0


async def collect_cached(store: Store, filters: CameraFilter | None = None, *, ttl: float = CACHE_SECONDS) -> Fleet:
    """collect() reused for ``ttl`` seconds: a wall display reloading the overview every few seconds
    must not recompute a 10,000-camera province each time (figures are at most ``ttl`` old)."""
    key = filters.model_dump_json() if filters else ""
    per_store = _CACHE.setdefault(store, {})
    hit = per_store.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < ttl:
        return hit[1]
    fleet = await collect(store, filters)
    if len(per_store) > 64:  # bounded: filters come from query strings
        per_store.clear()
    per_store[key] = (now, fleet)
    return fleet


def _count_rows(items: Iterable[tuple[str | None, str, str, str]]) -> list[CountRow]:
    """items: (key, th, en, label) per camera (a camera may appear under several keys)."""
    totals: dict[str | None, Counter[str]] = defaultdict(Counter)
    names: dict[str | None, tuple[str, str]] = {}
    for key, th, en, label in items:
        totals[key][label] += 1
        names[key] = (th, en)
    out = [CountRow(key=k, th=names[k][0], en=names[k][1], total=sum(c.values()),
                    by_label={lab: c.get(lab, 0) for lab in LABEL_ORDER}) for k, c in totals.items()]
    return sorted(out, key=lambda r: (r.key is None, -r.total, r.key or ""))


def by_label(fleet: Fleet) -> list[CountRow]:
    c = Counter(cf.label for cf in fleet.cams)
    return [CountRow(key=lab, th=LABELS[lab].th, en=LABELS[lab].en, total=c.get(lab, 0),  # type: ignore[index]
                     by_label={lab: c.get(lab, 0)}) for lab in LABEL_ORDER]


def by_field(fleet: Fleet, key: str) -> list[CountRow]:
    def items() -> Iterable[tuple[str | None, str, str, str]]:
        for cf in fleet.cams:
            v = cf.row.get(key)
            yield (v, v, v, cf.label) if v else (None, *NOT_STATED, cf.label)
    return _count_rows(items())


def by_purpose(fleet: Fleet) -> list[CountRow]:
    def items() -> Iterable[tuple[str | None, str, str, str]]:
        for cf in fleet.cams:
            ps = cf.row.get("purposes") or []
            if not ps:
                yield (None, *NOT_STATED, cf.label)
            for p in ps:
                try:
                    pp = Purpose(p)
                    yield (pp.value, pp.label_th, pp.label_en, cf.label)
                except ValueError:
                    yield (p, p, p, cf.label)
    rows = _count_rows(items())
    order = [p.value for p in Purpose]
    return sorted(rows, key=lambda r: order.index(r.key) if r.key in order else len(order))


def by_link(fleet: Fleet) -> list[CountRow]:
    rows = _count_rows((k, *NETWORK_LINK_WORDS[k], cf.label) for cf in fleet.cams for k in [link_key(cf.row)])
    order = list(NETWORK_LINK_WORDS)
    return sorted(rows, key=lambda r: order.index(r.key or "unknown"))


def availability_figures(cams: list[CamFigures], days: tuple[int, ...]) -> list[AvailabilityFigure]:
    out = []
    for d in days:
        up = sum(c.up.get(d, 0.0) for c in cams)
        down = sum(c.down.get(d, 0.0) for c in cams)
        maint = sum(c.maint.get(d, 0.0) for c in cams)
        pct = round(100.0 * up / (up + down), 2) if up + down > 0 else None
        out.append(AvailabilityFigure(days=d, percent=pct, up_s=round(up, 1), down_s=round(down, 1),
                                      maintenance_s=round(maint, 1)))
    return out


def retention_figure(cams: list[CamFigures]) -> RetentionFigure:
    c = Counter(cf.retention for cf in cams)
    registered = sum(v for k, v in c.items() if k is not None)
    measured = c.get("compliant", 0) + c.get("short", 0)
    compliant = c.get("compliant", 0)
    return RetentionFigure(registered=registered, measured=measured, compliant=compliant,
                           percent=round(100.0 * compliant / measured, 2) if measured else None)


def confirmation(cams: list[CamFigures]) -> ConfirmationForm:
    return ConfirmationForm(
        points=len({point_key(cf.row) for cf in cams}),
        cameras=len(cams),
        internet_viewable=sum(1 for cf in cams if cf.row.get("internet_viewable") is True),
        verified_working=sum(1 for cf in cams if cf.label == "working_normally"),
    )


def never_verified(cams: list[CamFigures]) -> list[CamFigures]:
    return [cf for cf in cams if cf.row.get("last_check_at") is None]


def summary(fleet: Fleet, live: dict[str, Any] | None = None) -> Summary:
    states = Counter(cf.row["status"] for cf in fleet.cams)
    return Summary(
        generated_at=fleet.generated_at,
        total=len(fleet.cams),
        by_state={s.value: states.get(s.value, 0) for s in CameraState},
        by_label=by_label(fleet),
        by_agency=by_field(fleet, "owner_agency"),
        by_purpose=by_purpose(fleet),
        by_link=by_link(fleet),
        by_district=by_field(fleet, "district"),
        availability=availability_figures(fleet.cams, fleet.days),
        retention=retention_figure(fleet.cams),
        confirmation=confirmation(fleet.cams),
        never_verified=len(never_verified(fleet.cams)),
        live=live,
    )


@dataclass
class GroupFigures:
    key: str | None
    name: tuple[str, str]
    cameras: int
    availability: list[AvailabilityFigure]
    retention: RetentionFigure
    working: int


def groups(fleet: Fleet, key: str) -> list[GroupFigures]:
    """Availability and retention compliance per district / agency (for the report)."""
    buckets: dict[str | None, list[CamFigures]] = defaultdict(list)
    for cf in fleet.cams:
        buckets[cf.row.get(key) or None].append(cf)
    out = [GroupFigures(k, (k, k) if k else NOT_STATED, len(v), availability_figures(v, fleet.days),
                        retention_figure(v), sum(1 for c in v if c.label == "working_normally"))
           for k, v in buckets.items()]
    return sorted(out, key=lambda g: (g.key is None, g.key or ""))


def name_of(row: CountRow | GroupFigures, lang: str) -> str:
    if isinstance(row, CountRow):
        return in_lang(row, lang)
    return pick(row.name, lang)
