"""The daemon-facing factory: build every exporter from the ``exporters:`` config and drive them together."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from exporter_peers import SHARED_BROKER, Subscriber, make_view, serve, wait_for

from camcheck.exporters import build_exporters, parse_exporters_config
from camcheck.exporters.events import CameraView, Exporter, TransitionEvent

pytestmark = [pytest.mark.peer, pytest.mark.timeout(60)]


async def test_build_from_config_and_fan_out(prefix, tmp_path):
    got: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        got.append(json.loads(await request.read()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, port = await serve(app)
    cfg = parse_exporters_config({
        "prometheus": {"labels": ["district"]},
        "mqtt": {"host": SHARED_BROKER[0], "port": SHARED_BROKER[1], "prefix": prefix},
        "webhooks": [{"name": "registry", "url": f"http://127.0.0.1:{port}/hook"}],
    })
    views: dict[str, CameraView] = {"cam1": make_view("cam1")}
    ex = build_exporters(cfg, state_dir=tmp_path, views=lambda: views.values(), stats=lambda: {"in_flight": 0})
    assert isinstance(ex, Exporter)
    assert (tmp_path / "outbox.db").exists()
    try:
        async with Subscriber(SHARED_BROKER[1], [f"{prefix}/+/camera/+/events"]) as sub:
            await ex.start()
            views["cam1"] = make_view("cam1", "broken")
            ev = TransitionEvent.new(views["cam1"], "working", "no video")
            ex.publish_transition(ev)
            # A view whose measured values are not JSON types must not break anything.
            ex.publish_state(make_view("cam9", measured={"fps": object()}))
            await wait_for(lambda: got and sub.payloads("/events"))
            assert got[0]["event_id"] == ev.event_id
            assert json.loads(sub.payloads("/events")[0])["event_id"] == ev.event_id
            text = ex.collector.render().decode()
            assert 'camcheck_camera_status{camera_id="cam1",district="Mueang",status="broken"} 1' in text
            assert 'camcheck_outbox_delivered_total{destination="webhook:registry"}' in text
            assert 'camcheck_mqtt_connected{prefix="' + prefix + '"} 1' in text
            ex.remove_camera("cam1")
            await ex.stop()
    finally:
        await runner.cleanup()
    import aiomqtt

    async with aiomqtt.Client(*SHARED_BROKER) as c:  # leave nothing retained on the shared broker
        for t in (f"{prefix}/status", f"{prefix}/site-a/camera/cam9/state"):
            await c.publish(t, b"", qos=1, retain=True)


def test_no_outbox_without_push_exporters(tmp_path):
    ex = build_exporters(parse_exporters_config({}), state_dir=tmp_path, views=lambda: [])
    assert ex.outbox is None and ex.exporters == []
    assert not (tmp_path / "outbox.db").exists()
