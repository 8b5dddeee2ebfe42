"""`camcheck export FILE`: write the registry as a sheet with measured values beside the claims."""

from __future__ import annotations

import argparse
import asyncio
import sys

NAME = "export"
HELP = "export the registry to CSV/XLSX (Thai or English headers) with measured values and verified status"
DESCRIPTION = """\
Write every camera to FILE: the national survey columns (Thai or English headers), then camcheck's
verified status (as the national label), its state, findings, and the measured values beside the
registered claims. No secret is ever written: only each camera's credentials reference.

The file can be imported again (`camcheck import`); the measured/verified columns are ignored then."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="output file (.csv or .xlsx)")
    parser.add_argument("--db", metavar="URL", help="registry database (as for `camcheck import`)")
    parser.add_argument("--lang", choices=["th", "en"], default="th", help="header and label language (default th)")
    parser.add_argument("--format", choices=["csv", "xlsx"], help="file format (default: from the file name)")
    parser.add_argument("--status", action="append", metavar="STATE",
                        choices=["unknown", "working", "degraded", "broken", "maintenance", "flapping"],
                        help="only cameras in this camcheck state (repeatable)")
    parser.add_argument("--district", help="only cameras of this district")
    parser.add_argument("--agency", help="only cameras of this owner agency")
    parser.add_argument("--parents", action="store_true",
                        help="write the parent devices (NVRs, switches, sites) instead, as `import --parents` reads them")


async def _run(args: argparse.Namespace) -> int:
    from camcheck.registry.db import RegistryURLError
    from camcheck.registry.exporter import export_file
    from camcheck.registry.models import CameraFilter
    from camcheck.registry.sheets import SheetError
    from camcheck.cli.registry_db import open_registry
    from camcheck.secrets import mask_text

    try:
        store = await open_registry(args.db, "export")
        if store is None:
            return 2
        try:
            if args.parents:
                from camcheck.registry.parent_sheet import export_parents

                count = await export_parents(args.file, store, lang=args.lang, fmt=args.format)
                print(f"{count} parent devices written to {args.file}")
                return 0
            filters = CameraFilter(status=args.status, district=args.district, agency=args.agency)
            count = await export_file(args.file, store, lang=args.lang, fmt=args.format, filters=filters,
                                      progress=lambda n: print(f"  {n} cameras written", file=sys.stderr))
        finally:
            await store.close()
    except (SheetError, RegistryURLError, OSError) as exc:
        print(f"camcheck export: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"camcheck export: {type(exc).__name__}: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    print(f"{count} cameras written to {args.file}")
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
