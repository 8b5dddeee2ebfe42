"""`camcheck import FILE`: load a provincial registry sheet (CSV or XLSX, Thai or English headers)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

NAME = "import"
HELP = "import cameras (or, with --parents, their NVRs, switches and sites) from a sheet (CSV/XLSX, Thai or English headers)"
DESCRIPTION = """\
Import cameras from a registry sheet into the camcheck registry: an idempotent upsert by camera id.

Headers may be Thai (as in the national survey) or English; spacing, case and common variants
are accepted. Cells are normalised: Buddhist-era years and Thai digits, resolutions such as
1920x1080 / 1080p / 2MP, retention such as "30 วัน" or Thai number words, frame rates such as
"25 fps", several purposes in one cell, yes/no in Thai or English.

Every bad cell is reported with its line and column. A row missing its camera id (or repeating
one) is rejected; any other unreadable cell is left empty and the rest of the row is imported
(a broken GPS does not lose the camera). Numbers read from Thai words are warnings.
Columns absent from the sheet are left as they are in the registry.

Credentials inside stream URLs (rtsp://user:pass@...) are removed and never stored or printed:
put them in the secrets store and set the camera's "credentials ref".

--parents: FILE lists parent devices, the NVRs, switches and sites that cameras' "parent id"
(รหัสอุปกรณ์แม่) names, so that an incident ("parent suspected down") says what and where the
device is. Columns: parent id (รหัสอุปกรณ์แม่), kind (ประเภท: nvr/เครื่องบันทึก, switch/สวิตช์,
site/จุดติดตั้ง, other/อื่นๆ), name (ชื่อ), address (ที่อยู่ไอพี: IP or host name), upstream
parent id (รหัสอุปกรณ์ต้นทาง: the device this one is behind, e.g. an NVR's site; maintenance
windows on it cover the cameras of every device behind it), district (อำเภอ), province (จังหวัด).
The same rules for bad cells; an upstream device that would make a loop is refused.

Exit status: 0 all rows clean (warnings allowed), 1 some cells or rows had errors,
2 the file or database could not be used at all, 3 usage error."""

EXIT_ROW_ERRORS = 1
EXIT_FAILED = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="registry sheet (.csv or .xlsx)")
    parser.add_argument("--db", metavar="URL",
                        help="registry database: a SQLite file path or URL, or postgresql://... "
                             "(default: $CAMCHECK_DB_URL, else the state directory's camcheck.db)")
    parser.add_argument("--format", choices=["csv", "xlsx"], help="file format (default: from the file name)")
    parser.add_argument("--sheet", metavar="NAME", help="XLSX worksheet to read (default: the first)")
    parser.add_argument("--parents", action="store_true",
                        help="FILE is a sheet of parent devices (NVRs, switches, sites), not of cameras")
    parser.add_argument("--dry-run", action="store_true",
                        help="read, check and count what would change; write nothing")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress and no warnings, only errors and the summary")


def _progress_printer(quiet: bool):
    last = [0.0]

    def show(phase: str, done: int, total: int) -> None:
        if quiet or total < 1000:
            return
        now = time.monotonic()
        if done == total or now - last[0] >= 0.5:
            last[0] = now
            word = "read" if phase == "parse" else "written"
            print(f"  {done}/{total} rows {word} ({100 * done // total}%)", file=sys.stderr, flush=True)

    return show


async def _run(args: argparse.Namespace) -> int:
    from camcheck.registry.db import RegistryURLError
    from camcheck.registry.importer import import_file
    from camcheck.registry.parent_sheet import import_parents
    from camcheck.registry.sheets import SheetError
    from camcheck.registry.store import database_exists, open_store
    from camcheck.secrets import mask_text

    started = time.monotonic()
    store = None
    if not os.path.isfile(args.file):
        print(f"camcheck import: no such file: {args.file}", file=sys.stderr)
        return EXIT_FAILED
    try:
        if args.dry_run and not database_exists(args.db):
            print("dry run: the database does not exist yet, every valid row would be added", file=sys.stderr)
        else:
            store = await open_store(args.db)
            if args.dry_run:
                if not await store.is_current():
                    print("dry run: the database is not initialised yet, every valid row would be added",
                          file=sys.stderr)
                    await store.close()
                    store = None
            else:
                await store.migrate()
        if args.parents:
            report = await import_parents(args.file, store, fmt=args.format, dry_run=args.dry_run,
                                          sheet_name=args.sheet)
        else:
            report = await import_file(args.file, store, fmt=args.format, dry_run=args.dry_run,
                                       sheet_name=args.sheet, progress=_progress_printer(args.quiet))
    except (SheetError, RegistryURLError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"camcheck import: {mask_text(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # database unreachable etc.; never print a URL with its password
        print(f"camcheck import: {type(exc).__name__}: {mask_text(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if store is not None:
            await store.close()

    for issue in report.issues:
        if issue.severity == "error" or not args.quiet:
            print(str(issue), file=sys.stderr)
    print(report.summary())
    print(f"({time.monotonic() - started:.1f} s)")
    return 0 if report.ok else EXIT_ROW_ERRORS


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
