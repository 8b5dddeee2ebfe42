"""The REST API against a real registry (SQLite and PostgreSQL), over real HTTP on 127.0.0.1.

Every response is validated against the served OpenAPI document (CheckedClient)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import openpyxl
import pytest

from tests.api.conftest import CheckedClient
from camcheck.exporters.api.reason_words import thai
from camcheck.verdict.reasons import english
from tests.api.fleet_seed import FROZEN_REASON, INCIDENT_AFFECTED, READ_TOKEN, SAMPLE_CSV, WRITE_TOKEN, Live, jpeg

pytestmark = pytest.mark.timeout(240)


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# --- auth ---------------------------------------------------------------------------------------

def test_auth_read_write_and_problems(client: CheckedClient, reader: CheckedClient) -> None:
    r = client.get("/cameras", token=False)
    assert _problem(r, 401)["detail"].startswith("authentication required")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    _problem(client.get("/cameras", token="not-a-valid-token-at-all"), 401)
    _problem(client.get("/cameras", token=False, headers={"Authorization": "Basic b3BzOnNlY3JldA=="}), 401)
    assert reader.get("/whoami").json() == {"name": "viewer", "role": "read", "via": "bearer"}
    assert client.get("/whoami").json() == {"name": "ops", "role": "write", "via": "bearer"}
    # a read token may read but not write
    assert reader.get("/cameras?limit=1").status_code == 200
    body = _problem(reader.post("/cameras", json={"id": "NOPE-1"}), 403)
    assert "viewer" in body["detail"]
    _problem(reader.request("DELETE", "/cameras/GEN-0000"), 403)
    assert client.get("/cameras/GEN-0000").status_code == 200  # the 403 changed nothing
    # the OpenAPI document itself is public
    assert client.get("/openapi.json", token=False).json()["openapi"] == "3.1.0"


def test_parents_and_their_incidents(reader: CheckedClient) -> None:
    body = reader.get("/parents").json()
    assert body["total"] == len(body["items"]) >= 2
    nvr = next(p for p in body["items"] if p["id"] == "NVR-1")
    assert (nvr["kind"], nvr["name"], nvr["cameras"], nvr["status"]) == ("nvr", "NVR ตลาด", 8, "suspected_down")
    assert nvr["reason"] == "Parent NVR-1 suspected down: 3 of 8 cameras behind it stopped delivering within 6 min."
    assert nvr["reason_text"]["en"] == nvr["reason"]
    assert nvr["reason_text"]["th"] == ("อุปกรณ์แม่ NVR-1 น่าจะขัดข้อง: กล้อง 3 จาก 8 ตัวที่ต่อผ่านอุปกรณ์นี้ "
                                       "หยุดส่งภาพภายใน 6 นาที")
    inc = nvr["incident"]
    assert inc["affected"] == [f"GEN-{i:04d}" for i in range(INCIDENT_AFFECTED)] and inc["ended_at"] is None
    assert inc["cameras_behind"] == 8 and inc["started_at"] == nvr["status_since"]
    switch = reader.get("/parents/SW-9").json()
    assert (switch["kind"], switch["cameras"], switch["status"], switch["incident"]) == ("switch", 0, None, None)
    assert reader.get("/parents/NVR-1").json() == nvr
    assert [p["id"] for p in reader.get("/parents?suspected_down=true").json()["items"]] == ["NVR-1"]
    assert "NVR-1" not in [p["id"] for p in reader.get("/parents?suspected_down=false").json()["items"]]
    _problem(reader.get("/parents/NO-SUCH-PARENT"), 404)
    # its history: the open incident, then an earlier one (3 days before, 90 minutes long)
    now, earlier = reader.get("/parents/NVR-1/incidents").json()["items"]
    assert {k: now[k] for k in ("started_at", "ended_at", "duration_s", "affected")} == {
        "started_at": inc["started_at"], "ended_at": None, "duration_s": None, "affected": inc["affected"]}
    assert now["reason"] == nvr["reason"] and now["reason_text"] == nvr["reason_text"]
    assert earlier["duration_s"] == 5400.0 and earlier["ended_at"] is not None
    assert earlier["started_at"] < now["started_at"]
    assert [i["ended_at"] for i in reader.get("/parents/NVR-1/incidents?days=1").json()["items"]] == [None]
    assert len(reader.get("/parents/NVR-1/incidents?limit=1").json()["items"]) == 1
    assert reader.get("/parents/SW-9/incidents").json() == {"items": []}
    _problem(reader.get("/parents/NO-SUCH-PARENT/incidents"), 404)
    _problem(reader.get("/parents/NVR-1/incidents?days=0"), 400)
    _problem(reader.get("/parents?suspected_down=perhaps"), 400)
    _problem(reader.get("/parents?status=down"), 400)


def test_put_a_parent(client: CheckedClient, reader: CheckedClient) -> None:
    """An integrator's asset list sets a parent's kind, name, address and upstream device (as
    `camcheck import --parents` does from a sheet): created, replaced, and every bad field a 422."""
    _problem(reader.request("PUT", "/parents/API-SITE", json={"kind": "site"}), 403)
    r = client.request("PUT", "/parents/API-SITE", json={"kind": "site", "name": "ตู้สื่อสารหน้าตลาด"})
    assert r.status_code == 201, r.text
    assert client.request("PUT", "/parents/API-SITE", json={"kind": "site", "name": "ตู้สื่อสารหน้าตลาด"}).status_code == 200
    nvr = {"kind": "nvr", "name": "NVR ตลาด ชั้น 2", "host": "10.9.0.5:8000", "parent_id": "API-SITE", "district": "เมือง"}
    r = client.request("PUT", "/parents/API-NVR", json=nvr)
    assert r.status_code == 201, r.text
    got = r.json()
    assert {k: got[k] for k in ("kind", "name", "parent_id", "district", "cameras", "status")} == {
        "kind": "nvr", "name": "NVR ตลาด ชั้น 2", "parent_id": "API-SITE", "district": "เมือง", "cameras": 0,
        "status": None}
    assert reader.get("/parents/API-NVR").json() == got
    # a loop, credentials, a typing error, an unknown upstream device, an unknown kind or field
    assert "loop" in _problem(client.request("PUT", "/parents/API-SITE", json={"kind": "site", "parent_id": "API-NVR"}), 422)["detail"]
    assert "loop" in _problem(client.request("PUT", "/parents/API-NVR", json={**nvr, "parent_id": "API-NVR"}), 422)["detail"]
    leak = client.request("PUT", "/parents/API-NVR", json={**nvr, "host": "http://admin:hunter2@10.9.0.5/"})
    assert "credentials" in _problem(leak, 422)["detail"] and "hunter2" not in leak.text
    _problem(client.request("PUT", "/parents/API-NVR", json={**nvr, "host": "10.9.0.300"}), 422)
    _problem(client.request("PUT", "/parents/API-NVR", json={**nvr, "parent_id": "NO-SUCH-PARENT"}), 422)
    _problem(client.request("PUT", "/parents/API-NVR", json={**nvr, "kind": "router"}), 422)
    _problem(client.request("PUT", "/parents/API-NVR", json={**nvr, "colour": "blue"}), 422)
    assert reader.get("/parents/API-NVR").json() == got  # none of those changed it
    # PATCH changes what it is given and keeps the rest, with the same checks
    r = client.request("PATCH", "/parents/API-NVR", json={"name": "NVR ตลาด ชั้น 3"})
    assert r.status_code == 200 and r.json() == {**got, "name": "NVR ตลาด ชั้น 3"}, r.text
    assert "loop" in _problem(client.request("PATCH", "/parents/API-SITE", json={"parent_id": "API-NVR"}), 422)["detail"]
    leak = client.request("PATCH", "/parents/API-NVR", json={"host": "admin:hunter2@10.9.0.5"})
    assert "credentials" in _problem(leak, 422)["detail"] and "hunter2" not in leak.text
    _problem(client.request("PATCH", "/parents/API-NVR", json={"colour": "blue"}), 422)
    _problem(client.request("PATCH", "/parents/API-NVR", json=["name"]), 422)
    _problem(client.request("PATCH", "/parents/NO-SUCH-PARENT", json={"name": "x"}), 404)
    _problem(reader.request("PATCH", "/parents/API-NVR", json={"name": "x"}), 403)
    assert reader.get("/parents/API-NVR").json()["name"] == "NVR ตลาด ชั้น 3"
    # PUT replaces: what is not given is cleared
    r = client.request("PUT", "/parents/API-NVR", json={"kind": "nvr"})
    assert r.status_code == 200 and (r.json()["name"], r.json()["parent_id"]) == (None, None)
    # deleted only when nothing depends on it: a device behind it, cameras behind it, an open incident
    assert client.request("PUT", "/parents/API-NVR", json={"kind": "nvr", "parent_id": "API-SITE"}).status_code == 200
    assert "devices" in _problem(client.request("DELETE", "/parents/API-SITE"), 409)["detail"]
    assert "suspected down" in _problem(client.request("DELETE", "/parents/NVR-1"), 409)["detail"]
    assert client.post("/cameras", json={"id": "API-CAM-1", "parent_id": "API-NVR"}).status_code == 201
    assert "cameras" in _problem(client.request("DELETE", "/parents/API-NVR"), 409)["detail"]
    assert client.request("DELETE", "/cameras/API-CAM-1").status_code == 204
    _problem(reader.request("DELETE", "/parents/API-NVR"), 403)
    assert client.request("DELETE", "/parents/API-NVR").status_code == 204
    assert client.request("DELETE", "/parents/API-SITE").status_code == 204  # nothing behind it any more
    _problem(client.request("DELETE", "/parents/API-SITE"), 404)
    _problem(reader.get("/parents/API-NVR"), 404)
    entries = client.get("/audit?limit=500").json()["items"]
    assert {("parent.create", "API-NVR"), ("parent.replace", "API-NVR"), ("parent.update", "API-NVR"),
            ("parent.delete", "API-NVR"),
            ("parent.delete", "API-SITE")} <= {(a["action"], a["target"]) for a in entries}


def test_unknown_paths_and_methods_are_problems(client: CheckedClient) -> None:
    _problem(client.get("/no-such-thing", validate=False), 404)
    r = client.request("DELETE", "/summary", validate=False)
    _problem(r, 405)
    assert "GET" in r.headers["Allow"]
    _problem(client.get("/cameras/NO-SUCH-CAMERA"), 404)
    _problem(client.get("/evidence/999999"), 404)


# --- cameras: list, filters, paging -------------------------------------------------------------

def test_list_filters_and_paging(client: CheckedClient, live: Live) -> None:
    everything = client.get("/cameras?limit=500").json()
    total = everything["total"]
    assert total == 8 + 48 and len(everything["items"]) == total and everything["next_offset"] is None
    # paging walks the whole registry exactly once, in id order
    ids, offset = [], 0
    while offset is not None:
        page = client.get(f"/cameras?limit=20&offset={offset}").json()
        assert page["total"] == total and len(page["items"]) <= 20
        ids += [c["id"] for c in page["items"]]
        offset = page["next_offset"]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == total

    broken = client.get("/cameras?status=broken&limit=500").json()
    assert sorted(c["id"] for c in broken["items"]) == sorted(live.seeded.broken)
    assert {c["label"]["code"] for c in broken["items"]} == {"broken", "not_working"}
    both = client.get("/cameras?status=broken,degraded&limit=500").json()["total"]
    assert both == len(live.seeded.broken) + client.get("/cameras?status=degraded").json()["total"]
    by_district = client.get("/cameras", params={"district": "วังน้อย", "limit": 500}).json()
    assert by_district["total"] == 12 and all(c["district"] == "วังน้อย" for c in by_district["items"])
    agency = client.get("/cameras", params={"agency": "ธนาคารตัวอย่าง", "limit": 500}).json()
    assert agency["total"] == 12
    traffic = client.get("/cameras?purpose=traffic&limit=500").json()["items"]
    assert traffic and all("traffic" in c["purposes"] for c in traffic)
    assert client.get("/cameras?parent=NVR-1").json()["total"] == 8
    assert client.get("/cameras?tag=zone-1").json()["total"] == 16
    # text search: Thai substring of a point name from the imported sheet, and an id fragment
    thai = client.get("/cameras", params={"q": "ตลาดสด"}).json()
    assert {c["id"] for c in thai["items"]} == {"EX-0001", "EX-0002"}
    assert client.get("/cameras", params={"q": "gen-004"}).json()["total"] == 8
    # combined filters are ANDed
    combo = client.get("/cameras", params={"district": "เมือง", "status": "broken"}).json()["items"]
    assert all(c["district"] == "เมือง" and c["status"] == "broken" for c in combo)


def test_list_rejects_bad_parameters(client: CheckedClient) -> None:
    for query in ("limit=501", "limit=0", "offset=-1", "limit=abc", "status=bogus", "purpose=fun",
                  "enabled=maybe", "colour=red"):
        body = _problem(client.get(f"/cameras?{query}"), 400)
        assert body["detail"]


# --- create / update / delete, audited ----------------------------------------------------------

def test_create_update_delete_are_validated_and_audited(client: CheckedClient, live: Live) -> None:
    cid = f"API-{live.db_url[:6]}-1".replace(":", "")
    bad = client.post("/cameras", json={"id": cid, "lat": 123.0, "main_stream_url": "rtsp://admin:hunter2@10.9.9.9/s"})
    body = _problem(bad, 422)
    assert {e["field"] for e in body["errors"]} >= {"lat", "main_stream_url"}
    assert "hunter2" not in bad.text
    _problem(client.post("/cameras", data=b"{not json", headers={"Content-Type": "application/json"}), 400)
    _problem(client.post("/cameras", data=b"id=1", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    _problem(client.post("/cameras", json={"id": cid, "colour": "red"}), 422)

    new = {"id": cid, "name": "กล้องใหม่", "owner_agency": "เทศบาลเมืองตัวอย่าง", "lat": 14.5, "lon": 100.5,
           "purposes": ["traffic"], "recorded_width": 1920, "recorded_height": 1080, "frame_rate": 25,
           "main_stream_url": "rtsp://10.9.9.9/stream1", "credentials_ref": "cams-a", "tags": ["new"]}
    r = client.post("/cameras", json=new)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith(f"/cameras/{cid}")
    cam = r.json()
    assert cam["status"] == "unknown" and cam["label"]["code"] == "unverified" and cam["name"] == "กล้องใหม่"
    _problem(client.post("/cameras", json=new), 409)

    r = client.request("PATCH", f"/cameras/{cid}", json={"frame_rate": 12.5, "district": "อุทัย"})
    assert r.status_code == 200 and r.json()["frame_rate"] == 12.5 and r.json()["district"] == "อุทัย"
    assert r.json()["main_stream_url"] == "rtsp://10.9.9.9/stream1"  # untouched fields kept
    _problem(client.request("PATCH", f"/cameras/{cid}", json={"status": "working"}), 422)  # computed, read-only
    _problem(client.request("PATCH", f"/cameras/{cid}", json={"recorded_width": 1280, "recorded_height": None}), 422)

    r = client.request("PUT", f"/cameras/{cid}", json={"name": "replaced", "district": "เมือง"})
    assert r.status_code == 200 and r.json()["name"] == "replaced" and r.json()["frame_rate"] is None
    _problem(client.request("PUT", f"/cameras/{cid}", json={"id": "OTHER"}), 422)
    assert client.request("PUT", f"/cameras/{cid}-put", json={"name": "made by PUT"}).status_code == 201

    assert client.request("DELETE", f"/cameras/{cid}").status_code == 204
    _problem(client.get(f"/cameras/{cid}"), 404)
    _problem(client.request("DELETE", f"/cameras/{cid}"), 404)

    audit = client.get("/audit?limit=50").json()["items"]
    mine = [(a["action"], a["actor"]) for a in audit if a["target"] == cid]
    assert ("camera.create", "api:ops") in mine and ("camera.update", "api:ops") in mine
    assert ("camera.replace", "api:ops") in mine and ("camera.delete", "api:ops") in mine


def test_body_size_limit(client: CheckedClient) -> None:
    big = json.dumps({"id": "BIG-1", "name": "x" * (300 * 1024)})
    _problem(client.post("/cameras", data=big.encode(), headers={"Content-Type": "application/json"}), 413)


# --- import -------------------------------------------------------------------------------------

def _xlsx_of_sample() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    with open(SAMPLE_CSV, encoding="utf-8-sig") as fh:
        for row in csv.reader(fh):
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_reports_rows_and_columns(client: CheckedClient, reader: CheckedClient) -> None:
    files = {"file": ("registry-sample-th.csv", SAMPLE_CSV.read_bytes(), "text/csv")}
    r = client.post("/cameras/import?dry_run=true", files=files)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["dry_run"] and rep["rows_total"] == 8 and not rep["ok"]
    # EX-0008 (line 9): the broken latitude is an error, the retention written as a word a warning,
    # each reported by line and column with the cell's value
    got = {(i["line"], i["column"], i["severity"], i["value"]) for i in rep["issues"]}
    assert got == {(9, "ละติจูด", "error", "14.55x1"), (9, "จำนวนวันในการเก็บการบันทึก", "warning", "สามสิบ")}
    assert rep["unchanged"] + rep["updated"] == 8  # already imported by the seed
    # raw CSV body, and the same sheet as XLSX
    r2 = client.post("/cameras/import?filename=again.csv", data=SAMPLE_CSV.read_bytes(), headers={"Content-Type": "text/csv"})
    assert r2.status_code == 200 and r2.json()["rows_total"] == 8 and not r2.json()["dry_run"]
    xl = client.post("/cameras/import?dry_run=true", files={"file": ("sample.xlsx", _xlsx_of_sample(),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}).json()
    assert xl["rows_total"] == 8 and any(i["severity"] == "error" for i in xl["issues"])
    _problem(client.post("/cameras/import", data=b"hello", headers={"Content-Type": "application/pdf"}), 415)
    _problem(client.post("/cameras/import", files={"other": ("x.csv", b"a,b\n", "text/csv")}), 400)
    _problem(client.post("/cameras/import", files={"file": ("x.xlsx", b"PK not really a zip", "application/octet-stream")}), 422)
    _problem(reader.post("/cameras/import", files=files), 403)
    audit = client.get("/audit?action=registry.import").json()["items"]
    assert audit and audit[0]["actor"] == "api:ops"


# --- state, history, evidence, comparison -------------------------------------------------------

def test_state_history_and_evidence(client: CheckedClient, live: Live) -> None:
    cid = live.seeded.with_evidence
    st = client.get(f"/cameras/{cid}/state").json()
    assert st["status"] == "broken" and st["label"]["code"] == "broken" and st["label"]["th"] == "ชำรุด"
    assert [f["code"] for f in st["findings"]] == ["frozen"]
    assert st["findings"][0]["th"] == "ภาพค้าง ไม่เปลี่ยนแปลง" and st["consecutive_failures"] == 9
    # why: the stored English sentence, and the same reason in both languages
    assert st["reason"] == st["reason_text"]["en"] == english(FROZEN_REASON)
    assert st["reason_text"]["th"] == thai(FROZEN_REASON)
    checks = client.get(f"/cameras/{cid}/checks?limit=2").json()["items"]
    assert len(checks) == 2 and checks[0]["verdict"] == "broken"
    assert (checks[0]["stream"], checks[1]["stream"]) == ("sub", "main")  # what each check read
    assert checks[0]["checked_at"] > checks[1]["checked_at"]
    trans = client.get(f"/cameras/{cid}/transitions").json()["items"]
    assert [(t["from_state"], t["to_state"]) for t in trans] == [("working", "broken"), ("unknown", "working")]
    assert len(trans[0]["evidence_ids"]) == 2
    assert trans[0]["reason_text"] == {"th": thai(FROZEN_REASON), "en": english(FROZEN_REASON)}
    assert trans[1]["reason_text"] == {"th": "first verified check", "en": "first verified check"}  # no data: as stored

    ev = client.get(f"/cameras/{cid}/evidence").json()
    assert ev["latest"]["kind"] == "at_change" and ev["last_good"]["kind"] == "last_good"
    assert ev["reference"]["kind"] == "reference"
    pics = {}
    for kind in ("latest", "last_good", "reference"):
        r = client.get(f"/cameras/{cid}/evidence/{kind}")
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape[:2] == (180, 320)
        pics[kind] = img
    # the frozen snapshot is the dark one; the reference is the normal (green) view
    assert pics["latest"].mean() < pics["reference"].mean()
    assert client.get(ev["latest"]["url"].removeprefix("/api/v1")).content == \
        client.get(f"/cameras/{cid}/evidence/latest").content
    never = live.seeded.never_checked[0]
    _problem(client.get(f"/cameras/{never}/evidence/latest"), 404)
    _problem(client.get(f"/cameras/{cid}/evidence/thumbnail", validate=False), 404)


def test_evidence_of_a_picture_unchanged_for_hours(client: CheckedClient, live: Live) -> None:
    """`unchanged`: the first picture of the run that did not change is served beside the others."""
    cid = live.seeded.unchanged
    st = client.get(f"/cameras/{cid}/state").json()
    assert st["status"] == "broken" and [f["code"] for f in st["findings"]] == ["unchanged"]
    ev = client.get(f"/cameras/{cid}/evidence").json()
    assert ev["unchanged_since"]["kind"] == "unchanged_since" and ev["latest"]["kind"] == "at_change"
    assert ev["unchanged_since"]["taken_at"] < ev["latest"]["taken_at"]
    r = client.get(f"/cameras/{cid}/evidence/unchanged_since")
    assert r.status_code == 200 and r.headers["X-Evidence-Kind"] == "unchanged_since"
    assert r.content == client.get(f"/cameras/{cid}/evidence/latest").content  # the same picture, a day apart
    assert client.get(f"/cameras/{live.seeded.with_evidence}/evidence").json()["unchanged_since"] is None


def test_registered_vs_measured(client: CheckedClient) -> None:
    comp = client.get("/cameras/GEN-0002/comparison").json()  # kind 2: degraded, 1280x720 at 12 fps
    rows = {r["field"]: r for r in comp["rows"]}
    assert rows["resolution"]["registered"] == "1920x1080" and rows["resolution"]["measured"] == "1280x720"
    assert rows["resolution"]["result"] == "mismatch" and rows["resolution"]["finding"] == "resolution_below_claim"
    assert rows["fps"]["result"] == "mismatch" and rows["fps"]["measured"] == 12.0
    assert rows["retention_days"]["result"] == "match"
    assert rows["main_stream_url"]["configured"].startswith("rtsp://10.1.")
    assert comp["mismatches"] == 2
    short = {r["field"]: r for r in client.get("/cameras/GEN-0001/comparison").json()["rows"]}
    assert short["retention_days"]["result"] == "mismatch" and short["retention_days"]["measured"] == 3.2
    fresh = {r["field"]: r for r in client.get("/cameras/EX-0001/comparison").json()["rows"]}
    assert fresh["resolution"]["result"] == "not_measured"


# --- maintenance --------------------------------------------------------------------------------

def test_maintenance_windows(client: CheckedClient, reader: CheckedClient, live: Live) -> None:
    cid = live.seeded.working[0]
    r = client.post("/maintenance", json={"target_id": cid, "reason": "ย้ายเสา", "owner": "ทีมซ่อม", "duration_hours": 4})
    assert r.status_code == 201, r.text
    w = r.json()
    assert w["active"] and w["created_by"] == "api:ops"
    exp = datetime.fromisoformat(w["expires_at"]) - datetime.fromisoformat(w["starts_at"])
    assert exp == timedelta(hours=4)
    active = client.get("/maintenance?active=true").json()["items"]
    assert {x["id"] for x in active} >= {w["id"], live.seeded.maintenance_id}
    cam = client.get(f"/cameras/{cid}/maintenance").json()["items"]
    assert [x["id"] for x in cam] == [w["id"]]
    assert client.get(f"/cameras/{cid}/state").json()["maintenance"][0]["reason"] == "ย้ายเสา"
    _problem(reader.post(f"/maintenance/{w['id']}/end"), 403)
    ended = client.post(f"/maintenance/{w['id']}/end").json()
    assert not ended["active"] and ended["ended_by"] == "api:ops"
    _problem(client.post(f"/maintenance/{w['id']}/end"), 409)
    assert client.get(f"/maintenance/{w['id']}").json()["ended_at"]
    # validation: unknown camera, both or neither expiry, naive time, parent scope
    _problem(client.post("/maintenance", json={"target_id": "NOPE", "reason": "r", "owner": "o", "duration_hours": 1}), 404)
    _problem(client.post("/maintenance", json={"target_id": cid, "reason": "r", "owner": "o"}), 422)
    future = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    _problem(client.post("/maintenance", json={"target_id": cid, "reason": "r", "owner": "o", "duration_hours": 1,
                                               "expires_at": future}), 422)
    _problem(client.post("/maintenance", json={"target_id": cid, "reason": "", "owner": "o", "duration_hours": 1}), 422)
    r = client.post("/maintenance", json={"scope": "parent", "target_id": "NVR-1", "reason": "NVR firmware",
                                          "owner": "vendor", "expires_at": future})
    assert r.status_code == 201
    covered = client.get("/cameras/GEN-0000/maintenance").json()["items"]
    assert any(x["scope"] == "parent" and x["active"] for x in covered)
    client.post(f"/maintenance/{r.json()['id']}/end")
    actions = [(a["action"], a["actor"]) for a in client.get("/audit?limit=30").json()["items"]]
    assert ("maintenance.create", "api:ops") in actions and ("maintenance.end", "api:ops") in actions


# --- daemon actions -----------------------------------------------------------------------------

def test_check_now_and_reference(client: CheckedClient, reader: CheckedClient, live: Live) -> None:
    cid = live.seeded.working[1]
    r = client.post(f"/cameras/{cid}/check")
    assert r.status_code == 202 and r.json()["action"] == "check_now"
    assert cid in live.control.checks
    _problem(reader.post(f"/cameras/{cid}/check"), 403)
    _problem(client.post("/cameras/NOPE/check"), 404)
    pic = jpeg("new reference")
    r = client.request("PUT", f"/cameras/{cid}/reference", data=pic, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 202
    assert (cid, len(pic)) in live.control.references
    _problem(client.request("PUT", f"/cameras/{cid}/reference", data=b"\xff\xd8\xffnot really",
                            headers={"Content-Type": "image/jpeg"}), 422)
    _problem(client.request("PUT", f"/cameras/{cid}/reference", data=pic, headers={"Content-Type": "image/png"}), 415)
    assert client.post(f"/cameras/{cid}/reference/rebaseline").status_code == 202
    assert (cid, None) in live.control.references
    body = _problem(client.post("/cameras/EX-0001/reference/rebaseline"), 409)
    assert "no snapshot" in body["detail"]
    actions = {(a["action"], a["target"]) for a in client.get("/audit?limit=30").json()["items"]}
    assert {("camera.check_now", cid), ("camera.reference.set", cid), ("camera.reference.rebaseline", cid)} <= actions


def test_read_only_mode_without_daemon_and_anonymous_read(live: Live) -> None:
    from tests.api.fleet_seed import live_server

    with live_server(live.db_url, control=False, anonymous_read=True, dashboard=False, seed_db=False) as srv:
        c = CheckedClient(srv)
        _problem(c.post("/cameras/GEN-0000/check"), 503)
        anon = c.get("/cameras?limit=1", token=False)
        assert anon.status_code == 200 and c.get("/whoami", token=False).json()["via"] == "anonymous"
        _problem(c.post("/cameras/GEN-0000/check", token=False), 401)  # anonymous never writes


# --- fleet figures ------------------------------------------------------------------------------

def test_summary_counts_match_the_registry(client: CheckedClient, live: Live) -> None:
    s = client.get("/summary").json()
    cams = client.get("/cameras?limit=500").json()["items"]
    assert s["total"] == len(cams)
    assert sum(r["total"] for r in s["by_label"]) == s["total"]
    assert {r["key"]: r["total"] for r in s["by_label"]}["under_repair"] >= 1
    assert sum(r["total"] for r in s["by_agency"]) == s["total"]
    assert sum(r["total"] for r in s["by_link"]) == s["total"]
    assert sum(s["by_state"].values()) == s["total"]
    labels = {}
    for c in cams:
        labels[c["label"]["code"]] = labels.get(c["label"]["code"], 0) + 1
    assert {r["key"]: r["total"] for r in s["by_label"] if r["total"]} == labels
    conf = s["confirmation"]
    assert conf["cameras"] == s["total"]
    assert conf["internet_viewable"] == sum(1 for c in cams if c["internet_viewable"])
    assert conf["points"] < conf["cameras"]  # generated cameras share points two by two
    assert s["never_verified"] == sum(1 for c in cams if c["last_check_at"] is None)
    av = {a["days"]: a for a in s["availability"]}
    assert set(av) == {7, 30} and 0 < av[7]["percent"] < av[30]["percent"] < 100
    assert av[7]["maintenance_s"] > 0
    assert s["retention"]["measured"] > s["retention"]["compliant"] > 0
    assert s["live"] == {"in_flight": 0, "queued": len(live.control.checks)}
    only = client.get("/summary", params={"district": "อุทัย"}).json()
    assert only["total"] == sum(1 for c in cams if c["district"] == "อุทัย")
    _problem(client.get("/summary?x=1"), 400)


def test_map_and_facets(client: CheckedClient) -> None:
    m = client.get("/map").json()
    cams = client.get("/cameras?limit=500").json()["items"]
    with_gps = [c for c in cams if c["lat"] is not None and c["lon"] is not None]
    assert len(m["points"]) == len(with_gps) and m["without_gps"] == len(cams) - len(with_gps)
    assert m["without_gps"] >= 1  # EX-0008's broken latitude
    assert {p["label"] for p in m["points"]} >= {"working_normally", "not_working", "broken", "unverified"}
    assert len(client.get("/map?status=broken").json()["points"]) == sum(1 for c in with_gps if c["status"] == "broken")
    f = client.get("/facets").json()
    assert "วังน้อย" in f["districts"] and "ธนาคารตัวอย่าง" in f["agencies"] and "zone-2" in f["tags"]
    assert "NVR-1" in f["parents"]


def test_no_secret_ever_in_a_response(client: CheckedClient, live: Live) -> None:
    for path in ("/cameras?limit=500", "/summary", "/audit?limit=200", "/map", "/facets", "/whoami"):
        client.get(path)
    for path in ("/state", "/comparison", "/transitions", "/checks", "/evidence"):
        client.get(f"/cameras/{live.seeded.with_evidence}{path}")
    blob = b"\n".join(client.seen)
    for secret in (WRITE_TOKEN, READ_TOKEN, "hunter2"):
        assert secret.encode() not in blob
