"""The report as one self-contained HTML file that prints cleanly on A4 for the committee's signed
copy: embedded Thai font and thumbnails (no network), @page A4, page breaks between parts, table
headers repeated on every page, rows never split, a signature block at the end."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from camcheck.exporters.api.summary import LABEL_ORDER, GroupFigures
from camcheck.exporters.report.data import ReportData, camera_values
from camcheck.exporters.report.words import r
from camcheck.exporters.api.words import fmt_time, in_lang, label_text
from camcheck.registry.incidents import RECENT_DAYS
from camcheck.registry.models import ParentKind

FONTS = Path(__file__).resolve().parents[1] / "web" / "static" / "fonts"
_RANGES = {"thai": "U+0E01-0E5B,U+200C-200D,U+25CC", "latin": "U+0000-00FF,U+2000-206F,U+20AC,U+2122,U+2212"}


def e(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def _font_css() -> str:
    out = []
    for subset, rng in _RANGES.items():
        for weight in (400, 700):
            data = (FONTS / f"sarabun-{subset}-{weight}-normal.woff2").read_bytes()
            b64 = base64.b64encode(data).decode()
            out.append(f'@font-face{{font-family:"Sarabun";font-weight:{weight};font-style:normal;'
                       f'src:url(data:font/woff2;base64,{b64}) format("woff2");unicode-range:{rng};}}')
    return "\n".join(out)


CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Sarabun", "Garuda", "Loma", sans-serif; font-size: 10pt; line-height: 1.35; color: #111; margin: 0; }
h1 { font-size: 16pt; margin: 0 0 4mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; break-after: avoid; }
p.meta { margin: 0 0 1mm; color: #333; }
section.part { break-before: page; }
table { border-collapse: collapse; width: 100%; margin-bottom: 3mm; }
thead { display: table-header-group; }   /* header repeated on every printed page */
tfoot { display: table-footer-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 0.3mm solid #9aa5b1; padding: 1mm 1.4mm; vertical-align: top; text-align: left; }
thead th { background: #dce3ea; }
td.n, th.n { text-align: right; white-space: nowrap; }
.tiles { display: flex; gap: 3mm; margin-bottom: 2mm; }
.tile { flex: 1; border: 0.3mm solid #9aa5b1; padding: 2mm 3mm; }
.tile b { display: block; font-size: 16pt; }
.lab-working_normally { background: #c8e6c9; } .lab-not_working { background: #ffcdd2; }
.lab-broken { background: #ffe0b2; } .lab-under_repair { background: #bbdefb; } .lab-unverified { background: #e0e0e0; }
table.cams { font-size: 8pt; table-layout: fixed; }
table.cams td { word-wrap: break-word; overflow-wrap: anywhere; }
td.mismatch { background: #f8c9c9; font-weight: 700; }
.legend { display: inline-block; padding: 0.5mm 2mm; }
img.thumb { width: 30mm; height: auto; display: block; }
.signatures { break-before: page; }
.signatures .block { break-inside: avoid; display: grid; grid-template-columns: 1fr 1fr; gap: 12mm 10mm; margin-top: 10mm; }
.sig { padding-top: 14mm; }
.sig .line { border-bottom: 0.3mm dotted #333; height: 6mm; }
.muted { color: #555; }
@media screen { body { max-width: 210mm; margin: 0 auto; padding: 10mm; background: #fff; } }
"""


def _counts(rows: list[Any], lang: str) -> str:
    labels = "".join(f'<th class="n">{e(label_text(c, lang))}</th>' for c in LABEL_ORDER)
    body = "".join(
        f'<tr><td>{e(in_lang(x, lang))}</td><td class="n"><b>{x.total}</b></td>'
        + "".join(f'<td class="n">{x.by_label.get(c, 0)}</td>' for c in LABEL_ORDER) + "</tr>" for x in rows)
    return f'<table><thead><tr><th></th><th class="n">{e(r("total", lang))}</th>{labels}</tr></thead><tbody>{body}</tbody></table>'


def _pct(v: float | None, lang: str) -> str:
    return e(r("no_data", lang)) if v is None else f"{v:.1f}%"


def _groups(groups: list[GroupFigures], lang: str, name_key: str) -> str:
    head = "".join(f"<th{' class=n' if i else ''}>{e(r(k, lang))}</th>" for i, k in enumerate(
        (name_key, "cameras", "working", "avail_7", "avail_30", "ret_measured", "ret_ok", "ret_pct")))
    rows = []
    for g in groups:
        av = {a.days: a.percent for a in g.availability}
        rows.append(f"<tr><td>{e(g.name[0] if lang == 'th' else g.name[1])}</td><td class=n>{g.cameras}</td>"
                    f"<td class=n>{g.working}</td><td class=n>{_pct(av.get(7), lang)}</td><td class=n>{_pct(av.get(30), lang)}</td>"
                    f"<td class=n>{g.retention.measured}</td><td class=n>{g.retention.compliant}</td>"
                    f"<td class=n>{_pct(g.retention.percent, lang)}</td></tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


REASON_PRINTED = 160  # characters of a reason on the printed page (the XLSX and CSV carry it whole)


def _reason(text: str | None) -> str:
    if not text:
        return ""
    short = text if len(text) <= REASON_PRINTED else text[: REASON_PRINTED - 1] + "…"
    return f'<br><span class="muted reason">{e(short)}</span>'


def _camera_rows(d: ReportData, lang: str, progress: Callable[[str, int, int], None] | None) -> str:
    out = []
    total = len(d.cameras)
    for i, row in enumerate(d.cameras, start=1):
        v = camera_values(row, lang)

        def pair(reg: str, meas: str, fld: str) -> str:
            cls = ' class="mismatch"' if row.mismatch(fld) else ""
            return f"<td{cls}>{e(v[reg] if v[reg] is not None else '—')} / {e(v[meas] if v[meas] is not None else '—')}</td>"

        thumb = ""
        if row.thumbnail:
            thumb = (f'<img class="thumb" alt="{e(r("evidence", lang))} {e(row.cam.id)}" '
                     f'src="data:image/jpeg;base64,{base64.b64encode(row.thumbnail).decode()}">')
        last = fmt_time(v["last_verified"], lang) if v["last_verified"] else "—"
        out.append(
            f'<tr data-id="{e(row.cam.id)}"><td><b>{e(row.cam.id)}</b><br>{e(v["name"])}</td>'
            f'<td>{e(v["agency"])}<br><span class="muted">{e(v["district"])}</span></td>'
            f'<td class="lab-{e(row.label)}">{e(v["verified_status"])}<br><span class="muted">'
            f'{e(r("registry_status", lang))}: {e(v["registry_status"] or "—")}</span></td>'
            f"<td>{e(last)}</td>"
            f'{pair("res_reg", "res_meas", "resolution")}{pair("fps_reg", "fps_meas", "fps")}'
            f'{pair("ret_reg", "ret_meas", "retention_days")}'
            f'<td>{e(v["findings"] or "")}{_reason(v["reason"])}</td><td>{thumb}</td></tr>')
        if progress and (i % 1000 == 0 or i == total):
            progress("html rows", i, total)
    return "".join(out)


def _device_outages(d: ReportData, lang: str) -> str:
    if not d.device_outages:
        return f"<p>{e(r('none', lang))}</p>"
    heads = "".join(f"<th{' class=n' if k in ('times_down', 'hours_down', 'cameras_behind') else ''}>{e(r(k, lang))}</th>"
                    for k in ("device_id", "device_title", "kind", "district", "cameras_behind", "times_down",
                              "hours_down", "down_now"))
    rows = "".join(
        f"<tr><td>{e(o.id)}</td><td>{e(o.name)}</td><td>{e(ParentKind(o.kind).label(lang))}</td><td>{e(o.district)}</td>"
        f'<td class="n">{o.cameras}</td><td class="n">{o.outages}</td><td class="n">{o.down_s / 3600:.1f}</td>'
        f"<td>{e(r('yes', lang)) if o.down_now else ''}</td></tr>" for o in d.device_outages)
    return (f'<p class="muted">{e(r("outages_note", lang))}</p><table><thead><tr>{heads}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def render_html(d: ReportData, *, progress: Callable[[str, int, int], None] | None = None) -> str:
    lang, s = d.lang, d.summary
    c = s.confirmation
    tiles = "".join(f'<div class="tile"><b>{v}</b>{e(r(k, lang))}</div>' for k, v in (
        ("points", c.points), ("cameras", c.cameras), ("internet", c.internet_viewable),
        ("verified_working", c.verified_working)))
    status_rows = "".join(
        f'<tr><td class="lab-{e(x.key)}">{e(in_lang(x, lang))}</td><td class="n">{x.total}</td>'
        f'<td class="n">{(100.0 * x.total / s.total) if s.total else 0:.1f}%</td></tr>' for x in s.by_label)
    avail = " · ".join(f"{e(r('avail_7' if a.days == 7 else 'avail_30', lang))}: {_pct(a.percent, lang)}"
                       for a in s.availability if a.days in (7, 30))
    never_rows = "".join(f"<tr><td>{e(x.cam.id)}</td><td>{e(x.cam.name or x.cam.point_name)}</td><td>{e(x.cam.owner_agency)}</td>"
                         f"<td>{e(x.cam.district)}</td></tr>" for x in d.never_verified)
    never = (f'<p class="muted">{e(r("never_note", lang))}</p><table><thead><tr><th>{e(r("id", lang))}</th>'
             f'<th>{e(r("name", lang))}</th><th>{e(r("agency", lang))}</th><th>{e(r("district", lang))}</th></tr></thead>'
             f"<tbody>{never_rows}</tbody></table>") if d.never_verified else f"<p>{e(r('none', lang))}</p>"
    if d.discovered_unregistered is None:
        unreg = f"<p>{e(r('no_discovery', lang))}</p>"
    elif not d.discovered_unregistered:
        unreg = f"<p>{e(r('none', lang))}</p>"
    else:
        unreg = (f'<table><thead><tr><th>{e(r("host", lang))}</th><th>{e(r("device_name", lang))}</th>'
                 f'<th>{e(r("hardware", lang))}</th><th>ONVIF</th></tr></thead><tbody>'
                 + "".join(f"<tr><td>{e(x.host)}</td><td>{e(x.name)}</td><td>{e(x.hardware)}</td>"
                           f"<td>{e(', '.join(x.xaddrs))}</td></tr>" for x in d.discovered_unregistered)
                 + "</tbody></table>")
    outages = _device_outages(d, lang)
    cam_head = "".join(f"<th style='width:{w}'>{e(t)}</th>" for t, w in (
        (f'{r("id", lang)} / {r("name", lang)}', "15%"), (r("agency", lang), "12%"), (r("verified_status", lang), "12%"),
        (r("last_verified", lang), "9%"), (f'{r("resolution", lang)} ({r("registered_measured", lang)})', "11%"),
        (f'{r("frame_rate", lang)} ({r("registered_measured", lang)})', "8%"),
        (f'{r("retention", lang)} ({r("registered_measured", lang)})', "8%"), (r("findings", lang), "12%"),
        (r("evidence", lang), "13%")))
    sig = "".join(f'<div class="sig"><div class="line"></div>{e(r("sign", lang))} ..........................................<br>'
                  f'( .................................................. )<br>{e(r(role, lang))}<br>'
                  f'{e(r("date", lang))} ........ / ........ / ........</div>'
                  for role in ("chair", "member", "member", "secretary"))
    province = d.province or r("all_provinces", lang)
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{e(r("title", lang))} — {e(province)}</title>
<style>
{_font_css()}
{CSS}
</style>
</head>
<body>
<h1>{e(r("title", lang))}</h1>
<p class="meta">{e(r("province", lang))}: <b>{e(province)}</b> · {e(r("generated", lang))}: {e(fmt_time(d.generated_at, lang))}</p>
<p class="meta muted">{e(r("source", lang))}</p>
<h2>{e(r("confirmation", lang))}</h2>
<div class="tiles">{tiles}</div>
<h2>{e(r("by_status", lang))}</h2>
<table><thead><tr><th>{e(r("status", lang))}</th><th class="n">{e(r("count", lang))}</th><th class="n">{e(r("share", lang))}</th></tr></thead>
<tbody>{status_rows}<tr><td><b>{e(r("total", lang))}</b></td><td class="n"><b>{s.total}</b></td><td class="n">100%</td></tr></tbody></table>
<p>{avail}</p>
<h2>{e(r("by_agency", lang))}</h2>{_counts(s.by_agency, lang)}
<h2>{e(r("by_purpose", lang))}</h2>{_counts(s.by_purpose, lang)}
<h2>{e(r("by_link", lang))}</h2>{_counts(s.by_link, lang)}
<section class="part">
<h2>{e(r("avail_district", lang))}</h2>{_groups(d.by_district, lang, "district")}
<h2>{e(r("avail_agency", lang))}</h2>{_groups(d.by_agency, lang, "agency")}
<h2>{e(r("never_verified", lang))}: {len(d.never_verified)}</h2>{never}
<h2>{e(r("unregistered", lang))}{"" if d.discovered_unregistered is None else f": {len(d.discovered_unregistered)}"}</h2>{unreg}
<h2>{e(r("device_outages", lang).format(days=RECENT_DAYS))}: {len(d.device_outages)}</h2>{outages}
</section>
<section class="part">
<h2>{e(r("per_camera", lang))}</h2>
<p><span class="legend" style="background:#f8c9c9">&nbsp;</span> {e(r("legend_mismatch", lang))}</p>
<table class="cams"><thead><tr>{cam_head}</tr></thead><tbody>
{_camera_rows(d, lang, progress)}
</tbody></table>
</section>
<section class="signatures">
<h2>{e(r("signatures", lang))}</h2>
<p>{e(r("province", lang))}: {e(province)} · {e(r("cameras", lang))}: {c.cameras} · {e(r("verified_working", lang))}: {c.verified_working}</p>
<div class="block">{sig}</div>
</section>
</body>
</html>
"""


def write_html(d: ReportData, path: str | os.PathLike[str], *,
               progress: Callable[[str, int, int], None] | None = None) -> None:
    Path(path).write_text(render_html(d, progress=progress), encoding="utf-8")
