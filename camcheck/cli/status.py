"""`camcheck status [CAMERA]`: what the registry says now, in a terminal (no API token needed)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timezone
from typing import Any

NAME = "status"
HELP = "show the fleet's verified status, or one camera's: why, its last checks and changes"
DESCRIPTION = """\
Read the registry database (the daemon's, as for `camcheck export`) and print:
- without CAMERA: the count of cameras in each state, the parent devices suspected down (an NVR,
  switch or site whose cameras stopped delivering together: look there first), then every camera
  that is broken, flapping, degraded or under repair, worst first, with since when and why (the
  daemon's reason, in the checks' own words);
- with CAMERA: its state, since when, why, findings, measured values, its last checks (which stream
  each read, verdict, failure and findings, duration) and its last status changes.
--json prints the same as one JSON object (the API's shapes). Read-only. The registry holds no
password, and reasons are masked again on the way out. Exit status 2 when the database or the
camera cannot be found."""

PROBLEM_ORDER = ("broken", "flapping", "degraded", "maintenance")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("camera", nargs="?", metavar="CAMERA", help="a camera id (default: the whole fleet)")
    parser.add_argument("--db", metavar="URL", help="registry database (as for `camcheck import`)")
    parser.add_argument("--checks", type=int, default=10, metavar="N", help="last checks shown for a camera (default 10)")
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help="cameras with problems listed for the fleet (default 50; the count is always complete)")
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
    total = sum(counts.values())
    order = ("working", "degraded", "broken", "flapping", "maintenance", "unknown")
    print(f"{total} cameras: " + ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s)) if total
          else "no cameras in the registry")
    if down:
        print(f"\n{len(down)} parent device(s) suspected down (the cameras behind stopped delivering together):")
        for p in down:
            print(f"  {p.id:<16} since {_when(p.status_since)}  {p.cameras} cameras behind  {p.reason or ''}")
    if not problems:
        return 0
    print(f"\n{len(problems)} with problems" + (f" ({len(shown)} shown, worst first)" if len(shown) < len(problems)
                                               else ", worst first") + ":")
    for c in shown:
        print(f"  {c.id:<16} {c.status.value:<11} since {_when(c.status_since)}  {mask_text(c.status_reason or '')}")
    return 0


async def _camera(store: Any, args: argparse.Namespace) -> int:
    from camcheck.exporters.api import views

    cam = await store.get_camera(args.camera)
    if cam is None:
        print(f"camcheck status: no camera {args.camera!r} in the registry", file=sys.stderr)
        return 2
    state = views.state(cam, await store.maintenance_for_camera(cam.id))
    checks = [views.check(c) for c in await store.list_checks(cam.id, limit=max(0, args.checks))]
    changes = [views.transition(t) for t in await store.list_transitions(cam.id, limit=5)]
    if args.json:
        print(json.dumps({"state": state.model_dump(mode="json"), "checks": [c.model_dump(mode="json") for c in checks],
                          "transitions": [t.model_dump(mode="json") for t in changes]}, ensure_ascii=False))
        return 0
    print(f"{cam.id}  {cam.name or ''}".rstrip())
    print(f"  status    {state.status.value} since {_when(state.since)}")
    print(f"  label     {state.label.th} ({state.label.en}), the national dashboard's")
    if state.reason:
        print(f"  why       {state.reason}")
    if state.findings:
        print("  findings  " + "; ".join(f.en + (f" ({f.detail})" if f.detail else "") for f in state.findings))
    print(f"  checked   {_when(state.last_check_at)}; last verified working {_when(state.last_success_at)}")
    measured = _measured(state.measured)
    if measured:
        print(f"  measured  {measured}")
    for w in state.maintenance:
        print(f"  repair    {w.reason} ({w.owner}) until {_when(w.expires_at)}")
    if checks:
        print(f"\nlast {len(checks)} checks, newest first:")
        for c in checks:
            what = ", ".join(f.code for f in c.findings) or "-"
            took = f"{c.duration_s:.1f} s" if c.duration_s is not None else "-"
            print(f"  {_when(c.checked_at)}  {c.stream or 'onvif':<5} {c.verdict:<9} {what:<28} {took:>7}  "
                  f"{_measured(c.measured)}".rstrip())
    if changes:
        print("\nlast changes, newest first:")
        for t in changes:
            print(f"  {_when(t.at)}  {t.from_state.value} -> {t.to_state.value}: {t.reason or ''}")
    return 0


def _when(t: datetime | None) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if t else "never"


def _measured(m: Any) -> str:
    """The dashboard's words for what was measured (English), and the keyframe interval."""
    from camcheck.exporters.web.pages import measured_text

    if m is None:
        return ""
    gop = f"GOP {m.gop:.1f} s" if m.gop is not None else ""
    return " · ".join(p for p in (measured_text(m, "en"), gop) if p)
