/* camcheck dashboard: small vanilla JS over /api/v1 (same origin, session cookie). No build step. */
"use strict";
(function () {
  var DATA = JSON.parse(document.getElementById("page-data").textContent);
  var T = DATA.t;
  var LANG = DATA.lang;
  var COLOURS = { working_normally: "#2e7d32", not_working: "#c62828", broken: "#e65100",
                  under_repair: "#1565c0", unverified: "#757575" };
  var LABELS = DATA.labels;  // national labels in the page language (from the server: one source of words)

  function fmt(s, vars) { return s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; }); }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function api(path, opts) {
    opts = opts || {};
    var headers = { "Accept": "application/json" };
    if (opts.method && opts.method !== "GET") headers["X-Camcheck-Request"] = "1";
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: opts.method || "GET", credentials: "same-origin", headers: headers,
                         body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined })
      .then(function (r) {
        return r.text().then(function (txt) {
          var body = txt ? JSON.parse(txt) : null;
          if (!r.ok) { var err = new Error((body && body.detail) || r.statusText); err.status = r.status; throw err; }
          return body;
        });
      });
  }
  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    var opts = { timeZone: "Asia/Bangkok", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
    try { return d.toLocaleString(LANG === "th" ? "th-TH" : "en-GB", opts); } catch (e) { return iso; }
  }
  function badge(code) {
    var b = el("span", { "class": "badge lab-" + code }, LABELS[code] || code);
    return b;
  }

  // ---- camera table -------------------------------------------------------------------------------
  function camerasPage() {
    var form = document.getElementById("filters");
    var tbody = document.querySelector("#cams tbody");
    var count = document.getElementById("count");
    var prev = document.getElementById("prev"), next = document.getElementById("next");
    var LIMIT = 50, offset = 0, seq = 0, timer = null;
    var FIELDS = ["q", "status", "district", "agency", "purpose", "tag", "parent"];

    var init = new URLSearchParams(location.search);
    FIELDS.forEach(function (f) { if (init.get(f)) form.elements[f].value = init.get(f); });
    offset = parseInt(init.get("offset") || "0", 10) || 0;

    function params() {
      var p = new URLSearchParams();
      FIELDS.forEach(function (f) { var v = form.elements[f].value.trim(); if (v) p.set(f, v); });
      return p;
    }
    function load() {
      var p = params();
      var shown = new URLSearchParams(p);
      if (offset) shown.set("offset", offset);
      history.replaceState(null, "", location.pathname + (shown.toString() ? "?" + shown : ""));
      p.set("limit", LIMIT); p.set("offset", offset);
      var mine = ++seq;
      count.textContent = T.loading;
      document.body.setAttribute("data-loading", "1");
      api("/api/v1/cameras?" + p).then(function (page) {
        if (mine !== seq) return;  // a newer request is on its way
        tbody.textContent = "";
        page.items.forEach(function (c) {
          var tr = el("tr", { "data-id": c.id, "data-status": c.status });
          var a = el("a", { href: "/ui/cameras/" + encodeURIComponent(c.id) }, c.id);
          var td = el("td"); td.appendChild(a); tr.appendChild(td);
          tr.appendChild(el("td", {}, [c.name, c.point_name].filter(Boolean).filter(function (v, i, s) { return s.indexOf(v) === i; }).join(" / ")));
          tr.appendChild(el("td", {}, c.owner_agency || "—"));
          tr.appendChild(el("td", {}, c.district || "—"));
          var st = el("td"); st.appendChild(badge(c.label.code)); tr.appendChild(st);
          tr.appendChild(el("td", {}, when(c.last_check_at)));
          tr.appendChild(el("td", {}, c.findings.map(function (f) { return LANG === "th" ? f.th : f.en; }).join(", ")));
          tbody.appendChild(tr);
        });
        if (!page.items.length) {
          var tr = el("tr"); var td = el("td", { colspan: "7" }, T.none_found); tr.appendChild(td); tbody.appendChild(tr);
        }
        count.textContent = fmt(T.showing, { a: page.total ? page.offset + 1 : 0, b: page.offset + page.items.length, n: page.total });
        count.setAttribute("data-total", page.total);
        prev.disabled = page.offset === 0;
        next.disabled = page.next_offset === null;
        document.body.removeAttribute("data-loading");
      }).catch(function (e) {
        if (e.status === 401) { location.href = "/ui/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
        count.textContent = T.failed + ": " + e.message;
        document.body.removeAttribute("data-loading");
      });
    }
    form.addEventListener("submit", function (ev) { ev.preventDefault(); offset = 0; load(); });
    form.addEventListener("reset", function () { setTimeout(function () { offset = 0; load(); }, 0); });
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (s) {
      s.addEventListener("change", function () { offset = 0; load(); });
    });
    form.elements.q.addEventListener("input", function () {
      clearTimeout(timer); timer = setTimeout(function () { offset = 0; load(); }, 300);
    });
    prev.addEventListener("click", function () { offset = Math.max(0, offset - LIMIT); load(); });
    next.addEventListener("click", function () { offset += LIMIT; load(); });
    load();
  }

  // ---- map ----------------------------------------------------------------------------------------
  function mapPage() {
    var box = document.getElementById("map");
    var note = document.getElementById("map-note");
    var map = L.map(box, { preferCanvas: false, zoomControl: true }).setView([13.75, 100.5], 6);
    if (DATA.tileUrl) {
      L.tileLayer(DATA.tileUrl, { maxZoom: 19, attribution: DATA.attribution }).addTo(map);
    } else {
      note.textContent = T.map_no_tiles;
    }
    var q = new URLSearchParams(location.search); q.delete("lang");
    api("/api/v1/map" + (q.toString() ? "?" + q : "")).then(function (data) {
      // thousands of markers: draw on one canvas; a few: SVG (each marker a DOM element)
      var many = data.points.length > 2000;
      var renderer = many ? L.canvas({ padding: 0.2 }) : L.svg();
      var group = L.featureGroup();
      data.points.forEach(function (p) {
        var m = L.circleMarker([p.lat, p.lon], { renderer: renderer, radius: many ? 4 : 7, weight: 1, color: "#222",
          fillColor: COLOURS[p.label] || "#757575", fillOpacity: 0.9, className: "cam-marker lab-" + p.label });
        var div = el("div");
        var a = el("a", { href: "/ui/cameras/" + encodeURIComponent(p.id) }, p.id);
        div.appendChild(a); div.appendChild(el("div", {}, p.name || ""));
        div.appendChild(badge(p.label));
        m.bindPopup(div);
        group.addLayer(m);
      });
      group.addTo(map);
      if (data.points.length) map.fitBounds(group.getBounds(), { padding: [20, 20], maxZoom: 16 });
      box.setAttribute("data-markers", data.points.length);
      box.setAttribute("data-renderer", data.points.length > 2000 ? "canvas" : "svg");
      if (data.without_gps) note.textContent = (note.textContent ? note.textContent + " · " : "") + fmt(T.map_no_gps, { n: data.without_gps });
    }).catch(function (e) {
      if (e.status === 401) { location.href = "/ui/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
      note.textContent = T.failed + ": " + e.message;
    });
  }

  // ---- one camera ---------------------------------------------------------------------------------
  function cameraPage() {
    var msg = document.getElementById("action-msg");
    function done(text) { msg.textContent = text; }
    function fail(e) { msg.textContent = T.failed + ": " + e.message; }
    var check = document.getElementById("check-now");
    if (check) check.addEventListener("click", function () {
      api(check.getAttribute("data-url"), { method: "POST" }).then(function () { done(T.done); }).catch(fail);
    });
    var form = document.getElementById("maint-form");
    if (form) form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("/api/v1/maintenance", { method: "POST", body: {
        scope: "camera", target_id: form.getAttribute("data-camera"), reason: form.elements.reason.value,
        owner: form.elements.owner.value, duration_hours: parseFloat(form.elements.hours.value) } })
        .then(function () { location.reload(); }).catch(fail);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".end-maint"), function (b) {
      b.addEventListener("click", function () {
        api("/api/v1/maintenance/" + b.getAttribute("data-id") + "/end", { method: "POST" })
          .then(function () { location.reload(); }).catch(fail);
      });
    });
  }

  var page = document.body.getAttribute("data-page");
  if (page === "cameras") camerasPage();
  else if (page === "map") mapPage();
  else if (page === "camera") cameraPage();
})();
