"""`camcheck probe` argument handling (usage errors exit 3) and output against a live GStreamer peer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from camcheck.cli import main
from tests.probe._probe_util import PASSWORD, USER

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("argv,needle", [
    (["probe", "http://cam/x"], "only rtsp://"),
    (["probe", "rtsp:///nohost"], "no host"),
    (["probe", "rtsp://cam/x", "--expect-resolution", "1080p"], "1920x1080"),
    (["probe", "rtsp://cam/x", "--window", "5", "--timeout", "3"], "--window"),
    (["probe", "rtsp://cam/x", "--password-env", "CAMCHECK_TEST_UNSET_VAR"], "not set"),
    (["probe", "rtsp://cam/x", "--password-file", "/nonexistent/pw"], "cannot read password file"),
    (["probe", "rtsp://cam/x", "--user", "a", "--password-env", "X", "--password-file", "Y"], "not allowed"),
    (["probe", "rtsp://u:p@cam/x", "--user", "other"], "two different user names"),
    (["probe", "rtsp://cam/x", "--reference", "/nonexistent.jpg"], "cannot read reference"),
    (["probe", "rtsp://cam/x", "--expect-fps", "-1"], "--expect-fps"),
    (["probe", "rtsp://cam/x", "--keyframe-wait", "0"], "--keyframe-wait"),
    (["probe", "--onvif", "127.0.0.1:1", "--keyframe-wait", "-3"], "--keyframe-wait"),
])
def test_usage_errors_exit_3(argv, needle, capsys):
    assert main(argv) == 3
    assert needle in capsys.readouterr().err


def test_a_port_nobody_listens_on_is_refused_and_says_no_connection_was_made(capsys):
    from tests.peers.sockets import closed_port

    with closed_port() as port:  # bound, never listening: refused
        assert main(["probe", f"rtsp://127.0.0.1:{port}/x", "--timeout", "3"]) == 2
    out = capsys.readouterr().out
    assert "BROKEN (refused)" in out and "  timings:  no connection made (total " in out


def test_unreadable_reference_is_usage_error(tmp_path, capsys):
    bad = tmp_path / "ref.jpg"
    bad.write_bytes(b"not an image")
    assert main(["probe", "rtsp://cam/x", "--reference", str(bad)]) == 3
    assert "reference image" in capsys.readouterr().err


@pytest.mark.peer
def test_human_and_json_output_with_password_file(gst_digest, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    base = [sys.executable, "-m", "camcheck", "--log-level", "DEBUG", "probe", gst_digest.url("/secure"),
            "--user", USER, "--password-file", str(pw), "--window", "1"]
    r = subprocess.run(base, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "WORKING" in r.stdout and "stream:" in r.stdout and "findings: none" in r.stdout
    assert "  timings:  connect 0." in r.stdout and ", first_frame " in r.stdout
    assert PASSWORD not in r.stdout + r.stderr
    r = subprocess.run(base + ["--json", "--transport", "udp"], capture_output=True, text=True, timeout=60)
    out = json.loads(r.stdout)
    assert out["verdict"] == "working" and out["stream"]["transport"] == "udp"
    assert out["failure"] is None and out["stream"]["width"] == 320
    # wrong password from the environment: broken, exit 2, never printed
    env = {**os.environ, "CAM_PW": "totally-Wrong-9"}
    r = subprocess.run([sys.executable, "-m", "camcheck", "--log-level", "DEBUG", "probe", gst_digest.url("/secure"),
                        "--user", USER, "--password-env", "CAM_PW", "--json"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 2 and json.loads(r.stdout)["failure"] == "auth_failed"
    assert "totally-Wrong-9" not in r.stdout + r.stderr


@pytest.mark.peer
def test_keyframe_wait_lets_a_long_gop_frozen_camera_be_judged(gst_open):
    # GStreamer, a keyframe every 8 s: the default wait says it could not judge; --keyframe-wait does
    # (and stretches the default --timeout to fit).
    base = [sys.executable, "-m", "camcheck", "probe", gst_open.url("/frozen-long-gop"), "--window", "1.5"]
    r = subprocess.run(base, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "frozen not judged" in r.stdout and "keyframe every >" in r.stdout
    r = subprocess.run(base + ["--keyframe-wait", "10", "--json"], capture_output=True, text=True, timeout=60)
    out = json.loads(r.stdout)
    assert r.returncode == 2, out
    assert "frozen" in out["findings"] and out["stream"]["gop_s"] == pytest.approx(8.0, rel=0.05)
