"""The dashboard's and the report's own words, Thai and English. Labels of states, findings and
national statuses come from camcheck.exporters.api.words."""

from __future__ import annotations

from aiohttp import web

LANG_COOKIE = "camcheck_lang"
DEFAULT_LANG = "th"

UI: dict[str, tuple[str, str]] = {
    "app": ("camcheck — ตรวจสอบกล้องโทรทัศน์วงจรปิด", "camcheck — CCTV verification"),
    "overview": ("ภาพรวม", "Overview"),
    "cameras": ("กล้อง", "Cameras"),
    "map": ("แผนที่", "Map"),
    "login": ("เข้าสู่ระบบ", "Log in"),
    "logout": ("ออกจากระบบ", "Log out"),
    "token": ("โทเคน API", "API token"),
    "login_help": ("วางโทเคน API ที่ผู้ดูแลระบบให้ไว้ (สิทธิ์อ่านหรือเขียน) ระบบจะเก็บเพียงคุกกี้การเข้าสู่ระบบ ไม่เก็บโทเคน",
                   "Paste the API token your administrator gave you (read or write). Only a login cookie is kept, never the token."),
    "login_failed": ("โทเคนไม่ถูกต้อง", "That token is not valid"),
    "signed_in_as": ("ผู้ใช้", "Signed in as"),
    "read_only": ("อ่านอย่างเดียว", "read only"),
    "confirmation": ("แบบยืนยันข้อมูลของจังหวัด", "Provincial confirmation form"),
    "points": ("จำนวนจุดติดตั้ง", "Installation points"),
    "n_cameras": ("จำนวนกล้อง", "Cameras"),
    "internet_viewable": ("ดูผ่านอินเทอร์เน็ตได้", "Viewable over the internet"),
    "verified_working": ("ตรวจสอบแล้วใช้ได้ปกติ", "Verified working normally"),
    "by_status": ("กล้องจำแนกตามสถานะ", "Cameras by status"),
    "by_agency": ("จำแนกตามหน่วยงานเจ้าของกล้อง", "By owner agency"),
    "by_purpose": ("จำแนกตามวัตถุประสงค์", "By purpose"),
    "by_link": ("จำแนกตามการเชื่อมโยงเครือข่าย", "By network link"),
    "by_district": ("จำแนกตามอำเภอ", "By district"),
    "availability": ("ความพร้อมใช้งาน", "Availability"),
    "days": ("วัน", "days"),
    "last_n_days": ("{n} วันล่าสุด", "last {n} days"),
    "retention": ("การเก็บบันทึกภาพตามที่ลงทะเบียน", "Recording retention as registered"),
    "retention_registered": ("กล้องที่ลงทะเบียนจำนวนวันเก็บบันทึก", "Cameras with a registered retention"),
    "retention_measured": ("วัดได้จริง", "Measured"),
    "retention_compliant": ("เก็บได้ตามที่ลงทะเบียน", "Keep what is registered"),
    "never_verified": ("ลงทะเบียนแล้วแต่ยังไม่เคยตรวจสอบ", "Registered but never verified"),
    "total": ("รวม", "Total"),
    "name": ("ชื่อ / จุดติดตั้ง", "Name / point"),
    "id": ("รหัสกล้อง", "Camera id"),
    "agency": ("หน่วยงาน", "Agency"),
    "district": ("อำเภอ", "District"),
    "purpose": ("วัตถุประสงค์", "Purpose"),
    "status": ("สถานะ", "Status"),
    "state": ("สถานะ camcheck", "camcheck state"),
    "last_check": ("ตรวจสอบล่าสุด", "Last checked"),
    "findings": ("ข้อสังเกต", "Findings"),
    "no_findings": ("ไม่พบปัญหา", "No problems found"),
    "search": ("ค้นหา", "Search"),
    "search_ph": ("รหัส ชื่อ จุดติดตั้ง หรือหน่วยงาน", "id, name, point or agency"),
    "all": ("ทั้งหมด", "All"),
    "tag": ("แท็ก", "Tag"),
    "apply": ("กรอง", "Filter"),
    "clear": ("ล้าง", "Clear"),
    "prev": ("ก่อนหน้า", "Previous"),
    "next": ("ถัดไป", "Next"),
    "showing": ("แสดง {a}–{b} จาก {n}", "Showing {a}–{b} of {n}"),
    "loading": ("กำลังโหลด…", "Loading…"),
    "none_found": ("ไม่พบกล้องตามเงื่อนไข", "No cameras match"),
    "map_legend": ("สัญลักษณ์", "Legend"),
    "map_no_gps": ("กล้องที่ไม่มีพิกัด: {n}", "Cameras without GPS: {n}"),
    "map_no_tiles": ("ไม่ได้ตั้งค่าแผนที่พื้นหลัง แสดงเฉพาะตำแหน่งกล้อง", "No map tiles configured: camera positions only"),
    "latest_snapshot": ("ภาพล่าสุด", "Latest snapshot"),
    "reference": ("ภาพอ้างอิง", "Reference view"),
    "last_good": ("ภาพล่าสุดที่ใช้งานได้", "Last good picture"),
    "no_picture": ("ยังไม่มีภาพ", "No picture yet"),
    "values": ("ค่าที่ลงทะเบียน ค่าที่ตั้งค่า และค่าที่วัดได้", "Registered, configured and measured values"),
    "field": ("รายการ", "Item"),
    "registered": ("ลงทะเบียน", "Registered"),
    "configured": ("ตั้งค่าไว้", "Configured"),
    "measured": ("วัดได้", "Measured"),
    "result": ("ผล", "Result"),
    "match": ("ตรงกัน", "matches"),
    "mismatch": ("ไม่ตรง", "MISMATCH"),
    "not_measured": ("ยังไม่ได้วัด", "not measured"),
    "not_registered": ("ไม่ได้ลงทะเบียน", "not registered"),
    "info": ("", ""),
    "timeline": ("ลำดับการเปลี่ยนสถานะ", "Status timeline"),
    "when": ("เวลา", "When"),
    "change": ("การเปลี่ยนแปลง", "Change"),
    "reason": ("สาเหตุ", "Reason"),
    "no_transitions": ("ยังไม่มีการเปลี่ยนสถานะ", "No status changes yet"),
    "since": ("ตั้งแต่", "since"),
    "recent_checks": ("ผลการตรวจสอบ {n} ครั้งล่าสุด", "The last {n} checks"),
    "recent_checks_help": ("แต่ละครั้งอ่านสตรีมหลัก (ที่บันทึก) สตรีมรอง หรือถามอุปกรณ์ผ่าน ONVIF "
                           "ค่าความละเอียด อัตราภาพ และบิตเรตวัดจากสตรีมหลักเท่านั้น",
                           "Each check read the main (recorded) stream, the sub-stream, or asked the device over "
                           "ONVIF; resolution, frame rate and bitrate are measured on the main stream only."),
    "no_checks": ("ยังไม่เคยตรวจสอบ", "Not checked yet"),
    "read": ("อ่านจาก", "Read"),
    "read_main": ("สตรีมหลัก", "main stream"),
    "read_sub": ("สตรีมรอง", "sub-stream"),
    "read_onvif": ("ONVIF (การบันทึก การตั้งค่า)", "ONVIF (recording, settings)"),
    "read_unknown": ("—", "—"),
    "check_onvif_ok": ("ปกติ", "OK"),
    "check_onvif_problem": ("พบปัญหา", "problem"),
    "check_error": ("ตรวจสอบไม่สำเร็จ", "check failed"),
    "duration": ("ใช้เวลา", "Took"),
    "node": ("เครื่องที่ตรวจ", "Node"),
    "kept_days": ("เก็บบันทึก {n} วัน", "{n} days kept"),
    "recording_on": ("กำลังบันทึก", "recording"),
    "recording_off": ("ไม่ได้บันทึก", "NOT recording"),
    "survey": ("ข้อมูลตามแบบสำรวจ", "Survey record"),
    "maintenance": ("การซ่อมบำรุง", "Maintenance"),
    "start_maintenance": ("แจ้งเริ่มซ่อมบำรุง", "Start maintenance"),
    "end_maintenance": ("สิ้นสุดการซ่อมบำรุงตอนนี้", "End maintenance now"),
    "owner": ("ผู้รับผิดชอบ", "Owner"),
    "hours": ("จำนวนชั่วโมง", "Hours"),
    "expires": ("สิ้นสุด", "Expires"),
    "no_maintenance": ("ไม่มีการซ่อมบำรุงที่กำลังดำเนินอยู่", "No maintenance in progress"),
    "check_now": ("ตรวจสอบทันที", "Check now"),
    "needs_write": ("ต้องใช้โทเคนสิทธิ์เขียน", "needs a write token"),
    "done": ("เรียบร้อย", "Done"),
    "failed": ("ไม่สำเร็จ", "Failed"),
    "gps": ("พิกัด", "GPS"),
    "control_centre": ("ศูนย์ควบคุมที่เชื่อมโยง", "Linked control centre"),
    "network": ("โครงข่าย / ผู้ให้บริการ", "Network / provider"),
    "brand": ("ยี่ห้อกล้อง", "Camera brand"),
    "contact": ("ผู้ติดต่อ", "Contact"),
    "police_station": ("สถานีตำรวจที่รับผิดชอบ", "Police station"),
    "year_installed": ("ปีที่ติดตั้ง", "Year installed"),
    "registry_status": ("สถานะตามทะเบียน", "Registered status"),
    "yes": ("ใช่", "yes"),
    "no": ("ไม่ใช่", "no"),
    "not_found": ("ไม่พบกล้อง", "Camera not found"),
    "percent_na": ("ยังไม่มีข้อมูล", "no data yet"),
    "lang_switch": ("English", "ไทย"),
    "generated": ("ข้อมูล ณ", "Figures as of"),
    "api_doc": ("เอกสาร API", "API document"),
}


def t(key: str, lang: str, **kw: object) -> str:
    th, en = UI[key]
    text = th if lang == "th" else en
    return text.format(**kw) if kw else text


def request_lang(request: web.Request) -> str:
    """?lang= wins (and is remembered in a cookie by the page handler), then the cookie, then Thai."""
    q = request.query.get("lang")
    if q in ("th", "en"):
        return q
    c = request.cookies.get(LANG_COOKIE)
    return c if c in ("th", "en") else DEFAULT_LANG
