"""The report as an XLSX workbook: summary, per-camera (mismatches filled red, evidence thumbnails),
never verified, discovered-but-unregistered."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from camcheck.exporters.api.summary import LABEL_ORDER, GroupFigures
from camcheck.exporters.report.data import MISMATCH_OF, ReportData, camera_values
from camcheck.exporters.report.words import CAMERA_COLUMNS, r
from camcheck.exporters.api.words import fmt_time, in_lang, label_text
from camcheck.registry.incidents import RECENT_DAYS
from camcheck.registry.models import ParentKind

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="DCE3EA")
MISMATCH_FILL = PatternFill("solid", fgColor="F8C9C9")
LABEL_FILL = {"working_normally": "C8E6C9", "not_working": "FFCDD2", "broken": "FFE0B2", "under_repair": "BBDEFB",
              "unverified": "E0E0E0"}
_LABEL_FILLS = {k: PatternFill("solid", fgColor=v) for k, v in LABEL_FILL.items()}
_NO_FILL = PatternFill()
THIN = Side(style="thin", color="B0BEC5")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
THUMB_PX = (160, 90)
WRAP = Alignment(wrap_text=True, vertical="top")  # one shared style object: 10,000 rows x 27 cells


class _Jpeg(Image):
    """An embedded JPEG without Pillow (openpyxl only needs the bytes, the format and a size)."""

    def __init__(self, data: bytes, width: int, height: int) -> None:  # noqa: D107 - no super(): it needs Pillow
        self.ref = io.BytesIO(data)
        self._jpeg = data
        self.width, self.height = width, height
        self.format = "jpeg"

    def _data(self) -> bytes:
        return self._jpeg


def _print_setup(ws: Worksheet, *, landscape: bool, title_rows: str | None = None) -> None:
    """A4, every column on one page width (rows flow onto further pages), header rows repeated."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.gridLines = False
    if title_rows:
        ws.print_title_rows = title_rows


def _head(ws: Worksheet, row: int, values: list[str]) -> None:
    ws.row_dimensions[row].height = 34  # wrapped two-line headers (LibreOffice does not grow rows itself)
    for i, v in enumerate(values, start=1):
        c = ws.cell(row=row, column=i, value=v)
        c.font, c.fill, c.border = BOLD, HEAD_FILL, BOX
        c.alignment = WRAP


def _row(ws: Worksheet, row: int, values: list[Any]) -> None:
    for i, v in enumerate(values, start=1):
        c = ws.cell(row=row, column=i, value=v)
        c.border = BOX
        c.alignment = WRAP


def _pct(v: float | None) -> float | None:
    return None if v is None else round(v / 100.0, 4)


def _summary(ws: Worksheet, d: ReportData, lang: str) -> None:
    s = d.summary
    ws.title = r("summary", lang)
    ws["A1"] = r("title", lang)
    ws["A1"].font = TITLE
    ws["A2"] = f"{r('province', lang)}: {d.province or r('all_provinces', lang)}"
    ws["A3"] = f"{r('generated', lang)}: {fmt_time(d.generated_at, lang)}"
    ws["A4"] = r("source", lang)
    row = 6
    ws.cell(row=row, column=1, value=r("confirmation", lang)).font = BOLD
    row += 1
    for key, value in (("points", s.confirmation.points), ("cameras", s.confirmation.cameras),
                       ("internet", s.confirmation.internet_viewable),
                       ("verified_working", s.confirmation.verified_working)):
        _row(ws, row, [r(key, lang), value])
        row += 1
    row += 1
    ws.cell(row=row, column=1, value=r("by_status", lang)).font = BOLD
    row += 1
    _head(ws, row, [r("status", lang), r("count", lang), r("share", lang)])
    row += 1
    for lab in s.by_label:
        _row(ws, row, [in_lang(lab, lang), lab.total, (lab.total / s.total) if s.total else None])
        ws.cell(row=row, column=1).fill = PatternFill("solid", fgColor=LABEL_FILL.get(lab.key or "", "FFFFFF"))
        ws.cell(row=row, column=3).number_format = "0.0%"
        row += 1
    _row(ws, row, [r("total", lang), s.total, 1.0 if s.total else None])
    ws.cell(row=row, column=3).number_format = "0.0%"
    row += 2
    labels = [label_text(c, lang) for c in LABEL_ORDER]
    for key, rows in (("by_agency", s.by_agency), ("by_purpose", s.by_purpose), ("by_link", s.by_link)):
        ws.cell(row=row, column=1, value=r(key, lang)).font = BOLD
        row += 1
        _head(ws, row, ["", r("total", lang), *labels])
        row += 1
        for cr in rows:
            _row(ws, row, [in_lang(cr, lang), cr.total, *[cr.by_label.get(c, 0) for c in LABEL_ORDER]])
            row += 1
        row += 1
    for key, groups, name_key in (("avail_district", d.by_district, "district"), ("avail_agency", d.by_agency, "agency")):
        ws.cell(row=row, column=1, value=r(key, lang)).font = BOLD
        row += 1
        _head(ws, row, [r(name_key, lang), r("cameras", lang), r("working", lang), r("avail_7", lang),
                        r("avail_30", lang), r("ret_measured", lang), r("ret_ok", lang), r("ret_pct", lang)])
        row += 1
        for g in groups:
            row = _group_row(ws, row, g, lang)
        row += 1
    ws.cell(row=row, column=1, value=f"{r('never_verified', lang)}: {len(d.never_verified)}").font = BOLD
    row += 1
    if d.discovered_unregistered is None:
        ws.cell(row=row, column=1, value=r("no_discovery", lang))
    else:
        ws.cell(row=row, column=1, value=f"{r('unregistered', lang)}: {len(d.discovered_unregistered)}").font = BOLD
    for cell in ("A1", "A2", "A3", "A4"):
        ws.merge_cells(f"{cell}:{cell.replace('A', 'H')}")
        ws[cell].alignment = WRAP
    ws.row_dimensions[1].height = 40
    ws.row_dimensions[4].height = 30
    ws.column_dimensions["A"].width = 40
    for col in range(2, 9):
        ws.column_dimensions[get_column_letter(col)].width = 12


def _group_row(ws: Worksheet, row: int, g: GroupFigures, lang: str) -> int:
    av = {a.days: a.percent for a in g.availability}
    _row(ws, row, [g.name[0] if lang == "th" else g.name[1], g.cameras, g.working, _pct(av.get(7)), _pct(av.get(30)),
                   g.retention.measured, g.retention.compliant, _pct(g.retention.percent)])
    for col in (4, 5, 8):
        ws.cell(row=row, column=col).number_format = "0.0%"
    return row + 1


def _cameras(ws: Worksheet, d: ReportData, lang: str, progress: Callable[[str, int, int], None] | None) -> None:
    ws.title = r("sheet_cameras", lang)
    ws["A1"] = r("legend_mismatch", lang)
    ws["A1"].fill = MISMATCH_FILL
    cols = [*CAMERA_COLUMNS, "evidence"]
    _head(ws, 2, [r(c, lang) for c in cols])
    ws.freeze_panes = "C3"
    ev_col = len(cols)
    total = len(d.cameras)
    for i, row in enumerate(d.cameras, start=3):
        values = camera_values(row, lang)
        cells = [values[c] if c not in ("last_verified", "last_check") else
                 (fmt_time(values[c], lang) if values[c] else None) for c in CAMERA_COLUMNS]
        _row(ws, i, [*cells, None])
        for j, c in enumerate(CAMERA_COLUMNS, start=1):
            fld = MISMATCH_OF.get(c)
            if fld and row.mismatch(fld):
                ws.cell(row=i, column=j).fill = MISMATCH_FILL
                ws.cell(row=i, column=j - 1).fill = MISMATCH_FILL  # the registered value beside it
        vs = CAMERA_COLUMNS.index("verified_status") + 1
        ws.cell(row=i, column=vs).fill = _LABEL_FILLS.get(row.label, _NO_FILL)
        if row.thumbnail:
            img = _Jpeg(row.thumbnail, *THUMB_PX)
            ws.add_image(img, f"{get_column_letter(ev_col)}{i}")
            ws.row_dimensions[i].height = 70
        if progress and ((i - 2) % 1000 == 0 or i - 2 == total):
            progress("xlsx rows", i - 2, total)
    widths = {"id": 14, "name": 28, "agency": 24, "point": 24, "findings": 40, "reason": 60, "evidence": 24}
    for j, c in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(j)].width = widths.get(c, 14)
    ws.auto_filter.ref = f"A2:{get_column_letter(len(cols))}{max(2, total + 2)}"


def _never(ws: Worksheet, d: ReportData, lang: str) -> None:
    ws.title = r("sheet_never", lang)
    ws["A1"] = r("never_note", lang)
    _head(ws, 2, [r("id", lang), r("name", lang), r("agency", lang), r("district", lang), r("registry_status", lang)])
    for i, row in enumerate(d.never_verified, start=3):
        c = row.cam
        _row(ws, i, [c.id, c.name or c.point_name, c.owner_agency, c.district,
                     c.registry_status.label(lang) if c.registry_status else None])
    for col, w in zip("ABCDE", (14, 32, 28, 16, 18)):
        ws.column_dimensions[col].width = w


def _unregistered(ws: Worksheet, d: ReportData, lang: str) -> None:
    ws.title = r("sheet_unregistered", lang)
    if d.discovered_unregistered is None:
        ws["A1"] = r("no_discovery", lang)
        return
    ws["A1"] = f"{r('unregistered', lang)} ({d.discovery_source or ''})"
    _head(ws, 2, [r("host", lang), r("device_name", lang), r("hardware", lang), "ONVIF"])
    for i, dev in enumerate(d.discovered_unregistered, start=3):
        _row(ws, i, [dev.host, dev.name, dev.hardware, ", ".join(dev.xaddrs)])
    for col, w in zip("ABCD", (18, 28, 20, 50)):
        ws.column_dimensions[col].width = w


def _outages(ws: Worksheet, d: ReportData, lang: str) -> None:
    ws.title = r("sheet_outages", lang)
    ws["A1"] = f"{r('device_outages', lang).format(days=RECENT_DAYS)}: {r('outages_note', lang)}"
    _head(ws, 2, [r(k, lang) for k in ("device_id", "device_title", "kind", "district", "cameras_behind", "times_down",
                                       "hours_down", "down_now")])
    for i, o in enumerate(d.device_outages, start=3):
        _row(ws, i, [o.id, o.name, ParentKind(o.kind).label(lang), o.district, o.cameras, o.outages,
                     round(o.down_s / 3600, 1), r("yes", lang) if o.down_now else None])
    for col, w in zip("ABCDEFGH", (18, 32, 20, 16, 12, 12, 14, 12)):
        ws.column_dimensions[col].width = w


def write_xlsx(d: ReportData, path: str | os.PathLike[str], *,
               progress: Callable[[str, int, int], None] | None = None) -> None:
    wb = Workbook()
    sheets = [wb.active, wb.create_sheet(), wb.create_sheet(), wb.create_sheet(), wb.create_sheet()]
    _summary(sheets[0], d, d.lang)
    _cameras(sheets[1], d, d.lang, progress)
    _never(sheets[2], d, d.lang)
    _unregistered(sheets[3], d, d.lang)
    _outages(sheets[4], d, d.lang)
    _print_setup(sheets[0], landscape=False)
    _print_setup(sheets[1], landscape=True, title_rows="2:2")
    _print_setup(sheets[2], landscape=False, title_rows="2:2")
    _print_setup(sheets[3], landscape=True, title_rows="2:2")
    _print_setup(sheets[4], landscape=True, title_rows="2:2")
    wb.save(path)
