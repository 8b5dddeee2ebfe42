"""`camcheck import --parents`: a sheet of NVRs, switches and sites (Thai or English headers, CSV or
XLSX) gives the parents cameras name by id their kind, name, address and upstream device. Every bad
cell by line and column, the rest imported; on SQLite and PostgreSQL; what the API then shows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from camcheck.cli import main
from camcheck.registry.sheets import write_sheet
from camcheck.registry.store import open_store
from tests.api.fleet_seed import database

pytestmark = pytest.mark.timeout(120)

THAI_SHEET = """\
รหัสอุปกรณ์แม่,ประเภท,ชื่อ,ที่อยู่ไอพี,รหัสอุปกรณ์ต้นทาง,อำเภอ,จังหวัด,หมายเหตุ
NVR-1,เครื่องบันทึก,NVR สถานีตำรวจภูธรเมือง,10.20.0.5,SITE-A,เมือง,ตัวอย่าง,ok
NVR-2,nvr,NVR ตลาดสด,http://admin:hunter2@10.20.0.6:8000/onvif,SITE-A,เมือง,ตัวอย่าง,
SITE-A,จุดติดตั้ง,ตู้สื่อสารสี่แยก,,UPLINK-9,เมือง,ตัวอย่าง,
SW-3,เราเตอร์,สวิตช์หน้าโรงเรียน,10.20.0.300,,บางตัวอย่าง,ตัวอย่าง,
,สวิตช์,ไม่มีรหัส,,,,,
NVR-1,nvr,ซ้ำ,,,,,
LOOP-1,site,วน,,LOOP-2,,,
LOOP-2,site,วน,,LOOP-1,,,
"""


def _rows(url: str) -> dict[str, dict]:
    async def read() -> dict[str, dict]:
        store = await open_store(url)
        try:
            return {r["id"]: r for r in await store.list_parents()}
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_thai_parents_sheet_with_bad_cells(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "parents.csv"
    sheet.write_text(THAI_SHEET, encoding="utf-8")
    with database(kind, tmp_path) as url:
        # a dry run counts and writes nothing
        assert main(["import", str(sheet), "--parents", "--db", url, "--dry-run"]) == 1
        assert "6 parent devices would be added" in capsys.readouterr().out
        assert main(["import", str(sheet), "--parents", "--db", url]) == 1
        cap = capsys.readouterr()
        err = cap.err
        assert "8 rows read: 6 imported (2 with rejected cells left empty), 2 rejected." in cap.out
        assert "6 parent devices were added, 0 updated, 0 unchanged." in cap.out
        assert "line 1, column 'หมายเหตุ': warning: unknown column ignored" in err
        assert "line 3, column 'ที่อยู่ไอพี': warning: credentials found in the address were removed" in err
        assert "line 5, column 'ประเภท': error: expected nvr, switch, site or other" in err
        assert "(value 'เราเตอร์')" in err
        assert "line 5, column 'ที่อยู่ไอพี': error: expected an IP address or host name" in err
        assert "line 6, column 'รหัสอุปกรณ์แม่': error: no parent id: row rejected" in err
        assert "line 7: error: parent id 'NVR-1' already on line 2: row rejected" in err
        assert "line 8, column 'รหัสอุปกรณ์ต้นทาง': error: the upstream device would be behind this one" in err
        assert "upstream device 'UPLINK-9' is not in the sheet or the registry: added with kind 'other'" in err
        assert "hunter2" not in cap.out + err
        rows = _rows(url)
        assert {k: (r["kind"], r["name"], r["host"], r["parent_id"], r["district"]) for k, r in rows.items()} == {
            "NVR-1": ("nvr", "NVR สถานีตำรวจภูธรเมือง", "10.20.0.5", "SITE-A", "เมือง"),
            "NVR-2": ("nvr", "NVR ตลาดสด", "10.20.0.6:8000", "SITE-A", "เมือง"),
            "SITE-A": ("site", "ตู้สื่อสารสี่แยก", None, "UPLINK-9", "เมือง"),
            "SW-3": ("other", "สวิตช์หน้าโรงเรียน", None, None, "บางตัวอย่าง"),  # its bad cells left empty
            "LOOP-1": ("site", "วน", None, None, None),  # the loop refused where it would close
            "LOOP-2": ("site", "วน", None, "LOOP-1", None),
            "UPLINK-9": ("other", None, None, None, None),
        }
        # the same sheet again changes nothing; an English XLSX updates only the columns it has
        assert main(["import", str(sheet), "--parents", "--db", url]) == 1
        assert "0 parent devices were added, 0 updated, 6 unchanged." in capsys.readouterr().out
        book = tmp_path / "parents.xlsx"
        write_sheet(book, "xlsx", ["parent id", "kind", "upstream parent id"],
                    [["SW-3", "switch", ""], ["UPLINK-9", "site", ""]])
        assert main(["import", str(book), "--parents", "--db", url]) == 0
        assert "0 parent devices were added, 2 updated, 0 unchanged." in capsys.readouterr().out
        rows = _rows(url)
        assert (rows["SW-3"]["kind"], rows["SW-3"]["name"], rows["UPLINK-9"]["kind"]) == (
            "switch", "สวิตช์หน้าโรงเรียน", "site")

        # cameras name NVR-1 by id: the API gives its name, kind and district
        cams = tmp_path / "cameras.csv"
        cams.write_text("รหัสกล้อง,ชื่อกล้อง,รหัสอุปกรณ์แม่\nC-1,หน้าสถานี,NVR-1\nC-2,ลานจอดรถ,NVR-1\n", encoding="utf-8")
        assert main(["import", str(cams), "--db", url]) == 0
        capsys.readouterr()

        async def shown() -> tuple:
            from camcheck.exporters.api import queries, views

            store = await open_store(url)
            try:
                (p,) = [views.parent(r) for r in await queries.list_parents(store, parent_id="NVR-1")]
            finally:
                await store.close()
            return p.kind, p.name, p.district, p.parent_id, p.cameras

        assert asyncio.run(shown()) == ("nvr", "NVR สถานีตำรวจภูธรเมือง", "เมือง", "SITE-A", 2)

        # exported in either language, the sheet reads back unchanged, without a warning
        for lang, fmt in (("th", "xlsx"), ("en", "csv")):
            out = tmp_path / f"back-{lang}.{fmt}"
            assert main(["export", str(out), "--parents", "--lang", lang, "--db", url]) == 0
            assert capsys.readouterr().out.startswith("7 parent devices written")
            assert main(["import", str(out), "--parents", "--db", url]) == 0
            cap = capsys.readouterr()
            assert "0 parent devices were added, 0 updated, 7 unchanged." in cap.out and cap.err == "", cap.err
        lines = (tmp_path / "back-en.csv").read_text(encoding="utf-8-sig").splitlines()
        assert lines[0] == "parent id,kind,name,address,upstream parent id,district,province,cameras behind,status,status since"
        assert "NVR-1,nvr,NVR สถานีตำรวจภูธรเมือง,10.20.0.5,SITE-A,เมือง,ตัวอย่าง,2,," in lines


def test_a_sheet_without_an_id_column_imports_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "p.csv"
    sheet.write_text("name,kind\nNVR at the market,nvr\n", encoding="utf-8")
    assert main(["import", str(sheet), "--parents", "--db", str(tmp_path / "r.db")]) == 1
    cap = capsys.readouterr()
    assert "no parent id column (expected 'รหัสอุปกรณ์แม่' or 'parent id'): nothing imported" in cap.err
    assert "1 rows read: 0 imported (0 with rejected cells left empty), 1 rejected." in cap.out


def test_the_example_parents_sheet_imports_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "parents-example.csv"
    assert main(["import", str(example), "--parents", "--db", str(tmp_path / "r.db")]) == 0
    cap = capsys.readouterr()
    assert "4 parent devices were added" in cap.out and "0 errors, 0 warnings." in cap.out and cap.err == ""
    rows = _rows(f"sqlite:///{tmp_path / 'r.db'}")
    assert (rows["NVR-MARKET"]["kind"], rows["NVR-MARKET"]["parent_id"]) == ("nvr", "SITE-MUEANG-01")
