"""The fleet's ONVIF face: devices derived from fleet cameras (streams, credentials, faults), plus an NVR."""

from __future__ import annotations

import pytest

from camcheck.simulator.fleet import parse_fleet
from camcheck.simulator.onvif.fleet_glue import device_config_for_camera, start_fleet_onvif
from onvif_helpers import run_probe

pytestmark = pytest.mark.timeout(60)

FLEET = {
    "onvif_port_base": 0,
    "defaults": {"credentials": {"username": "admin", "password": "sim-pass", "auth": "digest"}},
    "cameras": [
        {"id": "gate", "main": {"codec": "h265", "width": 2560, "height": 1440, "fps": 20, "gop": 40, "bitrate_kbps": 6144}},
        {"id": "yard", "onvif": {"faults": ["not_recording"]}},
        {"id": "dark", "onvif": {"enabled": False}},
        {"id": "open", "credentials": {"auth": "none"}},
    ],
}


def test_device_config_follows_the_camera() -> None:
    fleet = parse_fleet(FLEET)
    gate = device_config_for_camera(fleet.camera("gate"), "127.0.0.1", 8554)
    assert gate is not None
    main = gate.profiles[0]
    assert (main.encoding, main.width, main.height, main.fps, main.gov_length, main.bitrate_kbps) == ("H265", 2560, 1440, 20, 40, 6144)
    assert main.stream_uri == "rtsp://127.0.0.1:8554/cam/gate/main" and gate.profiles[1].stream_uri.endswith("/cam/gate/sub")
    assert (gate.username, gate.password, gate.auth) == ("admin", "sim-pass", "wsse")
    assert device_config_for_camera(fleet.camera("dark"), "127.0.0.1", 8554) is None
    assert device_config_for_camera(fleet.camera("open"), "127.0.0.1", 8554).auth == "none"
    assert parse_fleet({**FLEET, "onvif_port_base": None}).onvif_port_base is None


async def test_fleet_devices_and_nvr_answer() -> None:
    fleet = parse_fleet(FLEET)
    servers = await start_fleet_onvif(fleet, "127.0.0.1", 8554, discovery_port=None, validate=True, nvr={"faults": ["recording_gaps"]})
    assert servers is not None
    try:
        assert [d.config.name for d in servers.devices] == ["gate", "yard", "open", "nvr1"]
        gate = await run_probe(servers.by_name("gate").port)
        assert gate.findings == [] and gate.profiles[0]["encoding"] == "H265"
        yard = await run_probe(servers.by_name("yard").port)
        assert yard.codes() == ["not_recording"]
        nvr = await run_probe(servers.by_name("nvr1").port)
        assert [r["source_name"] for r in nvr.recording["recordings"]] == ["gate", "yard", "open"]
        # The NVR's own fault (gaps) applies to every recording it holds; yard also stopped.
        assert sorted(set(nvr.codes())) == ["not_recording", "recording_gaps"]
        gate_on_nvr = await run_probe(servers.by_name("nvr1").port, recording_source="gate")
        assert gate_on_nvr.codes() == ["recording_gaps"]
        assert all(d.schema_errors == [] for d in servers.devices)
    finally:
        await servers.close()
