"""`camcheck import` / `camcheck export` against real databases, with the provinces' messy sheets."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from camcheck.cli import main
from camcheck.registry.exporter import export_file
from camcheck.registry.importer import import_file
from camcheck.registry.models import CameraRecord, NationalStatus, Purpose
from camcheck.registry.store import Store, open_store

D, I, T = Purpose.DETERRENCE_SURVEILLANCE, Purpose.INVESTIGATION, Purpose.TRAFFIC
PASSWORD = "Pa55-w0rd!x"  # must never leave the sheet
ONVIF_PASSWORD = "0nvifS3cret"


def _rec(c: Any) -> dict[str, Any]:
    return c.model_dump(include=set(CameraRecord.model_fields))


async def test_sample_sheet_normalised(store: Store, sample_csv: Path) -> None:
    report = await import_file(sample_csv, store)
    assert (report.rows_total, report.rows_imported, report.rows_rejected, report.rows_with_errors) == (8, 8, 0, 1)
    assert (report.inserted, report.updated, report.unchanged) == (8, 0, 0)

    # EX-0008 (line 9): the broken latitude is an error, the Thai-word retention a warning; the row imports.
    assert [(i.line, i.column, i.severity, i.value) for i in report.issues] == [
        (9, "ละติจูด", "error", "14.55x1"),
        (9, "จำนวนวันในการเก็บการบันทึก", "warning", "สามสิบ"),
    ]
    assert not report.ok
    c8 = await store.get_camera("EX-0008")
    assert c8 is not None and c8.lat is None and c8.lon == 100.5023 and c8.retention_days == 30
    assert c8.purposes == [T] and c8.year_installed == 2022 and c8.internet_viewable is False

    c1 = await store.get_camera("EX-0001")
    assert c1 is not None
    assert (c1.name, c1.point_name, c1.owner_agency) == ("สี่แยกหน้าตลาดสด (ฝั่งเหนือ)",) * 2 + ("เทศบาลเมืองตัวอย่าง",)
    assert (c1.lat, c1.lon, c1.district, c1.province) == (14.5896, 100.4551, "เมือง", "ตัวอย่าง")
    assert c1.purposes == [D, T] and c1.year_installed == 2021  # ๒๕๖๔
    assert (c1.recorded_width, c1.recorded_height, c1.max_width, c1.max_height) == (1920, 1080, 1920, 1080)  # 2MP
    assert (c1.retention_days, c1.frame_rate, c1.file_format) == (30, 25.0, "H.264")
    assert c1.registry_status is NationalStatus.WORKING_NORMALLY and c1.internet_viewable is True
    assert (c1.main_stream_url, c1.onvif_endpoint) == ("rtsp://10.0.0.11/Streaming/Channels/101", "10.0.0.11:80")
    assert (c1.control_centre, c1.network_type, c1.network_provider, c1.brand) == (
        "ศูนย์ควบคุมเทศบาล", "ไฟเบอร์ออปติก", "ผู้ให้บริการ ก", "Hikvision")
    assert (c1.police_station, c1.contact_person, c1.contact_phone) == ("สภ.เมืองตัวอย่าง", "งานป้องกันฯ", "0-0000-0001")

    c2 = await store.get_camera("EX-0002")  # 1080p, "30 วัน", "25 fps", 2564
    assert c2 is not None and (c2.recorded_width, c2.recorded_height, c2.retention_days, c2.frame_rate, c2.year_installed) == (
        1920, 1080, 30, 25.0, 2021)
    c3 = await store.get_camera("EX-0003")  # 4MP, 2562, not working, ONVIF without port
    assert c3 is not None
    assert (c3.recorded_width, c3.recorded_height, c3.year_installed, c3.purposes) == (2560, 1440, 2019, [I])
    assert c3.registry_status is NationalStatus.NOT_WORKING and c3.onvif_endpoint == "10.0.1.5:80"
    assert c3.main_stream_url == "rtsp://10.0.1.5:554/cam/realmonitor?channel=1&subtype=0"
    c4 = await store.get_camera("EX-0004")  # 12.5 fps, broken
    assert c4 is not None and (c4.frame_rate, c4.retention_days, c4.registry_status) == (12.5, 7, NationalStatus.BROKEN)
    assert (c4.recorded_width, c4.max_width, c4.year_installed) == (1280, 1920, 2016)
    c5 = await store.get_camera("EX-0005")  # empty optional cells, brand "ไม่ทราบ", ๒๕๖๑, under repair
    assert c5 is not None
    assert (c5.control_centre, c5.brand, c5.max_width, c5.file_format, c5.main_stream_url, c5.onvif_endpoint) == (None,) * 6
    assert (c5.recorded_width, c5.recorded_height, c5.year_installed, c5.purposes) == (1280, 720, 2018, [D, I])
    assert c5.registry_status is NationalStatus.UNDER_REPAIR
    c7 = await store.get_camera("EX-0007")  # "1920 x 1080"
    assert c7 is not None and (c7.recorded_width, c7.recorded_height, c7.file_format, c7.year_installed) == (1920, 1080, "H.265+", 2020)


async def test_reimport_is_idempotent(store: Store, sample_csv: Path, tmp_path: Path) -> None:
    await import_file(sample_csv, store)
    before = {c.id: c.updated_at for c in await store.list_cameras(limit=None)}
    again = await import_file(sample_csv, store)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 8)
    assert await store.count_cameras() == 8
    assert {c.id: c.updated_at for c in await store.list_cameras(limit=None)} == before
    changed = tmp_path / "changed.csv"
    changed.write_text(sample_csv.read_text(encoding="utf-8").replace("Axis,1280x720", "Axis,1920x1080"), encoding="utf-8")
    third = await import_file(changed, store)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 7)
    after = {c.id: c.updated_at for c in await store.list_cameras(limit=None)}
    assert [k for k in after if after[k] != before[k]] == ["EX-0004"]


@pytest.mark.parametrize("lang", ["th", "en"])
async def test_xlsx_round_trip(store: Store, sample_csv: Path, tmp_path: Path, lang: str) -> None:
    await import_file(sample_csv, store)
    out = tmp_path / f"export-{lang}.xlsx"
    assert await export_file(out, store, lang=lang) == 8
    again = await import_file(out, store)  # into the same registry: nothing changes, nothing is reported
    assert again.issues == [] and (again.inserted, again.updated, again.unchanged) == (0, 0, 8)
    fresh = await open_store(tmp_path / "fresh.db", migrate=True)  # into an empty one: the same cameras
    try:
        rep = await import_file(out, fresh)
        assert rep.issues == [] and rep.inserted == 8
        orig = {c.id: _rec(c) for c in await store.list_cameras(limit=None)}
        copy = {c.id: _rec(c) for c in await fresh.list_cameras(limit=None)}
        assert copy == orig
    finally:
        await fresh.close()
    from openpyxl import load_workbook

    ws = load_workbook(out, read_only=True).worksheets[0]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    if lang == "th":
        assert header[:3] == ["รหัสกล้อง", "ชื่อกล้อง", "หน่วยงานเจ้าของกล้อง"] and "สถานะ" in header
    else:
        assert header[:3] == ["camera id", "camera name", "owner agency"] and "verified status" in header


async def test_export_has_claims_beside_measures_and_labels(store: Store, sample_csv: Path, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from camcheck.registry.models import CameraState, CheckRecord, Measured, TransitionRecord

    await import_file(sample_csv, store)
    now = datetime.now(timezone.utc)
    await store.record_check(CheckRecord(camera_id="EX-0001", checked_at=now, verdict="degraded",
                                         measured=Measured(width=1280, height=720, fps=12.0, retention_days=3)))
    await store.record_transition(TransitionRecord(camera_id="EX-0001", at=now, from_state=CameraState.UNKNOWN,
                                                   to_state=CameraState.DEGRADED, findings=["low_fps"]))
    out = tmp_path / "e.csv"
    await export_file(out, store, lang="en")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    r = next(x for x in rows if x["camera id"] == "EX-0001")
    assert (r["recorded resolution"], r["measured resolution"]) == ("1920x1080", "1280x720")
    assert (r["frame rate"], r["measured frame rate"], r["retention days"], r["measured retention days"]) == ("25", "12", "30", "3")
    assert (r["status"], r["verified status"], r["camcheck state"], r["findings"]) == (
        "working normally", "working normally", "degraded", "low_fps")
    assert r["purposes"] == "deterrence and surveillance, traffic"
    th = tmp_path / "t.csv"
    await export_file(th, store, lang="th")
    rows = list(csv.DictReader(io.StringIO(th.read_text(encoding="utf-8-sig"))))
    r = next(x for x in rows if x["รหัสกล้อง"] == "EX-0003")
    assert r["สถานะ"] == "ใช้งานไม่ได้" and r["วัตถุประสงค์"] == "สืบสวน สอบสวน ติดตามผู้กระทำความผิด"
    assert r["ปีที่ติดตั้ง (พ.ศ.)"] == "2562" and r["ดูผ่านอินเทอร์เน็ตได้"] == "ไม่ใช่"


def _sheet_with_secrets(path: Path) -> None:
    path.write_text(
        "Camera ID,Name,RTSP URL,Sub stream,ONVIF,Latitude,Frame Rate (fps)\n"
        f"S-1,gate,rtsp://admin:{PASSWORD}@10.9.0.1:554/Streaming/Channels/101,"
        f"rtsp://admin:{PASSWORD}@10.9.0.1:554/Streaming/Channels/102,http://root:{ONVIF_PASSWORD}@10.9.0.1:8080/onvif/device_service,14.1,25\n"
        f"S-2,bad url,rtsp://admin:ab/{PASSWORD}@10.9.0.2/x,,,14.2,25\n",
        encoding="utf-8",
    )


def _xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def test_credentials_never_stored_exported_or_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "secrets.csv"
    _sheet_with_secrets(sheet)
    db = tmp_path / "reg.db"
    rc = main(["import", str(sheet), "--db", str(db)])
    out = capsys.readouterr()
    assert rc == 1  # S-2's URL cannot be separated safely: an error, the camera still imports
    assert "3 URL(s) carried credentials" in out.out and "secrets store" in out.out
    assert "line 3, column 'RTSP URL': error" in out.err
    for secret in (PASSWORD, ONVIF_PASSWORD, "ab/"):
        assert secret not in out.out and secret not in out.err
    for f in tmp_path.glob("reg.db*"):  # the database file and its WAL
        data = f.read_bytes()
        assert PASSWORD.encode() not in data and ONVIF_PASSWORD.encode() not in data
    assert main(["export", str(tmp_path / "o.csv"), "--db", str(db), "--lang", "en"]) == 0
    assert main(["export", str(tmp_path / "o.xlsx"), "--db", str(db)]) == 0
    capsys.readouterr()
    exported = (tmp_path / "o.csv").read_text(encoding="utf-8-sig") + _xlsx_text(tmp_path / "o.xlsx")
    assert PASSWORD not in exported and ONVIF_PASSWORD not in exported
    assert "rtsp://10.9.0.1:554/Streaming/Channels/101" in exported and "10.9.0.1:8080" in exported


async def test_credentials_never_reach_postgresql(pg_migrated_url: str, tmp_path: Path) -> None:
    sheet = tmp_path / "secrets.csv"
    _sheet_with_secrets(sheet)
    store = await open_store(pg_migrated_url, migrate=True)
    try:
        report = await import_file(sheet, store)
        assert report.credentials_found == 3 and report.rows_imported == 2
        assert all(i.value is None for i in report.issues if i.column in ("RTSP URL", "Sub stream", "ONVIF"))
        assert PASSWORD not in "\n".join(str(i) for i in report.issues)
        async with store.engine.connect() as conn:
            for table in ("cameras", "audit_log", "parents"):
                dump = "\n".join(r[0] for r in (await conn.exec_driver_sql(f"SELECT t::text FROM {table} t")).all())
                assert PASSWORD not in dump and ONVIF_PASSWORD not in dump
        s2 = await store.get_camera("S-2")
        assert s2 is not None and s2.main_stream_url is None and s2.lat == 14.2
    finally:
        await store.close()


def test_dry_run_writes_nothing(tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "reg.db"
    assert main(["import", str(sample_csv), "--db", str(db), "--dry-run"]) == 1
    assert not db.exists() and "8 cameras would be added" in capsys.readouterr().out
    assert main(["import", str(sample_csv), "--db", str(db), "-q"]) == 1
    capsys.readouterr()
    changed = tmp_path / "changed.csv"
    changed.write_text(sample_csv.read_text(encoding="utf-8").replace("EX-0008", "EX-0009").replace("Axis", "Bosch"),
                       encoding="utf-8")
    assert main(["import", str(changed), "--db", str(db), "--dry-run"]) == 1
    assert "1 cameras would be added, 1 updated, 6 unchanged" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "after.csv"), "--db", str(db), "--lang", "en"]) == 0
    text = (tmp_path / "after.csv").read_text(encoding="utf-8-sig")
    assert "EX-0009" not in text and "Bosch" not in text and "Axis" in text


async def test_dry_run_api_rolls_back(store: Store, sample_csv: Path) -> None:
    rep = await import_file(sample_csv, store, dry_run=True)
    assert rep.inserted == 8 and await store.count_cameras() == 0
    assert await store.list_audit() == []


def test_english_variants_bad_rows_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "en.csv"
    # BOM, ';' as delimiter, odd header spellings, an unknown column, a formula-looking name
    sheet.write_text(
        "\ufeff Camera_ID ;CAMERA NAME;Owner Agency;Purpose;Recorded Resolution;Retention;FPS;Year;Internet viewable;Notes;Status\n"
        "E-1;=HYPERLINK(\"x\");City;traffic, investigation;4MP;14 days;30;2019;yes;n/a;working normally\n"
        ";no id;City;traffic;1080p;7;25;2020;no;;broken\n"
        "E-1;duplicate;City;traffic;1080p;7;25;2020;no;;broken\n"
        "E-3;bad cells;City;sightseeing;huge;forever;fast;1066;perhaps;;who knows\n",
        encoding="utf-8",
    )
    db = tmp_path / "reg.db"
    assert main(["import", str(sheet), "--db", str(db)]) == 1
    out = capsys.readouterr()
    assert "4 rows read: 2 imported (1 with rejected cells left empty), 2 rejected." in out.out
    err = out.err
    assert "line 1, column 'Notes': warning: unknown column ignored" in err
    assert "line 3" in err and "no camera id" in err
    assert "line 4" in err and "already on line 2" in err
    for column in ("Purpose", "Recorded Resolution", "Retention", "FPS", "Year", "Internet viewable", "Status"):
        assert f"line 5, column '{column}': error" in err, column
    assert main(["export", str(tmp_path / "x.csv"), "--db", str(db), "--lang", "en"]) == 0
    capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "x.csv").read_text(encoding="utf-8-sig"))))
    e1 = next(r for r in rows if r["camera id"] == "E-1")
    assert e1["camera name"] == "'=HYPERLINK(\"x\")"  # escaped so a spreadsheet does not run it
    assert (e1["recorded resolution"], e1["retention days"], e1["year installed (CE)"], e1["internet viewable"]) == (
        "2560x1440", "14", "2019", "yes")
    e3 = next(r for r in rows if r["camera id"] == "E-3")
    assert e3["camera name"] == "bad cells" and e3["recorded resolution"] == "" and e3["status"] == ""
    # and the escaped name comes back as it was
    assert main(["import", str(tmp_path / "x.csv"), "--db", str(db)]) == 0
    assert "0 cameras were added, 0 updated, 2 unchanged" in capsys.readouterr().out


def _big_sheet(path: Path, n: int) -> None:
    """n rows in the sample's Thai layout with its messy value forms rotated through."""
    res = ["1920x1080", "1920 x 1080", "1080p", "2MP", "4MP", "720p", "8MP/4K", "5MP"]
    ret = ["30", "30 วัน", "สามสิบ", "7", "สิบสี่", "15 days"]
    fps = ["25", "25 fps", "12.5", "ยี่สิบ"]
    years = ["2564", "๒๕๖๔", "2021", "2559"]
    purposes = ["ป้องปรามและเฝ้าระวัง, การจราจร", "การจราจร", "สืบสวน สอบสวน ติดตามผู้กระทำความผิด", ""]
    yes = ["ใช่", "ไม่", "ได้", "ไม่ได้", ""]
    status = ["ใช้ได้ปกติ", "ใช้งานไม่ได้", "ชำรุด", "อยู่ระหว่างการซ่อมแซม"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["รหัสกล้อง", "ชื่อจุดติดตั้ง", "หน่วยงานเจ้าของกล้อง", "ละติจูด", "ลองจิจูด", "อำเภอ", "จังหวัด", "วัตถุประสงค์",
                    "ความละเอียดของภาพที่บันทึก", "ความละเอียดของการบันทึกสูงสุด", "จำนวนวันในการเก็บการบันทึก",
                    "จำนวนภาพต่อวินาที", "สถานะ", "ดูผ่านอินเทอร์เน็ตได้", "ปีที่ติดตั้ง", "RTSP", "ONVIF"])
        for i in range(n):
            url = f"rtsp://10.{i // 65536}.{i // 256 % 256}.{i % 256}:554/Streaming/Channels/101"
            if i % 10 == 0:
                url = url.replace("rtsp://", f"rtsp://admin:{PASSWORD}@")
            w.writerow([f"BIG-{i:05d}", f"จุดที่ {i}", f"หน่วยงาน {i % 37}", f"{13 + (i % 1000) / 1000:.4f}",
                        f"{100 + (i % 997) / 1000:.4f}", f"อำเภอ {i % 12}", "ตัวอย่าง", purposes[i % 4], res[i % 8],
                        res[(i + 3) % 8], ret[i % 6], fps[i % 4], status[i % 4], yes[i % 5], years[i % 4], url,
                        f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"])


@pytest.mark.slow
def test_10k_rows_cli_sqlite_with_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "big.csv"
    _big_sheet(sheet, 10_000)
    db = tmp_path / "big.db"
    assert main(["import", str(sheet), "--db", str(db)]) == 0
    out = capsys.readouterr()
    assert "10000 cameras were added" in out.out and "1000 URL(s) carried credentials" in out.out
    assert "10000/10000 rows read (100%)" in out.err and "10000/10000 rows written (100%)" in out.err
    assert PASSWORD not in out.out + out.err
    assert main(["import", str(sheet), "--db", str(db), "-q"]) == 0
    assert "0 cameras were added, 0 updated, 10000 unchanged" in capsys.readouterr().out


@pytest.mark.slow
async def test_10k_rows_postgresql(pg_migrated_url: str, tmp_path: Path) -> None:
    sheet = tmp_path / "big.csv"
    _big_sheet(sheet, 10_000)
    store = await open_store(pg_migrated_url, migrate=True)
    try:
        rep = await import_file(sheet, store)
        assert rep.ok and rep.inserted == 10_000 and await store.count_cameras() == 10_000
        c = await store.get_camera("BIG-00010")
        assert c is not None and c.main_stream_url == "rtsp://10.0.0.10:554/Streaming/Channels/101"
        assert (c.recorded_width, c.recorded_height, c.retention_days, c.frame_rate, c.year_installed) == (
            1920, 1080, 14, 12.5, 2021)  # "1080p", "สิบสี่", "12.5", "2564"... row 10 of the rotation
        rep2 = await import_file(sheet, store)
        assert (rep2.inserted, rep2.updated, rep2.unchanged) == (0, 0, 10_000)
    finally:
        await store.close()


async def test_xlsx_with_title_rows_and_excel_typed_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["ทะเบียนกล้องโทรทัศน์วงจรปิด จังหวัดตัวอย่าง"])  # a title row above the header
    ws.append([])
    ws.append(["ลำดับ", "รหัสกล้อง", "ละติจูด", "ลองจิจูด", "ปีที่ติดตั้ง", "จำนวนวันในการเก็บการบันทึก", "จำนวนภาพต่อวินาที"])
    ws.append([1, "X-1", 14.5896, 100.4551, 2564, 30, 12.5])  # numbers as Excel stores them
    ws.append([2, "X-2", "14.55x1", 100.5, 2565.0, "สามสิบ", "25 fps"])
    path = tmp_path / "titled.xlsx"
    wb.save(path)
    store = await open_store(tmp_path / "r.db", migrate=True)
    try:
        rep = await import_file(path, store)
        assert rep.rows_imported == 2
        assert [(i.line, i.column, i.severity) for i in rep.issues] == [
            (3, "ลำดับ", "warning"), (5, "ละติจูด", "error"), (5, "จำนวนวันในการเก็บการบันทึก", "warning")]
        x1 = await store.get_camera("X-1")
        assert x1 is not None and (x1.lat, x1.lon, x1.year_installed, x1.retention_days, x1.frame_rate) == (
            14.5896, 100.4551, 2021, 30, 12.5)
        x2 = await store.get_camera("X-2")
        assert x2 is not None and (x2.lat, x2.year_installed, x2.retention_days, x2.frame_rate) == (None, 2022, 30, 25.0)
    finally:
        await store.close()


def test_cli_unusable_inputs(tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "missing.csv"), "--db", str(tmp_path / "r.db")]) == 2
    assert not (tmp_path / "r.db").exists()  # nothing created for a file that is not there
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    assert main(["import", str(bad), "--db", str(tmp_path / "r.db")]) == 2
    assert "not a readable .xlsx" in capsys.readouterr().err
    assert main(["import", str(sample_csv), "--db", "mysql://u:hunter2@localhost/x"]) == 2
    assert main(["import", str(sample_csv), "--db", "postgresql://u:hunter2@127.0.0.1:1/x"]) == 2
    assert main(["export", str(tmp_path / "o.csv"), "--db", str(tmp_path / "none.db")]) == 2
    assert not (tmp_path / "none.db").exists()
    err = capsys.readouterr().err
    assert "hunter2" not in err and "unsupported database" in err
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("name,brand\nx,y\n", encoding="utf-8")
    assert main(["import", str(nohead), "--db", str(tmp_path / "r.db")]) == 1
    assert "no camera id column" in capsys.readouterr().err
