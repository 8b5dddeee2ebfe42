"""A durable, bounded, ordered outbox for transitions (SQLite, WAL), shared by MQTT and webhooks.

Each destination ("mqtt:<prefix>", "webhook:<name>") is its own FIFO queue in one table. A message
is written (and committed) before ``put`` returns, so a transition produced while a broker or
endpoint is away survives a crash or restart of the daemon. A sender reads the oldest message of
its queue, delivers it, and only then calls ``ack`` — so delivery is at-least-once, in order, and
consumers de-duplicate by event id. Past ``max_pending`` messages in one queue the oldest are
dropped and counted (persistently), never silently.

All calls run on the event loop thread: each is one small indexed statement on a local file
(tens of microseconds with synchronous=NORMAL), which is cheaper than a thread hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    created_at REAL NOT NULL,
    event_id TEXT NOT NULL,
    topic TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_dest ON outbox (destination, id);
CREATE TABLE IF NOT EXISTS outbox_counters (
    destination TEXT PRIMARY KEY,
    dropped INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    destination: str
    created_at: float
    event_id: str
    topic: str
    payload: bytes
    attempts: int


class Outbox:
    def __init__(self, path: str | Path, *, max_pending: int = 10_000, synchronous: str = "normal") -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.path = Path(path)
        self.max_pending = max_pending
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so a put and its overflow drop are one transaction.
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._pending: dict[str, int] = dict(
            self._db.execute("SELECT destination, COUNT(*) FROM outbox GROUP BY destination").fetchall()
        )
        # Counters live in memory too, so /metrics (rendered in a worker thread) never touches the connection.
        self._dropped: dict[str, int] = {}
        self._delivered: dict[str, int] = {}
        for dest, dropped, delivered in self._db.execute("SELECT destination, dropped, delivered FROM outbox_counters"):
            self._dropped[dest], self._delivered[dest] = dropped, delivered
        self._waiters: dict[str, asyncio.Event] = {}
        self._closed = False

    # -- producer side -------------------------------------------------------------------------
    def put(self, destination: str, event_id: str, payload: bytes, topic: str = "") -> int:
        """Append a message; committed to disk before returning. Returns the number dropped (0 normally)."""
        now = time.time()
        dropped = 0
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO outbox (destination, created_at, event_id, topic, payload) VALUES (?, ?, ?, ?, ?)",
                (destination, now, event_id, topic, payload),
            )
            count = self._pending.get(destination, 0) + 1
            if count > self.max_pending:
                dropped = count - self.max_pending
                db.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE destination = ? ORDER BY id LIMIT ?)",
                    (destination, dropped),
                )
                db.execute(
                    "INSERT INTO outbox_counters (destination, dropped) VALUES (?, ?) "
                    "ON CONFLICT(destination) DO UPDATE SET dropped = dropped + excluded.dropped",
                    (destination, dropped),
                )
                count = self.max_pending
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._pending[destination] = count
        if dropped:
            self._dropped[destination] = self._dropped.get(destination, 0) + dropped
            log.warning("outbox %s full (%d pending): dropped the %d oldest message(s)", destination, count, dropped)
        self._wake(destination)
        return dropped

    # -- consumer side -------------------------------------------------------------------------
    def peek(self, destination: str, limit: int = 1) -> list[OutboxMessage]:
        """The oldest ``limit`` messages of a queue, oldest first."""
        rows = self._db.execute(
            "SELECT id, destination, created_at, event_id, topic, payload, attempts FROM outbox "
            "WHERE destination = ? ORDER BY id LIMIT ?",
            (destination, limit),
        ).fetchall()
        return [OutboxMessage(r[0], r[1], r[2], r[3], r[4], bytes(r[5]), r[6]) for r in rows]

    def ack(self, message: OutboxMessage) -> None:
        """The destination confirmed the message (PUBACK / HTTP 2xx): forget it."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute("DELETE FROM outbox WHERE id = ?", (message.id,))
            db.execute(
                "INSERT INTO outbox_counters (destination, delivered) VALUES (?, 1) "
                "ON CONFLICT(destination) DO UPDATE SET delivered = delivered + 1",
                (message.destination,),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._delivered[message.destination] = self._delivered.get(message.destination, 0) + 1
        if cur.rowcount:  # it may have been dropped for overflow meanwhile
            self._pending[message.destination] = max(0, self._pending.get(message.destination, 1) - 1)

    def record_attempt(self, message: OutboxMessage) -> None:
        self._db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (message.id,))

    def pending(self, destination: str) -> int:
        return self._pending.get(destination, 0)

    def counters(self) -> dict[str, tuple[int, int, int]]:
        """destination -> (pending, dropped, delivered)."""
        dests = set(self._pending) | set(self._dropped) | set(self._delivered)
        return {d: (self._pending.get(d, 0), self._dropped.get(d, 0), self._delivered.get(d, 0)) for d in dests}

    async def wait(self, destination: str, timeout: float | None = None) -> None:
        """Wait until the queue has a message (returns at once if it has one) or the timeout passes."""
        if self._pending.get(destination, 0) > 0:
            return
        ev = self._waiters.setdefault(destination, asyncio.Event())
        ev.clear()
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel racing the event.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await ev.wait()

    def _wake(self, destination: str) -> None:
        ev = self._waiters.get(destination)
        if ev is not None:
            ev.set()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.close()


class OutboxCollector(Collector):
    """Outbox depth, drops and deliveries per destination, for /metrics."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def collect(self):
        pending = GaugeMetricFamily(
            "camcheck_outbox_pending", "Messages waiting in the durable outbox", labels=["destination"]
        )
        dropped = CounterMetricFamily(
            "camcheck_outbox_dropped", "Messages dropped because the outbox was full", labels=["destination"]
        )
        delivered = CounterMetricFamily(
            "camcheck_outbox_delivered", "Messages confirmed by their destination", labels=["destination"]
        )
        for dest, (p, d, ok) in sorted(self.outbox.counters().items()):
            pending.add_metric([dest], p)
            dropped.add_metric([dest], d)
            delivered.add_metric([dest], ok)
        yield pending
        yield dropped
        yield delivered
