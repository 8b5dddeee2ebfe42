"""Webhooks against a real aiohttp receiver on loopback that fails, checks signatures and counts."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import web
from exporter_peers import free_port, make_view, serve, wait_for

from camcheck.exporters.api.reason_words import thai
from camcheck.exporters.config import ExportersConfig, WebhookConfig
from camcheck.exporters.events import TransitionEvent
from camcheck.exporters.outbox import Outbox
from camcheck.exporters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookExporter, sign, verify_signature
from camcheck.verdict.reasons import Reason, english

pytestmark = pytest.mark.timeout(60)

KEY = "hmac-key-0123456789-do-not-leak"
TOKEN = "tok-SECRET-in-url-42"


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests = 0
        self.accepted: list[dict] = []
        self.bodies: list[bytes] = []
        self.bad_signatures = 0
        self.app = web.Application()
        self.app.router.add_post(f"/hook/{TOKEN}", self.handle)
        self.app.router.add_post("/chat", self.chat)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        if not verify_signature(KEY.encode(), request.headers, body):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.requests <= self.fail_first:
            return web.Response(status=503, headers={"Retry-After": "0"})
        self.accepted.append(json.loads(body))
        return web.Response(status=204)

    async def chat(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        return web.Response(text="ok")


def events(n: int) -> list[TransitionEvent]:
    out, prev = [], "working"
    for i in range(n):
        st = "broken" if i % 2 == 0 else "working"
        reason = f'step {i}: "quoted" reason'
        out.append(TransitionEvent.new(make_view(f"cam{i % 3}", st, reason=reason), prev, reason, at=1.7e9 + i))
        prev = st
    return out


def hook_config(port: int, **kw) -> WebhookConfig:
    return WebhookConfig.model_validate(
        {"name": "ops", "url_secret": {"env": "CAMCHECK_TEST_HOOK_URL"}, "hmac_key": {"env": "CAMCHECK_TEST_HOOK_KEY"},
         "backoff_initial": 0.05, "backoff_max": 0.2, "timeout": 2, **kw}
    )


@pytest.fixture
def hook_env(monkeypatch):
    def set_port(port: int) -> None:
        monkeypatch.setenv("CAMCHECK_TEST_HOOK_URL", f"http://127.0.0.1:{port}/hook/{TOKEN}")
        monkeypatch.setenv("CAMCHECK_TEST_HOOK_KEY", KEY)

    return set_port


async def test_signed_retried_in_order_exactly_once(tmp_path, hook_env, caplog):
    caplog.set_level(logging.DEBUG)
    recv = Receiver(fail_first=4)
    runner, port = await serve(recv.app)
    hook_env(port)
    outbox = Outbox(tmp_path / "o.db")
    exp = WebhookExporter([hook_config(port)], outbox)
    evs = events(10)
    try:
        await exp.start()
        for ev in evs:
            exp.publish_transition(ev)
        await wait_for(lambda: len(recv.accepted) >= 10, timeout=20)
        await exp.stop()
    finally:
        await runner.cleanup()
    assert [e["event_id"] for e in recv.accepted] == [e.event_id for e in evs]  # in order, each once
    assert recv.requests == 14 and recv.bad_signatures == 0  # 4 refusals were retried
    assert recv.accepted[0]["reason"] == 'step 0: "quoted" reason' and recv.accepted[0]["camera"]["status"] == "broken"
    assert outbox.pending("webhook:ops") == 0
    assert "HTTP 503" in caplog.text  # the failure is reported...
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("camcheck"))
    assert "HTTP 503" in ours and TOKEN not in ours and KEY not in ours  # ...without the URL's token or the key
    outbox.close()


async def test_endpoint_down_then_daemon_restart_then_up(tmp_path, hook_env):
    port = free_port()  # nothing listens yet
    hook_env(port)
    path = tmp_path / "o.db"
    evs = events(6)
    ob1 = Outbox(path)
    exp1 = WebhookExporter([hook_config(port)], ob1)
    await exp1.start()
    for ev in evs[:4]:
        exp1.publish_transition(ev)
    await wait_for(lambda: ob1.peek("webhook:ops", 1) and ob1.peek("webhook:ops", 1)[0].attempts >= 2)
    await exp1.stop()  # gives up waiting quickly: the endpoint is failing
    ob1.close()

    ob2 = Outbox(path)
    exp2 = WebhookExporter([hook_config(port)], ob2)
    for ev in evs[4:]:
        exp2.publish_transition(ev)
    recv = Receiver()
    runner = web.AppRunner(recv.app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await exp2.start()
        await wait_for(lambda: len(recv.accepted) >= 6, timeout=20)
        await exp2.stop()
    finally:
        await runner.cleanup()
    assert [e["event_id"] for e in recv.accepted] == [e.event_id for e in evs]
    ob2.close()


async def test_template_for_chat_tools_and_status_filter(tmp_path):
    recv = Receiver()
    runner, port = await serve(recv.app)
    cfg = WebhookConfig(
        name="chat", url=f"http://127.0.0.1:{port}/chat", statuses=["broken"],
        template='{"text": "[$label_district] $name ($camera_id): $from_status -> $to_status ($status_label_th): $reason"}',
    )
    outbox = Outbox(tmp_path / "o.db")
    exp = WebhookExporter([cfg], outbox)
    try:
        await exp.start()
        for ev in events(4):  # broken, working, broken, working: only the two "broken" pass the filter
            exp.publish_transition(ev)
        await wait_for(lambda: len(recv.bodies) >= 2)
        await exp.stop()
    finally:
        await runner.cleanup()
    texts = [json.loads(b)["text"] for b in recv.bodies]  # quotes in the reason did not break the JSON
    assert texts == [
        '[Mueang] Camera cam0 (cam0): working -> broken (ใช้งานไม่ได้): step 0: "quoted" reason',
        '[Mueang] Camera cam2 (cam2): working -> broken (ใช้งานไม่ได้): step 2: "quoted" reason',
    ]
    outbox.close()


async def test_template_says_why_in_thai(tmp_path):
    """$reason_th: the reason rendered in Thai from its data (English as stored when it has none)."""
    why = Reason(code="broken_stream", args={"n": 3, "since": 1.7e9, "keys": ["refused"], "unchanged": None,
                                             "said": 'the camera reset the connection "before" answering'})
    recv = Receiver()
    runner, port = await serve(recv.app)
    cfg = WebhookConfig(name="line", url=f"http://127.0.0.1:{port}/chat", template='{"message": "$name: $reason_th"}')
    outbox = Outbox(tmp_path / "o.db")
    exp = WebhookExporter([cfg], outbox)
    try:
        await exp.start()
        view = make_view("cam9", "broken", reason=english(why), reason_data=why.model_dump())
        exp.publish_transition(TransitionEvent.new(view, "working", english(why), at=1.7e9 + 60,
                                                   reason_data=why.model_dump()))
        exp.publish_transition(TransitionEvent.new(make_view("cam8", "broken"), "working", "no video", at=1.7e9 + 61))
        await wait_for(lambda: len(recv.bodies) >= 2)
        await exp.stop()
    finally:
        await runner.cleanup()
    texts = [json.loads(b)["message"] for b in recv.bodies]
    assert texts == [f"Camera cam9: {thai(why)}", "Camera cam8: no video"]
    assert texts[0].startswith("Camera cam9: ไม่ได้รับภาพที่ใช้งานได้ 3 ครั้งติดต่อกัน ตั้งแต่ 15/11/2566 05:13: ")
    outbox.close()


def test_config_and_template_validation(tmp_path):
    with pytest.raises(ValueError, match="unknown template variable \\$nope"):
        WebhookExporter([WebhookConfig(name="a", url="http://x/", template="$nope")], Outbox(tmp_path / "a.db"))
    with pytest.raises(ValueError, match="valid JSON"):
        WebhookExporter([WebhookConfig(name="a", url="http://x/", template='{"t": $reason}')], Outbox(tmp_path / "b.db"))
    with pytest.raises(ValueError, match="user:password"):
        WebhookConfig(name="a", url="http://u:p@x/")
    with pytest.raises(ValueError, match="unique"):
        ExportersConfig.model_validate({"webhooks": [{"name": "a", "url": "http://x/"}, {"name": "a", "url": "http://y/"}]})


def test_signature_binds_timestamp():
    body = b'{"a":1}'
    headers = {TIMESTAMP_HEADER: "1700000000", SIGNATURE_HEADER: sign(b"k", "1700000000", body)}
    assert verify_signature(b"k", headers, body, now=1_700_000_010)
    assert not verify_signature(b"k", headers, body, now=1_700_009_999)  # replayed much later
    assert not verify_signature(b"k", {**headers, TIMESTAMP_HEADER: "1700009990"}, body, now=1_700_009_999)
    assert not verify_signature(b"other", headers, body, now=1_700_000_010)
    assert not verify_signature(b"k", headers, body + b" ", now=1_700_000_010)
