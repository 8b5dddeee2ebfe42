"""Turning the cells real provincial sheets carry into clean values.

Every parser takes the cell text (already stripped, never empty) and returns ``(value, note)``:
``note`` is a warning worth showing the operator (e.g. "read from Thai words") or None. A value
that cannot be understood raises ``ValueError`` with a message that never repeats a secret.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime

from camcheck.registry.models import NationalStatus, Purpose
from camcheck.registry.thai_numbers import parse_thai_number_words, thai_digits_to_arabic
from camcheck.secrets import split_credentials

Parsed = tuple[object, str | None]

# Cells that mean "nothing recorded" rather than a value.
PLACEHOLDERS = frozenset(
    {"-", "--", "—", "–", "n/a", "na", "none", "null", "unknown", "ไม่ทราบ", "ไม่ระบุ", "ไม่มีข้อมูล", "?", "."}
)

BE_OFFSET = 543  # Buddhist era year - 543 = common era year


_INVISIBLE = str.maketrans({"\u200b": None, "\ufeff": None, "\u00a0": " "})


def clean_text(value: str) -> str:
    """NFC, no zero-width characters or non-breaking spaces, single spaces, stripped."""
    if not value.isascii():
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        value = value.translate(_INVISIBLE)
    return " ".join(value.split())


def is_placeholder(value: str) -> bool:
    return len(value) <= 12 and value.strip().lower() in PLACEHOLDERS


def _ascii_number_text(value: str) -> str:
    return thai_digits_to_arabic(value).replace(",", "").strip()


def _words_then_digits(text: str, *, strip: re.Pattern[str]) -> tuple[float, str | None]:
    t = _ascii_number_text(text)
    t = strip.sub("", t).strip()
    try:
        f = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(f):
            raise ValueError("not a finite number")
        return f, None
    n = parse_thai_number_words(t)  # raises ValueError
    return float(n), f"read {text!r} as the number {n} (Thai words)"


# --- numbers -------------------------------------------------------------------------------------

_COORD_RE = re.compile(r"^[-+]?\d{1,3}(\.\d+)?$")


def parse_latitude(text: str) -> Parsed:
    return _coordinate(text, 90.0, "latitude")


def parse_longitude(text: str) -> Parsed:
    return _coordinate(text, 180.0, "longitude")


def _coordinate(text: str, limit: float, what: str) -> Parsed:
    t = _ascii_number_text(text).replace("°", "").strip()
    if not _COORD_RE.match(t):
        raise ValueError(f"not a decimal {what}")
    v = float(t)
    if abs(v) > limit:
        raise ValueError(f"{what} must be between -{limit:g} and {limit:g}")
    return v, None


def parse_coordinates(text: str) -> Parsed:
    """One cell holding "lat, lon" (as copied from a map)."""
    parts = [p for p in re.split(r"[,;\s]+", _ascii_number_text(text.replace(",", " , "))) if p and p != ","]
    if len(parts) != 2:
        raise ValueError("expected 'latitude, longitude'")
    lat, _ = parse_latitude(parts[0])
    lon, _ = parse_longitude(parts[1])
    return (lat, lon), None


_RETENTION_UNITS = [
    (re.compile(r"(วัน|days?|d)$", re.I), 1),
    (re.compile(r"(สัปดาห์|อาทิตย์|weeks?|w)$", re.I), 7),
    (re.compile(r"(เดือน|months?)$", re.I), 30),
]


def parse_retention_days(text: str) -> Parsed:
    """"30", "30 วัน", "30 days", "สามสิบ", "สามสิบวัน", "2 weeks", "1 เดือน" -> whole days."""
    t = clean_text(text)
    factor = 1
    for pattern, f in _RETENTION_UNITS:
        m = pattern.search(t)
        if m:
            t = t[: m.start()].strip()
            factor = f
            break
    value, note = _words_then_digits(t, strip=re.compile(r"$^"))
    days = value * factor
    if days < 0 or days > 3650 or days != int(days):
        raise ValueError("retention must be a whole number of days between 0 and 3650")
    return int(days), note


_FPS_STRIP = re.compile(r"(fps|frames?/s(ec)?|f/s|ภาพ\s*/\s*วินาที|ภาพต่อวินาที|เฟรม(ต่อวินาที)?)$", re.I)


def parse_frame_rate(text: str) -> Parsed:
    """"25", "25 fps", "12.5", "30 ภาพ/วินาที", "ยี่สิบห้า" -> frames per second."""
    value, note = _words_then_digits(clean_text(text), strip=_FPS_STRIP)
    if not 0 < value <= 1000:
        raise ValueError("frame rate must be between 0 and 1000 fps")
    return value, note


def parse_int(text: str) -> Parsed:
    value, note = _words_then_digits(clean_text(text), strip=re.compile(r"$^"))
    if value != int(value):
        raise ValueError("expected a whole number")
    return int(value), note


_BE_MARK = re.compile(r"พ\.?\s*ศ\.?|\bB\.?\s*E\.?", re.I)
_CE_MARK = re.compile(r"ค\.?\s*ศ\.?|\bC\.?\s*E\.?|\bA\.?\s*D\.?", re.I)
_DATE_WITH_YEAR = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-](\d{4})|(\d{4})-\d{1,2}-\d{1,2}(?:[T ][\d:.]+)?")


def parse_year(text: str) -> Parsed:
    """Year installed: CE or Buddhist era (2564 -> 2021), Thai digits, or a date holding a year."""
    t = _ascii_number_text(text)
    be, ce = bool(_BE_MARK.search(t)), bool(_CE_MARK.search(t))
    t = _CE_MARK.sub("", _BE_MARK.sub("", t)).strip()
    if re.fullmatch(r"\d{4}(\.0+)?", t):
        year = int(t[:4])
    else:
        m = _DATE_WITH_YEAR.fullmatch(t)
        if m is None:
            raise ValueError("expected a year such as 2564 (B.E.) or 2021 (C.E.)")
        year = int(m.group(1) or m.group(2))
    # No CCTV was installed before 1857 CE, so 24xx-26xx can only be Buddhist-era years.
    if be or (year >= 2400 and not ce):
        year -= BE_OFFSET
    if not 1950 <= year <= date.today().year + 1:
        raise ValueError("not a plausible installation year")
    return year, None


# --- resolutions ----------------------------------------------------------------------------------

# Nominal sizes as vendors and survey forms write them. "4MP" is not one exact size in the field
# (2560x1440 and 2688x1520 both exist); the common 16:9 size is stored and comparisons downstream
# should allow for it.
_NAMED_RESOLUTIONS: dict[str, tuple[int, int]] = {
    "cif": (352, 288),
    "d1": (704, 576),
    "960h": (960, 576),
    "vga": (640, 480),
    "480p": (640, 480),
    "576p": (720, 576),
    "720p": (1280, 720),
    "hd": (1280, 720),
    "960p": (1280, 960),
    "1080p": (1920, 1080),
    "1080i": (1920, 1080),
    "fhd": (1920, 1080),
    "fullhd": (1920, 1080),
    "1440p": (2560, 1440),
    "qhd": (2560, 1440),
    "2k": (2560, 1440),
    "2160p": (3840, 2160),
    "4k": (3840, 2160),
    "uhd": (3840, 2160),
    "1mp": (1280, 720),
    "1.3mp": (1280, 960),
    "2mp": (1920, 1080),
    "3mp": (2048, 1536),
    "4mp": (2560, 1440),
    "5mp": (2592, 1944),
    "6mp": (3072, 2048),
    "8mp": (3840, 2160),
    "12mp": (4000, 3000),
}

_WXH = re.compile(r"^(\d{2,5})\s*[x×*X]\s*(\d{2,5})(\s*(px|pixels?|พิกเซล))?$")


def parse_resolution(text: str) -> Parsed:
    """"1920x1080", "1920 x 1080", "1080p", "2MP", "4 MP", "8MP/4K", "4K" -> (width, height)."""
    t = _ascii_number_text(clean_text(text))
    m = _WXH.match(t)
    if m:
        w, h = int(m.group(1)), int(m.group(2))
        if not (16 <= w <= 20000 and 16 <= h <= 20000):
            raise ValueError("resolution out of range")
        return (w, h), None
    key = t.lower().replace(" ", "").replace("megapixels", "mp").replace("megapixel", "mp").replace("ล้านพิกเซล", "mp")
    # "8MP/4K", "4K (8MP)": every alternative must name the same size.
    alternatives = [a for a in re.split(r"[/|()\[\],]+", key) if a]
    sizes = {_NAMED_RESOLUTIONS.get(a) for a in alternatives}
    if alternatives and None not in sizes and len(sizes) == 1:
        return sizes.pop(), None
    raise ValueError("unrecognised resolution (use e.g. 1920x1080, 1080p or 2MP)")


# --- words ----------------------------------------------------------------------------------------

_TRUE = {"yes", "y", "true", "t", "1", "ok", "✓", "✔", "ใช่", "ได้", "มี", "ดูได้", "เชื่อมต่อได้", "เชื่อมต่อแล้ว", "เชื่อมโยงแล้ว", "เปิด", "on", "enabled"}
_FALSE = {"no", "n", "false", "f", "0", "✗", "✘", "x", "ไม่", "ไม่ใช่", "ไม่ได้", "ไม่มี", "ดูไม่ได้", "เชื่อมต่อไม่ได้", "ไม่เชื่อมต่อ", "ยังไม่เชื่อมต่อ", "ปิด", "off", "disabled"}


def parse_bool(text: str) -> Parsed:
    t = clean_text(text).lower().replace(" ", "")
    if t in _TRUE:
        return True, None
    if t in _FALSE:
        return False, None
    raise ValueError("expected yes/no (ใช่/ไม่ใช่, ได้/ไม่ได้, มี/ไม่มี)")


_STATUS_WORDS: list[tuple[NationalStatus, tuple[str, ...]]] = [
    # order matters: "ใช้งานไม่ได้" contains "ใช้งาน", "under repair" before "broken"
    (NationalStatus.UNDER_REPAIR, ("อยู่ระหว่างการซ่อมแซม", "ระหว่างซ่อม", "ซ่อมแซม", "กำลังซ่อม", "ซ่อม", "underrepair", "repair", "maintenance")),
    (NationalStatus.NOT_WORKING, ("ใช้งานไม่ได้", "ใช้ไม่ได้", "notworking", "notwork", "down", "offline")),
    (NationalStatus.BROKEN, ("ชำรุด", "เสีย", "broken", "damaged", "faulty")),
    (NationalStatus.WORKING_NORMALLY, ("ใช้ได้ปกติ", "ใช้งานได้ปกติ", "ใช้งานได้", "ใช้ได้", "ปกติ", "workingnormally", "working", "normal", "ok", "online")),
]


def parse_national_status(text: str) -> Parsed:
    t = clean_text(text).lower().replace(" ", "").replace("_", "")
    for status in NationalStatus:
        if t == status.value.replace("_", ""):
            return status, None
    for status, words in _STATUS_WORDS:
        if t in words:
            return status, None
    for status, words in _STATUS_WORDS:
        if any(w in t for w in words if len(w) > 3):
            return status, f"read status {text!r} as {status.label_en!r}"
    raise ValueError("unrecognised status (use ใช้ได้ปกติ, ใช้งานไม่ได้, ชำรุด or อยู่ระหว่างการซ่อมแซม)")


_PURPOSE_KEYWORDS: dict[Purpose, tuple[str, ...]] = {
    Purpose.DETERRENCE_SURVEILLANCE: ("ป้องปราม", "เฝ้าระวัง", "deter", "surveil", "prevent", "security", "monitor", "deterrence_surveillance"),
    Purpose.INVESTIGATION: ("สืบสวน", "สอบสวน", "ติดตาม", "ผู้กระทำความผิด", "investigat", "forensic", "track", "offender", "evidence"),
    Purpose.TRAFFIC: ("จราจร", "traffic", "ถนน", "road"),
}
_PURPOSE_SPLIT = re.compile(r"[,;/|+\n、，]+|\s+(?:and|&)\s+")


def parse_purposes(text: str) -> Parsed:
    """One or more purposes in one cell, separated by , ; / | + or written one after another."""
    found: list[Purpose] = []
    unknown: list[str] = []
    for part in _PURPOSE_SPLIT.split(clean_text(text)):
        part = part.strip(" .-")
        if not part:
            continue
        low = part.lower()
        hits = [p for p, words in _PURPOSE_KEYWORDS.items() if any(w in low for w in words)]
        if hits:
            found.extend(h for h in hits if h not in found)
        else:
            unknown.append(part)
    if not found:
        raise ValueError("unrecognised purpose (ป้องปรามและเฝ้าระวัง / สืบสวน สอบสวน ติดตามผู้กระทำความผิด / การจราจร)")
    note = f"ignored unrecognised purpose(s): {', '.join(unknown)}" if unknown else None
    return sorted(found, key=list(Purpose).index), note


def parse_tags(text: str) -> Parsed:
    tags = [t.strip() for t in re.split(r"[,;|\n]+", clean_text(text)) if t.strip()]
    return tags, None


def parse_phone(text: str) -> Parsed:
    t = thai_digits_to_arabic(clean_text(text))
    if not re.fullmatch(r"[+\d][\d\s\-().,/#ext]*", t, re.I):
        raise ValueError("not a phone number")
    return t, None


# --- URLs and endpoints ---------------------------------------------------------------------------

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https", "rtmp")


def parse_stream_url(text: str) -> tuple[str, bool]:
    """Return (URL without userinfo, credentials_were_present). Never echoes the URL in errors:
    a malformed one may still hold a password."""
    t = clean_text(text)
    try:
        bare, user, password = split_credentials(t)
    except ValueError:
        raise ValueError("not a valid URL") from None
    scheme = bare.split("://", 1)[0].lower() if "://" in bare else ""
    if scheme not in STREAM_SCHEMES:
        raise ValueError("stream URL must start with rtsp:// (or rtsps/http/https/rtmp)")
    if "@" in bare:
        # e.g. a password holding '/', '#' or '?' that was not percent-encoded: the parser cannot
        # tell where the password ends, so nothing of this cell is stored.
        raise ValueError(
            "URL seems to hold credentials that cannot be separated safely "
            "(percent-encode / # ? @ in passwords); cell not stored"
        )
    return bare, (user is not None or password is not None)


def parse_onvif_endpoint(text: str) -> tuple[str, bool]:
    """"10.0.0.11:80", "10.0.0.11" (port 80), "http://user:pw@10.0.0.11:8080/onvif/device_service" -> host:port."""
    t = clean_text(text)
    had_credentials = False
    if "://" in t:
        try:
            bare, user, password = split_credentials(t)
        except ValueError:
            raise ValueError("not a valid ONVIF address") from None
        had_credentials = user is not None or password is not None
        scheme, rest = bare.split("://", 1)
        hostport = rest.split("/", 1)[0]
        default_port = 443 if scheme.lower() == "https" else 80
    else:
        hostport = t
        default_port = 80
    m = re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?", hostport)
    if not m:
        raise ValueError("ONVIF endpoint must be host[:port] or an http:// device URL")
    port = int(m.group(2) or default_port)
    if not 0 < port < 65536:
        raise ValueError("ONVIF port out of range")
    return f"{m.group(1)}:{port}", had_credentials


def cell_to_text(value: object) -> str:
    """Spreadsheet cell -> text (xlsx gives ints, floats and datetimes)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
