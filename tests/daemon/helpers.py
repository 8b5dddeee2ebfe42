"""Shared set-up for daemon tests: a simulated fleet registered in a real registry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from camcheck.config.model import Config, parse_config
from camcheck.registry.models import CameraRecord
from camcheck.registry.store import Store

SUB = {"codec": "h264", "width": 320, "height": 180, "fps": 10, "gop": 10, "bitrate_kbps": 256}
MAIN = {"codec": "h264", "width": 640, "height": 360, "fps": 10, "gop": 10, "bitrate_kbps": 512}
PASSWORD = "s3cret-demo-pw"

# Fast but faithful: N=3 to break, M=2 to recover, confirmations a second apart.
FAST_STATUS = {
    "confirm_delays_s": [0.5, 0.5],
    "recover_delay_s": 0.5,
    "finding_confirm_delay_s": 0.5,
}


def fleet_config(ids: list[str], **camera_extra: Any) -> dict[str, Any]:
    return {
        "defaults": {
            "credentials": {"username": "admin", "password": PASSWORD, "auth": "digest"},
            "max_sessions": 2,
            "main": MAIN,
            "sub": SUB,
        },
        "cameras": [{"id": cid, "scene": "street", **camera_extra.get(cid, {})} for cid in ids],
    }


async def register(store: Store, fleet, ids: list[str], *, parent: str | None = None) -> None:  # noqa: ANN001
    await store.upsert_cameras([
        CameraRecord(
            id=cid,
            name=f"camera {cid}",
            main_stream_url=fleet.url(cid, "main"),
            sub_stream_url=fleet.url(cid, "sub"),
            credentials_ref="sim",
            parent_id=parent,
            district="Mueang",
            owner_agency="Municipality",
            recorded_width=MAIN["width"],
            recorded_height=MAIN["height"],
            frame_rate=MAIN["fps"],
        )
        for cid in ids
    ])


def daemon_config(db_url: str, *, interval: float = 2.0, node_id: str = "node-a", **extra: Any) -> Config:
    data = {
        "node_id": node_id,
        "database": {"url": db_url},
        "http": {"bind": "127.0.0.1", "port": 0},
        "schedule": {"interval": interval, "max_in_flight": 20, "per_parent": 4, "onvif_interval": 3600},
        "probe": {"timeout": 8, "window": 1.5},
        "status": FAST_STATUS,
        "credentials": {"sim": {"username": "admin", "password_env": "CAMCHECK_TEST_CAM_PW"}},
    }
    data.update(extra)
    return parse_config(data)


async def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.25) -> Any:
    """Poll an async or sync predicate until it returns something truthy (bounded)."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
