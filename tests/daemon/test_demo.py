"""`camcheck demo` (what `make run` starts), end to end: every demo camera ends up with the status its
fault calls for, as a first-time user watching the dashboard would expect. Real processes: the demo
(simulated fleet + daemon) in a child process, its API over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from camcheck.cli.textwidth import width

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)

# fault in config/demo-fleet.yaml -> (status, finding code) the daemon must reach
EXPECTED: dict[str, tuple[str, str | None]] = {
    "healthy": ("working", None),
    "night": ("working", None),
    "frozen": ("broken", "frozen"),
    "covered": ("broken", "covered"),
    "moved": ("degraded", "scene_changed"),
    "stall_after": ("broken", "stalled"),
    "low_fps": ("degraded", "low_fps"),
    "offline": ("broken", "refused"),
    "auth_fail": ("broken", "auth_failed"),
    "sub_down": ("degraded", "sub_stream_down"),
}


def _expected() -> dict[str, tuple[str, str | None]]:
    fleet = yaml.safe_load((ROOT / "config" / "demo-fleet.yaml").read_text())
    out = {}
    for cam in fleet["cameras"]:
        fault = cam.get("fault", "healthy")
        out[cam["id"]] = EXPECTED[fault["fault"] if isinstance(fault, dict) else fault]
    return out


def _cameras(port: int) -> dict[str, tuple[str, set[str]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/cameras", timeout=10) as r:
        body = json.loads(r.read())
    return {c["id"]: (c["status"], {f["code"] for f in c.get("findings") or []}) for c in body["items"]}


def test_every_demo_camera_reaches_the_status_its_fault_calls_for(tmp_path: Path) -> None:
    expected = _expected()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "camcheck", "demo", "--state-dir", str(tmp_path / "state"), "--http-port", "0",
             "--port", "0", "--control-port", "0", "--interval", "10"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        # The first start may encode the demo's clips (progress is printed): bounded, generously.
        end = time.monotonic() + 300
        port = None
        while port is None and time.monotonic() < end:
            m = re.search(r"dashboard\s+http://127\.0\.0\.1:(\d+)/", log.read_text(errors="replace"))
            if m:
                port = int(m.group(1))
            elif proc.poll() is not None:
                raise AssertionError(f"camcheck demo exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            else:
                time.sleep(0.5)
        assert port is not None, log.read_text()[-3000:]

        def wrong() -> dict[str, Any]:
            got = _cameras(port)
            return {cid: got.get(cid) for cid, (status, finding) in expected.items()
                    if cid not in got or got[cid][0] != status or (finding and finding not in got[cid][1])}

        end = time.monotonic() + 180
        off = wrong()
        while off and time.monotonic() < end:
            time.sleep(2)
            off = wrong()
        assert not off, f"demo cameras not (yet) as their faults call for: {off}; expected {expected}"
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does; the demo stops its daemon and fleet
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise
    text = log.read_text(errors="replace")
    assert rc == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    # what an operator then reads in a terminal: every problem camera, in columns, in both languages
    db = f"sqlite:///{tmp_path / 'state' / 'registry.db'}"
    for lang in ("en", "th"):
        out = subprocess.run([sys.executable, "-m", "camcheck", "status", "--db", db, "--lang", lang],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        listing = [line for line in out.stdout.splitlines() if line.startswith("  ")]
        assert {line.split()[0] for line in listing} == {c for c, (s, _) in expected.items() if s != "working"}
        # the 17-character id and the Thai states (marks take no column) leave the "since" column in place
        assert len({width(re.match(r"  \S+ +\S+ +", line).group(0)) for line in listing}) == 1, out.stdout


async def test_a_restarted_demo_records_the_moved_cameras_registered_view_once(tmp_path: Path) -> None:
    import argparse

    import sqlalchemy as sa

    from camcheck.cli.demo import _fleet, record_registered_views
    from camcheck.registry.models import CameraRecord, EvidenceKind
    from camcheck.registry.schema import evidence
    from camcheck.registry.store import open_store

    fleet = _fleet(argparse.Namespace(config=ROOT / "config" / "demo-fleet.yaml", port=None, control_port=None,
                                      cache_dir=tmp_path / "clips"))
    moved = [c.id for c in fleet.cameras if c.fault.fault == "moved"]
    assert moved, "the demo fleet has no moved camera"
    store = await open_store(f"sqlite:///{tmp_path / 'registry.db'}", migrate=True)
    try:
        await store.upsert_cameras([CameraRecord(id=c.id, name=c.name) for c in fleet.cameras])
        for _ in range(3):  # three starts of the demo on the same state
            await record_registered_views(store, fleet)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(sa.select(evidence.c.camera_id).where(evidence.c.kind == "reference"))).all()
        assert sorted(r[0] for r in rows) == sorted(moved)
        for cid in moved:
            assert (await store.latest_jpeg(cid, EvidenceKind.REFERENCE) or b"")[:2] == b"\xff\xd8"  # a JPEG
    finally:
        await store.close()
