"""Reading and writing registry sheets as CSV (UTF-8, with or without BOM) or XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from camcheck.registry.normalize import cell_to_text

SheetFormat = Literal["csv", "xlsx"]

# Cells starting with these are run as formulas by spreadsheet programs: export escapes them with
# a leading apostrophe (import removes it again) so a camera name cannot become a formula.
_FORMULA_START = ("=", "+", "@", "\t", "\r")


class SheetError(ValueError):
    """The file cannot be read as a registry sheet at all."""


@dataclass
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells as text)
    header_line: int = 1


def detect_format(path: str | os.PathLike[str], given: str | None = None) -> SheetFormat:
    if given:
        if given not in ("csv", "xlsx"):
            raise SheetError(f"unknown format {given!r}: use csv or xlsx")
        return given  # type: ignore[return-value]
    suffix = Path(path).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt", ""):
        return "csv"
    raise SheetError(f"cannot tell the format of {Path(path).name!r} from its name: pass --format csv|xlsx")


def _unescape(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_START:
        return text[1:]
    return text


def read_sheet(path: str | os.PathLike[str], fmt: SheetFormat, *, sheet_name: str | None = None) -> Sheet:
    if fmt == "xlsx":
        return _read_xlsx(Path(path), sheet_name)
    return _read_csv(Path(path))


def _read_csv(path: Path) -> Sheet:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp874"):  # cp874/TIS-620: what older Thai Excel saves
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp874 decodes almost anything
        raise SheetError("file is neither UTF-8 nor Thai Windows-874 text")
    # The delimiter is the one the header line uses most (Sniffer guesses wrong on Thai text
    # with quoted commas); European Excel writes ";", some tools tab.
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    for record in reader:
        start = line
        line = reader.line_num + 1
        if any(c.strip() for c in record):
            rows.append((start, [_unescape(c) for c in record]))
    return _split_header(rows)


def _read_xlsx(path: Path, sheet_name: str | None) -> Sheet:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
        raise SheetError(f"not a readable .xlsx file: {type(exc).__name__}") from None
    try:
        if sheet_name is not None:
            if sheet_name not in wb.sheetnames:
                raise SheetError(f"no sheet named {sheet_name!r} (sheets: {', '.join(wb.sheetnames)})")
            ws = wb[sheet_name]
        else:
            ws = wb.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [cell_to_text(v) for v in values]
            if any(c.strip() for c in cells):
                rows.append((number, [_unescape(c) for c in cells]))
    finally:
        wb.close()
    return _split_header(rows)


_HEADER_SEARCH_ROWS = 10


def _split_header(rows: list[tuple[int, list[str]]]) -> Sheet:
    """The header is the first row naming a camera-id column (sheets often carry a title row or
    two above it); without one, the first non-empty row."""
    from camcheck.registry.columns import match_header

    if not rows:
        raise SheetError("the sheet is empty (no header row)")
    at = 0
    for i, (_, cells) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if any((col := match_header(c)) is not None and col.key == "id" for c in cells):
            at = i
            break
    return Sheet([c.strip() for c in rows[at][1]], rows[at + 1 :], header_line=rows[at][0])


def _escape(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_sheet(
    path: str | os.PathLike[str],
    fmt: SheetFormat,
    headers: list[str],
    rows: Iterable[list[str | int | float | None]],
    *,
    sheet_title: str = "cameras",
) -> int:
    """Write a sheet; returns the number of data rows. CSV gets a BOM so Excel shows Thai correctly."""
    path = Path(path)
    count = 0
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "csv":
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(headers)
            for row in rows:
                w.writerow(["" if v is None else _escape(v) if isinstance(v, str) else v for v in row])
                count += 1
    else:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet_title)
        ws.freeze_panes = "B2"
        bold = Font(bold=True)
        head = []
        for h in headers:
            c = WriteOnlyCell(ws, value=h)
            c.font = bold
            head.append(c)
        ws.append(head)
        for row in rows:
            out = []
            for v in row:
                c = WriteOnlyCell(ws, value=v)
                if isinstance(v, str) and v.startswith("="):
                    c.data_type = "s"  # text, never a formula
                out.append(c)
            ws.append(out)
            count += 1
        wb.save(tmp)
    os.replace(tmp, path)  # a half-written export never replaces a good one
    return count
