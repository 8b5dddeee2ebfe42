"""The daemon's transitions reach a real Mosquitto: retained state and one event per change, no secrets."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from camcheck.daemon.app import build_daemon
from camcheck.registry.store import open_store
from camcheck.simulator.testing import running_fleet
from tests.daemon.helpers import PASSWORD, daemon_config, fleet_config, register, wait_for
from tests.exporters.exporter_peers import Subscriber

pytestmark = pytest.mark.timeout(180)


async def test_transitions_and_state_on_mqtt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_TEST_CAM_PW", PASSWORD)
    prefix = f"camcheck-test-{uuid.uuid4().hex[:8]}"
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    async with running_fleet(fleet_config(["mq-1"])) as fleet, \
            Subscriber(1883, [f"{prefix}/#"]) as sub:
        store = await open_store(db, migrate=True)
        await register(store, fleet, ["mq-1"])
        await store.close()
        cfg = daemon_config(db, exporters={"mqtt": {"host": "127.0.0.1", "port": 1883, "prefix": prefix}})
        daemon = build_daemon(cfg, state_dir=tmp_path)
        task = asyncio.create_task(daemon.run_forever())
        try:
            await asyncio.wait_for(daemon.started.wait(), 30)

            def events() -> list[dict]:
                return [json.loads(p) for p in sub.payloads("/camera/mq-1/events")]

            await wait_for(lambda: [e for e in events() if e["to_status"] == "working"], 60, "working event")
            await fleet.set_fault("mq-1", "offline")
            await wait_for(lambda: [e for e in events() if e["to_status"] == "broken"], 60, "broken event")
            got = [(e["from_status"], e["to_status"]) for e in events()]
            assert got == [("unknown", "working"), ("working", "broken")]
            assert len({e["event_id"] for e in events()}) == 2
            broken = events()[-1]
            assert "refused" in broken["findings"] and broken["camera"]["status_label_en"] == "not working"
            # why, in English as stored and in Thai for Thai consumers (a provincial chat group)
            assert broken["reason"].startswith("No usable stream in ") and "connection refused" in broken["reason"]
            assert broken["reason_th"].startswith("ไม่ได้รับภาพที่ใช้งานได้ ") and "กล้องปฏิเสธการเชื่อมต่อ" in broken["reason_th"]
            states = [json.loads(p) for t, p, retained in sub.messages if t.endswith("/camera/mq-1/state") and p]
            assert states[-1]["status"] == "broken" and states[-1]["reason_th"] == broken["reason_th"]
            assert await wait_for(lambda: any(t == f"{prefix}/status" and p == b"online" for t, p, _ in sub.messages),
                                  10, "availability online")
            everything = b"".join(p for _, p, _ in sub.messages)
            assert PASSWORD.encode() not in everything
        finally:
            daemon._stop.set()  # noqa: SLF001
            await asyncio.wait_for(task, 60)
    # retained messages of this unique prefix are left on the shared broker: clear them
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", 1883) as c:
        for t in {t for t, _, r in sub.messages if r or t.endswith("/state") or t.endswith("/status")}:
            await c.publish(t, b"", qos=1, retain=True)
