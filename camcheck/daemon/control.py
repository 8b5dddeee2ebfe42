"""What the REST API may ask of the running daemon (camcheck.exporters.api.control.DaemonControl)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from camcheck.daemon.checks import snapshot_evidence
from camcheck.exporters.api.control import CameraNotScheduled
from camcheck.registry.models import EvidenceKind, now_utc
from camcheck.registry.schema import evidence


class Control:
    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon

    async def check_now(self, camera_id: str) -> None:
        d = self.daemon
        cam = await d.store.get_camera(camera_id)
        if cam is None or not cam.enabled:
            raise CameraNotScheduled(camera_id)
        # Through the lease table, so whichever node is free takes it (multi-node safe).
        await d.leases.reschedule(camera_id, now_utc(), priority=1)
        d.wake_claims()

    async def set_reference(self, camera_id: str, jpeg: bytes | None) -> None:
        d = self.daemon
        if await d.store.get_camera(camera_id) is None:
            raise CameraNotScheduled(camera_id)
        if jpeg is None:
            jpeg = d.latest_snapshot(camera_id) or await self._latest_stored(camera_id)
            if jpeg is None:
                raise ValueError("no snapshot of this camera yet: wait for its next check, or upload a picture")
        await d.store.add_evidence(camera_id, snapshot_evidence(jpeg, EvidenceKind.REFERENCE, time.time()))
        d.forget_reference(camera_id)

    async def _latest_stored(self, camera_id: str) -> bytes | None:
        async with self.daemon.store.engine.connect() as conn:
            return (await conn.execute(
                sa.select(evidence.c.jpeg).where(evidence.c.camera_id == camera_id,
                                                 evidence.c.kind.in_(("last_good", "at_change")),
                                                 evidence.c.jpeg.is_not(None))
                .order_by(evidence.c.taken_at.desc()).limit(1)
            )).scalar_one_or_none()

    def status_counts(self) -> dict[str, Any]:
        d = self.daemon
        snap = d.scheduler.snapshot()
        return {"in_flight": snap.in_flight, "queue_depth": snap.queue_depth, "checks": d.stats.checks,
                "node_id": d.node_id}
