"""probe_onvif against the simulated device: every finding, Media1/Media2, NVR, auth variants, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from camcheck.probe.onvif import OnvifSettings
from camcheck.simulator.onvif import GapConfig, OnvifDeviceConfig, OnvifProfileConfig, OnvifRecordingConfig, running_onvif_device
from onvif_helpers import PASSWORD, run_probe

pytestmark = pytest.mark.timeout(60)


def device(**kw) -> OnvifDeviceConfig:
    kw.setdefault("password", PASSWORD)
    kw.setdefault(
        "profiles",
        [
            OnvifProfileConfig(token="main", width=1920, height=1080, fps=25, gov_length=50, bitrate_kbps=4096, stream_uri="rtsp://127.0.0.1:8554/cam/c1/main"),
            OnvifProfileConfig(token="sub", encoding="H265", width=640, height=360, fps=15, gov_length=30, bitrate_kbps=512, stream_uri="rtsp://127.0.0.1:8554/cam/c1/sub"),
        ],
    )
    return OnvifDeviceConfig(**kw)


async def test_healthy_device_reports_everything_and_no_finding() -> None:
    async with running_onvif_device(device(max_width=2560, max_height=1440)) as dev:
        obs = await run_probe(dev.port, required_retention_days=30)
    d = obs.to_dict()
    assert obs.findings == [], obs.findings
    assert obs.ok and "no findings" in obs.message
    assert d["device"] == {"manufacturer": "camcheck", "model": "SimCam-1", "firmware": "1.0.0", "serial": "SIM0001", "hardware_id": "SIM-HW-1"}
    assert d["clock"]["ntp"] is True and d["clock"]["timezone"] == "ICT-7" and abs(d["clock"]["offset_s"]) < 2
    main, sub = d["profiles"]
    assert (main["source"], main["encoding"], main["width"], main["height"], main["fps_limit"], main["gov_length"], main["gop_s"]) == ("media2", "H264", 1920, 1080, 25.0, 50, 2.0)
    assert main["bitrate_limit_kbps"] == 4096 and main["stream_uri"] == "rtsp://127.0.0.1:8554/cam/c1/main"
    assert main["snapshot_uri"].endswith("/onvif/snapshot/main.jpg")
    assert (sub["encoding"], sub["width"], sub["gop_s"]) == ("H265", 640, 2.0)  # H.265: only Media2 shows it
    assert d["max_resolution"] == {"width": 2560, "height": 1440}
    (rec,) = d["recording"]["recordings"]
    assert rec["active"] is True and rec["job_state"] == "Active" and rec["status"] == "Recording"
    assert 29.99 < rec["retention_days"] < 30.01 and rec["max_retention_days"] == 0
    assert rec["gaps_24h"] == [] and 23.9 < rec["recorded_hours_24h"] <= 24.0
    assert rec["tracks"][0] == {"token": "VIDEO001", "type": "Video", "encoding": "H264", "width": 1280, "height": 720, "fps": 25.0, "bitrate_kbps": 2048}
    assert rec["history_source"] == "events"
    assert dev.schema_errors == []


async def test_media1_only_device_hides_h265_encoder() -> None:
    async with running_onvif_device(device(media2=False)) as dev:
        obs = await run_probe(dev.port)
    main, sub = obs.profiles
    assert main["source"] == "media1" and main["encoding"] == "H264" and main["gov_length"] == 50 and main["gop_s"] == 2.0
    assert sub["encoding"] is None and sub["stream_uri"] == "rtsp://127.0.0.1:8554/cam/c1/sub"
    assert obs.max_resolution == {"width": 1920, "height": 1080}
    assert "media2" not in obs.services


async def test_onvif_auth_fail() -> None:
    async with running_onvif_device(device(faults=["onvif_auth_fail"])) as dev:
        obs = await run_probe(dev.port)
    assert obs.codes() == ["onvif_auth_failed"]
    assert obs.clock is not None and obs.device is None and not obs.ok
    assert PASSWORD not in json.dumps(obs.to_dict())


async def test_wrong_password_and_no_password() -> None:
    async with running_onvif_device(device()) as dev:
        wrong = await run_probe(dev.port, password="not-it")
        none = await run_probe(dev.port, password=None, username=None)
    assert wrong.codes() == ["onvif_auth_failed"] and none.codes() == ["onvif_auth_failed"]


async def test_clock_drift_is_measured_and_auth_still_works() -> None:
    async with running_onvif_device(device(faults=["clock_drift"])) as dev:
        obs = await run_probe(dev.port)
    assert obs.codes() == ["clock_drift"]
    assert 898 < obs.clock["offset_s"] < 901  # the device's WS-Security window is 300 s: we signed on its clock
    assert obs.device is not None and obs.recording["recordings"][0]["active"] is True


async def test_drifted_device_demanding_auth_for_its_time() -> None:
    # Like ipycam: GetSystemDateAndTime needs credentials, and the clock is 15 min off. The HTTP Date
    # header of the refusal gives the offset to sign with.
    async with running_onvif_device(device(faults=["clock_drift"], time_requires_auth=True)) as dev:
        obs = await run_probe(dev.port)
    assert obs.codes() == ["clock_drift"] and obs.clock["requires_auth"] is True


async def test_http_digest_device() -> None:
    async with running_onvif_device(device(auth="digest")) as dev:
        ok = await run_probe(dev.port)
        off = await run_probe(dev.port, settings=OnvifSettings(http_digest=False))
    assert ok.findings == [] and ok.device["model"] == "SimCam-1"
    assert off.codes() == ["onvif_auth_failed"]


async def test_not_recording() -> None:
    async with running_onvif_device(device(faults=["not_recording"])) as dev:
        obs = await run_probe(dev.port)
    assert obs.codes() == ["not_recording"]
    rec = obs.recording["recordings"][0]
    assert rec["active"] is False and rec["job_state"] == "Idle" and rec["status"] == "Stopped"
    assert 6 * 3600 - 5 < rec["latest_age_s"] < 6 * 3600 + 5
    # The last 6 h are an open gap, reported as such but not as recording_gaps.
    assert [g["open"] for g in rec["gaps_24h"]] == [True]
    assert 17.9 < rec["recorded_hours_24h"] < 18.1


async def test_recording_gaps() -> None:
    async with running_onvif_device(device(faults=["recording_gaps"])) as dev:
        obs = await run_probe(dev.port)
    assert obs.codes() == ["recording_gaps"]
    gaps = obs.findings[0]["detail"]["gaps"]
    assert [round(g["duration_s"]) for g in gaps] == [1800, 5400]
    assert 21.9 < obs.findings[0]["detail"]["recorded_hours"] < 22.1


async def test_short_retention_actual_and_configured() -> None:
    async with running_onvif_device(device(faults=["short_retention"])) as dev:
        obs = await run_probe(dev.port, required_retention_days=30)
        unchecked = await run_probe(dev.port)
    assert obs.codes() == ["retention_short"]
    assert 1.99 < obs.findings[0]["detail"]["retention_days"] < 2.01
    assert unchecked.findings == []
    cfg = device(recordings=[OnvifRecordingConfig(retention_days=10, max_retention_days=7)])
    async with running_onvif_device(cfg) as dev:
        obs = await run_probe(dev.port, required_retention_days=9)
    assert obs.codes() == ["retention_short"] and "configured maximum retention is 7.0 days" in obs.findings[0]["message"]


async def test_no_profile_g() -> None:
    async with running_onvif_device(device(profile_g=False)) as dev:
        obs = await run_probe(dev.port, required_retention_days=30)
    assert obs.codes() == ["no_profile_g"] and obs.recording == {"profile_g": False, "recordings": []}
    assert obs.ok  # informational: the camera itself answered


async def test_nvr_with_several_cameras_scoped_by_source() -> None:
    recs = [
        OnvifRecordingConfig(token="r1", source_name="gate", source_id="gate"),
        OnvifRecordingConfig(token="r2", source_name="yard", source_id="yard", job_active=False, latest_lag_s=7200),
        OnvifRecordingConfig(token="r3", source_name="road", source_id="road", gaps=[GapConfig(start_ago_h=2, duration_h=1)]),
    ]
    async with running_onvif_device(device(recordings=recs, model="SimNVR-16")) as dev:
        all_ = await run_probe(dev.port)
        yard = await run_probe(dev.port, recording_source="yard")
        gate = await run_probe(dev.port, recording_source="gate")
        missing = await run_probe(dev.port, recording_source="nope")
    assert sorted(all_.codes()) == ["not_recording", "recording_gaps"]
    assert [r["token"] for r in all_.recording["recordings"]] == ["r1", "r2", "r3"]
    assert yard.codes() == ["not_recording"] and gate.codes() == []
    assert missing.codes() == ["not_recording"] and "nope" in missing.findings[0]["message"]


async def test_config_lies_changes_what_the_encoder_reports() -> None:
    truth = device()
    async with running_onvif_device(device(faults=["config_lies"])) as dev:
        obs = await run_probe(dev.port)
    assert obs.findings == []  # alone, a lie cannot be seen: compare_stream_to_config does (test_onvif_compare)
    main = obs.profiles[0]
    assert (main["width"], main["height"]) != (truth.profiles[0].width, truth.profiles[0].height) or main["fps_limit"] != truth.profiles[0].fps


async def test_unreachable_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connection refused
        obs = await run_probe(port, timeout=3)
    assert obs.codes() == ["onvif_unreachable"] and not obs.ok


async def test_cli_json_reports_retention_gaps_and_recording_state() -> None:
    cfg = device(recordings=[OnvifRecordingConfig(retention_days=5, gaps=[GapConfig(start_ago_h=4, duration_h=2)])])
    async with running_onvif_device(cfg) as dev:
        env = dict(os.environ, CAM_PW=PASSWORD)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "camcheck", "onvif", f"127.0.0.1:{dev.port}", "--user", "admin", "--password-env", "CAM_PW",
            "--required-days", "7", "--json", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 40)
    assert proc.returncode == 2, err.decode()
    d = json.loads(out)
    rec = d["recording"]["recordings"][0]
    assert 4.99 < rec["retention_days"] < 5.01
    assert rec["active"] is True
    assert [round(g["duration_s"]) for g in rec["gaps_24h"]] == [7200]
    assert sorted(f["code"] for f in d["findings"]) == ["recording_gaps", "retention_short"]
    assert PASSWORD not in out.decode() + err.decode()


async def test_cli_usage_errors() -> None:
    for args in (["onvif", "http://x/"], ["onvif", "host:99999"], ["onvif", "host", "--password-env", "CAMCHECK_NO_SUCH_VAR"]):
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "camcheck", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 3 and err.strip(), args


async def test_cli_password_errors_say_what_is_wrong() -> None:
    cases = ((["--password-env", "CAMCHECK_NO_SUCH_VAR"], "environment variable CAMCHECK_NO_SUCH_VAR is not set"),
             (["--password-file", "/nonexistent/pw"], "cannot read password file /nonexistent/pw"))
    for extra, message in cases:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "camcheck", "onvif", "host", *extra,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 3 and message in err.decode(), (extra, err)


def test_host_port_parsing() -> None:
    from camcheck.probe.onvif_target import parse_host_port

    assert parse_host_port("cam.local") == ("cam.local", 80)
    assert parse_host_port("10.0.0.5:8000") == ("10.0.0.5", 8000)
    assert parse_host_port("[fe80::1]:8080") == ("fe80::1", 8080)
    assert parse_host_port("fe80::1") == ("fe80::1", 80)
    for bad in ("", "http://x", "a:b", "x:0", "[::1", "[::1]x", "u@h"):
        with pytest.raises(ValueError):
            parse_host_port(bad)


def test_pick_stream_uri_prefers_the_largest_profile() -> None:
    from camcheck.probe.onvif import OnvifObservation, pick_stream_uri

    obs = OnvifObservation(host="h", port=1, profiles=[
        {"stream_uri": "rtsp://h/sub", "width": 640, "height": 360},
        {"stream_uri": "rtsp://h/main", "width": 1920, "height": 1080},
        {"stream_uri": None, "width": 4000, "height": 3000},
    ])
    assert pick_stream_uri(obs) == "rtsp://h/main"
    assert pick_stream_uri(OnvifObservation(host="h", port=1)) is None


async def test_silent_host_is_unreachable_not_slow() -> None:
    # A listening socket whose backlog is full never completes the handshake from the client's
    # side: the deadline passes before any connection, as with a powered-off camera.
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fillers = []
    try:
        for _ in range(8):  # fill the accept queue (SYNs beyond it are dropped)
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(srv.getsockname())
            fillers.append(c)
        obs = await run_probe(srv.getsockname()[1], timeout=1.5)
    finally:
        for c in fillers:
            c.close()
        srv.close()
    assert obs.codes() == ["onvif_unreachable"] and obs.findings[0]["detail"] == {"reason": "timeout"}
