"""The durable outbox on a real SQLite file: order, bounds, drop counting, survival across reopen."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from camcheck.exporters.outbox import Outbox, OutboxCollector

pytestmark = pytest.mark.timeout(30)


def test_fifo_per_destination_and_ack(tmp_path):
    ob = Outbox(tmp_path / "o.db")
    for i in range(5):
        ob.put("a", f"a{i}", f"A{i}".encode(), "t/a")
        ob.put("b", f"b{i}", f"B{i}".encode())
    assert ob.pending("a") == 5 and ob.pending("b") == 5
    got = []
    while batch := ob.peek("a", 2):
        got.append(batch[0].event_id)
        ob.ack(batch[0])
    assert got == [f"a{i}" for i in range(5)]
    assert [m.event_id for m in ob.peek("b", 10)] == [f"b{i}" for i in range(5)]  # untouched by a's acks
    assert ob.peek("b", 1)[0].payload == b"B0" and ob.peek("a", 1) == []
    assert ob.counters()["a"] == (0, 0, 5)
    ob.close()


def test_bounded_oldest_dropped_and_counted_persistently(tmp_path):
    ob = Outbox(tmp_path / "o.db", max_pending=5)
    dropped = sum(ob.put("mqtt:x", f"e{i}", b"x") for i in range(8))
    assert dropped == 3
    assert [m.event_id for m in ob.peek("mqtt:x", 10)] == ["e3", "e4", "e5", "e6", "e7"]
    ob.close()
    ob2 = Outbox(tmp_path / "o.db", max_pending=5)  # a restart keeps both the messages and the count
    assert ob2.pending("mqtt:x") == 5 and ob2.counters()["mqtt:x"][1] == 3
    reg = CollectorRegistry()
    reg.register(OutboxCollector(ob2))
    text = generate_latest(reg).decode()
    assert 'camcheck_outbox_dropped_total{destination="mqtt:x"} 3.0' in text
    assert 'camcheck_outbox_pending{destination="mqtt:x"} 5.0' in text
    ob2.close()


async def test_wait_wakes_on_put(tmp_path):
    ob = Outbox(tmp_path / "o.db")
    waiter = asyncio.create_task(ob.wait("d", timeout=5))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    ob.put("d", "e1", b"x")
    await asyncio.wait_for(waiter, 2)
    ob.close()


def test_rejects_bad_limit(tmp_path):
    with pytest.raises(ValueError):
        Outbox(tmp_path / "o.db", max_pending=0)
