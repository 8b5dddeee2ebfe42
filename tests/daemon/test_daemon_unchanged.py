"""The daemon's `unchanged` finding (camcheck.verdict.unchanged) against the simulator and a real
SQLite registry: a picture that stays the same over the horizon is flagged, whether the single
checks missed a freeze or the view is merely still; a moving view never is, nor a still one whose
tag turns the rule off (status.by_tag); a change clears it. The change carries its proof: since
when, and the picture then and now."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from camcheck.daemon.app import build_daemon
from camcheck.probe.image import OSD_BAND, SIGNATURE_COLS, picture_signature_change
from camcheck.registry.models import EvidenceKind
from camcheck.registry.store import open_store
from camcheck.verdict.unchanged import UNCHANGED_MAX_CHANGE
from camcheck.simulator.testing import running_fleet

from tests.daemon.helpers import FAST_STATUS, PASSWORD, daemon_config, fleet_config, register, wait_for

pytestmark = pytest.mark.timeout(240)

HORIZON_S = 20.0
# The known single-check miss (README, "Known limit"): the garden scene's frozen picture at 640x360
# 25 fps 512 kbit/s, whose encoder re-codes each keyframe and keeps refining the frozen picture.
GARDEN_SUB = {"codec": "h264", "width": 640, "height": 360, "fps": 25, "gop": 25, "bitrate_kbps": 512}


async def test_a_picture_unchanged_over_the_horizon_is_flagged_and_a_change_clears_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    ids = ["cam-live", "cam-still", "cam-garden", "cam-corridor", "cam-stops"]
    fleet_cfg = fleet_config(ids, **{"cam-still": {"fault": "static"}, "cam-corridor": {"fault": "static"},
                                     "cam-garden": {"fault": "frozen", "scene": "garden", "sub": GARDEN_SUB}})
    async with running_fleet(fleet_cfg) as fleet:
        store = await open_store(db, migrate=True)
        # cam-corridor's view is known to be still: its tag turns the rule off for it (status.by_tag)
        await register(store, fleet, ids, tags={"cam-corridor": ["lobby", "still-view"]})
        cfg = daemon_config(db, status={**FAST_STATUS, "unchanged_after_s": HORIZON_S, "unchanged_min_checks": 4,
                                        "by_tag": {"still-view": {"unchanged_after_s": 0}}},
                            history={"good_picture_every_s": 2})  # hourly in production: scaled like the horizon
        daemon = build_daemon(cfg)
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)

            async def cam(cid: str):  # noqa: ANN202
                return await store.get_camera(cid)

            async def flagged(cid: str) -> bool:
                c = await cam(cid)
                return c is not None and c.status.value == "broken" and "unchanged" in (c.findings or [])

            # cam-stops is live, then its view stops changing (evidence below)
            await wait_for(lambda: _status_is(cam, "cam-stops", "working"), 60, "cam-stops working")
            await fleet.set_fault("cam-stops", "static")
            stopped = datetime.now(timezone.utc)

            # A still scene passes every single check (live sensor noise), then its picture has not
            # changed for the horizon: `unchanged`, broken (a view nothing ever changes in is not
            # verified working; the simulator's light never changes).
            await wait_for(lambda: flagged("cam-still"), 90, "cam-still flagged unchanged")
            still = await store.list_checks("cam-still", limit=1000)
            assert still[-1].verdict == "working" and "unchanged" not in still[-1].findings  # not before the horizon
            assert all(c.verdict == "broken" for c in still if "unchanged" in c.findings)  # the check says so too
            # Prometheus and MQTT see how long it has held (camcheck_camera_picture_unchanged_seconds)
            assert daemon.views["cam-still"].measured["unchanged_s"] >= HORIZON_S
            first_flag = min(c.checked_at for c in still if "unchanged" in c.findings)
            assert (first_flag - still[-1].checked_at).total_seconds() >= HORIZON_S

            # The frozen garden is not working any more: by its keyframes, or, where they miss it, by
            # the hours rule.
            async def garden_caught() -> bool:
                c = await cam("cam-garden")
                return c is not None and c.status.value != "working" and bool(
                    {"frozen", "unchanged"} & set(c.findings or []))
            await wait_for(garden_caught, 60, "the frozen garden camera flagged")

            # The change's reason says since when; its evidence: the picture at the change and the
            # first of the run (the same picture, the horizon earlier).
            await wait_for(lambda: flagged("cam-stops"), 90, "cam-stops flagged unchanged")
            to_broken = next(t for t in await store.list_transitions("cam-stops") if t.to_state.value == "broken")
            m = re.search(r"picture has not changed at all since (\S+ \S+) UTC \((\d+) s over (\d+) checks",
                          to_broken.reason or "")
            assert m, to_broken.reason
            since = datetime.fromisoformat(m[1]).replace(tzinfo=timezone.utc)
            assert int(m[2]) >= HORIZON_S and int(m[3]) >= 4
            assert stopped - timedelta(seconds=1) <= since  # the run began when the view stopped moving
            pics = {e.kind.value: e for e in [await store.get_evidence(i) for i in to_broken.evidence_ids]}
            assert sorted(pics) == ["at_change", "unchanged_since"]  # no good picture from before the run
            # the run's third check kept its picture (its first could not know it began a run)
            assert since <= pics["unchanged_since"].taken_at <= since + timedelta(seconds=20)
            assert (pics["at_change"].taken_at - pics["unchanged_since"].taken_at).total_seconds() >= HORIZON_S - 10
            same = _signature(pics["unchanged_since"].jpeg), _signature(pics["at_change"].jpeg)
            assert picture_signature_change(*same) <= UNCHANGED_MAX_CHANGE  # the same picture, a horizon apart
            # no good picture is kept once the finding holds
            assert (await store.latest_evidence("cam-stops", EvidenceKind.LAST_GOOD)).taken_at < to_broken.at

            # The view moves again: a new run, the finding goes, the camera recovers.
            await fleet.set_fault("cam-still", "healthy")
            await wait_for(lambda: _status_is(cam, "cam-still", "working"), 60, "cam-still working again")
            assert "unchanged" not in ((await cam("cam-still")).findings or [])

            # The same still scene, tagged as a view where nothing happens: never flagged.
            corridor = await cam("cam-corridor")
            assert corridor.status.value == "working" and "unchanged" not in (corridor.findings or [])
            assert not any("unchanged" in c.findings for c in await store.list_checks("cam-corridor", limit=1000))

            # A moving view never gets it, however long it is watched.
            assert daemon.views["cam-still"].measured["unchanged_s"] < HORIZON_S  # a new run
            live = await cam("cam-live")
            assert live.status.value == "working" and "unchanged" not in (live.findings or [])
            assert [(t.from_state.value, t.to_state.value) for t in await store.list_transitions("cam-live")] == [
                ("unknown", "working")]
            checks = await store.list_checks("cam-live", limit=1000)
            assert len(checks) >= 10 and (checks[0].checked_at - checks[-1].checked_at).total_seconds() > 1.25 * HORIZON_S
            assert not any("unchanged" in c.findings for c in checks)
        finally:
            daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
            await asyncio.wait_for(task, 60)
            await store.close()


def _signature(jpeg: bytes | None) -> np.ndarray:
    """A stored picture's grid of mean levels, OSD bands cut off, as the probe signs its keyframes."""
    gray = cv2.imdecode(np.frombuffer(jpeg or b"", np.uint8), cv2.IMREAD_GRAYSCALE)
    assert gray is not None
    h, w = gray.shape
    band = int(round(h * OSD_BAND))
    body = gray[band:h - band].astype(np.float32)
    rows = max(1, round(SIGNATURE_COLS * body.shape[0] / w))
    return cv2.resize(body, (SIGNATURE_COLS, rows), interpolation=cv2.INTER_AREA)


async def _status_is(cam, cid: str, want: str) -> bool:  # noqa: ANN001
    c = await cam(cid)
    return c is not None and c.status.value == want
