"""Exporters: Prometheus (/metrics, /probe), MQTT and webhooks, fed by the daemon's camera views.

The daemon builds them once from the ``exporters:`` config section::

    cfg = parse_exporters_config(config.exporters)
    exporters = build_exporters(cfg, state_dir=..., views=lambda: states.values(), stats=scheduler.stats)
    add_metrics_routes(app, exporters.collector, probe_handler, probe_modules=cfg.prometheus.probe_modules)
    await exporters.start()
    exporters.publish_state(view); exporters.publish_transition(event); exporters.collector.observe_check(...)
    await exporters.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from camcheck.exporters.config import ExportersConfig, parse_exporters_config
from camcheck.exporters.events import CameraView, Exporter, TransitionEvent
from camcheck.exporters.outbox import Outbox, OutboxCollector
from camcheck.exporters.prometheus import CameraMetricsCollector, StatsFn, ViewsFn
from camcheck.secrets import mask_text

log = logging.getLogger(__name__)


class FanOut:
    """One Exporter made of several; a failing exporter never stops the others or the daemon."""

    def __init__(self, exporters: Sequence[Exporter], collector: CameraMetricsCollector, outbox: Outbox | None) -> None:
        self.exporters = list(exporters)
        self.collector = collector
        self.outbox = outbox

    async def start(self) -> None:
        for e in self.exporters:
            await e.start()

    async def stop(self) -> None:
        for e in self.exporters:
            try:
                await e.stop()
            except Exception as exc:
                log.error("exporter %s did not stop cleanly: %s", type(e).__name__, mask_text(repr(exc)))
        if self.outbox is not None:
            self.outbox.close()

    def publish_state(self, view: CameraView) -> None:
        for e in self.exporters:
            try:
                e.publish_state(view)
            except Exception as exc:
                log.error("exporter %s: %s", type(e).__name__, mask_text(repr(exc)))

    def publish_transition(self, event: TransitionEvent) -> None:
        for e in self.exporters:
            try:
                e.publish_transition(event)
            except Exception as exc:
                log.error("exporter %s: %s", type(e).__name__, mask_text(repr(exc)))

    def remove_camera(self, camera_id: str) -> None:
        self.collector.remove_camera(camera_id)
        for e in self.exporters:
            try:
                e.remove_camera(camera_id)
            except Exception as exc:
                log.error("exporter %s: %s", type(e).__name__, mask_text(repr(exc)))


def build_exporters(
    config: ExportersConfig,
    *,
    state_dir: str | Path,
    views: ViewsFn,
    stats: StatsFn | None = None,
    node_id: str | None = None,
) -> FanOut:
    """Create the collector, the shared outbox (only if MQTT or webhooks are configured) and the exporters."""
    collector = CameraMetricsCollector(
        views, stats,
        labels=config.prometheus.labels,
        label_value_max=config.prometheus.label_value_max,
        buckets=config.prometheus.histogram_buckets,
    )
    exporters: list[Exporter] = []
    outbox = None
    mqtt_on = config.mqtt is not None and config.mqtt.enabled
    if mqtt_on or config.webhooks:
        path = config.outbox.path or Path(state_dir) / "outbox.db"
        outbox = Outbox(path, max_pending=config.outbox.max_pending, synchronous=config.outbox.synchronous)
        collector.add_collector(OutboxCollector(outbox))
    if mqtt_on:
        from camcheck.exporters.mqtt import MqttExporter

        m = MqttExporter(config.mqtt, outbox, node_id=node_id)
        collector.add_collector(m.collector())
        exporters.append(m)
    if config.webhooks:
        from camcheck.exporters.webhook import WebhookExporter

        exporters.append(WebhookExporter(config.webhooks, outbox))
    return FanOut(exporters, collector, outbox)


__all__ = [
    "CameraMetricsCollector", "CameraView", "Exporter", "ExportersConfig", "FanOut", "Outbox", "TransitionEvent",
    "build_exporters", "parse_exporters_config",
]
