"""`camcheck simulate --onvif-port-base` gives the fleet ONVIF faces that `camcheck discover` finds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from camcheck.simulator.testing import fleet_process

pytestmark = pytest.mark.timeout(120)


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_discover_finds_the_simulated_fleet() -> None:
    port = _free_udp_port()
    cfg = {
        "defaults": {"main": {"codec": "h264", "width": 320, "height": 180, "fps": 10, "gop": 10, "bitrate_kbps": 256},
                     "sub": {"codec": "h264", "width": 320, "height": 180, "fps": 10, "gop": 10, "bitrate_kbps": 256}},
        "cameras": [{"id": f"d{i}"} for i in range(3)],
    }
    with fleet_process(cfg, extra_args=["--onvif-port-base", "0", "--discovery-port", str(port)]) as fleet:
        r = subprocess.run([sys.executable, "-m", "camcheck", "discover", "--target", "127.0.0.1", "--port", str(port),
                            "--timeout", "2", "--json"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        found = json.loads(r.stdout)
        text = json.dumps(found)
        for cid in fleet.camera_ids:
            assert fleet.onvif_endpoint(cid).split(":")[1] in text, (cid, text)
