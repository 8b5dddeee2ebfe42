"""The provincial audit report (`camcheck report`): XLSX, A4-printable HTML or CSV, Thai or English.

    data = await collect(store, lang="th", province="...", discovery=load_discovery("found.json"))
    write_report(data, "report.xlsx", "xlsx")

Discovery input: the JSON list printed by `camcheck discover --json` (address, xaddrs, source, name,
hardware per device). A device whose host is no registered camera's ONVIF/stream host is listed as
"discovered but unregistered"; without a file the report says discovery data was not given.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from camcheck.exporters.report.data import (
    MISMATCH_OF,
    ReportData,
    ReportError,
    camera_values,
    collect,
    load_discovery,
)
from camcheck.exporters.report.words import CAMERA_COLUMNS, r
from camcheck.exporters.api.words import fmt_time

Format = Literal["xlsx", "html", "csv"]


def write_csv(d: ReportData, path: str | os.PathLike[str], *,
              progress: Callable[[str, int, int], None] | None = None) -> None:
    """Per-camera rows only (a CSV holds one table), UTF-8 with BOM so Excel shows Thai; mismatching
    measured values are listed in the last column."""
    lang = d.lang
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([r(c, lang) for c in CAMERA_COLUMNS] + ["mismatch" if lang == "en" else "ค่าที่ไม่ตรงกับทะเบียน"])
        for i, row in enumerate(d.cameras, start=1):
            v = camera_values(row, lang)
            cells = [fmt_time(v[c], lang) if c in ("last_verified", "last_check") and v[c] else v[c] for c in CAMERA_COLUMNS]
            bad = [r(c, lang) for c, fld in MISMATCH_OF.items() if row.mismatch(fld)]
            w.writerow(cells + ["; ".join(bad)])
            if progress and (i % 1000 == 0 or i == len(d.cameras)):
                progress("csv rows", i, len(d.cameras))


def write_report(d: ReportData, path: str | os.PathLike[str], fmt: Format, *,
                 progress: Callable[[str, int, int], None] | None = None) -> Path:
    out = Path(path)
    if fmt == "xlsx":
        from camcheck.exporters.report.xlsx import write_xlsx

        write_xlsx(d, out, progress=progress)
    elif fmt == "html":
        from camcheck.exporters.report.html import write_html

        write_html(d, out, progress=progress)
    elif fmt == "csv":
        write_csv(d, out, progress=progress)
    else:
        raise ReportError(f"unknown report format {fmt!r}: use xlsx, html or csv")
    return out


__all__ = ["ReportData", "ReportError", "collect", "load_discovery", "write_csv", "write_report"]
