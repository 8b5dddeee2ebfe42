"""The sheet of parent devices, in and out: the NVRs, switches and sites cameras sit behind.

A camera sheet names each camera's parent by id only ("รหัสอุปกรณ์แม่"), so an incident said
"Parent NVR-3 suspected down" and nothing more. This sheet gives a parent its kind, its name
(where it is), its address, the district and province, and the device upstream of it (an NVR's
site uplink), which maintenance windows follow: a window on a site covers the cameras behind
every NVR under it.

The same rules as the camera sheet: every bad cell is reported by line and column and the rest
of the row is imported; a row without an id, or repeating one, is rejected; columns absent from
the sheet are left as they are; credentials in an address are removed and never printed.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

from camcheck.registry import normalize as n
from camcheck.registry.columns import Column, header_lookup, map_headers
from camcheck.registry.importer import Issue, ImportReport
from camcheck.registry.models import ParentKind
from camcheck.registry.sheets import SheetFormat, detect_format, read_sheet, write_sheet

_KIND_WORDS: dict[ParentKind, tuple[str, ...]] = {
    ParentKind.NVR: ("nvr", "dvr", "xvr", "recorder", "videorecorder", "เครื่องบันทึก", "เครื่องบันทึกภาพ",
                     "เครื่องบันทึกวิดีโอ", "เอ็นวีอาร์"),
    ParentKind.SWITCH: ("switch", "poeswitch", "networkswitch", "สวิตช์", "สวิทช์", "สวิตซ์", "สวิตช์เครือข่าย"),
    ParentKind.SITE: ("site", "cabinet", "pole", "uplink", "point", "จุดติดตั้ง", "ตู้", "ตู้ควบคุม", "ไซต์", "จุด",
                      "เสา"),
    ParentKind.OTHER: ("other", "อื่นๆ", "อื่น"),
}
_KIND_LOOKUP = {w: k for k, words in _KIND_WORDS.items() for w in words}


def parse_kind(text: str) -> n.Parsed:
    t = n.clean_text(text).lower().replace(" ", "")
    kind = _KIND_LOOKUP.get(t)
    if kind is None:
        raise ValueError("expected nvr, switch, site or other (เครื่องบันทึก, สวิตช์, จุดติดตั้ง, อื่นๆ)")
    return kind.value, None


PARENT_COLUMNS: tuple[Column, ...] = (
    Column("id", "parent id", "รหัสอุปกรณ์แม่", ("id", "parent", "device id", "nvr id", "รหัส", "รหัสอุปกรณ์")),
    Column("kind", "kind", "ประเภท", ("type", "device type", "ประเภทอุปกรณ์"), parse_kind),
    Column("name", "name", "ชื่อ", ("parent name", "device name", "location", "ชื่ออุปกรณ์", "ชื่ออุปกรณ์แม่",
                                   "สถานที่ตั้ง")),
    Column("host", "address", "ที่อยู่ไอพี", ("host", "ip", "ip address", "hostname", "ไอพี", "ที่อยู่ ip"),
           secret_bearing=True),
    Column("parent_of", "upstream parent id", "รหัสอุปกรณ์ต้นทาง",
           ("upstream", "upstream parent", "uplink id", "behind", "อุปกรณ์ต้นทาง", "อยู่หลัง")),
    Column("district", "district", "อำเภอ", ("amphoe", "เขต", "อำเภอ/เขต")),
    Column("province", "province", "จังหวัด", ("changwat",)),
    # --- written by export (what camcheck knows of it), ignored on import ---
    Column("cameras", "cameras behind", "จำนวนกล้องที่ต่อผ่าน", (), export_only=True),
    Column("status", "status", "สถานะ", (), export_only=True),
    Column("status_since", "status since", "สถานะตั้งแต่", (), export_only=True),
)
_LOOKUP = header_lookup(PARENT_COLUMNS)
SUSPECTED_DOWN = {"th": "น่าจะขัดข้อง", "en": "suspected down"}


async def export_parents(path: str | os.PathLike[str], store: Any, *, lang: str = "th",
                         fmt: SheetFormat | None = None) -> int:
    """Write the parents (kind, name, address, upstream device, place; cameras behind and whether
    suspected down) as a sheet `import --parents` reads back unchanged. Returns the rows written."""
    rows = []
    for r in await store.list_parents():
        status = SUSPECTED_DOWN[lang] if r["status"] == "suspected_down" else None
        values = {"id": r["id"], "kind": ParentKind(r["kind"]).label_th if lang == "th" else r["kind"],
                  "name": r["name"], "host": r["host"], "parent_of": r["parent_id"], "district": r["district"],
                  "province": r["province"], "cameras": r["cameras"], "status": status,
                  "status_since": r["status_since"].isoformat(timespec="seconds") if status and r["status_since"]
                  else None}
        rows.append([values[c.key] for c in PARENT_COLUMNS])
    headers = [c.th if lang == "th" else c.en for c in PARENT_COLUMNS]
    return write_sheet(path, detect_format(path, fmt), headers, rows, sheet_title="parents")


def parse_host(text: str) -> tuple[str, bool]:
    """"10.0.0.5", "nvr-3.local:8000", "http://admin:pw@10.0.0.5/" -> (host[:port], had credentials)."""
    t = n.clean_text(text)
    had = False
    if "://" in t:
        try:
            bare, user, password = n.split_credentials(t)
        except ValueError:
            raise ValueError("not a valid address") from None
        had = user is not None or password is not None
        t = bare.split("://", 1)[1].split("/", 1)[0]
    elif "@" in t:
        had, t = True, t.rsplit("@", 1)[1]
    m = re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?", t)
    if not m or (m.group(2) and not 0 < int(m.group(2)) < 65536) or not _address_ok(m.group(1)):
        raise ValueError("expected an IP address or host name, with an optional :port")
    return t, had


def _address_ok(host: str) -> bool:
    """An address written as numbers must be a real one (10.20.0.300 is a typing error, not a name)."""
    bare = host.strip("[]")
    if ":" in bare or re.fullmatch(r"[\d.]+", bare):
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            return False
    return True


def _row(line: int, cells: list[str], colmap: dict[int, Column], headers: list[str],
         report: ImportReport) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The row's fields (only the cells it has), and the header each came from."""
    fields: dict[str, Any] = {}
    header_of: dict[str, str] = {}
    for idx, col in colmap.items():
        if col.export_only:
            continue
        text = n.clean_text(cells[idx] if idx < len(cells) else "")
        if not text or (col.key != "id" and n.is_placeholder(text)):
            fields.setdefault(col.key, None)  # an empty cell in a column the sheet has: cleared
            header_of[col.key] = headers[idx]
            continue
        head = headers[idx]
        header_of[col.key] = head
        try:
            if col.key == "host":
                value, had = parse_host(text)
                if had:
                    report.credentials_found += 1
                    report.issues.append(Issue(line, head, "warning", "credentials found in the address were removed "
                                                                      "and not stored", None))
            elif col.parse is not None:
                value, note = col.parse(text)
                if note:
                    report.issues.append(Issue(line, head, "warning", note, text))
            else:
                value = text
            if isinstance(value, str) and len(value) > (128 if col.key in ("id", "parent_of") else 500):
                raise ValueError("too long")
            fields[col.key] = value
        except ValueError as exc:
            fields.pop(col.key, None)
            report.issues.append(Issue(line, head, "error", f"{exc}; field not set",
                                       None if col.secret_bearing else text))
    if not fields.get("id"):
        report.issues.append(Issue(line, header_of.get("id"), "error", "no parent id: row rejected", None))
        report.rows_rejected += 1
        return None
    return fields, header_of


def upstream_loops(up: dict[str, str | None], pid: str) -> bool:
    """Whether `pid`'s chain of upstream devices (`up`: id -> the device it is behind) comes back to it."""
    seen = {pid}
    cur = up.get(pid)
    while cur is not None:
        if cur in seen:
            return True
        seen.add(cur)
        cur = up.get(cur)
    return False


async def import_parents(path: str | os.PathLike[str], store: Any | None, *, fmt: SheetFormat | None = None,
                         dry_run: bool = False, sheet_name: str | None = None,
                         actor: str = "import") -> ImportReport:
    """Import a CSV/XLSX sheet of parent devices into ``store`` (None: a dry run against no database)."""
    report = ImportReport(dry_run=dry_run, noun="parent devices")
    sheet = read_sheet(path, detect_format(path, fmt), sheet_name=sheet_name)
    hm = map_headers(sheet.headers, _LOOKUP)
    for h in hm.unknown:
        report.issues.append(Issue(sheet.header_line, h, "warning", "unknown column ignored"))
    for h in hm.duplicates:
        report.issues.append(Issue(sheet.header_line, h, "warning", "duplicate column ignored"))
    report.rows_total = len(sheet.rows)
    if not any(c.key == "id" for c in hm.columns.values()):
        report.issues.append(Issue(sheet.header_line, None, "error", "no parent id column (expected "
                                   "'รหัสอุปกรณ์แม่' or 'parent id'): nothing imported"))
        report.rows_rejected = len(sheet.rows)
        return report
    rows: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    heads: dict[str, dict[str, str]] = {}
    for line, cells in sheet.rows:
        parsed = _row(line, cells, hm.columns, sheet.headers, report)
        if parsed is None:
            continue
        fields, header_of = parsed
        pid = fields.pop("id")
        if pid in rows:
            report.issues.append(Issue(line, None, "error", f"parent id {pid!r} already on line {lines[pid]}: "
                                                            "row rejected"))
            report.rows_rejected += 1
            continue
        rows[pid], lines[pid], heads[pid] = fields, line, header_of
    known = {} if store is None else {r["id"]: r["parent_id"] for r in await store.list_parents()}
    up = {**known, **{k: r["parent_of"] for k, r in rows.items() if "parent_of" in r}}  # this sheet over the registry
    for pid, fields in rows.items():
        if fields.get("parent_of") is not None and upstream_loops(up, pid):
            report.issues.append(Issue(lines[pid], heads[pid].get("parent_of"), "error",
                                       "the upstream device would be behind this one (a loop): field not set",
                                       fields.pop("parent_of")))
            up[pid] = known.get(pid)  # as the registry has it
    report.rows_imported = len(rows)
    with_errors = {i.line for i in report.errors}
    report.rows_with_errors = sum(1 for pid in rows if lines[pid] in with_errors)
    if store is None:
        report.inserted = len(rows)
        return report
    res = await store.upsert_parent_rows(rows, dry_run=dry_run)
    report.inserted, report.updated, report.unchanged = res.inserted, res.updated, res.unchanged
    for pid in res.created_upstream:
        report.issues.append(Issue(None, None, "warning", f"upstream device {pid!r} is not in the sheet or the "
                                                          "registry: added with kind 'other'"))
    if not dry_run:
        await store.audit(actor, "registry.import_parents", os.path.basename(os.fspath(path)), {
            **report.as_dict(), "issues": [str(i) for i in report.issues[:1000]]})
    return report
