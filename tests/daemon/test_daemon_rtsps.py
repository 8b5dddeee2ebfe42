"""The daemon checks a camera registered with an rtsps:// URL (Debian's GStreamer RTSP server over
TLS, its certificate issued by the fleet's CA given as probe.tls_ca_file), with a real SQLite
registry: verified working, its stream measured; once the CA file holds another CA (and the daemon
reloads), the certificate it cannot verify makes it broken with the reason. Stream URLs the probe cannot read (web pages, MJPEG) are passed over."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml

from camcheck.config.model import load_config
from camcheck.daemon.app import build_daemon
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import open_store
from tests.daemon.helpers import daemon_config_dict, has_status, wait_for
from tests.peers import gst
from tests.peers.pki import make_pki

pytestmark = [pytest.mark.peer, pytest.mark.timeout(120)]


async def test_an_rtsps_camera_is_checked_inside_tls(tmp_path: Path) -> None:
    if not gst.available():
        pytest.skip("GStreamer RTSP server (python3-gi) not installed")
    pki = make_pki(tmp_path)
    (tmp_path / "other").mkdir()
    other_ca = make_pki(tmp_path / "other")  # another fleet's CA
    mounts = [{"path": "/cam", "launch": gst.h264_launch(width=320, height=240, gop=25), "protocols": "tcp"}]
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    with gst.gst_rtsp_server(mounts, tls_pem=pki / "server.pem") as srv:
        store = await open_store(db, migrate=True)
        await store.upsert_cameras([
            CameraRecord(id="tls-1", name="rtsps camera", main_stream_url=srv.url("/cam"), recorded_width=320,
                         recorded_height=240, frame_rate=25),
            # registries list web pages and MJPEG URLs too: passed over, never a false `broken`
            CameraRecord(id="web-main", main_stream_url="http://127.0.0.1:9/index.html", sub_stream_url=srv.url("/cam")),
            CameraRecord(id="web-only", main_stream_url="https://127.0.0.1:9/mjpg/video.mjpg"),
        ])
        # The fleet's CA file, as probe.tls_ca_file names it; replaced below by another CA (SIGHUP).
        ca_file = tmp_path / "fleet-ca.pem"
        shutil.copy(pki / "ca.pem", ca_file)
        cfg = daemon_config_dict(db, window=1.0)
        cfg["probe"].update({"transport": "udp", "tls_ca_file": str(ca_file)})
        path = tmp_path / "camcheck.yaml"
        path.write_text(yaml.safe_dump(cfg))
        daemon = build_daemon(load_config(path), config_path=path)
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            await wait_for(lambda: has_status(store, "tls-1", "working"), 60, "the rtsps camera working")
            await wait_for(lambda: has_status(store, "web-main", "working"), 30, "web-main checked on its sub")
            assert {c.stream for c in await store.list_checks("web-main")} == {"sub"}
            web_only = await store.get_camera("web-only")
            assert web_only.status.value == "unknown" and await store.list_checks("web-only") == []
            check = (await store.list_checks("tls-1", limit=1))[0]
            assert (check.measured.width, check.measured.height, check.measured.codec) == (320, 240, "h264")
            assert check.measured.fps == pytest.approx(25, rel=0.1)

            # The CA file now holds another fleet's CA; a reload reads it again (the TLS settings are
            # cached between checks): the camera's certificate is rejected, and the reason says so.
            shutil.copy(other_ca / "ca.pem", ca_file)
            await daemon.reload()
            await wait_for(lambda: has_status(store, "tls-1", "broken"), 60, "the rtsps camera broken")
            cam = await store.get_camera("tls-1")
            assert "protocol_error" in (cam.findings or []), cam.findings
            assert "(TLS: the certificate of 127.0.0.1" in (cam.status_reason or ""), cam.status_reason
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
        await store.close()
