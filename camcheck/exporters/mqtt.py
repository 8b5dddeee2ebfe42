"""MQTT exporter (aiomqtt 2.x): retained camera state, transition events, availability, HA discovery.

Topics (``<site>`` is the camera's site, else its parent, else ``default``; ``/ + #`` and control
characters in ids are replaced by ``_``):

* ``<prefix>/status`` — ``online`` (retained) while connected; the broker publishes the Last Will
  ``offline`` (retained) if camcheck vanishes; a clean stop publishes ``offline`` itself.
* ``<prefix>/<site>/camera/<id>/state`` — retained JSON of the camera's current state
  (``events.view_to_dict``); an empty retained message when the camera is removed.
* ``<prefix>/<site>/camera/<id>/events`` — one JSON message per transition
  (``events.event_to_dict``), not retained, delivered from the durable outbox in production order.
  Subscribe to ``<prefix>/+/camera/+/events`` for all. QoS 1 is at-least-once: de-duplicate by
  ``event_id``.
* ``<discovery_prefix>/binary_sensor/camcheck_<id>/config`` — Home Assistant discovery (optional).

State is "latest value wins", so it is coalesced in memory (one pending message per camera) and all
of it is re-published after every reconnect (the broker may have restarted without persistence).
Transitions are a log, so they go through the outbox and are deleted only after the broker's PUBACK.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import socket
from typing import Any

import aiomqtt
from prometheus_client.core import GaugeMetricFamily

from camcheck.exporters.config import MqttConfig
from camcheck.exporters.events import CameraView, TransitionEvent, event_to_dict, view_to_dict
from camcheck.exporters.outbox import Outbox
from camcheck.secrets import Secret, mask_text

log = logging.getLogger(__name__)

_SEGMENT_BAD = re.compile(r"[/+#\x00-\x1f\x7f]")
_HA_ID_BAD = re.compile(r"[^a-zA-Z0-9_-]")
PROBLEM_STATUSES = ("broken", "degraded", "flapping")


def topic_segment(value: str) -> str:
    """One topic level from an id: no separators or wildcards, never empty."""
    return _SEGMENT_BAD.sub("_", value)[:200] or "_"


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8")


class MqttExporter:
    """Implements ``camcheck.exporters.events.Exporter`` over MQTT. See the module docstring."""

    def __init__(
        self,
        config: MqttConfig,
        outbox: Outbox,
        *,
        node_id: str | None = None,
        password: Secret | None = None,
        flush_timeout: float = 3.0,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.destination = f"mqtt:{config.prefix}"
        self.node_id = node_id or socket.gethostname()
        self._password = password if password is not None else config.password.load()
        self._client_id = config.client_id or f"camcheck-{topic_segment(self.node_id)}-{os.getpid()}"
        self.flush_timeout = flush_timeout
        self.status_topic = f"{config.prefix}/status"
        self._retained: dict[str, bytes] = {}  # every retained message we own, re-sent after reconnects
        self._dirty: dict[str, bytes] = {}  # retained messages not yet confirmed by the broker
        self._in_flight = 0
        self._camera_topics: dict[str, tuple[str, ...]] = {}
        self._kick = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.connects = 0
        self.errors = 0

    # -- topics and payloads --------------------------------------------------------------------
    def camera_base(self, view: CameraView) -> str:
        return f"{self.config.prefix}/{topic_segment(view.topic_site)}/camera/{topic_segment(view.camera_id)}"

    def ha_config_topic(self, camera_id: str) -> str:
        ha = self.config.home_assistant
        return f"{ha.discovery_prefix}/binary_sensor/camcheck_{_HA_ID_BAD.sub('_', camera_id)}/config"

    def ha_config(self, view: CameraView) -> dict[str, Any]:
        uid = "camcheck_" + _HA_ID_BAD.sub("_", view.camera_id)
        device: dict[str, Any] = {"identifiers": [uid], "name": view.name or view.camera_id}
        for key, ha_key in (("brand", "manufacturer"), ("model", "model"), ("firmware", "sw_version")):
            if view.info.get(key):
                device[ha_key] = view.info[key]
        problem = ", ".join(f"'{s}'" for s in PROBLEM_STATUSES)
        return {
            "name": "Camera problem",
            "unique_id": uid,
            "object_id": uid,
            "device_class": "problem",
            "state_topic": self.camera_base(view) + "/state",
            "value_template": "{{ 'ON' if value_json.status in [" + problem + "] else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "json_attributes_topic": self.camera_base(view) + "/state",
            "availability_topic": self.status_topic,
            "payload_available": "online",
            "payload_not_available": "offline",
            "qos": 1,
            "device": device,
            "origin": {"name": "camcheck"},
        }

    # -- Exporter interface ---------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name=f"camcheck-mqtt-{self.config.prefix}")

    async def stop(self) -> None:
        if self._task is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_timeout
        # Give what is queued a moment to go out while connected; the outbox keeps the rest.
        while (
            self.connected
            and (self.outbox.pending(self.destination) or self._dirty or self._in_flight)
            and loop.time() < deadline
        ):
            await asyncio.sleep(0.02)
        self._stop.set()
        self._kick.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=max(1.0, deadline - loop.time() + 1.0))
        except (asyncio.TimeoutError, Exception):
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        self._task = None

    def publish_state(self, view: CameraView) -> None:
        try:
            self._set_state(view)
        except Exception as exc:  # never raise into the daemon
            self.errors += 1
            log.error("mqtt: cannot queue state of a camera: %s", mask_text(repr(exc)))

    def publish_transition(self, event: TransitionEvent) -> None:
        try:
            topic = self.camera_base(event.view) + "/events"
            self.outbox.put(self.destination, event.event_id, _json(event_to_dict(event)), topic)
        except Exception as exc:
            self.errors += 1
            log.error("mqtt: cannot store transition %s: %s", event.event_id, mask_text(repr(exc)))
        self.publish_state(event.view)

    def remove_camera(self, camera_id: str) -> None:
        try:
            for topic in self._camera_topics.pop(camera_id, ()):
                self._retained.pop(topic, None)
                self._dirty[topic] = b""  # an empty retained message deletes the retained one
            self._kick.set()
        except Exception as exc:
            self.errors += 1
            log.error("mqtt: cannot remove a camera: %s", mask_text(repr(exc)))

    # -- internals ------------------------------------------------------------------------------
    def _set_state(self, view: CameraView) -> None:
        state_topic = self.camera_base(view) + "/state"
        topics = [state_topic]
        payloads = [_json(view_to_dict(view))]
        if self.config.home_assistant.enabled:
            topics.append(self.ha_config_topic(view.camera_id))
            payloads.append(_json(self.ha_config(view)))
        old = self._camera_topics.get(view.camera_id, ())
        for t in old:
            if t not in topics:  # the camera moved to another site: clear its old retained topic
                self._retained.pop(t, None)
                self._dirty[t] = b""
        self._camera_topics[view.camera_id] = tuple(topics)
        for t, p in zip(topics, payloads):
            if self._retained.get(t) != p:
                self._retained[t] = p
                self._dirty[t] = p
        self._kick.set()

    def _client(self) -> aiomqtt.Client:
        c = self.config
        return aiomqtt.Client(
            c.host,
            c.port,
            username=c.username,
            password=self._password.reveal() if self._password else None,
            identifier=self._client_id,
            will=aiomqtt.Will(self.status_topic, b"offline", qos=1, retain=True),
            clean_session=True,  # our own outbox is the durable part, not the broker session
            keepalive=c.keepalive,
            timeout=c.publish_timeout,
            tls_context=c.tls.context(),
            tls_insecure=c.tls.insecure if c.tls.enabled else None,
            max_inflight_messages=max(20, c.state_concurrency + 1),
        )

    async def _run(self) -> None:
        backoff = self.config.reconnect_min
        where = f"{self.config.host}:{self.config.port}"
        while not self._stop.is_set():
            try:
                async with self._client() as client:
                    self.connected = True
                    self.connects += 1
                    backoff = self.config.reconnect_min
                    log.info("mqtt: connected to %s as %s", where, self._client_id)
                    await self._session(client)
                    if self._stop.is_set():
                        return
            except asyncio.CancelledError:
                raise
            except (aiomqtt.MqttError, OSError, ValueError) as exc:
                log.warning("mqtt: broker %s unavailable: %s", where, mask_text(str(exc)))
            except Exception as exc:  # a bug must not end delivery for good
                log.exception("mqtt: unexpected error: %s", mask_text(repr(exc)))
            finally:
                self.connected = False
            if self._stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(random.uniform(backoff / 2, backoff)):
                    await self._stop.wait()
            backoff = min(backoff * 2, self.config.reconnect_max)

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.publish(self.status_topic, b"online", qos=1, retain=True)
        for t, p in self._retained.items():  # the broker may have lost them
            self._dirty.setdefault(t, p)
        tasks = [
            asyncio.create_task(self._events_loop(client)),
            asyncio.create_task(self._state_loop(client)),
            asyncio.create_task(self._watch(client)),
            asyncio.create_task(self._stop.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._stop.is_set():
            with contextlib.suppress(Exception):
                await client.publish(self.status_topic, b"offline", qos=1, retain=True, timeout=2.0)
            return
        for t in done:
            t.result()  # re-raise the error that ended the session, so _run reconnects

    async def _watch(self, client: aiomqtt.Client) -> None:
        # We subscribe to nothing, so the iterator only ends when the connection drops — the public
        # way to learn of a disconnect at once instead of after a PUBACK timeout.
        async for _ in client.messages:
            pass
        raise aiomqtt.MqttError("disconnected")

    async def _events_loop(self, client: aiomqtt.Client) -> None:
        while True:
            batch = self.outbox.peek(self.destination, 1)
            if not batch:
                await self.outbox.wait(self.destination, timeout=1.0)
                continue
            msg = batch[0]
            # One at a time: the next event leaves only after the broker acknowledged this one,
            # which keeps production order across reconnects.
            await client.publish(msg.topic, msg.payload, qos=1, retain=False)
            self.outbox.ack(msg)

    async def _state_loop(self, client: aiomqtt.Client) -> None:
        sem = asyncio.Semaphore(self.config.state_concurrency)
        pending: set[asyncio.Task[None]] = set()
        failure: list[BaseException] = []

        async def send(topic: str, payload: bytes) -> None:
            try:
                await client.publish(topic, payload, qos=1, retain=self.config.retain_state)
            except asyncio.CancelledError:
                self._dirty.setdefault(topic, payload)  # keep it for the next connection unless newer exists
                raise
            except Exception as exc:  # handed to the loop below, which ends the session
                self._dirty.setdefault(topic, payload)
                failure.append(exc)
                self._kick.set()
            finally:
                self._in_flight -= 1
                sem.release()

        try:
            while True:
                if failure:
                    raise failure[0]
                if not self._dirty:
                    self._kick.clear()
                    await self._kick.wait()
                    continue
                await sem.acquire()
                if not self._dirty:
                    sem.release()
                    continue
                topic = next(iter(self._dirty))
                payload = self._dirty.pop(topic)
                self._in_flight += 1
                task = asyncio.create_task(send(topic, payload))
                pending.add(task)
                task.add_done_callback(pending.discard)
        finally:
            for t in list(pending):
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def collector(self) -> "MqttCollector":
        return MqttCollector(self)


class MqttCollector:
    """``camcheck_mqtt_connected`` and queue size, for /metrics (add with collector.add_collector)."""

    def __init__(self, exporter: MqttExporter) -> None:
        self.exporter = exporter

    def collect(self):
        e = self.exporter
        g = GaugeMetricFamily("camcheck_mqtt_connected", "1 while connected to the MQTT broker", labels=["prefix"])
        g.add_metric([e.config.prefix], 1 if e.connected else 0)
        yield g
        q = GaugeMetricFamily("camcheck_mqtt_state_pending", "Retained state messages not yet confirmed",
                              labels=["prefix"])
        q.add_metric([e.config.prefix], len(e._dirty) + e._in_flight)
        yield q
