"""`camcheck status` against a seeded SQLite registry and a PostgreSQL one, as a real process: the
fleet's counts and its problem cameras with their reasons, one camera's detail, JSON, errors."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from camcheck.cli.textwidth import width
from camcheck.exporters.api.reason_words import thai
from camcheck.verdict.reasons import english
from tests.api.fleet_seed import FROZEN_REASON, ROOT, cover_incident, database, seed_url

pytestmark = pytest.mark.timeout(180)


def status(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "camcheck", "status", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_fleet_and_camera_status(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        seeded = seed_url(url)
        fleet = status("--db", url)
        assert fleet.returncode == 0, fleet.stderr
        data = json.loads(status("--db", url, "--json").stdout)
        counts, total = data["counts"], data["total"]
        assert total == sum(counts.values()) >= len(seeded.ids) and counts["broken"] >= len(seeded.broken)
        order = ("working", "degraded", "broken", "flapping", "maintenance", "unknown")
        assert fleet.stdout.splitlines()[0] == f"{total} cameras: " + ", ".join(
            f"{counts[s]} {s}" for s in order if counts.get(s))
        assert data["problems"] == sum(counts.get(s, 0) for s in ("broken", "flapping", "degraded", "maintenance"))
        # the parent suspected down first (look there first), then the cameras
        head, cams = fleet.stdout.split(" with problems", 1)
        assert "1 parent device(s) suspected down" in head and "  NVR-1            since " in head
        assert "8 cameras behind  Parent NVR-1 suspected down: 3 of 8 cameras" in head
        assert "  [NVR ตลาด]" in head  # its name, as the parents sheet gives it
        assert [p["id"] for p in data["parents_down"]] == ["NVR-1"]
        # every broken camera listed with its reason, broken before degraded
        listed = [line.split()[0] for line in cams.splitlines() if line.startswith("  ")]
        assert set(seeded.broken) <= set(listed) and listed.index(seeded.broken[-1]) < listed.index("GEN-0002")
        assert f"{seeded.with_evidence:<16} broken" in fleet.stdout
        assert english(FROZEN_REASON) in fleet.stdout
        assert status("--db", url, "--limit", "2").stdout.split(" with problems")[1].count("\n  ") == 2
        assert data["cameras"][0]["status"] == "broken" and len(data["cameras"]) == min(50, data["problems"])

        one = status("--db", url, seeded.with_evidence)
        assert one.returncode == 0, one.stderr
        out = one.stdout
        assert out.startswith(seeded.with_evidence)
        assert "status    broken since" in out and "label     ชำรุด (broken)" in out
        assert f"why       {english(FROZEN_REASON)}" in out and "findings  the picture is frozen" in out
        checks = out.split("last 5 checks, newest first:\n")[1].split("\n\n")[0].splitlines()
        assert checks[0].split()[3:5] == ["sub", "broken"] and "frozen" in checks[0]
        assert "onvif" in out and "1920x1080 · 25.0 fps · 2.00 Mbit/s · H264 · 29.6 days kept · recording" in out
        assert f"working -> broken: {english(FROZEN_REASON)}" in out
        detail = json.loads(status("--db", url, seeded.with_evidence, "--json").stdout)
        assert detail["state"]["status"] == "broken" and len(detail["checks"]) == 5
        assert [(t["from_state"], t["to_state"]) for t in detail["transitions"]] == [("working", "broken"),
                                                                                     ("unknown", "working")]
        # in Thai: states, reasons (from their data), findings and dates as the dashboard gives them
        th = status("--db", url, "--lang", "th")
        assert th.returncode == 0, th.stderr
        assert th.stdout.startswith(f"กล้อง {total} ตัว: ") and "เสีย" in th.stdout.splitlines()[0]
        assert "อุปกรณ์แม่ที่น่าจะขัดข้อง 1 รายการ" in th.stdout and "กล้องที่ต่อผ่าน 8 ตัว" in th.stdout
        assert "อุปกรณ์แม่ NVR-1 น่าจะขัดข้อง: กล้อง 3 จาก 8 ตัว" in th.stdout
        assert thai(FROZEN_REASON) in th.stdout and english(FROZEN_REASON) not in th.stdout
        assert re.search(r"ตั้งแต่ \d\d/\d\d/25\d\d \d\d:\d\d", th.stdout)  # Buddhist era, Thailand's time
        one_th = status("--db", url, seeded.with_evidence, "--lang", "th").stdout
        assert re.search("สถานะ +เสีย ตั้งแต่ ", one_th) and re.search(f"เหตุผล +{re.escape(thai(FROZEN_REASON))}", one_th)
        # Thai vowel and tone marks take no terminal column: values start in one column all the same
        detail = one_th.split("\n\n")[0].splitlines()[1:]
        starts = {_value_column(line) for line in detail}
        assert len(detail) >= 5 and len(starts) == 1, detail
        listing = [line for line in th.stdout.split("เรียงจากหนักสุด", 1)[1].splitlines() if line.startswith("  ")]
        assert len({_value_column(line, after=2) for line in listing}) == 1, listing
        assert "ภาพค้าง" in one_th.split("ข้อบกพร่อง", 1)[1].splitlines()[0]  # the finding in Thai words
        assert "การตรวจ 5 ครั้งล่าสุด (ล่าสุดก่อน):" in one_th and f"ใช้งานได้ -> เสีย: {thai(FROZEN_REASON)}" in one_th
        # a camera behind the parent suspected down says so (look there first); one behind none does not
        behind = status("--db", url, "GEN-0001").stdout
        assert "  parent    NVR-1 (NVR ตลาด) — suspected down since " in behind, behind
        assert re.search(r"  อุปกรณ์แม่ +NVR-1 \(NVR ตลาด\) — น่าจะขัดข้องตั้งแต่ \d\d/\d\d/25\d\d ",
                         status("--db", url, "GEN-0001", "--lang", "th").stdout)
        assert "parent" not in status("--db", url, "GEN-0009").stdout
        # the recorder is down because the switch it is behind is: said after it, with the switch's state
        asyncio.run(_with_store(url, lambda store: cover_incident(store, "NVR-1", "SW-9")))
        covered = status("--db", url, "GEN-0001").stdout
        assert re.search(r"  parent    NVR-1 \(NVR ตลาด\) — suspected down since [^;]+; behind SW-9 "
                         r"\(switch with nothing behind it\) — suspected down since ", covered), covered
        assert "; อยู่หลัง SW-9 " in status("--db", url, "GEN-0001", "--lang", "th").stdout
        listing = status("--db", url).stdout.split(" with problems", 1)[0]
        sw, nvr = [line for line in listing.splitlines() if line.startswith(("  SW-9 ", "  NVR-1 "))]
        assert sw.startswith("  SW-9 ") and nvr.endswith("[NVR ตลาด]  (behind SW-9)"), listing
        assert status("--db", url, "--lang", "fr").returncode != 0
        missing = status("--db", url, "NO-SUCH-CAMERA")
        assert missing.returncode == 2 and "no camera or parent device 'NO-SUCH-CAMERA'" in missing.stderr
        # a parent device's id: what it is, whether it is down and why, its outages over 30 days
        nvr_covered = status("--db", url, "NVR-1").stdout
        assert "; behind SW-9 (switch with nothing behind it) — suspected down since " in nvr_covered, nvr_covered
        asyncio.run(_with_store(url, lambda store: cover_incident(store, "NVR-1", "SW-9", covered=False)))
        nvr = status("--db", url, "NVR-1")
        assert nvr.returncode == 0, nvr.stderr
        lines = nvr.stdout.splitlines()
        assert lines[0] == "NVR-1  NVR ตลาด" and "  kind       recorder (NVR)" in lines
        assert any(x.startswith("  status     suspected down since ") for x in lines), nvr.stdout
        assert "outages in the last 30 days, newest first:" in lines
        outages = lines[lines.index("outages in the last 30 days, newest first:") + 1:]
        assert [o.split("  ")[2].strip() for o in outages] == ["ongoing", "1.5 h"], outages
        assert outages[0].endswith("Parent NVR-1 suspected down: 3 of 8 cameras behind it stopped delivering "
                                   "within 6 min."), outages
        th = status("--db", url, "NVR-1", "--lang", "th").stdout
        assert "การขัดข้องใน 30 วันที่ผ่านมา (ล่าสุดก่อน):" in th and "ยังขัดข้องอยู่" in th and "1.5 ชั่วโมง" in th
        data = json.loads(status("--db", url, "NVR-1", "--json").stdout)
        assert data["parent"]["id"] == "NVR-1" and [i["duration_s"] for i in data["incidents"]] == [None, 5400.0]
        sw = status("--db", url, "SW-9").stdout
        assert "  status     not suspected down" in sw and sw.rstrip().endswith("newest first:\n  none"), sw


async def _with_store(url: str, fn: Any) -> None:
    from camcheck.registry.store import open_store

    store = await open_store(url)
    try:
        await fn(store)
    finally:
        await store.close()


def _value_column(line: str, after: int = 1) -> int:
    """The terminal column where a line's value starts: after `after` space-free words and their padding."""
    head = re.match(r"  " + r"\S+ +" * after, line)
    assert head, line
    return width(head.group(0))


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    r = status("--db", str(tmp_path / "none.db"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_reasons_are_masked_on_the_way_out(tmp_path: Path) -> None:
    """A reason stored with a password in it (an older version, a hand-edited row) is printed masked,
    in the fleet listing, the camera's detail and the JSON."""
    import asyncio

    from camcheck.registry.models import CameraState, TransitionRecord
    from camcheck.registry.store import open_store

    leaky = "No usable stream: DESCRIBE rtsp://admin:hunter2@10.0.0.5/Streaming answered 401"

    async def leak(url: str, camera_id: str) -> None:
        store = await open_store(url)
        try:
            await store.record_transition(TransitionRecord(
                camera_id=camera_id, at=datetime.now(timezone.utc), from_state=CameraState.WORKING,
                to_state=CameraState.BROKEN, reason=leaky, findings=["auth_failed"]))
        finally:
            await store.close()

    with database("sqlite", tmp_path) as url:
        seeded = seed_url(url)
        cid = seeded.working[0]
        asyncio.run(leak(url, cid))
        outputs = [status("--db", url), status("--db", url, "--json"), status("--db", url, cid),
                   status("--db", url, cid, "--json")]
        assert all(r.returncode == 0 for r in outputs), [r.stderr for r in outputs]
        text = "".join(r.stdout for r in outputs)
        assert "hunter2" not in text and text.count("rtsp://admin:***@10.0.0.5/Streaming") >= 4


def test_terminal_width_of_thai_and_wide_text() -> None:
    # Thai marks above and below a consonant take no column; sara am does; CJK takes two
    assert [width(s) for s in ("เสีย", "ใช้งานได้", "กำลัง", "NVR-1", "監視", "")] == [3, 7, 4, 5, 4, 0]
