"""The shipped unit passes systemd's own checker and keeps its hardening."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "systemd" / "camcheck.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this checkout's entry point.
    exe = Path(sys.executable).with_name("camcheck")
    text = UNIT.read_text().replace("/opt/camcheck/.venv/bin/camcheck", str(exe))
    unit = tmp_path / "camcheck.service"
    unit.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (r.stdout + r.stderr).splitlines() if "camcheck.service" in line]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr


def test_unit_is_notify_hardened_and_uses_credentials() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=camcheck",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "LoadCredential=",
        "ExecReload=",
    ):
        assert line in text, line
