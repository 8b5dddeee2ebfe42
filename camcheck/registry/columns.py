"""The registry sheet's columns: English and Thai headers, aliases, and how each cell is read.

Headers are matched leniently: case, spaces, underscores, dashes, dots and a trailing
"(...)" note do not matter, and each column has a few aliases seen in real sheets.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

from camcheck.registry import normalize as n


@dataclass(frozen=True)
class Column:
    key: str  # CameraRecord field, or a composite key handled by the importer
    en: str
    th: str
    aliases: tuple[str, ...] = ()
    parse: Callable[[str], n.Parsed] | None = None  # None: free text
    # For URL columns the importer never echoes the cell (it may hold a password).
    secret_bearing: bool = False
    export_only: bool = False  # written by export, ignored by import


COLUMNS: tuple[Column, ...] = (
    Column("id", "camera id", "รหัสกล้อง", ("id", "camera_id", "cam id", "camera code", "รหัส", "เลขที่กล้อง")),
    Column("name", "camera name", "ชื่อกล้อง", ("name",)),
    Column("owner_agency", "owner agency", "หน่วยงานเจ้าของกล้อง", ("agency", "owner", "หน่วยงาน", "หน่วยงานเจ้าของ", "เจ้าของกล้อง")),
    Column("point_id", "installation point id", "รหัสจุดติดตั้ง", ("point id", "site id", "location id")),
    Column("point_name", "installation point", "ชื่อจุดติดตั้ง",
           ("installation location", "location", "point", "point name", "จุดติดตั้ง", "ตำแหน่งในการติดตั้งกล้อง", "ตำแหน่งติดตั้ง", "สถานที่ติดตั้ง")),
    Column("lat", "latitude", "ละติจูด", ("lat", "พิกัดละติจูด", "ละติจูด (lat)"), n.parse_latitude),
    Column("lon", "longitude", "ลองจิจูด", ("lon", "lng", "long", "พิกัดลองจิจูด", "ลองติจูด"), n.parse_longitude),
    Column("coordinates", "coordinates", "พิกัด", ("gps", "lat lon", "latlon", "lat,lon", "พิกัด gps", "พิกัดกล้อง"), n.parse_coordinates),
    Column("district", "district", "อำเภอ", ("amphoe", "เขต", "อำเภอ/เขต")),
    Column("province", "province", "จังหวัด", ("changwat",)),
    Column("purposes", "purposes", "วัตถุประสงค์", ("purpose", "objective", "วัตถุประสงค์การติดตั้ง"), n.parse_purposes),
    Column("control_centre", "linked control centre", "ศูนย์ควบคุม",
           ("control centre", "control center", "linked control center", "linked agency", "operations centre",
            "ข้อมูลการเชื่อมโยงหน่วยงาน", "ศูนย์ปฏิบัติการ", "ศูนย์ควบคุมหรือศูนย์ปฏิบัติการ", "การเชื่อมโยงหน่วยงาน")),
    Column("network_type", "network type", "โครงข่าย", ("network", "รูปแบบเครือข่าย", "โครงข่ายที่เชื่อมโยง", "เครือข่าย")),
    Column("network_provider", "network provider", "ผู้ให้บริการ", ("provider", "isp", "ผู้ให้บริการเครือข่าย")),
    Column("connected", "connected", "เชื่อมต่อได้", ("linked", "is connected", "การเชื่อมต่อ", "สถานะการเชื่อมต่อ", "เชื่อมต่อ"), n.parse_bool),
    Column("brand", "camera brand", "ยี่ห้อกล้อง", ("brand", "camera make", "ยี่ห้อ")),
    Column("recorder_brand", "recorder brand", "ยี่ห้อเครื่องบันทึกภาพ", ("nvr brand", "dvr brand")),
    Column("recorder_model", "recorder model", "รุ่นเครื่องบันทึกภาพ", ("nvr model", "dvr model")),
    Column("recorded_resolution", "recorded resolution", "ความละเอียดของภาพที่บันทึก",
           ("resolution", "registered resolution", "ความละเอียด", "ความละเอียดภาพ"), n.parse_resolution),
    Column("max_resolution", "maximum recording resolution", "ความละเอียดของการบันทึกสูงสุด",
           ("max resolution", "maximum resolution", "ความละเอียดสูงสุด"), n.parse_resolution),
    Column("retention_days", "retention days", "จำนวนวันในการเก็บการบันทึก",
           ("retention", "days kept", "days of recording kept", "จำนวนวันที่เก็บ", "จำนวนวันเก็บบันทึก"), n.parse_retention_days),
    Column("frame_rate", "frame rate", "จำนวนภาพต่อวินาที",
           ("fps", "framerate", "recorded frame rate", "จำนวนภาพต่อวินาทีที่บันทึก", "อัตราเฟรม"), n.parse_frame_rate),
    Column("file_format", "recording file format", "รูปแบบไฟล์ที่บันทึก", ("file format", "format", "codec", "รูปแบบไฟล์")),
    Column("registry_status", "status", "สถานะ", ("registry status", "national status", "สถานะกล้อง", "สถานะการใช้งาน"), n.parse_national_status),
    Column("internet_viewable", "internet viewable", "ดูผ่านอินเทอร์เน็ตได้",
           ("viewable over the internet", "internet", "online viewable", "ดูผ่านอินเทอร์เน็ต", "ดูผ่านอินเตอร์เน็ตได้"), n.parse_bool),
    Column("year_installed", "year installed", "ปีที่ติดตั้ง", ("year", "installed", "installation year", "ปีติดตั้ง"), n.parse_year),
    Column("police_station", "police station", "สถานีตำรวจที่รับผิดชอบ", ("responsible police station", "สถานีตำรวจ", "สภ", "สน")),
    Column("contact_person", "contact person", "ผู้ติดต่อ", ("contact", "ผู้ประสานงาน", "ชื่อผู้ติดต่อ")),
    Column("contact_phone", "contact phone", "โทรศัพท์", ("phone", "telephone", "tel", "เบอร์โทร", "เบอร์โทรศัพท์", "หมายเลขโทรศัพท์"), n.parse_phone),
    Column("project_name", "project name", "ชื่อโครงการ", ("project", "โครงการ")),
    Column("main_stream_url", "main stream url", "ที่อยู่สตรีมหลัก",
           ("rtsp", "rtsp url", "stream url", "main stream", "url", "สตรีมหลัก"), secret_bearing=True),
    Column("sub_stream_url", "sub stream url", "ที่อยู่สตรีมรอง", ("sub stream", "substream", "rtsp sub", "สตรีมรอง"), secret_bearing=True),
    Column("onvif_endpoint", "onvif endpoint", "ที่อยู่ onvif", ("onvif", "onvif address", "onvif host"), secret_bearing=True),
    Column("credentials_ref", "credentials ref", "ชื่ออ้างอิงรหัสผ่าน", ("credentials", "credential ref", "credentials reference", "secret ref")),
    Column("parent_id", "parent id", "รหัสอุปกรณ์แม่", ("parent", "nvr", "nvr id", "อุปกรณ์แม่")),
    Column("tags", "tags", "แท็ก", ("tag", "labels", "ป้ายกำกับ"), n.parse_tags),
    Column("enabled", "enabled", "เปิดใช้งาน", ("active", "monitor", "ตรวจสอบ"), n.parse_bool),
    # --- written by export (camcheck's verified view), ignored on import ---
    Column("verified_status", "verified status", "สถานะที่ตรวจสอบแล้ว", ("camcheck status label",), export_only=True),
    Column("camcheck_state", "camcheck state", "สถานะ camcheck", (), export_only=True),
    Column("status_since", "status since", "สถานะตั้งแต่", (), export_only=True),
    Column("status_reason", "status reason", "สาเหตุของสถานะ", (), export_only=True),
    Column("findings", "findings", "ข้อสังเกต", (), export_only=True),
    Column("last_check_at", "last check", "ตรวจสอบล่าสุด", (), export_only=True),
    Column("last_success_at", "last success", "ใช้งานได้ล่าสุด", (), export_only=True),
    Column("measured_resolution", "measured resolution", "ความละเอียดที่วัดได้", (), export_only=True),
    Column("measured_fps", "measured frame rate", "จำนวนภาพต่อวินาทีที่วัดได้", (), export_only=True),
    Column("measured_codec", "measured codec", "ตัวเข้ารหัสที่วัดได้", (), export_only=True),
    Column("measured_bitrate_bps", "measured bitrate (bps)", "บิตเรตที่วัดได้", (), export_only=True),
    Column("measured_gop", "measured GOP (s)", "ระยะคีย์เฟรมที่วัดได้ (วินาที)", (), export_only=True),
    Column("measured_retention_days", "measured retention days", "จำนวนวันที่บันทึกจริง", (), export_only=True),
    Column("recording_active", "recording active", "กำลังบันทึก", (), export_only=True),
    Column("clock_offset_s", "clock offset (s)", "เวลาคลาดเคลื่อน (วินาที)", (), export_only=True),
)

BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}

# Sheets repeat the same agency, brand, status and purposes thousands of times: the parsers are
# pure functions of the cell text, so their results are cached (values are immutable or copied
# by the model).
_cached = functools.lru_cache(maxsize=8192)
COLUMNS = tuple(
    Column(c.key, c.en, c.th, c.aliases, _cached(c.parse) if c.parse else None, c.secret_bearing, c.export_only)
    for c in COLUMNS
)
BY_KEY = {c.key: c for c in COLUMNS}


def header_key(text: str) -> str:
    """Normalise a header for matching: NFC, lower case, no spaces or punctuation."""
    t = unicodedata.normalize("NFC", str(text)).lower()
    t = t.replace("\ufeff", "").replace("\u200b", "")
    return re.sub(r"[\s_\-./:,()\[\]*#]+", "", t)


def _without_note(text: str) -> str:
    # "จำนวนภาพต่อวินาทีที่บันทึก (Frame Rate)" -> "จำนวนภาพต่อวินาทีที่บันทึก"
    return re.sub(r"\s*[(\[][^)\]]*[)\]]\s*$", "", text.strip())


def header_lookup(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Every accepted spelling of each column's header (key, English, Thai, aliases), normalised."""
    out: dict[str, Column] = {}
    for col in columns:
        for name in (col.key, col.en, col.th, *col.aliases):
            out.setdefault(header_key(name), col)
    return out


_LOOKUP = header_lookup(COLUMNS)


def match_header(text: str, lookup: dict[str, Column] | None = None) -> Column | None:
    if not text or not str(text).strip():
        return None
    for candidate in (str(text), _without_note(str(text))):
        col = (_LOOKUP if lookup is None else lookup).get(header_key(candidate))
        if col is not None:
            return col
    return None


@dataclass
class HeaderMap:
    columns: dict[int, Column] = field(default_factory=dict)  # sheet column index -> Column
    unknown: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def map_headers(headers: list[str], lookup: dict[str, Column] | None = None) -> HeaderMap:
    """The sheet's columns by index (the camera sheet's, or those of `lookup`: header_lookup())."""
    out = HeaderMap()
    seen: dict[str, str] = {}
    for i, h in enumerate(headers):
        col = match_header(h, lookup)
        if col is None:
            if str(h).strip():
                out.unknown.append(str(h).strip())
            continue
        if col.key in seen:
            out.duplicates.append(f"{h!s} (same as {seen[col.key]!s})")
            continue
        seen[col.key] = str(h)
        out.columns[i] = col
    return out
