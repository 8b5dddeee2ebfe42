"""`camcheck probe --onvif`: the stream measured against what the device says it is configured to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from camcheck.simulator.testing import fleet_process
from tests.daemon.helpers import MAIN, PASSWORD, fleet_config

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def fleet():  # noqa: ANN201
    cfg = fleet_config(["honest", "liar", "idle", "big"], liar={"onvif": {"faults": ["config_lies"]}},
                       idle={"onvif": {"faults": ["not_recording"]}},
                       big={"main": {**MAIN, "width": 1280, "height": 720, "bitrate_kbps": 1500},
                            "sub": {**MAIN, "width": 640, "height": 360}})
    cfg["onvif_port_base"] = 0
    with fleet_process(cfg) as f:
        yield f


def _probe(*args: str) -> tuple[int, str, str]:
    env = dict(os.environ, CAM_PW=PASSWORD)
    r = subprocess.run([sys.executable, "-m", "camcheck", "probe", *args, "--user", "admin", "--password-env", "CAM_PW"],
                       capture_output=True, text=True, env=env, timeout=90)
    assert PASSWORD not in r.stdout + r.stderr
    return r.returncode, r.stdout, r.stderr


def test_url_taken_from_the_device_and_an_honest_camera_works(fleet) -> None:  # noqa: ANN001
    code, out, _ = _probe("--onvif", fleet.onvif_endpoint("honest"), "--json")
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "working"
    assert d["url"].endswith("/cam/honest/main")  # the largest profile
    assert d["onvif"]["device"]["model"] == "SimCam-1" and d["onvif_findings"] == []
    assert d["onvif_sub_stream_url"] is None  # its sub-stream (320x180) is below what the daemon would use


def test_the_sub_stream_the_daemon_would_check_is_named(fleet) -> None:  # noqa: ANN001
    code, out, _ = _probe("--onvif", fleet.onvif_endpoint("big"), "--json")
    d = json.loads(out)
    assert code == 0 and d["url"].endswith("/cam/big/main")
    assert d["onvif_sub_stream_url"] == fleet.url("big", "sub")
    code, out, _ = _probe(fleet.url("big", "main"), "--onvif", fleet.onvif_endpoint("big"))
    assert code == 0 and f"sub-stream: {fleet.url('big', 'sub')} " in out, out


def test_encoder_configuration_that_lies_is_a_config_mismatch(fleet) -> None:  # noqa: ANN001
    code, out, _ = _probe(fleet.url("liar", "main"), "--onvif", fleet.onvif_endpoint("liar"), "--json")
    d = json.loads(out)
    assert code == 1 and d["verdict"] == "degraded"
    assert "config_mismatch" in d["findings"]
    props = {f["detail"].get("property") for f in d["onvif_findings"]}
    assert {"resolution", "encoding"} <= props, d["onvif_findings"]


def test_a_recorder_that_stopped_makes_the_camera_broken(fleet) -> None:  # noqa: ANN001
    code, out, _ = _probe(fleet.url("idle", "sub"), "--onvif", fleet.onvif_endpoint("idle"))
    assert code == 2
    assert "not_recording" in out


def test_onvif_usage_errors_exit_3() -> None:
    code, _, err = _probe("--onvif", "host:notaport")
    assert code == 3 and "--onvif" in err
    code, _, err = _probe("rtsp://127.0.0.1:9/x", "--required-retention-days", "30")
    assert code == 3 and "needs --onvif" in err
