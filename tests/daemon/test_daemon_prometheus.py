"""Debian's Prometheus scraping the real daemon, which checks real simulated cameras: the question an
operator asks ("is camera X broken, and since when?") is answered through PromQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from camcheck.daemon.app import build_daemon
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet
from tests.daemon.helpers import PASSWORD, daemon_config, fleet_config, register, wait_for
from tests.exporters.exporter_peers import PrometheusServer

pytestmark = pytest.mark.timeout(180)


@asynccontextmanager
async def _daemon_checking(tmp_path: Path, ids: list[str]) -> AsyncIterator[tuple[Any, Any]]:
    """The simulator serving `ids`, registered, and the daemon started on them: (fleet, daemon)."""
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    async with running_fleet(fleet_config(ids)) as fleet:
        store = await open_store(db, migrate=True)
        await register(store, fleet, ids)
        await store.close()
        daemon = build_daemon(daemon_config(db), state_dir=tmp_path)
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)
            yield fleet, daemon
        finally:
            daemon._stop.set()  # noqa: SLF001
            await asyncio.wait_for(task, 60)


async def test_prometheus_answers_about_a_simulated_camera(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    async with _daemon_checking(tmp_path, ["street-1", "street-2"]) as (fleet, daemon):
        prom = None
        try:
            port = daemon.http.port
            prom = PrometheusServer(tmp_path / "prom", f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: camcheck
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
  - job_name: camcheck_probe
    metrics_path: /probe
    scrape_interval: 5s
    scrape_timeout: 4s  # a probe reads ~1.5 s of video
    params: {{camera: [street-2]}}
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
""")
            await asyncio.to_thread(prom.start)
            api = f"http://127.0.0.1:{prom.port}/api/v1/query"
            async with aiohttp.ClientSession() as s:

                async def query(q: str) -> list:
                    async with s.get(api, params={"query": q}) as r:
                        data = await r.json()
                        assert data["status"] == "success", data
                        return data["data"]["result"]

                async def one_is(q: str, value: str) -> bool:
                    res = await query(q)
                    return len(res) == 1 and res[0]["value"][1] == value

                await wait_for(lambda: one_is('camcheck_camera_status{camera_id="street-1",status="working"}', "1"),
                               60, "Prometheus sees street-1 working")
                res = await query('camcheck_camera_fps{camera_id="street-1"}')
                assert res and float(res[0]["value"][1]) > 0  # measured, not claimed
                await fleet.set_fault("street-1", "offline")
                await wait_for(lambda: one_is('camcheck_camera_status{camera_id="street-1",status="broken"}', "1"),
                               60, "Prometheus sees street-1 broken")
                res = await query('sum by (district) (camcheck_camera_status{status="broken"})')
                assert res[0]["metric"]["district"] == "Mueang" and res[0]["value"][1] == "1"
                await wait_for(lambda: one_is('probe_success{job="camcheck_probe"}', "1"), 30,
                               "the blackbox-style /probe of street-2 succeeds")
                up = await query("up")
                assert {r["metric"]["job"]: r["value"][1] for r in up} == {"camcheck": "1", "camcheck_probe": "1"}
        finally:
            if prom is not None:
                prom.stop()


async def test_probe_of_a_hung_camera_ends_with_its_own_failure_within_the_scrape_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # probe.timeout is 8 s; the scraper can wait 3 s. The probe must end inside those 3 s with what
    # went wrong (the camera never answered), not be cut off and say only "timeout".
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    async with _daemon_checking(tmp_path, ["street-1", "hung-1"]) as (fleet, daemon):
        await fleet.set_fault("hung-1", "blackhole")  # accepts TCP, reads requests, never answers
        base = f"http://127.0.0.1:{daemon.http.port}"
        async with aiohttp.ClientSession() as s:
            t0 = asyncio.get_running_loop().time()
            async with s.get(f"{base}/probe", params={"camera": "hung-1"},
                             headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"}) as r:
                assert r.status == 200
                body = await r.text()
            took = asyncio.get_running_loop().time() - t0
            assert "probe_success 0.0" in body
            assert 'failure="timeout_response"' in body, body
            assert "camcheck_probe_timeout" not in body
            assert 2.0 <= took < 3.0, took  # the probe waited for the camera until its deadline (3 s less 0.5 s)
            # A healthy camera in the same scrape budget still succeeds.
            async with s.get(f"{base}/probe", params={"camera": "street-1"},
                             headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"}) as r:
                assert "probe_success 1.0" in await r.text()
