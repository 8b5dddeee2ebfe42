"""A check's commit survives SQLite saying "database is locked" while another process writes."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

from camcheck.registry.leases import CheckCommit, Leases
from camcheck.registry.models import CameraRecord, CheckRecord, now_utc
from camcheck.registry.store import open_store


async def test_commit_retries_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = await open_store(f"sqlite:///{db}", migrate=True)
    try:
        await store.upsert_cameras([CameraRecord(id="c1", sub_stream_url="rtsp://127.0.0.1:9/x")])
        leases = Leases(store, "node-a", ttl=60)
        await leases.register(hostname="h", pid=1, capacity=1)
        await leases.sync(spread=0)
        [lease] = await leases.claim(1, horizon=5)

        # Another process's long write transaction: holds SQLite's write lock for 12 s, longer
        # than the registry's 10 s busy timeout, so the first attempts fail with "locked".
        held = threading.Event()

        def hog() -> None:
            con = sqlite3.connect(db, timeout=1)
            con.execute("BEGIN IMMEDIATE")
            con.execute("UPDATE nodes SET pid = 2")
            held.set()
            time.sleep(12)
            con.commit()
            con.close()

        t = threading.Thread(target=hog)
        t.start()
        held.wait(5)
        now = now_utc()
        saved = await leases.commit(lease, CheckCommit(
            check=CheckRecord(camera_id="c1", checked_at=now, verdict="working", duration_s=1.0, node_id="node-a"),
            verdict_state="{}", status="working", status_since=now, status_reason="ok", findings=[],
            consecutive_failures=0, consecutive_successes=1, next_check_at=now + timedelta(seconds=300),
        ))
        t.join()
        assert saved is None  # no transition in this commit; what matters is that it was written
        checks = await store.list_checks("c1")
        assert len(checks) == 1 and checks[0].verdict == "working"
    finally:
        await store.close()
