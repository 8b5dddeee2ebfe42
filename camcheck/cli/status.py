"""`camcheck status [CAMERA]`: what the registry says now, in a terminal (no API token needed)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timezone
from typing import Any

from camcheck.cli.textwidth import ljust, width
from camcheck.exporters.api.words import in_lang

NAME = "status"
HELP = "show the fleet's verified status, or one camera's (why, its last checks and changes) or parent device's"
DESCRIPTION = """\
Read the registry database (the daemon's, as for `camcheck export`) and print:
- without CAMERA: the count of cameras in each state, the parent devices suspected down (an NVR,
  switch or site whose cameras stopped delivering together: look there first), then every camera
  that is broken, flapping, degraded or under repair, worst first, with since when and why (the
  daemon's reason, in the checks' own words);
- with CAMERA: its state, since when, why, findings, measured values, its last checks (which stream
  each read, verdict, failure and findings, duration) and its last status changes;
- with a parent device's id (NVR, switch, site) instead: what it is, what it is behind, whether it is
  suspected down and why, and its outages over the last 30 days.
--lang th prints it in Thai (states, reasons rendered from their data, findings, dates in the
Buddhist era in Thailand's time), as the dashboard and the report do; English (the default) shows
times in UTC. --json prints the same as one JSON object (the API's shapes, reasons in both
languages). Read-only. The registry holds no
password, and reasons are masked again on the way out. Exit status 2 when the database or the
camera cannot be found."""

PROBLEM_ORDER = ("broken", "flapping", "degraded", "maintenance")

# The listing's own words, (Thai, English) as in exporters/api/words; states, findings and reasons
# come from there.
WORDS: dict[str, tuple[str, str]] = {
    "count": ("กล้อง {n} ตัว: {counts}", "{n} cameras: {counts}"),
    "empty": ("ไม่มีกล้องในทะเบียน", "no cameras in the registry"),
    "parents": ("อุปกรณ์แม่ที่น่าจะขัดข้อง {n} รายการ (กล้องที่ต่อผ่านหยุดส่งภาพพร้อมกัน):",
                "{n} parent device(s) suspected down (the cameras behind stopped delivering together):"),
    "behind": ("กล้องที่ต่อผ่าน {n} ตัว", "{n} cameras behind"),
    "problems": ("กล้องที่มีปัญหา {n} ตัว", "{n} with problems"),
    "shown": (" (แสดง {k} ตัว เรียงจากหนักสุด)", " ({k} shown, worst first)"),
    "worst": (" เรียงจากหนักสุด", ", worst first"),
    "since": ("ตั้งแต่", "since"),
    "never": ("ไม่เคย", "never"),
    "status": ("สถานะ", "status"),
    "label": ("ป้ายระดับชาติ", "label"),
    "label_of": ("{th}", "{th} ({en}), the national dashboard's"),
    "why": ("เหตุผล", "why"),
    "findings": ("ข้อบกพร่อง", "findings"),
    "checked": ("ตรวจล่าสุด", "checked"),
    "checked_of": ("{last}; ยืนยันว่าใช้งานได้ล่าสุด {ok}", "{last}; last verified working {ok}"),
    "measured": ("ค่าที่วัดได้", "measured"),
    "repair": ("ซ่อมบำรุง", "repair"),
    "parent": ("อุปกรณ์แม่", "parent"),
    "parent_down": ("น่าจะขัดข้องตั้งแต่ {since}: ตรวจสอบอุปกรณ์นั้นก่อน", "suspected down since {since}: look there first"),
    "parent_covered": ("อยู่หลัง {upstream}", "behind {upstream}"),
    "until": ("ถึง", "until"),
    "kind": ("ประเภท", "kind"),
    "address": ("ที่อยู่ไอพี", "address"),
    "behind_it": ("ต่อผ่าน", "behind it"),
    "parent_up": ("ไม่ได้ขัดข้อง", "not suspected down"),
    "outages": ("การขัดข้องใน {days} วันที่ผ่านมา (ล่าสุดก่อน):", "outages in the last {days} days, newest first:"),
    "no_outages": ("ไม่มี", "none"),
    "ongoing": ("ยังขัดข้องอยู่", "ongoing"),
    "checks": ("การตรวจ {n} ครั้งล่าสุด (ล่าสุดก่อน):", "last {n} checks, newest first:"),
    "changes": ("การเปลี่ยนสถานะล่าสุด (ล่าสุดก่อน):", "last changes, newest first:"),
}


# A camera's detail lines: label, then the value, the values in one column in either language.
LABELS = ("status", "label", "why", "findings", "checked", "measured", "repair", "parent")


def _w(key: str, lang: str, **kw: object) -> str:
    from camcheck.exporters.api.words import pick

    return pick(WORDS[key], lang).format(**kw)


def _label(key: str, lang: str) -> str:
    """A detail line's label, padded by terminal columns (Thai marks take none) one past the widest."""
    return ljust(_w(key, lang), 1 + max(width(_w(k, lang)) for k in LABELS))


def _state_column(value: str, lang: str) -> str:
    """The state padded to the widest state's columns in that language, so the listing lines up."""
    from camcheck.exporters.api.words import STATE_WORDS

    return ljust(_state(value, lang), max(width(_state(s, lang)) for s in STATE_WORDS))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("camera", nargs="?", metavar="CAMERA",
                        help="a camera id, or a parent device's (default: the whole fleet)")
    parser.add_argument("--db", metavar="URL", help="registry database (as for `camcheck import`)")
    parser.add_argument("--checks", type=int, default=10, metavar="N", help="last checks shown for a camera (default 10)")
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help="cameras with problems listed for the fleet (default 50; the count is always complete)")
    parser.add_argument("--lang", choices=("en", "th"), default="en",
                        help="language of the listing (default en; th: Thai, dates in the Buddhist era)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from camcheck.registry.db import RegistryURLError
    from camcheck.cli.registry_db import open_registry
    from camcheck.secrets import mask_text

    try:
        store = await open_registry(args.db, "status")
        if store is None:
            return 2
        try:
            if args.camera:
                return await _camera(store, args)
            return await _fleet(store, args)
        finally:
            await store.close()
    except (RegistryURLError, OSError) as exc:
        print(f"camcheck status: {mask_text(str(exc))}", file=sys.stderr)
        return 2


async def _fleet(store: Any, args: argparse.Namespace) -> int:
    from camcheck.exporters.api import queries, views
    from camcheck.secrets import mask_text

    counts: dict[str, int] = {}
    problems = []
    async for cam in store.iter_cameras():
        counts[cam.status.value] = counts.get(cam.status.value, 0) + 1
        if cam.status.value in PROBLEM_ORDER:
            problems.append(cam)
    problems.sort(key=lambda c: (PROBLEM_ORDER.index(c.status.value), c.status_since or datetime.max.replace(
        tzinfo=timezone.utc), c.id))
    shown = problems[: max(0, args.limit)]
    down = [views.parent(r) for r in await queries.list_parents(store, suspected_down=True)]
    if args.json:
        print(json.dumps({"counts": counts, "total": sum(counts.values()), "problems": len(problems),
                          "parents_down": [p.model_dump(mode="json") for p in down],
                          "cameras": [views.state(c, []).model_dump(mode="json") for c in shown]},
                         ensure_ascii=False))
        return 0
    from camcheck.exporters.api.reason_words import reason_text

    lang = args.lang
    idw = max([16] + [width(x.id) for x in [*down, *shown]])  # the id column fits the longest id listed
    total = sum(counts.values())
    order = ("working", "degraded", "broken", "flapping", "maintenance", "unknown")
    listed = ", ".join(f"{counts[s]} {_state(s, lang)}" for s in order if counts.get(s))
    print(_w("count", lang, n=total, counts=listed) if total else _w("empty", lang))
    if down:
        print("\n" + _w("parents", lang, n=len(down)))
        for p in sorted(down, key=lambda p: p.covered_by or ""):  # a site before the recorders its incident tells
            why = in_lang(p.reason_text, lang) if p.reason_text else (p.reason or "")
            up = p.covered_by
            print(f"  {ljust(p.id, idw)} {_w('since', lang)} {_when(p.status_since, lang)}  {_w('behind', lang, n=p.cameras)}  "
                  f"{why}" + (f"  [{p.name}]" if p.name else "") + (f"  ({_w('parent_covered', lang, upstream=up)})" if up else ""))
    if not problems:
        return 0
    print("\n" + _w("problems", lang, n=len(problems))
          + (_w("shown", lang, k=len(shown)) if len(shown) < len(problems) else _w("worst", lang)) + ":")
    for c in shown:
        why = reason_text(c.status_reason, c.status_reason_data, lang) or ""
        print(f"  {ljust(c.id, idw)} {_state_column(c.status.value, lang)} {_w('since', lang)} {_when(c.status_since, lang)}  "
              f"{mask_text(why)}")
    return 0


async def _camera(store: Any, args: argparse.Namespace) -> int:
    from camcheck.exporters.api import views

    cam = await store.get_camera(args.camera)
    if cam is None:
        from camcheck.exporters.api import queries

        rows = await queries.list_parents(store, parent_id=args.camera)
        if rows:  # a recorder, switch or site: its state and outages
            return await _parent(store, args, views.parent(rows[0]))
        print(f"camcheck status: no camera or parent device {args.camera!r} in the registry", file=sys.stderr)
        return 2
    state = views.state(cam, await store.maintenance_for_camera(cam.id))
    checks = [views.check(c) for c in await store.list_checks(cam.id, limit=max(0, args.checks))]
    changes = [views.transition(t) for t in await store.list_transitions(cam.id, limit=5)]
    if args.json:
        print(json.dumps({"state": state.model_dump(mode="json"), "checks": [c.model_dump(mode="json") for c in checks],
                          "transitions": [t.model_dump(mode="json") for t in changes]}, ensure_ascii=False))
        return 0
    lang = args.lang
    print(f"{cam.id}  {cam.name or ''}".rstrip())
    print(f"  {_label('status', lang)} {_state(state.status.value, lang)} {_w('since', lang)} {_when(state.since, lang)}")
    print(f"  {_label('label', lang)} {_w('label_of', lang, th=state.label.th, en=state.label.en)}")
    why = in_lang(state.reason_text, lang) if state.reason_text else state.reason
    if why:
        print(f"  {_label('why', lang)} {why}")
    if state.findings:
        print(f"  {_label('findings', lang)} " + "; ".join(in_lang(f, lang) + (f" ({f.detail})" if f.detail else "")
                                                    for f in state.findings))
    print(f"  {_label('checked', lang)} " + _w("checked_of", lang, last=_when(state.last_check_at, lang),
                                           ok=_when(state.last_success_at, lang)))
    measured = _measured(state.measured, lang)
    if measured:
        print(f"  {_label('measured', lang)} {measured}")
    for w in state.maintenance:
        print(f"  {_label('repair', lang)} {w.reason} ({w.owner}) {_w('until', lang)} {_when(w.expires_at, lang)}")
    if cam.parent_id:
        print(f"  {_label('parent', lang)} {await _parent_line(store, cam.parent_id, lang)}")
    if checks:
        print("\n" + _w("checks", lang, n=len(checks)))
        for c in checks:
            what = ", ".join(f.code for f in c.findings) or "-"
            took = f"{c.duration_s:.1f} s" if c.duration_s is not None else "-"
            print(f"  {_when(c.checked_at, lang)}  {c.stream or 'onvif':<5} {c.verdict:<9} {what:<28} {took:>7}  "
                  f"{_measured(c.measured, lang)}".rstrip())
    if changes:
        print("\n" + _w("changes", lang))
        for t in changes:
            why = in_lang(t.reason_text, lang) if t.reason_text else (t.reason or "")
            print(f"  {_when(t.at, lang)}  {_state(t.from_state.value, lang)} -> {_state(t.to_state.value, lang)}: "
                  f"{why}")
    return 0


PARENT_LABELS = ("kind", "address", "parent", "behind_it", "status", "why")


async def _parent(store: Any, args: argparse.Namespace, p: Any) -> int:
    """A parent device: what it is, what it is behind, whether it is suspected down and why, and its
    outages lately (incidents.RECENT_DAYS)."""
    from datetime import timedelta

    from camcheck.exporters.api import views
    from camcheck.exporters.api.reason_words import span_text
    from camcheck.registry import incidents
    from camcheck.registry.models import ParentKind

    async with store.engine.connect() as conn:
        rows = await incidents.list_for(conn, p.id, since=datetime.now(timezone.utc) - timedelta(days=incidents.RECENT_DAYS))
    past = [views.past_incident(r["incident"]) for r in rows]
    if args.json:
        print(json.dumps({"parent": p.model_dump(mode="json"), "incidents": [i.model_dump(mode="json") for i in past]},
                         ensure_ascii=False))
        return 0
    lang = args.lang
    pad = 1 + max(width(_w(k, lang)) for k in PARENT_LABELS)

    def line(key: str, value: str) -> None:
        print(f"  {ljust(_w(key, lang), pad)} {value}")

    print(f"{p.id}  {p.name or ''}".rstrip())
    line("kind", ParentKind(p.kind).label(lang))
    if p.host:
        line("address", p.host)
    if p.parent_id:
        line("parent", await _parent_line(store, p.parent_id, lang))
    line("behind_it", _w("behind", lang, n=p.cameras))
    if p.status == "suspected_down":
        line("status", await _down_text(store, p, lang))
        if p.reason_text or p.reason:
            line("why", in_lang(p.reason_text, lang) if p.reason_text else p.reason)
    else:
        line("status", _w("parent_up", lang))
    print("\n" + _w("outages", lang, days=incidents.RECENT_DAYS))
    if not past:
        print("  " + _w("no_outages", lang))
    for i in past:
        lasted = span_text(i.duration_s, lang) if i.duration_s is not None else _w("ongoing", lang)
        why = in_lang(i.reason_text, lang) if i.reason_text else (i.reason or "")
        print(f"  {_when(i.started_at, lang)}  {ljust(lasted, 12)} {why}")
    return 0


async def _parent_line(store: Any, parent_id: str, lang: str, depth: int = 0) -> str:
    """The parent the camera is behind, by id and name, and whether it is suspected down now."""
    from camcheck.exporters.api import queries, views

    rows = await queries.list_parents(store, parent_id=parent_id)
    if not rows:
        return parent_id
    p = views.parent(rows[0])
    line = p.title()
    if p.status == "suspected_down":
        line += " — " + await _down_text(store, p, lang, depth)
    return line


async def _down_text(store: Any, p: Any, lang: str, depth: int = 0) -> str:
    """Since when a parent is suspected down, and the device it is behind that is down with it."""
    text = _w("parent_down", lang, since=_when(p.status_since, lang))
    if p.covered_by and depth < 4:  # the site it is behind is down too (a bounded walk up)
        text += "; " + _w("parent_covered", lang, upstream=await _parent_line(store, p.covered_by, lang, depth + 1))
    return text


def _when(t: datetime | None, lang: str = "en") -> str:
    """UTC in English; in Thai as the dashboard shows it (Buddhist era, Thailand's time)."""
    if t is None:
        return _w("never", lang)
    if lang == "th":
        from camcheck.exporters.api.words import fmt_time

        return fmt_time(t, "th")
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _state(value: str, lang: str) -> str:
    """The state as stored in English (the listing's columns are the codes), in Thai words in Thai."""
    if lang != "th":
        return value
    from camcheck.exporters.api.words import state_text

    return state_text(value, "th")


def _measured(m: Any, lang: str = "en") -> str:
    """The dashboard's words for what was measured, and the keyframe interval."""
    from camcheck.exporters.web.pages import measured_text

    if m is None:
        return ""
    gop = f"GOP {m.gop:.1f} s" if m.gop is not None else ""
    return " · ".join(p for p in (measured_text(m, lang), gop) if p)
