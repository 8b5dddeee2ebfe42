"""Long-GOP cameras ("smart codecs"): the daemon waits for a second keyframe, so frozen is judged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from camcheck.daemon.app import build_daemon
from camcheck.daemon.checks import keyframe_wait_s, stream_deadline_s
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet

from tests.daemon.helpers import PASSWORD, SUB, daemon_config, register_sub_only, small_fleet_config, wait_for

pytestmark = pytest.mark.timeout(180)


def test_keyframe_wait_follows_what_the_last_check_saw():
    # window 1.5 s: the probe's default wait is 4 s
    assert keyframe_wait_s(1.5, None, None, 20) is None  # nothing known: the default
    assert keyframe_wait_s(1.5, 2.0, None, 20) is None  # a short GOP fits the default
    assert keyframe_wait_s(1.5, None, 3.5, 20) == 20  # one keyframe in 3.5 s: wait long enough to measure it
    assert keyframe_wait_s(1.5, 2.0, 3.5, 20) == 20  # ... also when an older, shorter GOP is on record
    assert keyframe_wait_s(1.5, 8.0, None, 20) == pytest.approx(10.5)  # measured: the GOP and a margin
    assert keyframe_wait_s(1.5, 30.0, None, 20) == 20  # never beyond the configured maximum
    assert keyframe_wait_s(1.5, 8.0, 3.5, 0) is None  # 0: the feature is off


def test_deadline_covers_joining_mid_gop_and_the_wait():
    assert stream_deadline_s(10, 1.5, None) == 10
    assert stream_deadline_s(5, 2.0, 2.0) == 8  # a 2 s GOP: up to one for the first keyframe, one for the second
    assert stream_deadline_s(5, 2.0, 4.0) == 12  # a 4 s GOP: the default wait (4 s) covers the second
    assert stream_deadline_s(10, 1.5, 8.0, 10.5) == pytest.approx(4 + 2 * 10.5)  # first keyframe <= 1 GOP, then the wait
    assert stream_deadline_s(10, 1.5, 2.0, 20) == pytest.approx(44)  # a GOP on record shorter than the wait is stale
    assert stream_deadline_s(10, 1.5, None, 20) == pytest.approx(44)  # GOP unknown: as long as the wait
    assert stream_deadline_s(10, 1.5, 40.0, 28) == 60  # capped at a minute


async def test_long_gop_cameras_frozen_flagged_healthy_kept_working(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # slow-gop: frozen, a keyframe every 6 s, longer than the default wait (4 s); its ONVIF encoder
    # configuration says so (GovLength 60 at 10 fps), so its very first stream check waits for the
    # second keyframe, and the frozen picture is confirmed.
    # sparse-gop: healthy, a keyframe every 12 s, no ONVIF: a check of the configured 8 s often ends
    # before any keyframe (decode_failed) or sees one; the next ones wait long enough (learnt), and it
    # stays working.
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    ids = ["slow-gop", "sparse-gop"]
    # sessions for the daemon's checks and three /probe requests at once
    fleet_cfg = small_fleet_config(ids, max_sessions=4, faults={"slow-gop": "frozen"})
    for cam, gop in zip(fleet_cfg["cameras"], (60, 120)):  # 10 fps
        cam.update(start="live", sub={**SUB, "gop": gop})  # no GOP cache: every session joins mid-GOP
    fleet_cfg["onvif_port_base"] = 0
    async with running_fleet(fleet_cfg) as fleet:
        store = await open_store(db, migrate=True)
        await register_sub_only(store, fleet, ids)
        cam = await store.get_camera("slow-gop")
        await store.upsert_cameras([cam.model_copy(update={"onvif_endpoint": fleet.onvif_endpoint("slow-gop")})])
        modules = {"plain": {"credential": "sim"}, "long_gop": {"credential": "sim", "keyframe_wait": 8}}
        daemon = build_daemon(daemon_config(db, probe={"timeout": 8, "window": 1.5, "max_keyframe_wait": 14},
                                            exporters={"prometheus": {"probe_modules": modules}}))
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)

            async def status(cid: str = "slow-gop") -> str:
                cam = await store.get_camera(cid)
                return cam.status.value if cam else "missing"

            await wait_for(lambda: _is(status, "broken"), 120, "the frozen long-GOP camera broken")
            cam = await store.get_camera("slow-gop")
            assert cam is not None and "frozen" in (cam.findings or [])
            assert cam.measured.gop == pytest.approx(6.0, rel=0.05)
            checks = list(reversed(await store.list_checks("slow-gop", limit=100)))
            stream_checks = [c for c in checks if c.measured.retention_days is None and c.measured.recording_active is None]
            # Every stream check judged it, the first one included (the ONVIF check came before it).
            assert len(stream_checks) >= 3 and all("frozen" in c.findings for c in stream_checks), stream_checks
            assert all(c.measured.gop == pytest.approx(6.0, rel=0.05) for c in stream_checks)

            # The blackbox-style /probe waits as the scheduled checks do: for a registered camera,
            # by the GOP they learnt; for a target, by its module's keyframe_wait.
            base = f"http://127.0.0.1:{daemon.http.port}/probe"
            url = fleet.url("slow-gop", "sub")
            asked = (({"camera": "slow-gop"}, True), ({"target": url, "module": "long_gop"}, True),
                     ({"target": url, "module": "plain"}, False))
            async with aiohttp.ClientSession() as s:

                async def probe(params: dict[str, str]) -> tuple[int, str]:
                    async with s.get(base, params=params) as r:
                        return r.status, await r.text()

                answers = await asyncio.gather(*(probe(params) for params, _ in asked))  # each waits for keyframes
                for (params, judged), (code, body) in zip(asked, answers):
                    assert code == 200, body
                    if judged:
                        assert "probe_success 0.0" in body, (params, body)
                        assert 'camcheck_probe_finding{finding="frozen"} 1.0' in body, (params, body)
                        assert _gauge(body, "camcheck_probe_gop_seconds") == pytest.approx(6.0, rel=0.05)
                    else:  # the probe's default wait: one keyframe at most, frozen not judged (looks working)
                        assert "probe_success 1.0" in body and 'finding="frozen"' not in body, body
                        assert "camcheck_probe_gop_seconds" not in body and _gauge(body, "camcheck_probe_gop_min_seconds") > 0

            async def gop_measured() -> bool:
                cam = await store.get_camera("sparse-gop")
                return cam is not None and cam.measured.gop is not None
            await wait_for(gop_measured, 90, "the sparse GOP measured")
            cam = await store.get_camera("sparse-gop")
            assert cam.measured.gop == pytest.approx(12.0, rel=0.05)
            assert await status("sparse-gop") == "working", cam.status_reason
            assert {t.to_state.value for t in await store.list_transitions("sparse-gop")} == {"working"}
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()


async def _is(status, want: str) -> bool:  # noqa: ANN001
    return await status() == want


def _gauge(body: str, name: str) -> float:
    values = [float(line.split()[-1]) for line in body.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, (name, body)
    return values[0]
