"""`camcheck report`: the provincial committee's audit report (XLSX, A4-printable HTML, or CSV)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path

NAME = "report"
HELP = "write the committee's audit report (xlsx, A4-printable html or csv; Thai or English)"
DESCRIPTION = """\
Build the provincial audit report from the registry:

  summary   counts by verified status, owner agency, purpose and network link; the confirmation-form
            numbers (points, cameras, internet-viewable); availability (7/30 days) and retention
            compliance by district and agency; cameras registered but never verified; devices found
            by `camcheck discover --json` but not registered (with --discovery FILE)
  cameras   every camera's survey fields as registered with the measured values beside them
            (mismatches highlighted), its verified status, when it was last verified, and a
            thumbnail of its evidence snapshot (--thumbnails)

The HTML file is self-contained (font and pictures embedded) and prints on A4 with a signature block.
CSV holds the per-camera table only. Progress goes to stderr."""

EXIT_OK, EXIT_ERROR = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["xlsx", "html", "csv"],
                        help="report format (default: from --out's suffix, else xlsx)")
    parser.add_argument("--lang", choices=["th", "en"], default="th", help="language (default th)")
    parser.add_argument("--province", metavar="P", help="only cameras of this province (as registered)")
    parser.add_argument("--db", metavar="URL", help="registry database (default: $CAMCHECK_DB_URL or the state directory)")
    parser.add_argument("--out", metavar="FILE", help="output file (default camcheck-report-[PROVINCE-]DATE.FORMAT)")
    parser.add_argument("--discovery", metavar="FILE", help="JSON from `camcheck discover --json`: list unregistered devices")
    parser.add_argument("--thumbnails", choices=["none", "problems", "all"], default="problems",
                        help="embed evidence thumbnails for no camera, cameras not working normally (default), or all")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    last = {"t": 0.0}

    def show(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if quiet or (done != total and now - last["t"] < 0.5):
            return
        last["t"] = now
        pct = f" ({100 * done // total}%)" if total else ""
        print(f"camcheck report: {stage} {done}/{total}{pct}", file=sys.stderr, flush=True)
    return show


async def _run(args: argparse.Namespace) -> int:
    from camcheck.exporters.report import ReportError, collect, load_discovery, write_report
    from camcheck.registry.db import RegistryURLError
    from camcheck.cli.registry_db import open_registry
    from camcheck.secrets import mask_text

    fmt = args.format
    if fmt is None:
        suffix = Path(args.out).suffix.lower().lstrip(".") if args.out else ""
        fmt = suffix if suffix in ("xlsx", "html", "csv") else "xlsx"
    out = Path(args.out) if args.out else Path(
        f"camcheck-report-{(args.province + '-') if args.province else ''}{date.today().isoformat()}.{fmt}")
    progress = _progress(args.quiet)
    try:
        discovery = load_discovery(args.discovery) if args.discovery else None
        store = await open_registry(args.db, "report")
        if store is None:
            return EXIT_ERROR
        try:
            data = await collect(store, lang=args.lang, province=args.province, thumbs=args.thumbnails,
                                 discovery=discovery, discovery_source=args.discovery, progress=progress)
        finally:
            await store.close()
        if not data.cameras:
            where = f" in province {args.province!r}" if args.province else ""
            known = f" (provinces in the registry: {', '.join(data.provinces)})" if data.provinces else ""
            print(f"camcheck report: warning: no cameras{where}{known}", file=sys.stderr)
        out.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(write_report, data, out, fmt, progress=progress)
    except (ReportError, RegistryURLError, OSError) as exc:
        print(f"camcheck report: {mask_text(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{len(data.cameras)} cameras reported in {out}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
