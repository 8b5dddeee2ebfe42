"""A dead registered sub-stream, with servers camcheck did not write: Debian's GStreamer RTSP server
serves the main (recorded) streams.

- its sub-stream path answers 404 (GStreamer's own words): the main stream is checked in its place,
  the camera is degraded with `sub_stream_down`, the reason quoting the 404;
- its sub-stream's port is closed, its main stream on another port plays: degraded the same way;
- main and sub-stream of another GStreamer server that is then stopped: the camera is broken, not
  degraded: nothing can stand in for the sub-stream. (Whether the main stream is tried at all after
  a refused sub-stream depends on where in a check the server died: main_in_place_of_sub's rule for
  one address is tested in test_stream_targets.py.)"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from camcheck.config.model import parse_config
from camcheck.daemon.app import build_daemon
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import open_store
from tests.daemon.helpers import daemon_config_dict, has_status, wait_for
from tests.peers import gst
from tests.peers.sockets import closed_port

pytestmark = [pytest.mark.peer, pytest.mark.timeout(150)]


async def test_a_dead_sub_stream_beside_a_gstreamer_main_stream(tmp_path: Path) -> None:
    if not gst.available():
        pytest.skip("GStreamer RTSP server (python3-gi) not installed")
    mounts = [{"path": "/main", "launch": gst.h264_launch(width=320, height=240, gop=25), "protocols": "tcp"}]
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with contextlib.ExitStack() as stack:
        srv = stack.enter_context(gst.gst_rtsp_server(mounts))
        dead = stack.enter_context(closed_port())
        gone = contextlib.ExitStack()  # the server that is stopped below
        other = gone.enter_context(gst.gst_rtsp_server(
            [*mounts, {"path": "/sub", "launch": gst.h264_launch(width=320, height=240, gop=25), "protocols": "tcp"}]))
        stack.callback(gone.close)
        store = await open_store(db, migrate=True)
        await store.upsert_cameras([
            CameraRecord(id="sub-404", main_stream_url=srv.url("/main"), sub_stream_url=srv.url("/no-such-sub")),
            CameraRecord(id="sub-port", main_stream_url=srv.url("/main"), sub_stream_url=f"rtsp://127.0.0.1:{dead}/sub"),
            CameraRecord(id="all-dead", main_stream_url=other.url("/main"), sub_stream_url=other.url("/sub")),
        ])
        daemon = build_daemon(parse_config(daemon_config_dict(db, interval=1.5, window=1.0)))
        task = asyncio.create_task(daemon.run_forever())

        async def status(cid: str) -> str:
            cam = await store.get_camera(cid)
            return cam.status.value if cam else "missing"

        async def all_settled() -> bool:
            return [await status(c) for c in ("sub-404", "sub-port", "all-dead")] == ["degraded", "degraded", "working"]

        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            await wait_for(all_settled, 60, "sub-404 and sub-port degraded, all-dead working")
            before = len(await store.list_checks("all-dead", limit=1000))
            gone.close()  # all-dead's server stops: its port refuses
            await wait_for(lambda: has_status(store, "all-dead", "broken"), 60, "all-dead broken")
            for cid, said in (("sub-404", "/no-such-sub: not_found: "), ("sub-port", f":{dead}/sub: refused: ")):
                cam = await store.get_camera(cid)
                assert cam is not None and cam.findings == ["sub_stream_down"], (cid, cam.findings)
                assert said in cam.status_reason, cam.status_reason
                checks = await store.list_checks(cid, limit=100)
                assert {c.stream for c in checks} == {"main"} and not [c for c in checks if c.failure], checks
                assert cam.measured.width == 320  # what the recorded stream delivers
            cam = await store.get_camera("sub-404")
            assert "404" in cam.status_reason, cam.status_reason  # GStreamer's answer, as it said it
            dead_cam = await store.get_camera("all-dead")
            assert "refused" in dead_cam.findings and "sub_stream_down" not in dead_cam.findings
            since = (await store.list_checks("all-dead", limit=1000))[: -before or None]
            assert len(since) >= 3 and all(c.failure for c in since), since  # every check after the stop failed
            assert {c.failure for c in since[:3]} == {"refused"}, since  # the latest, by then, all refused
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()
