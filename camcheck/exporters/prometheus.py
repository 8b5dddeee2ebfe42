"""Prometheus metrics for every camera, rendered fast enough for a 10,000-camera registry.

``CameraMetricsCollector`` reads the daemon's current ``CameraView``s and scheduler stats through
two callables at scrape time — the daemon keeps no metric objects of its own, so a removed camera's
series disappear with it. It is a real ``prometheus_client`` Collector (``collect()`` yields metric
families, usable in any registry), and it also has a fast path, ``render()``, that writes the text
exposition directly and caches each camera's lines until its view object changes. Views are frozen,
so "same object" means "same content": between two scrapes only the cameras checked in between are
formatted again.

Label rules: per-camera series carry ``camera_id`` plus the configured registry labels (district,
agency, ...) and nothing else that varies; values are cut to a maximum length and control characters
are removed. Findings are exported by their code only (the text before the first ``:``), so free text
never becomes a label.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from camcheck.exporters.events import STATUSES, CameraView, OpenIncident

ViewsFn = Callable[[], Iterable[CameraView]]
StatsFn = Callable[[], Any]

INFO_KEYS = ("brand", "model", "firmware", "codec", "resolution")
DEFAULT_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)

# (family name, help, key in CameraView.measured, scale) for the measured gauges.
MEASURED = (
    ("camcheck_camera_fps", "Measured frames per second", "fps", 1.0),
    ("camcheck_camera_width_pixels", "Measured picture width", "width", 1.0),
    ("camcheck_camera_height_pixels", "Measured picture height", "height", 1.0),
    ("camcheck_camera_bitrate_bits_per_second", "Measured stream bitrate", "bitrate_kbps", 1000.0),
    ("camcheck_camera_gop_seconds", "Measured key-frame interval", "gop_s", 1.0),
    ("camcheck_camera_clock_offset_seconds", "Camera clock minus server clock", "clock_offset_s", 1.0),
    ("camcheck_camera_retention_days", "Days of recording the recorder really keeps", "retention_days", 1.0),
    ("camcheck_camera_recording_active", "1 if the recorder is recording now", "recording_active", 1.0),
    ("camcheck_camera_picture_unchanged_seconds",
     "How long the picture has not changed at all (the longest of its streams; `unchanged` past status.unchanged_after_s)",
     "unchanged_s", 1.0),
)

# Per-camera families in exposition order: (name, help).
CAMERA_FAMILIES: tuple[tuple[str, str], ...] = (
    ("camcheck_camera_status", "Camera status as an enum: 1 for the current status, 0 for the others"),
    ("camcheck_camera_status_since_timestamp_seconds", "UNIX time the camera entered its current status"),
    ("camcheck_camera_info", "Static facts about the camera (value is always 1)"),
    ("camcheck_camera_finding", "1 for each finding the camera has now, by finding code"),
    *((m[0], m[1]) for m in MEASURED),
    ("camcheck_camera_last_check_timestamp_seconds", "UNIX time of the last finished check"),
    ("camcheck_camera_last_success_timestamp_seconds", "UNIX time of the last check that saw working video"),
    ("camcheck_camera_last_check_duration_seconds", "Duration of the last check"),
)
_F_STATUS, _F_SINCE, _F_INFO, _F_FINDING = 0, 1, 2, 3
_F_MEASURED0 = 4
_F_LAST_CHECK = _F_MEASURED0 + len(MEASURED)
_F_LAST_SUCCESS = _F_LAST_CHECK + 1
_F_LAST_DURATION = _F_LAST_CHECK + 2

# Scheduler stats: key -> (family, help, is_counter)
STATS = {
    "in_flight": ("camcheck_scheduler_in_flight", "Camera checks (probes) running now", False),
    "queue_depth": ("camcheck_scheduler_queue_depth", "Checks due but waiting for a slot", False),
    "cycle_lag": ("camcheck_scheduler_cycle_lag_seconds", "How late the most overdue waiting check is", False),
    "started": ("camcheck_checks_started", "Checks started", True),
    "completed": ("camcheck_checks_completed", "Checks completed", True),
    "errors": ("camcheck_check_errors", "Checks that failed inside camcheck (bugs, never camera faults)", True),
    "overruns": ("camcheck_scheduler_overruns", "Checks started more than one interval late", True),
}

_CONTROL = {i: " " for i in (*range(0, 32), 127)}
_FINDING_CODE = re.compile(r"[^a-z0-9_]+")
_VERDICT = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_NAME_OK = re.compile(r"[^a-zA-Z0-9_]")
MAX_VERDICTS = 24
_STATUS_INDEX = {s: i for i, s in enumerate(STATUSES)}


_NEEDS_WORK = re.compile(r'[\x00-\x1f\x7f"\\]')


def clean_label_value(value: object, limit: int = 128) -> str:
    """Label value bounded in length, with control characters (newline included) made spaces."""
    s = value if type(value) is str else str(value)
    if len(s) > limit:
        s = s[:limit]
    return s.translate(_CONTROL) if _NEEDS_WORK.search(s) else s


def escape_label_value(value: object, limit: int = 128) -> str:
    """Label value safe for the text formats: cleaned, then escaped."""
    s = value if type(value) is str else str(value)
    if len(s) > limit:
        s = s[:limit]
    if _NEEDS_WORK.search(s) is None:  # the common case: nothing to do
        return s
    s = s.translate(_CONTROL)
    return s.replace("\\", "\\\\").replace('"', '\\"')


def finding_code(finding: str) -> str:
    """``"fps_below_registered: 12 < 25"`` -> ``"fps_below_registered"`` (bounded, label-safe)."""
    code = finding.split(":", 1)[0].strip().lower()
    code = _FINDING_CODE.sub("_", code).strip("_")[:64]
    return code or "other"


def _fmt(v: float) -> str:
    if v == math.inf:
        return "+Inf"
    if v == -math.inf:
        return "-Inf"
    if v != v:
        return "NaN"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _num(v: object) -> float | None:
    if v is None or isinstance(v, str):
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f


def _stats_dict(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    if dataclasses.is_dataclass(stats) and not isinstance(stats, type):
        return dataclasses.asdict(stats)
    if isinstance(stats, Mapping):
        return dict(stats)
    return dict(vars(stats))


@dataclasses.dataclass
class _Snapshot:
    views: list[CameraView]
    stats: dict[str, Any]
    hist: dict[str, tuple[list[int], float, int]]


class CameraMetricsCollector(Collector):
    """Per-camera, aggregate, histogram and scheduler metrics. See the module docstring."""

    def __init__(
        self,
        views: ViewsFn,
        stats: StatsFn | None = None,
        *,
        labels: Sequence[str] = (),
        label_value_max: int = 128,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        extra_collectors: Sequence[Collector] = (),
    ) -> None:
        self._views_fn = views
        self._stats_fn = stats
        self.labels = tuple(labels)
        self.label_value_max = label_value_max
        self.buckets = tuple(float(b) for b in buckets)
        self.extra_collectors: list[Collector] = list(extra_collectors)
        self._hist: dict[str, tuple[list[int], float, int]] = {}
        self._hist_lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._cache: dict[str, tuple[CameraView, tuple[bytes, ...], tuple[str, ...], int]] = {}
        self.last_render_seconds = 0.0

    # -- inputs -------------------------------------------------------------------------------
    def observe_check(self, camera_id: str, seconds: float, verdict: str) -> None:
        """Count one finished check in the duration histogram (by verdict; never by camera: bounded)."""
        try:
            seconds = float(seconds)
            if not math.isfinite(seconds) or seconds < 0:
                return
            v = verdict if isinstance(verdict, str) and _VERDICT.match(verdict) else "other"
            with self._hist_lock:
                if v not in self._hist and len(self._hist) >= MAX_VERDICTS:
                    v = "other"
                counts, total, n = self._hist.get(v) or ([0] * (len(self.buckets) + 1), 0.0, 0)
                i = 0
                for i, b in enumerate(self.buckets):  # noqa: B007 - index used below
                    if seconds <= b:
                        break
                else:
                    i = len(self.buckets)
                counts[i] += 1
                self._hist[v] = (counts, total + seconds, n + 1)
        except Exception:  # never raise into the daemon's check path
            return

    def remove_camera(self, camera_id: str) -> None:
        # The series vanish anyway once the daemon drops the view; this frees the cache at once.
        self._cache.pop(camera_id, None)

    def add_collector(self, collector: Collector) -> None:
        self.extra_collectors.append(collector)

    def snapshot(self) -> _Snapshot:
        """Take the inputs (call on the daemon's event loop thread: the views dict may change there)."""
        views = list(self._views_fn())
        stats = _stats_dict(self._stats_fn()) if self._stats_fn else {}
        with self._hist_lock:
            hist = {k: (list(c), s, n) for k, (c, s, n) in self._hist.items()}
        return _Snapshot(views, stats, hist)

    # -- samples (shared by both output paths) -------------------------------------------------
    def _label_values(self, view: CameraView) -> list[str]:
        lab = view.labels or {}
        return [clean_label_value(lab.get(name, "") or "", self.label_value_max) for name in self.labels]

    def _camera_samples(self, view: CameraView) -> list[list[tuple[tuple[tuple[str, str], ...], float]]]:
        """Per family: list of (extra label pairs, value)."""
        out: list[list[tuple[tuple[tuple[str, str], ...], float]]] = [[] for _ in CAMERA_FAMILIES]
        status = view.status if view.status in STATUSES else "unknown"
        out[_F_STATUS] = [((("status", s),), 1.0 if s == status else 0.0) for s in STATUSES]
        if view.status_since is not None:
            out[_F_SINCE].append(((), float(view.status_since)))
        info = view.info or {}
        measured = view.measured or {}
        codec = info.get("codec") or (measured.get("codec") if isinstance(measured.get("codec"), str) else "") or ""
        out[_F_INFO].append(
            (
                (
                    ("name", view.name or ""),
                    ("parent_id", view.parent_id or ""),
                    *((k, str(codec) if k == "codec" else str(info.get(k, "") or "")) for k in INFO_KEYS),
                ),
                1.0,
            )
        )
        seen: set[str] = set()
        for f in view.findings:
            code = finding_code(f)
            if code not in seen:
                seen.add(code)
                out[_F_FINDING].append(((("finding", code),), 1.0))
        for i, (_name, _help, key, scale) in enumerate(MEASURED):
            v = _num(measured.get(key))
            if v is not None:
                out[_F_MEASURED0 + i].append(((), v * scale))
        if view.last_check_at is not None:
            out[_F_LAST_CHECK].append(((), float(view.last_check_at)))
        if view.last_success_at is not None:
            out[_F_LAST_SUCCESS].append(((), float(view.last_success_at)))
        if view.last_check_duration is not None:
            out[_F_LAST_DURATION].append(((), float(view.last_check_duration)))
        return out

    # -- prometheus_client path ----------------------------------------------------------------
    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        base_names = ["camera_id", *self.labels]
        fams: list[GaugeMetricFamily] = []
        for name, help_ in CAMERA_FAMILIES:
            fams.append(GaugeMetricFamily(name, help_))
        lim = self.label_value_max
        for view in snap.views:
            base = dict(zip(base_names, (clean_label_value(x, lim) for x in (view.camera_id, *self._label_values(view)))))
            for fam, samples in zip(fams, self._camera_samples(view)):
                for extra, value in samples:
                    fam.samples.append(
                        Sample(fam.name, base | {k: clean_label_value(v, lim) for k, v in extra}, value, None, None)
                    )
        yield from fams
        yield from self._other_families(snap)
        for c in self.extra_collectors:
            yield from c.collect()

    def _aggregates(self, views: list[CameraView]) -> dict[tuple[str, ...], list[int]]:
        counts: dict[tuple[str, ...], list[int]] = {}
        idx = {s: i for i, s in enumerate(STATUSES)}
        for v in views:
            key = tuple(self._label_values(v))
            row = counts.get(key)
            if row is None:
                row = counts[key] = [0] * len(STATUSES)
            row[idx.get(v.status, 0)] += 1
        return counts

    def _other_families(self, snap: _Snapshot, counts: dict[tuple[str, ...], list[int]] | None = None) -> Iterator[Metric]:
        agg = GaugeMetricFamily("camcheck_cameras", "Number of cameras by status (and registry labels)",
                                labels=[*self.labels, "status"])
        if counts is None:
            counts = self._aggregates(snap.views)
        if not counts:
            counts = {tuple("" for _ in self.labels): [0] * len(STATUSES)}
        for key, row in sorted(counts.items()):
            for s, n in zip(STATUSES, row):
                agg.add_metric([*key, s], n)
        yield agg
        h = HistogramMetricFamily("camcheck_check_duration_seconds", "Duration of camera checks", labels=["verdict"])
        for verdict, (counts, total, _n) in sorted(snap.hist.items()):
            cum, buckets = 0, []
            for b, c in zip((*self.buckets, math.inf), counts):
                cum += c
                buckets.append((floatToGoString(b), cum))
            h.add_metric([verdict], buckets, total)
        yield h
        for key, value in snap.stats.items():
            v = _num(value)
            if v is None:
                continue
            if key in STATS:
                name, help_, counter = STATS[key]
            else:
                name, help_, counter = "camcheck_scheduler_" + _NAME_OK.sub("_", key), f"Scheduler stat {key}", False
            fam = CounterMetricFamily(name, help_) if counter else GaugeMetricFamily(name, help_)
            fam.add_metric([], v)
            yield fam
        g = GaugeMetricFamily("camcheck_exporter_render_seconds", "Time the previous /metrics rendering took")
        g.add_metric([], self.last_render_seconds)
        yield g

    # -- fast text path ------------------------------------------------------------------------
    def _camera_entry(self, view: CameraView) -> tuple[CameraView, tuple[bytes, ...], tuple[str, ...], int]:
        """(view, exposition bytes per camera family, aggregate key, status index) — cached per view object.

        Written out by hand rather than from ``_camera_samples`` because this is the hot loop of a
        cold 10,000-camera scrape; a test checks both paths give the same samples.
        """
        lim = self.label_value_max
        esc = escape_label_value
        key = tuple(self._label_values(view))
        base = 'camera_id="' + esc(view.camera_id, lim) + '"'
        for name, val in zip(self.labels, key):
            base += "," + name + '="' + esc(val, lim) + '"'
        status = view.status if view.status in _STATUS_INDEX else "unknown"
        chunks: list[bytes] = [b""] * len(CAMERA_FAMILIES)
        chunks[_F_STATUS] = "".join(
            [f'camcheck_camera_status{{{base},status="{s}"}} {1 if s == status else 0}\n' for s in STATUSES]
        ).encode()
        if view.status_since is not None:
            chunks[_F_SINCE] = f"camcheck_camera_status_since_timestamp_seconds{{{base}}} {_fmt(float(view.status_since))}\n".encode()
        info = view.info or {}
        measured = view.measured or {}
        mcodec = measured.get("codec")
        codec = info.get("codec") or (mcodec if isinstance(mcodec, str) else "") or ""
        chunks[_F_INFO] = (
            f'camcheck_camera_info{{{base},name="{esc(view.name or "", lim)}",parent_id="{esc(view.parent_id or "", lim)}"'
            f',brand="{esc(info.get("brand", "") or "", lim)}",model="{esc(info.get("model", "") or "", lim)}"'
            f',firmware="{esc(info.get("firmware", "") or "", lim)}",codec="{esc(codec, lim)}"'
            f',resolution="{esc(info.get("resolution", "") or "", lim)}"}} 1\n'
        ).encode()
        if view.findings:
            codes = dict.fromkeys(finding_code(f) for f in view.findings)
            chunks[_F_FINDING] = "".join(
                [f'camcheck_camera_finding{{{base},finding="{esc(c, lim)}"}} 1\n' for c in codes]
            ).encode()
        for i, (name, _help, mkey, scale) in enumerate(MEASURED):
            v = _num(measured.get(mkey))
            if v is not None:
                chunks[_F_MEASURED0 + i] = f"{name}{{{base}}} {_fmt(v * scale)}\n".encode()
        if view.last_check_at is not None:
            chunks[_F_LAST_CHECK] = f"camcheck_camera_last_check_timestamp_seconds{{{base}}} {_fmt(float(view.last_check_at))}\n".encode()
        if view.last_success_at is not None:
            chunks[_F_LAST_SUCCESS] = f"camcheck_camera_last_success_timestamp_seconds{{{base}}} {_fmt(float(view.last_success_at))}\n".encode()
        if view.last_check_duration is not None:
            chunks[_F_LAST_DURATION] = f"camcheck_camera_last_check_duration_seconds{{{base}}} {_fmt(float(view.last_check_duration))}\n".encode()
        return view, tuple(chunks), key, _STATUS_INDEX.get(view.status, 0)

    def render_snapshot(self, snap: _Snapshot, openmetrics: bool = False) -> bytes:
        """Text exposition 0.0.4 (or OpenMetrics 1.0) of a snapshot. Thread-safe; may run off the loop."""
        t0 = time.perf_counter()
        with self._render_lock:
            old = self._cache
            new: dict[str, tuple[CameraView, tuple[bytes, ...], tuple[str, ...], int]] = {}
            counts: dict[tuple[str, ...], list[int]] = {}
            for view in snap.views:
                entry = old.get(view.camera_id)
                if entry is None or entry[0] is not view:
                    entry = self._camera_entry(view)
                new[view.camera_id] = entry
                row = counts.get(entry[2])
                if row is None:
                    row = counts[entry[2]] = [0] * len(STATUSES)
                row[entry[3]] += 1
            self._cache = new  # cameras no longer in the views are forgotten here
        rows = [e[1] for e in new.values()]
        out: list[bytes] = []
        for i, (name, help_) in enumerate(CAMERA_FAMILIES):
            out.append(f"# HELP {name} {help_}\n# TYPE {name} gauge\n".encode())
            out.append(b"".join([r[i] for r in rows]))
        rest = _MiniRegistry(list(self._other_families(snap, counts)), self.extra_collectors)
        out.append((generate_openmetrics if openmetrics else generate_text)(rest))  # "# EOF" comes last, from here
        body = b"".join(out)
        self.last_render_seconds = time.perf_counter() - t0
        return body

    def render(self, openmetrics: bool = False) -> bytes:
        return self.render_snapshot(self.snapshot(), openmetrics)


class _MiniRegistry:
    """Just enough of a registry for prometheus_client's generate_latest (small, non-camera families)."""

    def __init__(self, families: list[Metric], collectors: Sequence[Collector]) -> None:
        self._families = families
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        yield from self._families
        for c in self._collectors:
            yield from c.collect()


class ParentIncidentCollector(Collector):
    """The parents (NVRs, switches, sites) whose incident is open now: most cameras behind each
    stopped delivering together. The name (as the parents sheet gives it, else empty) is a label of
    the first series, so that an alert says where the device is; a recorder behind a site whose own
    incident tells it is marked by camcheck_parent_incident_covered (one alert for the site)."""

    def __init__(self, incidents: Callable[[], Iterable[OpenIncident]], label_value_max: int = 128) -> None:
        self.incidents = incidents
        self.label_value_max = label_value_max

    def collect(self) -> Iterator[Metric]:
        down = GaugeMetricFamily("camcheck_parent_suspected_down",
                                 "1 for each parent device or site whose cameras stopped delivering together",
                                 labels=["parent_id", "name"])
        affected = GaugeMetricFamily("camcheck_parent_cameras_affected",
                                     "Cameras behind the parent failing in its open incident", labels=["parent_id"])
        since = GaugeMetricFamily("camcheck_parent_suspected_down_since_timestamp_seconds",
                                  "UNIX time the parent's open incident began", labels=["parent_id"])
        covered = GaugeMetricFamily("camcheck_parent_incident_covered",
                                    "1 for a parent whose incident the incident of the device it is behind "
                                    "(`upstream_id`) tells", labels=["parent_id", "upstream_id"])

        def clean(v: str) -> str:
            return clean_label_value(v, self.label_value_max)

        for inc in sorted(self.incidents(), key=lambda x: x.parent_id):
            key = [clean(inc.parent_id)]
            down.add_metric([*key, clean(inc.name or "")], 1)
            affected.add_metric(key, inc.cameras)
            since.add_metric(key, inc.since)
            if inc.covered_by:
                covered.add_metric([*key, clean(inc.covered_by)], 1)
        yield down
        yield affected
        yield since
        yield covered
