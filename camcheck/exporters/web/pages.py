"""Server-rendered HTML of the dashboard pages (escaped everywhere; no template engine needed)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from camcheck.exporters.api import models as m
from camcheck.exporters.api.auth import Principal
from camcheck.exporters.api.queries import Picture
from camcheck.exporters.api.summary import LABEL_ORDER
from camcheck.exporters.api.reason_words import reason_text, span_text
from camcheck.exporters.api.words import finding_text, fmt_time, in_lang, label_text, purpose_text, state_text
from camcheck.exporters.web.i18n import UI, t
from camcheck.registry.models import Measured, ParentKind, StoredCamera, TransitionRecord
from camcheck.secrets import mask_url

STATIC = "/ui/static"
# Strings the page scripts need, in the page's language.
JS_KEYS = ("showing", "loading", "none_found", "prev", "next", "map_no_gps", "map_no_tiles", "done", "failed",
           "needs_write", "map_legend")


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def fmt_pct(value: float | None, lang: str) -> str:
    return t("percent_na", lang) if value is None else f"{value:.1f}%"


def label_badge(code: str, th: str, en: str, lang: str) -> str:
    return f'<span class="badge lab-{e(code)}">{e(th if lang == "th" else en)}</span>'


def layout(*, title: str, lang: str, page: str, who: Principal | None, body: str, path: str,
           head_extra: str = "", scripts: tuple[str, ...] = ("camcheck.js",), data: dict[str, Any] | None = None) -> str:
    other = "en" if lang == "th" else "th"
    nav = "".join(
        f'<a href="{href}" class="{"active" if key == page else ""}">{e(t(key, lang))}</a>'
        for key, href in (("overview", "/ui/"), ("cameras", "/ui/cameras"), ("parents", "/ui/parents"),
                          ("map", "/ui/map"))
    )
    user = ""
    if who is not None:
        role = "" if who.role == "write" else f' <span class="muted">({e(t("read_only", lang))})</span>'
        logout = ("" if who.via != "session" else
                  f'<form method="post" action="/ui/logout" class="inline"><button type="submit" class="link">'
                  f'{e(t("logout", lang))}</button></form>')
        user = f'<span class="user">{e(t("signed_in_as", lang))}: <b>{e(who.name)}</b>{role}</span>{logout}'
    strings = {k: t(k, lang) for k in JS_KEYS}

    labels = {c: label_text(c, lang) for c in LABEL_ORDER}
    page_data = json.dumps({"lang": lang, "role": who.role if who else None, "t": strings, "labels": labels,
                            **(data or {})},
                           ensure_ascii=False).replace("</", "<\\/")
    script_tags = "".join(f'<script src="{STATIC}/{s}"></script>' for s in scripts)
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · camcheck</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{STATIC}/camcheck.css">
{head_extra}
</head>
<body data-page="{e(page)}">
<header class="top">
  <a class="brand" href="/ui/">camcheck</a>
  <nav>{nav}</nav>
  <div class="right">{user}
    <a class="lang" id="lang-switch" href="{e(path)}?{urlencode({"lang": other})}" hreflang="{other}">{e(t("lang_switch", lang))}</a>
  </div>
</header>
<main>
{body}
</main>
<script id="page-data" type="application/json">{page_data}</script>
{script_tags}
</body>
</html>
"""


# --- login ----------------------------------------------------------------------------------------

def login_page(lang: str, *, failed: bool, next_url: str) -> str:
    err = f'<p class="error" role="alert">{e(t("login_failed", lang))}</p>' if failed else ""
    body = f"""<section class="card narrow">
<h1>{e(t("login", lang))}</h1>
<p>{e(t("login_help", lang))}</p>
{err}
<form method="post" action="/ui/login">
  <input type="hidden" name="next" value="{e(next_url)}">
  <label>{e(t("token", lang))} <input type="password" name="token" autocomplete="current-password" required></label>
  <button type="submit">{e(t("login", lang))}</button>
</form>
</section>"""
    return layout(title=t("login", lang), lang=lang, page="login", who=None, body=body, path="/ui/login", scripts=())


# --- overview -------------------------------------------------------------------------------------

def _count_table(rows: list[m.CountRow], lang: str, head: str, *, link: str | None = None) -> str:
    ths = "".join(f'<th class="num"><span class="dot lab-{c}"></span>{e(label_text(c, lang))}</th>'
                  for c in LABEL_ORDER)
    trs = []
    for r in rows:
        name = in_lang(r, lang)
        if link and r.key:
            name_html = f'<a href="/ui/cameras?{urlencode({link: r.key})}">{e(name)}</a>'
        else:
            name_html = e(name)
        tds = "".join(f'<td class="num">{r.by_label.get(c, 0)}</td>' for c in LABEL_ORDER)
        trs.append(f"<tr><th scope=row>{name_html}</th><td class=num><b>{r.total}</b></td>{tds}</tr>")
    return (f'<div class="scroll"><table class="counts"><thead><tr><th>{e(head)}</th><th class="num">{e(t("total", lang))}</th>{ths}</tr></thead>'
            f'<tbody>{"".join(trs)}</tbody></table></div>')


def _incident_html(p: m.ParentOut, lang: str, *, since_shown: bool = False) -> str:
    """Since when a parent is suspected down (unless the caller said it), why (in the page's
    language), and a link to its cameras."""
    reason = in_lang(p.reason_text, lang) if p.reason_text else (p.reason or "")
    since = fmt_time(p.status_since, lang) if p.status_since and not since_shown else ""
    covered = (f'<br><span class="covered">{e(t("covered_by_upstream", lang, parent=p.covered_by))}</span>'
               if p.covered_by else "")
    # a site with recorders only has no camera of its own to link: they are listed on its page
    cams = (f'<a href="/ui/cameras?{urlencode({"parent": p.id})}">{e(t("cameras_behind", lang, n=p.cameras))}</a>'
            if p.cameras else "")
    return f'{f"<span class=muted>{e(since)}</span><br>" if since else ""}{e(reason)} {cams}{covered}'


def _parents_down(down: list[m.ParentOut], lang: str) -> str:
    """The parents whose incident is open: first on the overview, since their cameras' own statuses
    only say they fail, not why."""
    if not down:
        return ""
    # the devices whose incident tells the others' first (a site before the recorders behind it)
    ordered = sorted(down, key=lambda p: p.covered_by is not None)
    items = "".join(f'<li data-parent="{e(p.id)}"><b><a href="/ui/parents/{quote(p.id, safe="")}">{e(p.title())}</a></b> '
                    f'{_incident_html(p, lang)}</li>' for p in ordered)
    return (f'<section class="card warn" id="parents-down"><h2>{e(t("parents_down", lang))}</h2>'
            f'<p class="muted">{e(t("parents_down_help", lang))}</p><ul>{items}</ul></section>')


def _behind_parent_down(p: m.ParentOut | None, lang: str) -> str:
    """On a camera's page: the parent it is behind is suspected down (look there first)."""
    if p is None or p.status != "suspected_down":
        return ""
    return (f'<p class="card warn" id="parent-down"><strong>{e(t("behind_parent_down", lang, parent=p.title()))}</strong> '
            f'{_incident_html(p, lang)}</p>')


def overview_page(s: m.Summary, lang: str, who: Principal, down: list[m.ParentOut] | None = None) -> str:
    c = s.confirmation
    tiles = "".join(
        f'<div class="tile"><div class="n" id="cf-{k}">{v}</div><div class="l">{e(t(label, lang))}</div></div>'
        for k, v, label in (("points", c.points, "points"), ("cameras", c.cameras, "n_cameras"),
                            ("internet", c.internet_viewable, "internet_viewable"),
                            ("working", c.verified_working, "verified_working"))
    )
    total = max(1, s.total)
    bars = []
    for r in s.by_label:
        pct = 100.0 * r.total / total
        bars.append(
            f'<div class="bar-row"><span class="bar-name">{label_badge(r.key or "", r.th, r.en, lang)}</span>'
            f'<span class="bar"><span class="fill lab-{e(r.key)}" style="width:{pct:.1f}%"></span></span>'
            f'<span class="bar-n" data-label="{e(r.key)}">{r.total}</span></div>')
    avail = "".join(
        f'<div class="tile small"><div class="n">{e(fmt_pct(a.percent, lang))}</div>'
        f'<div class="l">{e(t("availability", lang))} · {e(t("last_n_days", lang, n=a.days))}</div></div>'
        for a in s.availability)
    ret = s.retention
    retention = (
        f'<div class="tile small"><div class="n">{e(fmt_pct(ret.percent, lang))}</div>'
        f'<div class="l">{e(t("retention_compliant", lang))} ({ret.compliant}/{ret.measured}; '
        f'{e(t("retention_registered", lang))}: {ret.registered})</div></div>')
    never = (f'<div class="tile small warn"><div class="n">{s.never_verified}</div>'
             f'<div class="l"><a href="/ui/cameras?status=unknown">{e(t("never_verified", lang))}</a></div></div>')
    body = f"""<h1>{e(t("overview", lang))}</h1>
<p class="muted">{e(t("generated", lang))} {e(fmt_time(s.generated_at, lang))}</p>
{_parents_down(down or [], lang)}
<section class="card"><h2>{e(t("confirmation", lang))}</h2><div class="tiles">{tiles}</div></section>
<section class="card"><h2>{e(t("by_status", lang))}</h2><div class="bars">{"".join(bars)}</div>
<div class="tiles">{avail}{retention}{never}</div></section>
<section class="card"><h2>{e(t("by_agency", lang))}</h2>{_count_table(s.by_agency, lang, t("agency", lang), link="agency")}</section>
<div class="cols">
<section class="card"><h2>{e(t("by_purpose", lang))}</h2>{_count_table(s.by_purpose, lang, t("purpose", lang), link="purpose")}</section>
<section class="card"><h2>{e(t("by_link", lang))}</h2>{_count_table(s.by_link, lang, t("by_link", lang))}</section>
</div>
<section class="card"><h2>{e(t("by_district", lang))}</h2>{_count_table(s.by_district, lang, t("district", lang), link="district")}</section>
"""
    return layout(title=t("overview", lang), lang=lang, page="overview", who=who, body=body, path="/ui/")


# --- camera table ---------------------------------------------------------------------------------

def _options(values: list[tuple[str, str]], lang: str) -> str:
    return f'<option value="">{e(t("all", lang))}</option>' + "".join(
        f'<option value="{e(v)}">{e(text)}</option>' for v, text in values)


def cameras_page(f: m.Facets, lang: str, who: Principal, *, parent_names: dict[str, str] | None = None) -> str:
    states = _options([(s, state_text(s, lang)) for s in f.states], lang)
    districts = _options([(d, d) for d in f.districts], lang)
    agencies = _options([(a, a) for a in f.agencies], lang)
    purposes = _options([(p.value, purpose_text(p.value, lang)) for p in f.purposes], lang)
    tags = _options([(x, x) for x in f.tags], lang)
    names = parent_names or {}
    parents = _options([(x, m.parent_title(x, names.get(x))) for x in f.parents], lang)
    body = f"""<h1>{e(t("cameras", lang))}</h1>
<form id="filters" class="filters card">
  <label>{e(t("search", lang))} <input type="search" name="q" id="f-q" placeholder="{e(t("search_ph", lang))}" maxlength="200"></label>
  <label>{e(t("state", lang))} <select name="status" id="f-status">{states}</select></label>
  <label>{e(t("district", lang))} <select name="district" id="f-district">{districts}</select></label>
  <label>{e(t("agency", lang))} <select name="agency" id="f-agency">{agencies}</select></label>
  <label>{e(t("purpose", lang))} <select name="purpose" id="f-purpose">{purposes}</select></label>
  <label>{e(t("tag", lang))} <select name="tag" id="f-tag">{tags}</select></label>
  <label>{e(t("parent", lang))} <select name="parent" id="f-parent">{parents}</select></label>
  <button type="submit" id="f-apply">{e(t("apply", lang))}</button>
  <button type="reset" id="f-clear" class="secondary">{e(t("clear", lang))}</button>
</form>
<section class="card">
<div class="pager"><span id="count" aria-live="polite">{e(t("loading", lang))}</span>
  <button type="button" id="prev" class="secondary">{e(t("prev", lang))}</button>
  <button type="button" id="next" class="secondary">{e(t("next", lang))}</button></div>
<table class="cams" id="cams"><thead><tr>
  <th>{e(t("id", lang))}</th><th>{e(t("name", lang))}</th><th>{e(t("agency", lang))}</th>
  <th>{e(t("district", lang))}</th><th>{e(t("status", lang))}</th><th>{e(t("last_check", lang))}</th>
  <th>{e(t("findings", lang))}</th></tr></thead><tbody></tbody></table>
</section>"""
    return layout(title=t("cameras", lang), lang=lang, page="cameras", who=who, body=body, path="/ui/cameras")


# --- parents --------------------------------------------------------------------------------------

def _parent_link(pid: str | None) -> str:
    return f'<a href="/ui/parents/{quote(pid, safe="")}">{e(pid)}</a>' if pid else ""


def parent_page(p: m.ParentOut, behind: list[m.ParentOut], history: list[m.PastIncident], days: int, lang: str,
                who: Principal) -> str:
    """One parent device: what and where it is, what it is behind and what is behind it, its incident
    now, and its outages over the last `days` days (why, how long, how many cameras)."""
    facts = [("kind", e(ParentKind(p.kind).label(lang))), ("address", e(p.host or "—")),
             ("upstream", _parent_link(p.parent_id) or "—"), ("district", e(p.district or "—")),
             ("devices_behind", ", ".join(_parent_link(d.id) for d in behind) or "—"),
             ("n_cameras", f'<a href="/ui/cameras?{urlencode({"parent": p.id})}">{p.cameras}</a>' if p.cameras else "0")]
    dl = "".join(f"<dt>{e(t(k, lang))}</dt><dd>{v}</dd>" for k, v in facts)
    down = (f'<p class="card warn" id="parent-down"><strong>{e(t("suspected_down_since", lang, since=fmt_time(p.status_since, lang)))}'
            f'</strong><br>{_incident_html(p, lang, since_shown=True)}</p>' if p.status == "suspected_down" and p.status_since else "")
    rows = []
    for i in history:
        why = in_lang(i.reason_text, lang) if i.reason_text else (i.reason or "")
        lasted = span_text(i.duration_s, lang) if i.duration_s is not None else t("ongoing", lang)
        rows.append(f'<tr class="{"warn" if i.ended_at is None else ""}"><td>{e(fmt_time(i.started_at, lang))}</td>'
                    f'<td>{e(fmt_time(i.ended_at, lang)) if i.ended_at else "—"}</td><td>{e(lasted)}</td>'
                    f'<td class="num">{i.cameras_affected}</td><td>{_parent_link(i.covered_by) or "—"}</td>'
                    f'<td>{e(why)}</td></tr>')
    heads = "".join(f"<th>{e(t(k, lang))}</th>" for k in ("began", "ended", "lasted", "cameras_affected", "told_by",
                                                          "reason"))
    table = (f'<div class="scroll"><table class="grid" id="outages"><thead><tr>{heads}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>' if rows
             else f'<p class="muted" id="outages">{e(t("no_outages", lang))}</p>')
    body = f"""<section class="card">
<h1>{e(p.title())}</h1>
<p class="muted">{e(t("parent_page_help", lang))}</p>
<dl class="facts" id="parent-facts">{dl}</dl>
</section>
{down}
<section class="card">
<h2>{e(t("outages_days", lang, days=days))}</h2>
{table}
</section>"""
    return layout(title=p.title(), lang=lang, page="parents", who=who, body=body, path=f"/ui/parents/{quote(p.id, safe='')}")


def _outages(seen: tuple[int, float] | None, lang: str) -> str:
    if not seen:
        return "—"
    return t("outages_1" if seen[0] == 1 else "outages_n", lang, n=seen[0], span=span_text(seen[1], lang))


def parents_page(parents: list[m.ParentOut], lang: str, who: Principal,
                 outages: dict[str, tuple[int, float]] | None = None, days: int = 30) -> str:
    """Every parent device, those suspected down first: what and where it is, what it is behind,
    the cameras behind it (a link to them), and its outages lately (`outages`: count and seconds)."""
    outages = outages or {}
    down = [p for p in parents if p.status == "suspected_down"]
    rows = []
    for p in down + [p for p in parents if p.status != "suspected_down"]:
        status = (t("suspected_down_since", lang, since=fmt_time(p.status_since, lang))
                  if p.status == "suspected_down" else "—")
        cams = (f'<a href="/ui/cameras?{urlencode({"parent": p.id})}">{p.cameras}</a>' if p.cameras else "0")
        rows.append(
            f'<tr data-parent="{e(p.id)}" class="{"warn" if p.status else ""}"><td>{_parent_link(p.id)}</td>'
            f'<td>{e(p.name or "")}</td><td>{e(ParentKind(p.kind).label(lang))}</td><td>{e(p.host or "")}</td>'
            f'<td>{e(p.parent_id or "")}</td><td>{e(p.district or "")}</td><td class="num">{cams}</td>'
            f'<td>{e(status)}</td><td class="outages">{e(_outages(outages.get(p.id), lang))}</td></tr>')
    heads = "".join(f"<th>{e(t(k, lang, days=days))}</th>" for k in ("parent_id", "name", "kind", "address", "upstream",
                                                                     "district", "n_cameras", "status", "outages_days_head"))
    table = (f'<table class="grid" id="parents-table"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody>'
             '</table>' if rows else f'<p class="muted">{e(t("no_parents", lang))}</p>')
    body = f"""{_parents_down(down, lang)}
<section class="card">
<h1>{e(t("parents", lang))}</h1>
<p class="muted">{e(t("parents_help", lang))}</p>
{table}
</section>"""
    return layout(title=t("parents", lang), lang=lang, page="parents", who=who, body=body, path="/ui/parents")


# --- map ------------------------------------------------------------------------------------------

def map_page(lang: str, who: Principal, *, tile_url: str | None, attribution: str | None) -> str:
    legend = "".join(f'<span class="legend-item"><span class="dot lab-{c}"></span>'
                     f'{e(label_text(c, lang))}</span>' for c in LABEL_ORDER)
    body = f"""<h1>{e(t("map", lang))}</h1>
<div class="legend" id="legend">{legend}</div>
<p class="muted" id="map-note"></p>
<div id="map" class="map" role="region" aria-label="{e(t("map", lang))}"></div>"""
    return layout(title=t("map", lang), lang=lang, page="map", who=who, body=body, path="/ui/map",
                  head_extra=f'<link rel="stylesheet" href="{STATIC}/vendor/leaflet/leaflet.css">',
                  scripts=("vendor/leaflet/leaflet.js", "camcheck.js"),
                  data={"tileUrl": tile_url, "attribution": attribution or ""})


# --- one camera -----------------------------------------------------------------------------------

_STATE_CLASS = {"working": "st-working", "degraded": "st-degraded", "broken": "st-broken",
                "maintenance": "st-maintenance", "flapping": "st-flapping", "unknown": "st-unknown"}


def _timeline(transitions: list[TransitionRecord], current: str, now: datetime, lang: str, days: int = 30) -> str:
    """A bar of the last ``days`` days coloured by camcheck state."""
    start = now - timedelta(days=days)
    ordered = sorted(transitions, key=lambda x: x.at)
    state = ordered[0].from_state.value if ordered else current
    for tr in ordered:
        if tr.at <= start:
            state = tr.to_state.value
    segs: list[tuple[datetime, datetime, str]] = []
    cursor = start
    for tr in ordered:
        if tr.at <= start:
            continue
        segs.append((cursor, tr.at, state))
        cursor, state = tr.at, tr.to_state.value
    segs.append((cursor, now, state))
    total = (now - start).total_seconds()
    parts = []
    for a, b, st in segs:
        w = 100.0 * (b - a).total_seconds() / total
        if w <= 0:
            continue
        tip = f"{state_text(st, lang)}: {fmt_time(a, lang)} – {fmt_time(b, lang)}"
        parts.append(f'<span class="seg {_STATE_CLASS.get(st, "st-unknown")}" style="width:{w:.3f}%" title="{e(tip)}"></span>')
    return (f'<div class="timeline" aria-label="{e(t("timeline", lang))}">{"".join(parts)}</div>'
            f'<div class="timeline-scale"><span>{e(fmt_time(start, lang))}</span><span>{e(fmt_time(now, lang))}</span></div>')


_CHECK_CLASS = {"working": "st-working", "degraded": "st-degraded", "broken": "st-broken", "error": "st-broken",
                "onvif_ok": "st-working", "onvif_problem": "st-degraded"}


def _check_read(c: m.CheckOut) -> str:
    """What a check read: the main or sub-stream, or the ONVIF device (stream is null for those)."""
    if c.stream:
        return c.stream
    return "onvif" if c.verdict.startswith("onvif") else "unknown"


def _verdict_text(verdict: str, lang: str) -> str:
    if verdict in ("working", "degraded", "broken"):
        return state_text(verdict, lang)
    return t(f"check_{verdict}", lang) if f"check_{verdict}" in UI else verdict


def measured_text(x: Measured, lang: str) -> str:
    """What a check measured, in one line (empty when nothing): the dashboard's check table and
    `camcheck status`."""
    parts = []
    if x.width and x.height:
        parts.append(f"{x.width}x{x.height}")
    if x.fps is not None:
        parts.append(f"{x.fps:.1f} fps")
    if x.bitrate_bps is not None:
        parts.append(f"{x.bitrate_bps / 1e6:.2f} Mbit/s")
    if x.codec:
        parts.append(x.codec.upper())
    if x.retention_days is not None:
        parts.append(t("kept_days", lang, n=f"{x.retention_days:.1f}"))
    if x.recording_active is not None:
        parts.append(t("recording_on" if x.recording_active else "recording_off", lang))
    return " · ".join(parts)


def checks_table(checks: list[m.CheckOut], lang: str) -> str:
    """The latest checks, newest first: what each read, its verdict and findings, what it measured."""
    rows = []
    for c in checks:
        read = _check_read(c)
        verdict = _verdict_text(c.verdict, lang)
        found = "".join(f'<div data-code="{e(f.code)}">{e(in_lang(f, lang))}</div>' for f in c.findings)
        dur = f"{c.duration_s:.1f} s" if c.duration_s is not None else "—"
        rows.append(
            f'<tr data-read="{e(read)}" data-verdict="{e(c.verdict)}"><td>{e(fmt_time(c.checked_at, lang))}</td>'
            f'<td>{e(t("read_" + read, lang))}</td>'
            f'<td><span class="chip {_CHECK_CLASS.get(c.verdict, "st-unknown")}">{e(verdict)}</span></td>'
            f'<td class="findings">{found or "—"}</td><td>{e(measured_text(c.measured, lang) or "—")}</td>'
            f'<td class="num">{e(dur)}</td><td>{e(c.node_id or "—")}</td></tr>')
    body = "".join(rows) or f'<tr><td colspan=7>{e(t("no_checks", lang))}</td></tr>'
    return (f'<div class="scroll"><table class="history" id="checks"><thead><tr><th>{e(t("when", lang))}</th>'
            f'<th>{e(t("read", lang))}</th><th>{e(t("result", lang))}</th><th>{e(t("findings", lang))}</th>'
            f'<th>{e(t("measured", lang))}</th><th class="num">{e(t("duration", lang))}</th>'
            f'<th>{e(t("node", lang))}</th></tr></thead><tbody>{body}</tbody></table></div>')


def camera_page(cam: StoredCamera, state: m.State, comp: m.Comparison, transitions: list[TransitionRecord],
                windows: list[m.MaintenanceOut], pictures: dict[str, Picture | None], lang: str, who: Principal,
                *, checks: list[m.CheckOut] | None = None, parent: m.ParentOut | None = None) -> str:
    cid = quote(cam.id, safe="")
    now = datetime.now(timezone.utc)

    def picture(kind: str, key: str) -> str:
        pic = pictures.get(kind)
        if pic is None:
            return f'<figure class="pic empty" id="pic-{kind}"><div class="nopic">{e(t("no_picture", lang))}</div><figcaption>{e(t(key, lang))}</figcaption></figure>'
        return (f'<figure class="pic" id="pic-{kind}" data-evidence="{pic.id}"><img src="/api/v1/evidence/{pic.id}" alt="{e(t(key, lang))}" '
                f'loading="lazy"><figcaption>{e(t(key, lang))} <span class="muted taken">{e(fmt_time(pic.taken_at, lang))}</span>'
                '</figcaption></figure>')

    latest, good = pictures.get("latest"), pictures.get("last_good")
    secondary = "".join(
        (picture("last_good", "last_good") if good is not None and (latest is None or good.id != latest.id) else "",
         picture("unchanged_since", "unchanged_since") if pictures.get("unchanged_since") is not None else ""))

    findings = "".join(f'<li data-code="{e(f.code)}">{e(in_lang(f, lang))}'
                       + (f' <span class="muted">({e(f.detail)})</span>' if f.detail else "") + "</li>"
                       for f in state.findings) or f'<li class="ok">{e(t("no_findings", lang))}</li>'
    rows = []
    for r in comp.rows:
        cls = f"res-{r.result}"
        res = t(r.result, lang) if r.result in UI else r.result
        msg = f'<div class="muted">{e(r.message)}</div>' if r.message else ""
        rows.append(f'<tr class="{cls}"><th scope=row>{e(in_lang(r.title, lang))}</th>'
                    f'<td>{_val(r.registered, lang)}</td><td>{_val(r.configured, lang)}</td><td>{_val(r.measured, lang)}</td>'
                    f'<td>{e(res)}{msg}</td></tr>')
    trs = "".join(
        f'<tr><td>{e(fmt_time(tr.at, lang))}</td><td><span class="chip {_STATE_CLASS.get(tr.from_state.value, "")}">'
        f'{e(state_text(tr.from_state.value, lang))}</span> → <span class="chip {_STATE_CLASS.get(tr.to_state.value, "")}">'
        f'{e(state_text(tr.to_state.value, lang))}</span></td><td>{e(reason_text(tr.reason, tr.reason_data, lang))}'
        + "".join(f'<div class="muted">{e(finding_text(str(f) if isinstance(f, str) else str(f.get("key") or f.get("code") or ""), lang))}</div>'
                  for f in tr.findings)
        + "</td></tr>" for tr in transitions) or f'<tr><td colspan=3>{e(t("no_transitions", lang))}</td></tr>'
    can_write = who.role == "write"
    dis = "" if can_write else f' disabled title="{e(t("needs_write", lang))}"'
    active = [w for w in windows if w.active]
    wins = "".join(
        f'<li data-window="{w.id}">{e(w.reason)} — {e(t("owner", lang))}: {e(w.owner)}; {e(t("expires", lang))} '
        f'{e(fmt_time(w.expires_at, lang))} <button type="button" class="end-maint secondary" data-id="{w.id}"{dis}>'
        f'{e(t("end_maintenance", lang))}</button></li>' for w in active) or f'<li>{e(t("no_maintenance", lang))}</li>'
    survey = [
        ("agency", cam.owner_agency), ("name", " / ".join(x for x in (cam.name, cam.point_name) if x) or None),
        ("district", " / ".join(x for x in (cam.district, cam.province) if x) or None),
        ("gps", f"{cam.lat:.5f}, {cam.lon:.5f}" if cam.lat is not None and cam.lon is not None else None),
        ("purpose", ", ".join(purpose_text(p.value, lang) for p in cam.purposes) or None),
        ("control_centre", cam.control_centre),
        ("network", " / ".join(x for x in (cam.network_type, cam.network_provider) if x) or None),
        ("brand", " / ".join(x for x in (cam.brand, cam.recorder_brand, cam.recorder_model) if x) or None),
        ("internet_viewable", None if cam.internet_viewable is None else t("yes" if cam.internet_viewable else "no", lang)),
        ("year_installed", cam.year_installed), ("police_station", cam.police_station),
        ("contact", " ".join(x for x in (cam.contact_person, cam.contact_phone) if x) or None),
        ("registry_status", cam.registry_status.label(lang) if cam.registry_status else None),
    ]
    survey_html = "".join(f"<tr><th scope=row>{e(t(k, lang))}</th><td>{e(v if v is not None else '—')}</td></tr>"
                          for k, v in survey)
    lab = state.label
    why = in_lang(state.reason_text, lang) if state.reason_text else None
    body = f"""<p><a href="/ui/cameras">← {e(t("cameras", lang))}</a></p>
<h1><span class="cam-id">{e(cam.id)}</span> {e(cam.name or "")}</h1>
<p class="status-line">{label_badge(lab.code, lab.th, lab.en, lang)}
  <span class="chip {_STATE_CLASS.get(state.status.value, "")}" id="cam-state">{e(in_lang(state.status_text, lang))}</span>
  <span class="muted">{e(t("since", lang))} {e(fmt_time(state.since, lang))} · {e(t("last_check", lang))} {e(fmt_time(state.last_check_at, lang))}</span>
  <button type="button" id="check-now" data-camera="{e(cam.id)}" data-url="/api/v1/cameras/{cid}/check"{dis}>{e(t("check_now", lang))}</button>
  <span id="action-msg" class="muted" aria-live="polite"></span></p>
{f'<p class="status-reason" id="cam-reason"><strong>{e(t("reason", lang))}:</strong> {e(why)}</p>' if why else ""}
{_behind_parent_down(parent, lang)}
<div class="cols">
<section class="card"><div class="pics">{picture("latest", "latest_snapshot")}{picture("reference", "reference")}</div>
{f'<div class="pics secondary">{secondary}</div>' if secondary else ""}
</section>
<section class="card"><h2>{e(t("findings", lang))}</h2><ul class="findings" id="findings">{findings}</ul>
<h2>{e(t("maintenance", lang))}</h2><ul class="windows" id="windows">{wins}</ul>
<form id="maint-form" class="maint" data-camera="{e(cam.id)}">
  <label>{e(t("reason", lang))} <input name="reason" required maxlength="2000"{dis}></label>
  <label>{e(t("owner", lang))} <input name="owner" required maxlength="200"{dis}></label>
  <label>{e(t("hours", lang))} <input name="hours" type="number" min="1" max="8784" value="24" required{dis}></label>
  <button type="submit"{dis}>{e(t("start_maintenance", lang))}</button>
</form></section>
</div>
<section class="card"><h2>{e(t("values", lang))}</h2>
<table class="compare" id="compare"><thead><tr><th>{e(t("field", lang))}</th><th>{e(t("registered", lang))}</th>
<th>{e(t("configured", lang))}</th><th>{e(t("measured", lang))}</th><th>{e(t("result", lang))}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></section>
<section class="card"><h2>{e(t("timeline", lang))}</h2>{_timeline(transitions, state.status.value, now, lang)}
<table class="history" id="history"><thead><tr><th>{e(t("when", lang))}</th><th>{e(t("change", lang))}</th><th>{e(t("reason", lang))}</th></tr></thead>
<tbody>{trs}</tbody></table></section>
<section class="card"><h2>{e(t("recent_checks", lang, n=len(checks or [])))}</h2>
<p class="muted">{e(t("recent_checks_help", lang))}</p>{checks_table(checks or [], lang)}</section>
<section class="card"><h2>{e(t("survey", lang))}</h2><table class="survey">{survey_html}</table></section>
"""
    return layout(title=cam.id, lang=lang, page="camera", who=who, body=body, path=f"/ui/cameras/{cid}")


def _val(v: Any, lang: str) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return e(t("yes" if v else "no", lang))
    if isinstance(v, str) and "://" in v:
        return e(mask_url(v))
    return e(v)


def not_found_page(lang: str, who: Principal, what: str) -> str:
    return layout(title=t("not_found", lang), lang=lang, page="camera", who=who, path="/ui/cameras",
                  body=f'<section class="card"><h1>{e(t("not_found", lang))}</h1><p>{e(what)}</p></section>')
