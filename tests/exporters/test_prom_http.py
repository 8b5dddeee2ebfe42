"""/metrics and /probe over real HTTP on loopback, then a real Prometheus server scraping them."""

from __future__ import annotations

import asyncio
import gzip
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from exporter_peers import PrometheusServer, make_view, serve

from camcheck.exporters.http import add_metrics_routes
from camcheck.exporters.prometheus import CameraMetricsCollector

pytestmark = pytest.mark.timeout(90)

SECRET = "hunter2-Secret"


class FakeDaemon:
    """The daemon's side of the interface: a dict of views, stats, and a probe handler."""

    def __init__(self) -> None:
        self.views = {
            "cam1": make_view("cam1", "broken", findings=("no_video",)),
            "cam2": make_view("cam2", "working"),
        }
        self.probes: list[dict] = []

    async def probe(self, camera_id=None, target=None, module=None, timeout=None):
        self.probes.append({"camera_id": camera_id, "target": target, "module": module, "timeout": timeout})
        if camera_id is not None and camera_id not in self.views:
            raise KeyError(camera_id)
        if target and "explode" in target:
            raise RuntimeError(f"cannot open rtsp://admin:{SECRET}@10.0.0.1/stream")
        return camera_id != "cam1", {"fps": 25.0, "width": 1920, "recording_active": True, "codec": "h264",
                                     "findings": ["no_video: x"]}


async def start_app(daemon: FakeDaemon, **kw):
    collector = CameraMetricsCollector(lambda: daemon.views.values(), lambda: {"in_flight": 2, "cycle_lag": 1.0},
                                       labels=["district", "agency"])
    app = web.Application()
    add_metrics_routes(app, collector, daemon.probe, probe_modules={"rtsp_default"}, **kw)
    runner, port = await serve(app)
    return runner, port, collector


async def test_metrics_and_probe_over_http(caplog):
    caplog.set_level(logging.DEBUG)
    daemon = FakeDaemon()
    runner, port, _ = await start_app(daemon)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{base}/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                text = await r.text()
            assert 'camcheck_camera_status{camera_id="cam1",district="Mueang",agency="Police",status="broken"} 1' in text
            async with s.get(f"{base}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}) as r:
                assert r.headers["Content-Type"].startswith("application/openmetrics-text")
                assert (await r.text()).endswith("# EOF\n")
            # Many cameras: the body is big enough to be gzipped when the scraper accepts it.
            for i in range(300):
                daemon.views[f"bulk{i}"] = make_view(f"bulk{i}")
            async with s.get(f"{base}/metrics", headers={"Accept-Encoding": "gzip"}, auto_decompress=False) as r:
                assert r.headers.get("Content-Encoding") == "gzip"
                assert b'camera_id="bulk299"' in gzip.decompress(await r.read())
            # A removed camera's series are gone from the next scrape.
            del daemon.views["cam2"]
            async with s.get(f"{base}/metrics") as r:
                assert 'camera_id="cam2"' not in await r.text()

            async with s.get(f"{base}/probe", params={"camera": "cam2x"}) as r:
                assert r.status == 404
            async with s.get(f"{base}/probe", params={"camera": "cam1"}) as r:
                body = await r.text()
                assert r.status == 200
            assert "probe_success 0.0" in body and "probe_duration_seconds" in body
            assert "camcheck_probe_fps 25.0" in body and "camcheck_probe_recording_active 1.0" in body
            assert 'camcheck_probe_info{codec="h264"} 1.0' in body
            assert 'camcheck_probe_finding{finding="no_video"} 1.0' in body
            target = "rtsp://10.0.0.9:554/Streaming/Channels/102"
            async with s.get(f"{base}/probe", params={"target": target, "module": "rtsp_default"}) as r:
                assert r.status == 200 and "probe_success 1.0" in await r.text()
            assert daemon.probes[-1] == {"camera_id": None, "target": target, "module": "rtsp_default", "timeout": 30.0}
            # Prometheus's scrape timeout, less 0.5 s, is the time the handler's probe gets.
            async with s.get(f"{base}/probe", params={"camera": "cam1"},
                             headers={"X-Prometheus-Scrape-Timeout-Seconds": "4"}) as r:
                assert r.status == 200
            assert daemon.probes[-1]["timeout"] == 3.5

            # Credentials in the query string are refused, and never echoed.
            n_probes = len(daemon.probes)
            refused = [
                {"target": f"rtsp://admin:{SECRET}@10.0.0.9/stream", "module": "rtsp_default"},
                {"target": f"rtsp://admin@10.0.0.9/stream", "module": "rtsp_default"},
                {"target": f"rtsp://10.0.0.9/cam/realmonitor?user=admin&password={SECRET}", "module": "rtsp_default"},
                {"target": "rtsp://10.0.0.9/stream", "module": "rtsp_default", "password": SECRET},
                {"target": "rtsp://10.0.0.9/stream"},  # no module
                {"target": "rtsp://10.0.0.9/stream", "module": "nope"},
                {"target": "file:///etc/passwd", "module": "rtsp_default"},
                {"camera": "cam1", "target": "rtsp://10.0.0.9/stream", "module": "rtsp_default"},
                {},
            ]
            for params in refused:
                async with s.get(f"{base}/probe", params=params) as r:
                    text = await r.text()
                    assert r.status == 400, (params, text)
                    assert SECRET not in text
            assert len(daemon.probes) == n_probes  # none of them reached the prober
            async with s.get(f"{base}/probe", params={"target": f"rtsp://admin:{SECRET}@h/s", "module": "x"}) as r:
                assert "rtsp://admin:***@h/s" in await r.text()  # masked echo

            # A prober error is a failed probe (not a 500), and its text is masked in the log.
            async with s.get(f"{base}/probe", params={"target": "rtsp://10.0.0.9/explode", "module": "rtsp_default"}) as r:
                assert r.status == 200 and "probe_success 0.0" in await r.text()
    finally:
        await runner.cleanup()
    assert SECRET not in caplog.text  # neither the access log nor the prober's error leak it
    assert "admin:***@10.0.0.1" in caplog.text
    assert "password=***" in caplog.text and "GET /probe?target=rtsp://admin:***@10.0.0.9/stream" in caplog.text


async def test_real_prometheus_scrapes_metrics_and_probe(tmp_path: Path):
    daemon = FakeDaemon()
    runner, port, _ = await start_app(daemon)
    prom = PrometheusServer(
        tmp_path / "prom",
        f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: camcheck
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
  - job_name: camcheck_probe
    metrics_path: /probe
    params: {{camera: [cam2]}}
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
""",
    )
    prom.start()
    api = f"http://127.0.0.1:{prom.port}/api/v1/query"
    try:
        async with aiohttp.ClientSession() as s:

            async def query(q: str) -> list:
                async with s.get(api, params={"query": q}) as r:
                    data = await r.json()
                    assert data["status"] == "success", data
                    return data["data"]["result"]

            async def until(q: str, pred, timeout: float = 30.0) -> list:
                deadline = asyncio.get_running_loop().time() + timeout
                while True:
                    res = await query(q)
                    if pred(res):
                        return res
                    assert asyncio.get_running_loop().time() < deadline, (q, res)
                    await asyncio.sleep(0.5)

            res = await until('camcheck_camera_status{camera_id="cam1",status="broken"}', lambda r: len(r) == 1)
            assert res[0]["value"][1] == "1"
            assert res[0]["metric"]["district"] == "Mueang" and res[0]["metric"]["job"] == "camcheck"
            res = await query('sum by (district) (camcheck_camera_status{status="broken"})')
            assert res[0]["value"][1] == "1"
            res = await until('probe_success{job="camcheck_probe"}', lambda r: len(r) == 1)
            assert res[0]["value"][1] == "1"
            up = await query("up")
            assert {r["metric"]["job"]: r["value"][1] for r in up} == {"camcheck": "1", "camcheck_probe": "1"}

            # A camera removed from the daemon: Prometheus marks its series stale at the next scrape.
            del daemon.views["cam1"]
            await until('camcheck_camera_status{camera_id="cam1"}', lambda r: r == [])
            assert len(await query('camcheck_camera_status{camera_id="cam2"}')) == 6
    finally:
        prom.stop()
        await runner.cleanup()
