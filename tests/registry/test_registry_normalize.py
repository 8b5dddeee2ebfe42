"""Cell normalisation: the mess real provincial sheets carry."""

from __future__ import annotations

import pytest

from camcheck.registry import normalize as n
from camcheck.registry.columns import map_headers, match_header
from camcheck.registry.models import NationalStatus, Purpose
from camcheck.registry.thai_numbers import parse_thai_number_words, thai_digits_to_arabic


@pytest.mark.parametrize(
    "words,value",
    [("ศูนย์", 0), ("หนึ่ง", 1), ("เจ็ด", 7), ("สิบ", 10), ("สิบเอ็ด", 11), ("สิบสี่", 14), ("ยี่สิบ", 20),
     ("ยี่สิบเอ็ด", 21), ("สามสิบ", 30), ("เก้าสิบเก้า", 99), ("ร้อย", 100), ("หนึ่งร้อย", 100), ("ร้อยเอ็ด", 101),
     ("หนึ่งร้อยยี่สิบ", 120), ("สามร้อยหกสิบห้า", 365), ("สองพันห้าร้อยหกสิบสี่", 2564), ("หนึ่งล้าน", 1_000_000),
     ("สาม สิบ", 30)],
)
def test_thai_number_words(words: str, value: int) -> None:
    assert parse_thai_number_words(words) == value


@pytest.mark.parametrize("bad", ["", "เอ็ด", "ยี่", "สองสิบ", "หนึ่งสิบ", "สิบร้อย", "สามสาม", "thirty", "30", "สามสิบx"])
def test_thai_number_words_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_thai_number_words(bad)


def test_thai_digits() -> None:
    assert thai_digits_to_arabic("๒๕๖๔ หมู่ ๗") == "2564 หมู่ 7"


@pytest.mark.parametrize("cell,year", [("2564", 2021), ("๒๕๖๔", 2021), ("2021", 2021), ("พ.ศ. 2559", 2016),
                                       ("ค.ศ. 2019", 2019), ("2021-03-01", 2021), ("01/03/2564", 2021), ("2566.0", 2023)])
def test_years(cell: str, year: int) -> None:
    assert n.parse_year(cell) == (year, None)


@pytest.mark.parametrize("cell", ["64", "1066", "abcd", "3000", "2564x"])
def test_bad_years(cell: str) -> None:
    with pytest.raises(ValueError):
        n.parse_year(cell)


@pytest.mark.parametrize(
    "cell,size",
    [("1920x1080", (1920, 1080)), ("1920 x 1080", (1920, 1080)), ("1920X1080", (1920, 1080)), ("1920×1080", (1920, 1080)),
     ("1080p", (1920, 1080)), ("720p", (1280, 720)), ("2MP", (1920, 1080)), ("2 MP", (1920, 1080)),
     ("4MP", (2560, 1440)), ("5MP", (2592, 1944)), ("8MP/4K", (3840, 2160)), ("4K", (3840, 2160)),
     ("๑๒๘๐x๗๒๐", (1280, 720)), ("D1", (704, 576))],
)
def test_resolutions(cell: str, size: tuple[int, int]) -> None:
    assert n.parse_resolution(cell) == (size, None)


@pytest.mark.parametrize("cell", ["HD ready", "1920", "2MP/4K", "big", "0x0"])
def test_bad_resolutions(cell: str) -> None:
    with pytest.raises(ValueError):
        n.parse_resolution(cell)


@pytest.mark.parametrize("cell,days,warns", [("30", 30, False), ("30 วัน", 30, False), ("30 days", 30, False),
                                             ("7d", 7, False), ("๑๕ วัน", 15, False), ("สามสิบ", 30, True),
                                             ("เจ็ดวัน", 7, True), ("สิบสี่ วัน", 14, True), ("2 weeks", 14, False),
                                             ("1 เดือน", 30, False)])
def test_retention(cell: str, days: int, warns: bool) -> None:
    value, note = n.parse_retention_days(cell)
    assert value == days
    assert (note is not None) == warns


@pytest.mark.parametrize("cell", ["a month or so", "-3", "30.5", "ตลอดไป"])
def test_bad_retention(cell: str) -> None:
    with pytest.raises(ValueError):
        n.parse_retention_days(cell)


@pytest.mark.parametrize("cell,fps", [("25", 25.0), ("25 fps", 25.0), ("12.5", 12.5), ("30FPS", 30.0),
                                      ("15 ภาพ/วินาที", 15.0), ("ยี่สิบห้า", 25.0)])
def test_frame_rates(cell: str, fps: float) -> None:
    assert n.parse_frame_rate(cell)[0] == fps


def test_bad_frame_rate() -> None:
    for cell in ("0", "fast", "2000"):
        with pytest.raises(ValueError):
            n.parse_frame_rate(cell)


D, I, T = Purpose.DETERRENCE_SURVEILLANCE, Purpose.INVESTIGATION, Purpose.TRAFFIC


@pytest.mark.parametrize(
    "cell,purposes",
    [("ป้องปรามและเฝ้าระวัง, การจราจร", [D, T]), ("สืบสวน สอบสวน ติดตามผู้กระทำความผิด", [I]),
     ("ป้องปรามและเฝ้าระวัง,สืบสวน สอบสวน ติดตามผู้กระทำความผิด", [D, I]), ("การจราจร", [T]),
     ("traffic; investigation", [I, T]), ("ป้องปรามและเฝ้าระวังและการจราจร", [D, T]),
     ("deterrence and surveillance / traffic", [D, T]), ("ป้องปราม/สืบสวน/จราจร", [D, I, T])],
)
def test_purposes(cell: str, purposes: list[Purpose]) -> None:
    assert n.parse_purposes(cell) == (purposes, None)


def test_purposes_unknown_part_warns_unknown_only_fails() -> None:
    value, note = n.parse_purposes("การจราจร, ท่องเที่ยว")
    assert value == [T] and note and "ท่องเที่ยว" in note
    with pytest.raises(ValueError):
        n.parse_purposes("ท่องเที่ยว")


@pytest.mark.parametrize("cell,value", [("ใช่", True), ("ไม่ใช่", False), ("ได้", True), ("ไม่ได้", False), ("มี", True),
                                        ("ไม่มี", False), ("ไม่", False), ("Yes", True), ("no", False), ("Y", True)])
def test_booleans(cell: str, value: bool) -> None:
    assert n.parse_bool(cell) == (value, None)


def test_bad_boolean() -> None:
    with pytest.raises(ValueError):
        n.parse_bool("maybe")


@pytest.mark.parametrize("cell,status", [("ใช้ได้ปกติ", NationalStatus.WORKING_NORMALLY), ("ใช้งานไม่ได้", NationalStatus.NOT_WORKING),
                                         ("ชำรุด", NationalStatus.BROKEN), ("อยู่ระหว่างการซ่อมแซม", NationalStatus.UNDER_REPAIR),
                                         ("working normally", NationalStatus.WORKING_NORMALLY), ("Not working", NationalStatus.NOT_WORKING),
                                         ("under repair", NationalStatus.UNDER_REPAIR), ("broken", NationalStatus.BROKEN)])
def test_national_status(cell: str, status: NationalStatus) -> None:
    assert n.parse_national_status(cell)[0] is status


def test_stream_url_credentials_are_stripped() -> None:
    assert n.parse_stream_url("rtsp://admin:S3cr%40t@10.0.0.1:554/Streaming/Channels/101") == (
        "rtsp://10.0.0.1:554/Streaming/Channels/101", True)
    assert n.parse_stream_url("rtsp://10.0.1.5:554/cam/realmonitor?channel=1&subtype=0") == (
        "rtsp://10.0.1.5:554/cam/realmonitor?channel=1&subtype=0", False)


@pytest.mark.parametrize("cell", ["rtsp://admin:ab/cd@10.0.0.1/x", "rtsp://admin:ab#cd@10.0.0.1/x", "ftp://10.0.0.1/x",
                                  "admin:pw@10.0.0.1/x"])
def test_stream_url_errors_never_echo_the_cell(cell: str) -> None:
    with pytest.raises(ValueError) as info:
        n.parse_stream_url(cell)
    assert "ab" not in str(info.value) and "pw" not in str(info.value) and "10.0.0.1" not in str(info.value)


@pytest.mark.parametrize("cell,endpoint,creds", [("10.0.0.11:80", "10.0.0.11:80", False), ("10.0.1.5", "10.0.1.5:80", False),
                                                 ("http://admin:pw@10.0.0.3:8080/onvif/device_service", "10.0.0.3:8080", True),
                                                 ("cam-7.local:8000", "cam-7.local:8000", False)])
def test_onvif_endpoint(cell: str, endpoint: str, creds: bool) -> None:
    assert n.parse_onvif_endpoint(cell) == (endpoint, creds)


def test_coordinates() -> None:
    assert n.parse_latitude("14.5896") == (14.5896, None)
    assert n.parse_longitude("๑๐๐.๔๕๕๑") == (100.4551, None)
    assert n.parse_coordinates("14.5896, 100.4551") == ((14.5896, 100.4551), None)
    for bad in ("14.55x1", "95", "14,55"):
        with pytest.raises(ValueError):
            n.parse_latitude(bad)


@pytest.mark.parametrize("header,key", [("รหัสกล้อง", "id"), ("Camera ID", "id"), (" camera_id ", "id"), ("CAMERA-ID", "id"),
                                        ("ยี่ห้อกล้อง", "brand"), ("จำนวนภาพต่อวินาทีที่บันทึก (Frame Rate)", "frame_rate"),
                                        ("Frame rate", "frame_rate"), ("ละติจูด", "lat"), ("Latitude", "lat"), ("RTSP", "main_stream_url"),
                                        ("ONVIF", "onvif_endpoint"), ("ตำแหน่งในการติดตั้งกล้อง", "point_name"),
                                        ("ข้อมูลการเชื่อมโยงหน่วยงาน", "control_centre"), ("Maximum Recording Resolution", "max_resolution"),
                                        ("สถานะ", "registry_status")])
def test_header_matching(header: str, key: str) -> None:
    col = match_header(header)
    assert col is not None and col.key == key


def test_unknown_and_duplicate_headers() -> None:
    hm = map_headers(["รหัสกล้อง", "camera id", "หมายเหตุ"])
    assert [c.key for c in hm.columns.values()] == ["id"]
    assert hm.unknown == ["หมายเหตุ"] and len(hm.duplicates) == 1
