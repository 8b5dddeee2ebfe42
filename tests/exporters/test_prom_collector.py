"""The camera metrics collector: content, label hygiene, both output paths agree, series go away."""

from __future__ import annotations

import pytest
from exporter_peers import make_view
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from camcheck.collectors.scheduler import SchedulerStats
from camcheck.exporters.events import STATUSES
from camcheck.exporters.prometheus import CameraMetricsCollector, escape_label_value, finding_code

pytestmark = pytest.mark.timeout(30)


def samples(text: str, parser=parse_text) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in parser(text):
        for s in fam.samples:
            if s.name != "camcheck_exporter_render_seconds":
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels) -> float | None:
    for (n, lbls), v in samples(text).items():
        if n == name and all(dict(lbls).get(k) == val for k, val in labels.items()):
            return v
    return None


@pytest.fixture
def views():
    return {
        "cam1": make_view("cam1", "broken", findings=("no_video: no frames in 10 s", "no_video: again")),
        "cam2": make_view("cam2", "working", labels={"district": "Bang Kruai", "agency": "BMA"}),
        "cam3": make_view("cam3", "maintenance", measured={"fps": None, "recording_active": False,
                                                           "unchanged_s": 5400.0}),
    }


def test_content(views):
    stats = SchedulerStats(in_flight=7, queue_depth=3, cycle_lag=12.5, started=100, completed=90, errors=1, overruns=2)
    c = CameraMetricsCollector(lambda: views.values(), lambda: stats, labels=["district", "agency"])
    c.observe_check("cam1", 0.7, "working")
    c.observe_check("cam1", 45.0, "broken")
    c.observe_check("cam1", 1000.0, "Not A Verdict!")
    text = c.render().decode()

    # The enum: exactly one status is 1 per camera, all six series present.
    for s in STATUSES:
        assert value(text, "camcheck_camera_status", camera_id="cam1", status=s) == (1 if s == "broken" else 0)
    assert value(text, "camcheck_camera_status", camera_id="cam1", status="broken", district="Mueang", agency="Police") == 1
    assert value(text, "camcheck_camera_info", camera_id="cam1", brand="Hikvision", model="DS-2CD", firmware="V5.7",
                 codec="h264", resolution="1920x1080") == 1
    assert value(text, "camcheck_camera_finding", camera_id="cam1", finding="no_video") == 1  # de-duplicated code
    assert value(text, "camcheck_camera_fps", camera_id="cam1") == 25.0
    assert value(text, "camcheck_camera_bitrate_bits_per_second", camera_id="cam1") == 2_048_000
    assert value(text, "camcheck_camera_clock_offset_seconds", camera_id="cam1") == -0.4
    assert value(text, "camcheck_camera_retention_days", camera_id="cam1") == 30
    assert value(text, "camcheck_camera_recording_active", camera_id="cam3") == 0
    assert value(text, "camcheck_camera_fps", camera_id="cam3") is None  # unknown is absent, not 0
    assert value(text, "camcheck_camera_picture_unchanged_seconds", camera_id="cam3") == 5400
    assert value(text, "camcheck_camera_picture_unchanged_seconds", camera_id="cam1") is None
    assert value(text, "camcheck_camera_last_success_timestamp_seconds", camera_id="cam2") == 1_700_000_100
    assert value(text, "camcheck_camera_last_check_duration_seconds", camera_id="cam2") == 1.5
    # Aggregates by status and by registry label.
    assert value(text, "camcheck_cameras", status="broken", district="Mueang") == 1
    assert value(text, "camcheck_cameras", status="working", district="Bang Kruai", agency="BMA") == 1
    assert value(text, "camcheck_cameras", status="flapping", district="Mueang") == 0
    # Histogram by bounded verdicts; a strange verdict becomes "other".
    assert value(text, "camcheck_check_duration_seconds_bucket", verdict="working", le="1.0") == 1
    assert value(text, "camcheck_check_duration_seconds_count", verdict="broken") == 1
    assert value(text, "camcheck_check_duration_seconds_bucket", verdict="other", le="+Inf") == 1
    # The daemon's own metrics.
    assert value(text, "camcheck_scheduler_cycle_lag_seconds") == 12.5
    assert value(text, "camcheck_scheduler_in_flight") == 7
    assert value(text, "camcheck_scheduler_queue_depth") == 3
    assert value(text, "camcheck_scheduler_overruns_total") == 2
    assert value(text, "camcheck_checks_started_total") == 100


def test_fast_path_equals_prometheus_client_path_in_both_formats(views):
    c = CameraMetricsCollector(lambda: views.values(), lambda: {"in_flight": 1, "started": 4}, labels=["district"])
    c.observe_check("cam2", 2.0, "working")
    reg = CollectorRegistry()
    reg.register(c)
    slow = samples(generate_latest(reg).decode())
    assert samples(c.render().decode()) == slow
    om = c.render(openmetrics=True).decode()
    assert om.endswith("# EOF\n") and om.count("# EOF") == 1
    om_samples = {k: v for k, v in samples(om, parse_openmetrics).items() if not k[0].endswith("_created")}
    assert om_samples == slow


def test_label_hygiene():
    nasty = 'x"y\\z\nw\x00' + "ก" * 300
    views = {nasty: make_view(nasty, "degraded", labels={"district": nasty}, name=nasty,
                              findings=("Frozen Picture: since 10:00:01 (same hash 0xdeadbeef)",))}
    c = CameraMetricsCollector(lambda: views.values(), labels=["district"], label_value_max=64)
    text = c.render().decode()
    parsed = samples(text)  # the exposition still parses
    for (_name, lbls), _v in parsed.items():
        for k, v in lbls:
            assert len(v) <= 64 and "\n" not in v and "\x00" not in v, (k, v)
    assert value(text, "camcheck_camera_finding", finding="frozen_picture") == 1  # free text never reaches a label
    assert finding_code("!!!") == "other"
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c d'


def test_removed_camera_series_disappear(views):
    c = CameraMetricsCollector(lambda: views.values())
    assert 'camera_id="cam3"' in c.render().decode()
    del views["cam3"]  # the daemon dropped it
    text = c.render().decode()
    assert 'camera_id="cam3"' not in text and 'camera_id="cam2"' in text
    assert value(text, "camcheck_cameras", status="maintenance") == 0


def test_cache_follows_view_changes(views):
    c = CameraMetricsCollector(lambda: views.values())
    c.render()
    views["cam2"] = make_view("cam2", "broken")  # a new frozen view object replaces the old one
    assert value(c.render().decode(), "camcheck_camera_status", camera_id="cam2", status="broken") == 1


def test_collector_never_raises_on_bad_observation():
    c = CameraMetricsCollector(lambda: [])
    c.observe_check("c", float("nan"), "working")
    c.observe_check("c", "x", "working")  # type: ignore[arg-type]
    c.observe_check("c", -1, None)  # type: ignore[arg-type]
    text = c.render().decode()
    assert "camcheck_check_duration_seconds_count" not in text
    assert value(text, "camcheck_cameras", status="unknown") == 0
