"""WS-Discovery: the probe finds the simulated devices by unicast to 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from camcheck.probe.discovery import discover, parse_probe_matches
from camcheck.simulator.onvif import OnvifDeviceConfig, start_onvif_servers

pytestmark = pytest.mark.timeout(60)


async def test_discover_finds_every_simulated_device() -> None:
    cfgs = [OnvifDeviceConfig(name=f"cam{i}", model="SimCam-1") for i in range(3)] + [OnvifDeviceConfig(name="hidden", discovery=False)]
    servers = await start_onvif_servers([(c, 0) for c in cfgs], discovery_port=0)
    try:
        found = await discover(timeout=1.0, target="127.0.0.1", port=servers.discovery_port, max_devices=3)
        by_name = {d.name: d for d in found}
        assert sorted(by_name) == ["cam0", "cam1", "cam2"]
        for d in servers.devices[:3]:
            assert by_name[d.config.name].xaddrs == [d.url]
            assert by_name[d.config.name].address == f"urn:uuid:{d.uuid}"
            assert by_name[d.config.name].hardware == "SimCam-1"
        assert servers.discovery.probes == 1

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "camcheck", "discover", "--target", "127.0.0.1", "--port", str(servers.discovery_port),
            "--timeout", "1", "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert sorted(d["name"] for d in json.loads(out)) == ["cam0", "cam1", "cam2"]
    finally:
        await servers.close()


async def test_nobody_answers() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))  # a silent UDP port
        assert await discover(timeout=0.3, target="127.0.0.1", port=s.getsockname()[1]) == []


def test_answers_to_other_probes_and_garbage_are_ignored() -> None:
    assert parse_probe_matches(b"<not xml") == []
    assert parse_probe_matches(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>') == []
    from camcheck.simulator.onvif.discovery import probe_match
    from camcheck.simulator.onvif.server import SimulatedOnvifDevice

    msg = probe_match(SimulatedOnvifDevice(OnvifDeviceConfig(name="x"), "127.0.0.1", 1), "urn:uuid:1")
    assert len(parse_probe_matches(msg, "urn:uuid:1")) == 1
    assert parse_probe_matches(msg, "urn:uuid:2") == []


async def test_bad_target_is_a_clear_error() -> None:
    with pytest.raises((ValueError, OSError)):
        await discover(timeout=0.2, target="no-such-host.invalid")
    with pytest.raises(ValueError):
        await discover(timeout=0)
