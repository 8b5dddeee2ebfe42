"""`camcheck report` on a demo-sized registry, in Thai and English: the XLSX opens in LibreOffice
(converted to PDF, a page rendered to PNG), the HTML prints on A4 in Chromium, the CSV reads back.
Outputs and renderings are kept in test-artifacts/report/ for a person to look at."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from camcheck.exporters.api.reason_words import thai
from tests.api.fleet_seed import ARTIFACTS, FROZEN_REASON, ROOT, database, seed_url
from tests.pg import run_in_thread
from tests.web.browser import CHROMIUM, FLAGS, require_chromium

pytestmark = pytest.mark.timeout(300)
OUT = ARTIFACTS / "report"


def _run_async(fn: Any) -> Any:
    return run_in_thread(fn, timeout=180)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("report")
    with database("sqlite", tmp) as url:
        seed_url(url)
        yield url


@pytest.fixture(scope="module")
def discovery_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("disc") / "found.json"
    p.write_text(json.dumps([
        {"address": "urn:uuid:known", "xaddrs": ["http://10.1.0.10/onvif/device_service"], "source": "10.1.0.10:3702"},
        {"address": "urn:uuid:new", "xaddrs": ["http://admin:pw@10.77.0.5:8080/onvif/device_service"],
         "name": "กล้องไม่ทราบที่มา", "hardware": "IPC-X"},
    ], ensure_ascii=False), encoding="utf-8")
    return p


def camcheck_report(*args: str, subprocess_run: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `camcheck report ARGS`; in-process by default (a fresh interpreter costs seconds here)."""
    if subprocess_run:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-m", "camcheck", "report", *args], capture_output=True, text=True,
                              timeout=240, env=env, cwd=ROOT)
    from camcheck.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", *args])
    return subprocess.CompletedProcess(["camcheck", "report", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def reports(demo_db: str, discovery_file: Path) -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for fmt in ("xlsx", "html", "csv"):
        for lang in ("th", "en"):
            path = OUT / f"report-{lang}.{fmt}"
            res = camcheck_report("--db", demo_db, "--format", fmt, "--lang", lang, "--out", str(path),
                                  "--discovery", str(discovery_file), subprocess_run=not out)  # the first: a real process
            assert res.returncode == 0, res.stderr
            assert "56 cameras reported" in res.stdout
            # progress on stderr, stage by stage, ending at 100 %
            assert re.search(r"camcheck report: per-camera rows 56/56 \(100%\)", res.stderr), res.stderr
            assert path.stat().st_size > 0
            out[f"{fmt}-{lang}"] = path
    return out


def test_xlsx_content(reports: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(reports["xlsx-th"])
    assert wb.sheetnames == ["สรุป", "รายกล้อง", "ยังไม่เคยตรวจสอบ", "อุปกรณ์ไม่ได้ลงทะเบียน", "อุปกรณ์แม่ขัดข้อง"]
    # the recorder down twice in 30 days (2 h so far, and 90 minutes three days before), still down
    outages = wb["อุปกรณ์แม่ขัดข้อง"]
    assert [c.value for c in outages[2]][:3] == ["รหัสอุปกรณ์", "ชื่อ", "ประเภท"]
    (nvr,) = [[c.value for c in row] for row in outages.iter_rows(min_row=3)]
    assert nvr[:6] == ["NVR-1", "NVR ตลาด", "เครื่องบันทึก", "เมือง", 8, 2] and nvr[7] == "ใช่", nvr
    assert 3.5 <= nvr[6] <= 3.7, nvr  # hours down in all (the open one grows as the test runs)
    summary = wb["สรุป"]
    cells = {summary.cell(row=r, column=1).value: summary.cell(row=r, column=2).value for r in range(1, summary.max_row + 1)}
    assert cells["จำนวนกล้อง"] == 56 and cells["จำนวนจุดติดตั้ง"] == 32 and cells["ดูผ่านอินเทอร์เน็ตได้"] == 16
    assert cells["ใช้ได้ปกติ"] + cells["ใช้งานไม่ได้"] + cells["ชำรุด"] + cells["อยู่ระหว่างการซ่อมแซม"] + \
        cells["ยังไม่ได้ตรวจสอบ"] == 56
    cams = wb["รายกล้อง"]
    head = [c.value for c in cams[2]]
    rows = {r[0].value: r for r in cams.iter_rows(min_row=3)}
    assert len(rows) == 56
    g2 = rows["GEN-0002"]  # measured 1280x720 at 12 fps against a registered 1920x1080 at 25
    res_meas = head.index("ความละเอียด (วัดได้)")
    assert g2[res_meas].value == "1280x720" and g2[res_meas].fill.fgColor.rgb.endswith("F8C9C9")
    assert g2[head.index("ภาพ/วินาที (วัดได้)")].fill.fgColor.rgb.endswith("F8C9C9")
    assert not rows["GEN-0000"][res_meas].fill.fgColor.rgb.endswith("F8C9C9")
    assert rows["GEN-0003"][head.index("สถานะที่ตรวจสอบแล้ว")].value == "ชำรุด"
    assert rows["GEN-0003"][head.index("ใช้งานได้ล่าสุดเมื่อ")].value  # when it was last verified
    why = head.index("สาเหตุ (จากการตรวจสอบ)")  # the daemon's reason, for cameras not working only
    assert rows["GEN-0003"][why].value == thai(FROZEN_REASON)  # in Thai, from the stored reason's data
    assert rows["GEN-0003"][why].value.startswith("ภาพใช้งานไม่ได้ 3 ครั้งติดต่อกัน ตั้งแต่ ")
    assert rows["GEN-0000"][why].value is None and head[-1] == "ภาพหลักฐาน"
    assert len(cams._images) == 16  # a thumbnail for every camera not working normally that has evidence
    unreg = wb.worksheets[3]
    assert [unreg.cell(row=3, column=c).value for c in (1, 2)] == ["10.77.0.5", "กล้องไม่ทราบที่มา"]
    assert "pw" not in (unreg.cell(row=3, column=4).value or "")  # credentials in a discovered URL are masked
    en = openpyxl.load_workbook(reports["xlsx-en"])
    assert en.sheetnames[0] == "Summary" and en["Summary"]["A1"].value.startswith("Report on the existence")


def _soffice_pdf(files: list[Path], outdir: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice is needed (Debian libreoffice-calc-nogui; make system-deps)")
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as prof:
        res = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{prof}", "--convert-to", "pdf",
                              "--outdir", str(outdir), *map(str, files)], capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr


def _pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info.stdout)]


def _pdf_text(pdf: Path, first: int = 1, last: int = 1) -> str:
    return subprocess.run(["pdftotext", "-f", str(first), "-l", str(last), "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, text=True, timeout=60).stdout


def test_xlsx_opens_in_libreoffice_in_both_languages(reports: dict[str, Path], tmp_path: Path) -> None:
    _soffice_pdf([reports["xlsx-th"], reports["xlsx-en"]], tmp_path)
    for lang, title in (("th", "รายงานผลการตรวจสอบ"), ("en", "Report on the existence")):
        pdf = tmp_path / f"report-{lang}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 5000
        pages = _pdf_pages(pdf)
        assert pages and all(round(min(p)) == 595 and round(max(p)) == 842 for p in pages)  # A4
        assert title in _pdf_text(pdf)  # real Thai text, not boxes or mojibake
        shutil.copy(pdf, OUT / f"report-{lang}.xlsx.pdf")
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", str(tmp_path / "report-th.pdf"),
                    str(OUT / "libreoffice-th")], check=True, timeout=60)
    assert list(OUT.glob("libreoffice-th*.png"))


def test_html_prints_on_a4_in_chromium(reports: dict[str, Path], tmp_path: Path) -> None:
    require_chromium()
    html = reports["html-th"].read_text(encoding="utf-8")
    assert "@page { size: A4" in html and "display: table-header-group" in html and "break-inside: avoid" in html
    assert html.count('class="mismatch"') >= 10 and 'data-id="GEN-0002"' in html
    # why a camera is not working, under its findings (the seeded frozen camera's reason)
    row = html.split('data-id="GEN-0003"')[1].split("</tr>")[0]
    assert f'<span class="muted reason">{thai(FROZEN_REASON)}</span>' in row
    assert 'class="muted reason"' not in html.split('data-id="GEN-0000"')[1].split("</tr>")[0]  # working
    assert "ลงชื่อ" in html and "ประธานกรรมการ" in html  # the committee's signature block
    outages = html.split("เครื่องบันทึก สวิตช์ และจุดติดตั้งที่ขัดข้องใน 30 วันที่ผ่านมา (นานสุดก่อน): 1</h2>")[1]
    assert re.search(r"<tr><td>NVR-1</td><td>NVR ตลาด</td><td>เครื่องบันทึก</td><td>เมือง</td><td class=\"n\">8</td>"
                     r"<td class=\"n\">2</td><td class=\"n\">3\.[567]</td><td>ใช่</td></tr>", outages), outages[:800]
    assert "src=\"http" not in html and "href=\"http" not in html  # self-contained: nothing external to load
    for lang, words in (("th", ["รายงานผลการตรวจสอบ", "ลงชื่อ"]), ("en", ["Report on the existence", "Signature"])):
        pdf = tmp_path / f"report-{lang}.pdf"
        with tempfile.TemporaryDirectory(prefix="chromium-print-") as prof:
            res = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={prof}", "--no-pdf-header-footer",
                                  f"--print-to-pdf={pdf}", reports[f"html-{lang}"].as_uri()],
                                 capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and pdf.exists(), res.stderr[-2000:]
        pages = _pdf_pages(pdf)
        assert len(pages) >= 4
        assert all(abs(w - 595) < 1.5 and abs(h - 842) < 1.5 for w, h in pages), pages  # every page A4 portrait
        text = _pdf_text(pdf, 1, len(pages))
        for w in words:
            assert w in text
        shutil.copy(pdf, OUT / f"report-{lang}.html.pdf")
    for page in (1, 4):
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", str(page), "-l", str(page),
                        str(tmp_path / "report-th.pdf"), str(OUT / f"chromium-th-p{page}")], check=True, timeout=60)


def test_csv_reads_back(reports: dict[str, Path]) -> None:
    raw = reports["csv-th"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Thai CSV as UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][0] == "รหัสกล้อง" and len(rows) == 57
    g2 = next(r for r in rows if r[0] == "GEN-0002")
    assert "ความละเอียด (วัดได้)" in g2[-1] and "ภาพ/วินาที (วัดได้)" in g2[-1]
    en = list(csv.reader(reports["csv-en"].read_text(encoding="utf-8-sig").splitlines()))
    assert en[0][0] == "Camera id" and en[0][-1] == "mismatch"


def test_cli_errors_are_clear(demo_db: str, tmp_path: Path) -> None:
    res = camcheck_report("--db", str(tmp_path / "missing.db"), "--out", str(tmp_path / "x.xlsx"))
    assert res.returncode == 2 and "does not exist" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = camcheck_report("--db", demo_db, "--discovery", str(bad), "--out", str(tmp_path / "x.xlsx"))
    assert res.returncode == 2 and "discovery file is not JSON" in res.stderr
    res = camcheck_report("--db", demo_db, "--province", "ไม่มีจังหวัดนี้", "--out", str(tmp_path / "empty.html"), "--quiet")
    assert res.returncode == 0 and "no cameras in province" in res.stderr and "พระนครศรีอยุธยา" in res.stderr
    assert "camcheck report:" not in res.stderr.replace("camcheck report: warning", "")  # --quiet: no progress


def test_report_figures_are_the_same_on_postgresql(demo_db: str, tmp_path: Path) -> None:
    from camcheck.exporters.report import collect
    from camcheck.registry.store import open_store

    def figures(url: str) -> Any:
        async def go() -> Any:
            store = await open_store(url)
            try:
                d = await collect(store, lang="en", thumbs="problems")
            finally:
                await store.close()
            s = d.summary
            return (s.total, [(r.key, r.total) for r in s.by_label], s.confirmation.model_dump(),
                    s.retention.model_dump(), len(d.never_verified), sum(1 for c in d.cameras if c.thumbnail),
                    sorted((c.cam.id, c.label) for c in d.cameras))
        return _run_async(go)

    with database("postgresql", tmp_path) as pg:
        seed_url(pg)
        assert figures(pg) == figures(demo_db)
