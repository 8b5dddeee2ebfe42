"""Importing a registry sheet: read, normalise, report every bad cell, upsert the good rows.

Policy (see docs in the CLI help):
- A row without a camera id, or repeating an id already seen in the file, is rejected.
- A cell that cannot be understood is an *error* reported by line and column (with its value,
  unless the column may hold a password); that field is left empty and the rest of the row is
  imported — a broken GPS must not lose the camera. Such rows count as "imported with errors".
- A cell that was understood only by interpretation (a number written in Thai words, an
  unrecognised extra purpose, credentials found in a stream URL) is a *warning*.
- Any error makes the import exit non-zero; warnings alone do not.
- Credentials inside stream URLs are removed before anything is stored; the report says so and
  never repeats them. They belong in the secrets store under the camera's credentials ref.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from camcheck.registry import normalize as n
from camcheck.registry.columns import BY_KEY, Column, map_headers
from camcheck.registry.models import CameraRecord
from camcheck.registry.sheets import Sheet, SheetFormat, detect_format, read_sheet

Severity = Literal["error", "warning"]

# Thailand's bounding box (with a margin): coordinates outside are kept but questioned.
_TH_LAT = (5.0, 21.0)
_TH_LON = (97.0, 106.0)


@dataclass
class Issue:
    line: int | None  # line in the file (CSV) or row number (XLSX); None: about the whole file
    column: str | None  # the header as written in the file
    severity: Severity
    message: str
    value: str | None = None  # None when the cell may hold a secret

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        if self.column:
            where += f", column {self.column!r}"
        shown = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.severity}: {self.message}{shown}"


@dataclass
class ParsedRow:
    line: int
    record: CameraRecord
    had_errors: bool = False


@dataclass
class ImportReport:
    rows_total: int = 0
    rows_imported: int = 0  # valid rows handed to the store (including those with cell errors)
    rows_with_errors: int = 0  # imported, but one or more cells were rejected and left empty
    rows_rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    credentials_found: int = 0
    dry_run: bool = False
    issues: list[Issue] = field(default_factory=list)
    noun: str = "cameras"  # what a row is, for the summary

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = [
            f"{self.rows_total} rows read: {self.rows_imported} imported"
            f" ({self.rows_with_errors} with rejected cells left empty), {self.rows_rejected} rejected.",
            f"{self.inserted} {self.noun} {verb} added, {self.updated} updated, {self.unchanged} unchanged.",
            f"{len(self.errors)} errors, {len(self.warnings)} warnings.",
        ]
        if self.credentials_found and self.noun == "cameras":
            lines.append(
                f"{self.credentials_found} URL(s) carried credentials: they were NOT stored. Put them in the "
                "secrets store and set each camera's 'credentials ref'."
            )
        elif self.credentials_found:
            lines.append(f"{self.credentials_found} address(es) carried credentials: they were NOT stored.")
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_total": self.rows_total, "rows_imported": self.rows_imported,
            "rows_with_errors": self.rows_with_errors, "rows_rejected": self.rows_rejected,
            "inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
            "credentials_found": self.credentials_found, "dry_run": self.dry_run,
            "errors": len(self.errors), "warnings": len(self.warnings),
        }


ProgressFn = Callable[[str, int, int], None]


def _show(col: Column, text: str) -> str | None:
    return None if col.secret_bearing else text


def parse_row(line: int, cells: list[str], colmap: dict[int, Column], headers: list[str],
              report: ImportReport) -> ParsedRow | None:
    fields: dict[str, Any] = {}
    header_of: dict[str, str] = {}  # CameraRecord field -> header as written, for messages
    errors = 0

    def issue(col_header: str | None, sev: Severity, msg: str, value: str | None) -> None:
        nonlocal errors
        report.issues.append(Issue(line, col_header, sev, msg, value))
        if sev == "error":
            errors += 1

    coords: tuple[float, float] | None = None
    coords_header = ""
    for idx, col in colmap.items():
        if col.export_only:
            continue
        raw = cells[idx] if idx < len(cells) else ""
        text = n.clean_text(raw)
        if not text:
            continue
        head = headers[idx]
        if col.key == "id":
            fields["id"] = text
            header_of["id"] = head
            continue
        if n.is_placeholder(text):
            continue
        try:
            if col.key in ("main_stream_url", "sub_stream_url"):
                value, had_creds = n.parse_stream_url(text)
                if had_creds:
                    report.credentials_found += 1
                    issue(head, "warning", "credentials found in the URL were removed and not stored; "
                          "put them in the secrets store and set 'credentials ref'", None)
                fields[col.key] = value
                header_of[col.key] = head
            elif col.key == "onvif_endpoint":
                value, had_creds = n.parse_onvif_endpoint(text)
                if had_creds:
                    report.credentials_found += 1
                    issue(head, "warning", "credentials found in the ONVIF address were removed and not stored; "
                          "put them in the secrets store and set 'credentials ref'", None)
                fields[col.key] = value
                header_of[col.key] = head
            elif col.parse is None:
                fields[col.key] = text
                header_of[col.key] = head
            else:
                value, note = col.parse(text)
                if note:
                    issue(head, "warning", note, _show(col, text))
                if col.key == "recorded_resolution":
                    fields["recorded_width"], fields["recorded_height"] = value  # type: ignore[misc]
                    header_of["recorded_width"] = header_of["recorded_height"] = head
                elif col.key == "max_resolution":
                    fields["max_width"], fields["max_height"] = value  # type: ignore[misc]
                    header_of["max_width"] = header_of["max_height"] = head
                elif col.key == "coordinates":
                    coords, coords_header = value, head  # type: ignore[assignment]
                else:
                    fields[col.key] = value
                    header_of[col.key] = head
        except ValueError as exc:
            issue(head, "error", f"{exc}; field left empty", _show(col, text))

    if not fields.get("id"):
        issue(header_of.get("id"), "error", "no camera id: row rejected", None)
        report.rows_rejected += 1
        return None

    if coords is not None and "lat" not in fields and "lon" not in fields:
        fields["lat"], fields["lon"] = coords
        header_of["lat"] = header_of["lon"] = coords_header

    lat, lon = fields.get("lat"), fields.get("lon")
    if isinstance(lat, float) and isinstance(lon, float):
        if not (_TH_LAT[0] <= lat <= _TH_LAT[1] and _TH_LON[0] <= lon <= _TH_LON[1]):
            swapped = _TH_LAT[0] <= lon <= _TH_LAT[1] and _TH_LON[0] <= lat <= _TH_LON[1]
            issue(header_of.get("lat"), "warning",
                  "coordinates are outside Thailand" + (" (latitude and longitude look swapped)" if swapped else ""),
                  f"{lat}, {lon}")

    if not fields.get("name") and fields.get("point_name"):
        fields["name"] = fields["point_name"]

    # Validate; a field the model refuses is reported and dropped, the rest of the row stays.
    for _ in range(len(fields) + 1):
        try:
            record = CameraRecord(**fields)
            break
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]} or {"?"}
            if "id" in bad or "?" in bad:
                msg = "; ".join(e["msg"] for e in exc.errors())
                issue(header_of.get("id"), "error", f"{msg}: row rejected", None)
                report.rows_rejected += 1
                return None
            for f in bad:
                msgs = "; ".join(e["msg"] for e in exc.errors() if e["loc"] and e["loc"][0] == f)
                col = BY_KEY.get(f) or BY_KEY.get({"recorded_width": "recorded_resolution",
                                                   "recorded_height": "recorded_resolution",
                                                   "max_width": "max_resolution",
                                                   "max_height": "max_resolution"}.get(f, ""))
                value = fields.get(f)
                shown = None if (col is None or col.secret_bearing) else (None if value is None else str(value))
                issue(header_of.get(f, f), "error", f"{msgs}; field left empty", shown)
                fields.pop(f, None)
    else:  # pragma: no cover - every pass removes at least one field
        report.rows_rejected += 1
        return None
    return ParsedRow(line, record, had_errors=errors > 0)


_COMPOSITE = {
    "recorded_resolution": ("recorded_width", "recorded_height"),
    "max_resolution": ("max_width", "max_height"),
    "coordinates": ("lat", "lon"),
}


def covered_fields(sheet: Sheet) -> set[str]:
    """CameraRecord fields the sheet has a column for: only these may change on update."""
    out: set[str] = set()
    for col in map_headers(sheet.headers).columns.values():
        if col.export_only or col.key == "id":
            continue
        out.update(_COMPOSITE.get(col.key, (col.key,)))
    return out


def parse_sheet(sheet: Sheet, report: ImportReport, progress: ProgressFn | None = None) -> list[ParsedRow]:
    hm = map_headers(sheet.headers)
    for h in hm.unknown:
        report.issues.append(Issue(sheet.header_line, h, "warning", "unknown column ignored"))
    for h in hm.duplicates:
        report.issues.append(Issue(sheet.header_line, h, "warning", "duplicate column ignored"))
    if not any(c.key == "id" for c in hm.columns.values()):
        report.issues.append(Issue(sheet.header_line, None, "error",
                                   "no camera id column (expected 'รหัสกล้อง' or 'camera id'): nothing imported"))
        report.rows_total = len(sheet.rows)
        report.rows_rejected = len(sheet.rows)
        return []
    out: list[ParsedRow] = []
    first_line: dict[str, int] = {}
    total = len(sheet.rows)
    step = max(1000, total // 20)
    for i, (line, cells) in enumerate(sheet.rows, start=1):
        report.rows_total += 1
        row = parse_row(line, cells, hm.columns, sheet.headers, report)
        if row is not None:
            if row.record.id in first_line:
                report.issues.append(Issue(line, None, "error",
                                           f"camera id {row.record.id!r} already on line {first_line[row.record.id]}: "
                                           "row rejected"))
                report.rows_rejected += 1
            else:
                first_line[row.record.id] = line
                out.append(row)
                if row.had_errors:
                    report.rows_with_errors += 1
        if progress and (i % step == 0 or i == total):
            progress("parse", i, total)
    report.rows_imported = len(out)
    return out


async def import_file(
    path: str | os.PathLike[str],
    store: Any | None,
    *,
    fmt: SheetFormat | None = None,
    dry_run: bool = False,
    sheet_name: str | None = None,
    actor: str = "import",
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import a CSV/XLSX registry sheet into ``store`` (a camcheck.registry.store.Store).

    ``store`` may be None for a dry run against no database (every row counts as new).
    """
    report = ImportReport(dry_run=dry_run)
    sheet = read_sheet(path, detect_format(path, fmt), sheet_name=sheet_name)
    rows = parse_sheet(sheet, report, progress)
    records = [r.record for r in rows]
    if store is None:
        report.inserted = len(records)
    elif records:
        res = await store.upsert_cameras(
            records, fields=covered_fields(sheet), dry_run=dry_run,
            progress=(lambda done, total: progress("write", done, total)) if progress else None,
        )
        report.inserted, report.updated, report.unchanged = res.inserted, res.updated, res.unchanged
    if store is not None and not dry_run:
        # Issues never carry secrets (URL cells are never echoed), so they can be audited as-is.
        await store.audit(actor, "registry.import", os.path.basename(os.fspath(path)), {
            **report.as_dict(),
            "issues": [str(i) for i in report.issues[:1000]],
        })
    return report
