"""Profile G analysis as pure functions: retention, activity, gaps, recorded hours."""

from __future__ import annotations

import datetime as dt

import pytest

from camcheck.probe.onvif_recording import HistoryEvent, RecordingFacts, analyse_recording, parse_duration_s

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)
H = dt.timedelta(hours=1)


def rec(**kw) -> RecordingFacts:
    kw.setdefault("earliest", NOW - dt.timedelta(days=10))
    kw.setdefault("latest", NOW - dt.timedelta(seconds=5))
    kw.setdefault("job_state", "Active")
    return RecordingFacts(token="r", **kw)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("P30D", 30 * 86400), ("PT0S", 0), ("PT1H30M", 5400), ("P1DT12H", 129600), ("P1M", 30 * 86400), ("P1Y", 365 * 86400), ("bogus", None), ("P", None), (None, None)],
)
def test_duration(text, seconds) -> None:
    assert parse_duration_s(text) == seconds


def test_events_give_gaps_and_hours() -> None:
    events = [
        HistoryEvent(NOW - 24 * H, True, start_state=True),
        HistoryEvent(NOW - 10 * H, False),
        HistoryEvent(NOW - 9 * H, True),
        HistoryEvent(NOW - 3 * H, False),
        HistoryEvent(NOW - 1 * H, True),
    ]
    r = analyse_recording(rec(), events, NOW, stale_after_s=300, min_gap_s=60)
    assert r.active and abs(r.retention_days - 10) < 1e-9
    assert [(g.start, g.end, g.open) for g in r.gaps_24h] == [(NOW - 10 * H, NOW - 9 * H, False), (NOW - 3 * H, NOW - 1 * H, False)]
    assert abs(r.recorded_hours_24h - (21 - 5 / 3600)) < 1e-6
    assert r.history_source == "events"


def test_first_change_implies_the_state_before_it() -> None:
    r = analyse_recording(rec(), [HistoryEvent(NOW - 4 * H, False), HistoryEvent(NOW - 2 * H, True)], NOW, 300, 60)
    assert [(g.start, g.end) for g in r.gaps_24h] == [(NOW - 4 * H, NOW - 2 * H)]


def test_stopped_recording_is_an_open_gap_and_not_active() -> None:
    r = analyse_recording(rec(latest=NOW - 6 * H, job_state="Idle"), [HistoryEvent(NOW - 24 * H, True, True), HistoryEvent(NOW - 6 * H, False)], NOW, 300, 60)
    assert not r.active and [g.open for g in r.gaps_24h] == [True] and abs(r.latest_age_s - 6 * 3600) < 1e-9


def test_active_job_but_stale_data_is_not_recording() -> None:
    assert analyse_recording(rec(latest=NOW - 2 * H), [], NOW, 300, 60).active is False


def test_fresh_data_but_idle_job_is_not_recording() -> None:
    assert analyse_recording(rec(job_state="Idle"), [], NOW, 300, 60).active is False


def test_without_job_information_the_recording_status_decides() -> None:
    assert analyse_recording(rec(job_state=None, status="Recording"), [], NOW, 300, 60).active is True
    assert analyse_recording(rec(job_state=None, status="Stopped"), [], NOW, 300, 60).active is False


def test_young_recording_time_before_earliest_is_retention_not_a_gap() -> None:
    r = analyse_recording(rec(earliest=NOW - 5 * H), [HistoryEvent(NOW - 5 * H, True)], NOW, 300, 60)
    assert r.gaps_24h == [] and abs(r.recorded_hours_24h - 5) < 0.01 and r.retention_days < 1


def test_no_events_falls_back_to_earliest_latest() -> None:
    r = analyse_recording(rec(), [], NOW, 300, 60)
    assert r.history_source == "earliest_latest" and r.gaps_24h == [] and abs(r.recorded_hours_24h - 24) < 0.01


def test_short_holes_are_ignored() -> None:
    r = analyse_recording(rec(), [HistoryEvent(NOW - 24 * H, True, True), HistoryEvent(NOW - 2 * H, False), HistoryEvent(NOW - 2 * H + dt.timedelta(seconds=30), True)], NOW, 300, 60)
    assert r.gaps_24h == []
