"""The dashboard in Debian's real headless Chromium (selenium), against the real API and registry
(SQLite, 10,000+ cameras). One browser for the module. Every page must load with no console errors;
screenshots go to test-artifacts/web/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from camcheck.exporters.api.reason_words import thai
from tests.api.fleet_seed import (
    ARTIFACTS,
    FROZEN_REASON,
    READ_TOKEN,
    WRITE_TOKEN,
    Live,
    cover_incident,
    database,
    live_server,
)
from tests.web.browser import chromium, console_errors, wait_for

pytestmark = pytest.mark.timeout(300)
SHOTS = ARTIFACTS / "web"
BULK = 10_000


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp: Path = tmp_path_factory.mktemp("web")
    with database("sqlite", tmp) as url, live_server(url, bulk=BULK) as live:
        yield live


@pytest.fixture(scope="module")
def browser(srv: Live) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as d:
        yield d


def api(srv: Live, path: str, **params: Any) -> Any:
    r = requests.get(srv.url + "/api/v1" + path, params=params, timeout=60,
                     headers={"Authorization": f"Bearer {READ_TOKEN}"})
    r.raise_for_status()
    return r.json()


def login(d: Any, srv: Live, token: str) -> None:
    d.delete_all_cookies()
    d.get(srv.url + "/ui/login")
    d.find_element(By.NAME, "token").send_keys(token)
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(lambda: d.current_url.rstrip("/").endswith("/ui"), what="redirect to the overview")


def no_errors(d: Any, where: str) -> None:
    errs = console_errors(d)
    assert not errs, f"console errors on {where}: {errs}"


def shot(d: Any, name: str) -> None:
    d.save_screenshot(str(SHOTS / f"{name}.png"))


def test_login_is_required_and_a_bad_token_is_refused(browser: Any, srv: Live) -> None:
    d = browser
    d.delete_all_cookies()
    d.get(srv.url + "/ui/cameras?district=x")
    wait_for(lambda: "/ui/login" in d.current_url, what="redirect to login")
    d.find_element(By.NAME, "token").send_keys("definitely-not-a-valid-token")
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(lambda: d.find_elements(By.CSS_SELECTOR, "p.error"), what="error message")
    shot(d, "login-refused")
    console_errors(d)  # the 401 page load itself is logged by Chromium; nothing else may be
    login(d, srv, WRITE_TOKEN)
    cookie = d.get_cookie("camcheck_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert WRITE_TOKEN not in cookie["value"]
    # the session cookie works for the API, but unsafe requests also need the CSRF header
    jar = {"camcheck_session": cookie["value"]}
    assert requests.get(srv.url + "/api/v1/whoami", cookies=jar, timeout=30).json()["via"] == "session"
    r = requests.post(srv.url + "/api/v1/cameras/GEN-0000/check", cookies=jar, timeout=30)
    assert r.status_code == 401 and "X-Camcheck-Request" in r.json()["detail"]
    no_errors(d, "login")


def test_overview_matches_the_api_and_switches_language(browser: Any, srv: Live) -> None:
    d = browser
    login(d, srv, READ_TOKEN)
    d.get(srv.url + "/ui/?lang=th")
    s = api(srv, "/summary")
    assert d.find_element(By.ID, "cf-cameras").text == str(s["total"]) == str(8 + 48 + BULK)
    assert d.find_element(By.ID, "cf-points").text == str(s["confirmation"]["points"])
    assert d.find_element(By.ID, "cf-internet").text == str(s["confirmation"]["internet_viewable"])
    bars = {e.get_attribute("data-label"): int(e.text) for e in d.find_elements(By.CSS_SELECTOR, ".bar-n")}
    assert bars == {r["key"]: r["total"] for r in s["by_label"]}
    assert d.find_element(By.TAG_NAME, "h1").text == "ภาพรวม"
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "th"
    # the vendored Thai font is what renders the page (no system fallback, no tofu)
    assert wait_for(lambda: d.execute_script(
        "return document.fonts.status === 'loaded' && "
        "Array.from(document.fonts).some(f => f.family.replace(/\"/g,'') === 'Sarabun' && f.status === 'loaded');"),
        what="Sarabun loaded")
    assert d.execute_script("return document.fonts.check('16px Sarabun', 'กล้องจำแนกตามสถานะ')")
    assert "ใช้ได้ปกติ" in d.find_element(By.TAG_NAME, "body").text
    no_errors(d, "overview (th)")
    shot(d, "overview-th")

    d.find_element(By.ID, "lang-switch").click()
    wait_for(lambda: d.find_element(By.TAG_NAME, "h1").text == "Overview", what="English")
    assert "working normally" in d.find_element(By.TAG_NAME, "body").text
    shot(d, "overview-en")
    d.get(srv.url + "/ui/cameras")  # the choice is remembered (cookie)
    assert d.find_element(By.TAG_NAME, "h1").text == "Cameras"
    d.get(srv.url + "/ui/?lang=th")
    assert d.find_element(By.TAG_NAME, "h1").text == "ภาพรวม"
    no_errors(d, "language switch")


def test_overview_names_the_parents_suspected_down_and_links_their_cameras(browser: Any, srv: Live) -> None:
    d = browser
    login(d, srv, READ_TOKEN)
    d.get(srv.url + "/ui/?lang=th")
    card = d.find_element(By.ID, "parents-down")
    assert [li.get_attribute("data-parent") for li in card.find_elements(By.TAG_NAME, "li")] == ["NVR-1"]
    nvr = api(srv, "/parents/NVR-1")
    assert "อุปกรณ์แม่ที่น่าจะขัดข้อง" in card.text and "NVR-1 (NVR ตลาด)" in card.text
    assert nvr["reason_text"]["th"] in card.text  # the incident's reason, in Thai
    d.find_element(By.ID, "lang-switch").click()
    wait_for(lambda: d.find_element(By.TAG_NAME, "h1").text == "Overview", what="English")
    card = d.find_element(By.ID, "parents-down")
    assert "Parent devices suspected down" in card.text and nvr["reason"] in card.text
    shot(d, "overview-parent-down-en")
    card.find_element(By.LINK_TEXT, f"see the {nvr['cameras']} cameras behind it").click()
    wait_for(lambda: "/ui/cameras" in d.current_url, what="the cameras page")
    wait_for(lambda: _count(d) == nvr["cameras"] == api(srv, "/cameras", parent="NVR-1", limit=1)["total"],
             what="the parent's cameras")
    chosen = Select(d.find_element(By.ID, "f-parent")).first_selected_option
    assert (chosen.get_attribute("value"), chosen.text) == ("NVR-1", "NVR-1 (NVR ตลาด)")  # the name people know
    # a camera behind it says so on its page, above its own status; one elsewhere does not
    d.get(srv.url + "/ui/cameras/GEN-0000?lang=th")
    note = d.find_element(By.ID, "parent-down")
    assert "กล้องนี้ต่อผ่าน NVR-1 (NVR ตลาด) ซึ่งน่าจะขัดข้อง" in note.text and nvr["reason_text"]["th"] in note.text
    d.get(srv.url + "/ui/cameras/GEN-0008?lang=th")
    assert d.find_element(By.TAG_NAME, "h1").text.startswith("GEN-0008") and not d.find_elements(By.ID, "parent-down")
    no_errors(d, "parents suspected down")
    d.get(srv.url + "/ui/?lang=th")


def test_parents_page_lists_every_parent_down_first_and_links_their_cameras(browser: Any, srv: Live) -> None:
    d = browser
    login(d, srv, READ_TOKEN)
    d.get(srv.url + "/ui/?lang=th")
    d.find_element(By.LINK_TEXT, "อุปกรณ์แม่").click()  # in the navigation
    wait_for(lambda: "/ui/parents" in d.current_url, what="the parents page")
    listed = api(srv, "/parents")["items"]
    rows = d.find_elements(By.CSS_SELECTOR, "#parents-table tbody tr")
    order = [r.get_attribute("data-parent") for r in rows]
    assert order[0] == "NVR-1" and sorted(order) == sorted(p["id"] for p in listed)  # the one down first
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[:3] == ["NVR-1", "NVR ตลาด", "เครื่องบันทึก"] and cells[5] == "เมือง" and cells[6] == "8"
    assert cells[7].startswith("น่าจะขัดข้อง ตั้งแต่ ")
    switch = next(r for r in rows if r.get_attribute("data-parent") == "SW-9")
    assert [c.text for c in switch.find_elements(By.TAG_NAME, "td")][2:] == ["สวิตช์", "", "", "", "0", "—", "—"]
    d.find_element(By.ID, "lang-switch").click()
    wait_for(lambda: d.find_element(By.TAG_NAME, "h1").text == "Parent devices", what="English")
    shot(d, "parents-en")
    rows[0] = d.find_element(By.CSS_SELECTOR, '#parents-table tr[data-parent="NVR-1"]')
    assert "recorder (NVR)" in rows[0].text and "suspected down since" in rows[0].text
    assert re.search(r"\b2 outages, 3\.[56] h in all\b", rows[0].text), rows[0].text
    rows[0].find_element(By.LINK_TEXT, "8").click()
    wait_for(lambda: "/ui/cameras" in d.current_url and _count(d) == 8, what="the parent's 8 cameras")
    no_errors(d, "parents page")


def test_a_parent_page_tells_its_outages_and_links_its_cameras(browser: Any, srv: Live) -> None:
    d = browser
    login(d, srv, READ_TOKEN)
    d.get(srv.url + "/ui/parents?lang=th")
    d.find_element(By.CSS_SELECTOR, '#parents-table tr[data-parent="NVR-1"] a[href="/ui/parents/NVR-1"]').click()
    wait_for(lambda: d.current_url.endswith("/ui/parents/NVR-1"), what="the parent's page")
    assert d.find_element(By.TAG_NAME, "h1").text == "NVR-1 (NVR ตลาด)"
    facts = d.find_element(By.ID, "parent-facts").text
    assert "เครื่องบันทึก" in facts and "เมือง" in facts
    assert d.find_element(By.ID, "parent-down").text.startswith("น่าจะขัดข้อง ตั้งแต่ ")
    rows = [[c.text for c in r.find_elements(By.TAG_NAME, "td")]
            for r in d.find_elements(By.CSS_SELECTOR, "#outages tbody tr")]
    nvr = api(srv, "/parents/NVR-1")
    assert [r[1:4] for r in rows] == [["—", "ยังขัดข้องอยู่", "3"], [rows[1][1], "1.5 ชั่วโมง", "3"]], rows
    assert rows[0][5] == nvr["reason_text"]["th"] and rows[1][1] != "—"
    shot(d, "parent-th")
    d.find_element(By.ID, "lang-switch").click()
    wait_for(lambda: "Outages in the last 90 days" in d.find_element(By.TAG_NAME, "body").text, what="English")
    assert d.find_element(By.CSS_SELECTOR, "#outages tbody tr td:nth-child(3)").text == "ongoing"
    d.find_element(By.CSS_SELECTOR, '#parent-facts a[href*="/ui/cameras?parent=NVR-1"]').click()
    wait_for(lambda: "/ui/cameras" in d.current_url and _count(d) == 8, what="the parent's 8 cameras")
    d.get(srv.url + "/ui/parents/SW-9?lang=en")
    assert d.find_element(By.ID, "outages").text == "No outage in this period"
    assert not d.find_elements(By.ID, "parent-down")
    no_errors(d, "a parent's page")
    d.get(srv.url + "/ui/parents/NO-SUCH?lang=en")
    assert "NO-SUCH" in d.find_element(By.TAG_NAME, "body").text
    errs = console_errors(d)  # the page's own 404, and nothing else
    assert len(errs) == 1 and "/ui/parents/NO-SUCH" in errs[0] and "404" in errs[0], errs


def test_a_recorder_behind_a_site_that_is_down_says_so_after_the_site(browser: Any, srv: Live) -> None:
    """A site's uplink down: the site's incident is listed first and the recorder behind it says its
    outage is told as the site's (for this test only: the seeded registry is put back after)."""
    d = browser
    login(d, srv, READ_TOKEN)
    srv.run(lambda: cover_incident(srv.store, "NVR-1", "SW-9"))
    try:
        assert api(srv, "/parents/NVR-1")["incident"]["covered_by"] == "SW-9"
        d.get(srv.url + "/ui/?lang=en")
        card = d.find_element(By.ID, "parents-down")
        items = card.find_elements(By.TAG_NAME, "li")
        assert [li.get_attribute("data-parent") for li in items] == ["SW-9", "NVR-1"]  # the one that tells first
        assert "Down with SW-9, the device it is behind: told as that one's incident" in items[1].text
        assert "Down with" not in items[0].text
        d.get(srv.url + "/ui/?lang=th")
        note = d.find_element(By.CSS_SELECTOR, '#parents-down li[data-parent="NVR-1"] .covered')
        assert note.text == "ขัดข้องพร้อมกับ SW-9 ซึ่งอยู่ต้นทาง: แจ้งเป็นเหตุขัดข้องเดียวของอุปกรณ์นั้น"
        shot(d, "overview-site-down-th")
        no_errors(d, "a recorder covered by its site")
    finally:
        srv.run(lambda: cover_incident(srv.store, "NVR-1", "SW-9", covered=False))
    assert api(srv, "/parents/NVR-1")["incident"]["covered_by"] is None


def _count(d: Any) -> int:
    el = wait_for(lambda: d.find_element(By.ID, "count") if not d.execute_script(
        "return document.body.hasAttribute('data-loading')") else None, what="table loaded")
    return int(wait_for(lambda: el.get_attribute("data-total"), what="count"))


def test_camera_table_filters_and_paging_on_10000_cameras(browser: Any, srv: Live) -> None:
    d = browser
    d.get(srv.url + "/ui/cameras?lang=th")
    total = _count(d)
    assert total == api(srv, "/cameras", limit=1)["total"] == 8 + 48 + BULK
    assert len(d.find_elements(By.CSS_SELECTOR, "#cams tbody tr")) == 50
    Select(d.find_element(By.ID, "f-district")).select_by_value("วังน้อย")
    wait_for(lambda: _count(d) == api(srv, "/cameras", district="วังน้อย", limit=1)["total"], what="district filter")
    rows = d.find_elements(By.CSS_SELECTOR, "#cams tbody tr")
    assert rows and all(r.find_elements(By.TAG_NAME, "td")[3].text == "วังน้อย" for r in rows)
    assert "district=" in d.current_url  # filters are in the URL: a filtered view can be shared
    Select(d.find_element(By.ID, "f-status")).select_by_value("broken")
    want = api(srv, "/cameras", district="วังน้อย", status="broken", limit=1)["total"]
    wait_for(lambda: _count(d) == want, what="status filter")
    assert {r.get_attribute("data-status") for r in d.find_elements(By.CSS_SELECTOR, "#cams tbody tr")} == {"broken"}
    d.find_element(By.ID, "f-clear").click()
    wait_for(lambda: _count(d) == total, what="filters cleared")
    q = d.find_element(By.ID, "f-q")
    q.send_keys("ตลาดสด")
    wait_for(lambda: _count(d) == 2, what="Thai text search")
    ids = [r.get_attribute("data-id") for r in d.find_elements(By.CSS_SELECTOR, "#cams tbody tr")]
    assert ids == ["EX-0001", "EX-0002"]
    shot(d, "cameras-search-th")
    q.clear()
    d.find_element(By.ID, "f-apply").click()
    wait_for(lambda: _count(d) == total, what="search cleared")
    first = d.find_element(By.CSS_SELECTOR, "#cams tbody tr").get_attribute("data-id")
    d.find_element(By.ID, "next").click()
    wait_for(lambda: d.find_element(By.CSS_SELECTOR, "#cams tbody tr").get_attribute("data-id") != first, what="page 2")
    assert "51" in d.find_element(By.ID, "count").text
    no_errors(d, "camera table")
    shot(d, "cameras-page2")


def test_map_shows_markers_without_tiles(browser: Any, srv: Live) -> None:
    d = browser
    d.get(srv.url + "/ui/map?tag=demo")
    box = d.find_element(By.ID, "map")
    n = int(wait_for(lambda: box.get_attribute("data-markers"), what="markers"))
    assert n == len(api(srv, "/map", tag="demo")["points"]) == 48
    assert box.get_attribute("data-renderer") == "svg"
    markers = d.find_elements(By.CSS_SELECTOR, "#map path.cam-marker")
    assert len(markers) == 48
    classes = " ".join(m.get_attribute("class") for m in markers)
    assert "lab-not_working" in classes and "lab-working_normally" in classes
    assert not d.find_elements(By.CSS_SELECTOR, ".leaflet-tile")  # no tile server configured: none requested
    markers[0].click()
    wait_for(lambda: d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content a"), what="popup")
    no_errors(d, "map (demo tag)")
    shot(d, "map-demo")
    d.get(srv.url + "/ui/map")
    box = d.find_element(By.ID, "map")
    n = int(wait_for(lambda: box.get_attribute("data-markers"), timeout=60, what="all markers"))
    assert n == len(api(srv, "/map")["points"]) > BULK
    assert box.get_attribute("data-renderer") == "canvas" and d.find_elements(By.CSS_SELECTOR, "#map canvas")
    no_errors(d, "map (all)")
    shot(d, "map-all")


def test_markers_show_when_the_tile_server_is_unreachable(srv: Live) -> None:
    with live_server(srv.db_url, seed_db=False, tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png",
                     anonymous_read=True) as other, chromium() as d:
        d.get(other.url + "/ui/map?tag=demo")  # anonymous read: no login
        box = d.find_element(By.ID, "map")
        assert int(wait_for(lambda: box.get_attribute("data-markers"), what="markers")) == 48
        assert len(d.find_elements(By.CSS_SELECTOR, "#map path.cam-marker")) == 48
        assert d.find_elements(By.CSS_SELECTOR, ".leaflet-tile")  # tiles were tried...
        errs = console_errors(d)
        assert all("127.0.0.1:9/" in e for e in errs), errs  # ...and only they failed
        shot(d, "map-tiles-unreachable")


def test_camera_page_evidence_values_timeline_and_maintenance(browser: Any, srv: Live) -> None:
    d = browser
    login(d, srv, WRITE_TOKEN)
    cid = srv.seeded.with_evidence
    d.get(srv.url + f"/ui/cameras/{cid}?lang=th")
    for pic in ("pic-latest", "pic-reference"):
        img = d.find_element(By.CSS_SELECTOR, f"#{pic} img")
        assert wait_for(lambda img=img: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img),
                        what=f"{pic} loaded") == 320
    findings = [li.get_attribute("data-code") for li in d.find_elements(By.CSS_SELECTOR, "#findings li[data-code]")]
    assert findings == ["frozen"]
    # why, in the daemon's words, under the status
    # why, in Thai on the Thai page (rendered from the stored reason's data), under the status
    assert d.find_element(By.ID, "cam-reason").text == f"สาเหตุ: {thai(FROZEN_REASON)}"
    assert d.find_element(By.ID, "cam-reason").text.startswith("สาเหตุ: ภาพใช้งานไม่ได้ 3 ครั้งติดต่อกัน ตั้งแต่ ")
    assert thai(FROZEN_REASON) in d.find_element(By.ID, "history").text  # the change, in the history table
    assert "ภาพค้าง" in d.find_element(By.ID, "findings").text
    assert len(d.find_elements(By.CSS_SELECTOR, ".timeline .seg")) >= 2
    assert len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 2
    # the check table, newest first: what each check read, its verdict and findings, what it measured
    checks = d.find_elements(By.CSS_SELECTOR, "#checks tbody tr")
    assert [(r.get_attribute("data-read"), r.get_attribute("data-verdict")) for r in checks] == [
        ("sub", "broken"), ("main", "working"), ("main", "working"), ("onvif", "onvif_ok"), ("main", "working")]
    assert "สตรีมรอง" in checks[0].text and "ภาพค้าง" in checks[0].text
    assert checks[0].find_element(By.CSS_SELECTOR, "[data-code]").get_attribute("data-code") == "frozen"
    assert "สตรีมหลัก" in checks[1].text and "1920x1080" in checks[1].text and "25.0 fps" in checks[1].text
    assert "ONVIF" in checks[3].text and "กำลังบันทึก" in checks[3].text
    d.execute_script("arguments[0].scrollIntoView()", d.find_element(By.ID, "checks"))
    shot(d, "camera-checks-th")
    no_errors(d, "camera page")
    shot(d, "camera-broken-th")

    # start maintenance from the page (write session), then end it early
    form = d.find_element(By.ID, "maint-form")
    form.find_element(By.NAME, "reason").send_keys("เปลี่ยนกล้องใหม่")
    form.find_element(By.NAME, "owner").send_keys("ช่างเอก")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: d.find_elements(By.CSS_SELECTOR, "#windows li[data-window]"), what="window listed")
    assert "เปลี่ยนกล้องใหม่" in d.find_element(By.ID, "windows").text
    shot(d, "camera-maintenance")
    d.find_element(By.CSS_SELECTOR, ".end-maint").click()
    wait_for(lambda: not d.find_elements(By.CSS_SELECTOR, "#windows li[data-window]"), what="window ended")
    audit = api(srv, "/audit", limit=20)["items"]
    assert {("maintenance.create", "api:ops"), ("maintenance.end", "api:ops")} <= {(a["action"], a["actor"]) for a in audit}
    d.find_element(By.ID, "check-now").click()
    wait_for(lambda: d.find_element(By.ID, "action-msg").text == "เรียบร้อย", what="check queued")
    assert cid in srv.control.checks
    no_errors(d, "camera page actions")

    # `unchanged`: the run's picture beside the latest, and a good one only from before the run (the
    # good picture kept during the run shows the same frozen view)
    d.get(srv.url + f"/ui/cameras/{srv.seeded.unchanged}?lang=en")
    ev = api(srv, f"/cameras/{srv.seeded.unchanged}/evidence")
    same = d.find_element(By.ID, "pic-unchanged_since")
    assert same.get_attribute("data-evidence") == str(ev["unchanged_since"]["id"])
    assert "Same picture since" in same.text and "(UTC+7)" in same.text
    good = d.find_element(By.ID, "pic-last_good").get_attribute("data-evidence")
    befores = [i for i in ev["items"] if i["kind"] == "last_good" and i["taken_at"] < ev["unchanged_since"]["taken_at"]]
    assert good == str(max(befores, key=lambda i: i["taken_at"])["id"]) != str(ev["last_good"]["id"])
    for pic in ("pic-latest", "pic-unchanged_since", "pic-last_good"):
        img = d.find_element(By.CSS_SELECTOR, f"#{pic} img")
        assert wait_for(lambda img=img: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img),
                        what=f"{pic} loaded") == 320
    no_errors(d, "camera page, unchanged")
    shot(d, "camera-unchanged-en")
    d.get(srv.url + f"/ui/cameras/{cid}?lang=en")
    assert not d.find_elements(By.ID, "pic-unchanged_since")  # only for the finding it proves

    d.get(srv.url + "/ui/cameras/GEN-0002?lang=en")  # degraded: measured below the registered claims
    mism = d.find_elements(By.CSS_SELECTOR, "#compare tr.res-mismatch")
    assert len(mism) == 2 and "MISMATCH" in mism[0].text
    assert "1280x720" in d.find_element(By.ID, "compare").text
    first = d.find_element(By.CSS_SELECTOR, "#checks tbody tr")
    assert "main stream" in first.text and "12.0 fps" in first.text and "2.00 Mbit/s" in first.text
    assert "The last 3 checks" in d.page_source
    no_errors(d, "camera page (en)")
    shot(d, "camera-degraded-en")


def test_read_only_session_cannot_write(browser: Any, srv: Live) -> None:
    d = browser
    login(d, srv, READ_TOKEN)
    d.get(srv.url + f"/ui/cameras/{srv.seeded.working[0]}")
    assert not d.find_element(By.ID, "check-now").is_enabled()
    assert not d.find_element(By.CSS_SELECTOR, "#maint-form button").is_enabled()
    no_errors(d, "read-only camera page")
