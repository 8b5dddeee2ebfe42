"""MQTT exporter against real Mosquitto brokers (the shared one with a unique prefix, and private ones)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from exporter_peers import SHARED_BROKER, Subscriber, make_view, wait_for

from camcheck.exporters.config import MqttConfig
from camcheck.exporters.events import TransitionEvent
from camcheck.exporters.mqtt import MqttExporter, topic_segment
from camcheck.exporters.outbox import Outbox

pytestmark = [pytest.mark.peer, pytest.mark.timeout(90)]

PASSWORD = "s3cr3t-Pa55-do-not-leak"


def _config(prefix: str, port: int, **kw) -> MqttConfig:
    return MqttConfig.model_validate(
        {"host": "127.0.0.1", "port": port, "prefix": prefix, "reconnect_min": 0.1, "reconnect_max": 0.5,
         "publish_timeout": 3.0, **kw}
    )


def _transitions(n: int, camera_id: str = "cam1") -> list[TransitionEvent]:
    statuses = ["broken", "working"]
    out = []
    prev = "working"
    for i in range(n):
        st = statuses[i % 2]
        out.append(TransitionEvent.new(make_view(camera_id, st, reason=f"step {i}"), prev, f"step {i}", at=1.7e9 + i))
        prev = st
    return out


async def test_state_events_availability_and_discovery_on_shared_broker(prefix, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # paho logs every packet at DEBUG: the password must not be among them
    monkeypatch.setenv("CAMCHECK_TEST_MQTT_PASSWORD", PASSWORD)
    cfg = _config(prefix, SHARED_BROKER[1], username="camcheck", password={"env": "CAMCHECK_TEST_MQTT_PASSWORD"},
                  home_assistant={"enabled": True, "discovery_prefix": f"{prefix}/ha"})
    outbox = Outbox(tmp_path / "outbox.db")
    exp = MqttExporter(cfg, outbox, node_id="node/1+#")
    async with Subscriber(SHARED_BROKER[1], [f"{prefix}/#"]) as sub:
        await exp.start()
        weird = make_view("cam/2+#", "broken", site=None, parent_id=None, findings=("no_video: no frames in 10 s",))
        exp.publish_state(make_view("cam1"))
        exp.publish_state(weird)
        ev = TransitionEvent.new(make_view("cam1", "broken"), "working", "no video for 3 checks")
        exp.publish_transition(ev)

        state1 = f"{prefix}/site-a/camera/cam1/state"
        state2 = f"{prefix}/default/camera/{topic_segment('cam/2+#')}/state"
        events1 = f"{prefix}/site-a/camera/cam1/events"
        # cam1's two states were queued before the first send: coalesced, only the newest goes out.
        await wait_for(lambda: sub.payloads(events1) and sub.payloads(state2) and sub.payloads(state1))
        await wait_for(lambda: b"online" in sub.payloads(f"{prefix}/status"))

        event = json.loads(sub.payloads(events1)[0])
        assert event["event_id"] == ev.event_id
        assert (event["from_status"], event["to_status"], event["reason"]) == ("working", "broken", "no video for 3 checks")
        last_state = json.loads(sub.payloads(state1)[-1])  # the transition's view is the newest state
        assert last_state["status"] == "broken" and last_state["status_label_th"] == "ใช้งานไม่ได้"
        assert last_state["measured"]["fps"] == 25.0 and last_state["labels"] == {"district": "Mueang", "agency": "Police"}
        s2 = json.loads(sub.payloads(state2)[-1])
        assert s2["site"] == "default" and s2["findings"] == ["no_video: no frames in 10 s"]

        ha_topic = f"{prefix}/ha/binary_sensor/camcheck_cam1/config"
        await wait_for(lambda: sub.payloads(ha_topic))
        ha = json.loads(sub.payloads(ha_topic)[-1])
        assert ha["device_class"] == "problem" and ha["state_topic"] == state1
        assert ha["availability_topic"] == f"{prefix}/status" and ha["unique_id"] == "camcheck_cam1"

        # Removing a camera clears its retained state and its discovery entry (empty retained payloads).
        exp.remove_camera("cam1")
        await wait_for(lambda: sub.payloads(state1)[-1] == b"" and sub.payloads(ha_topic)[-1] == b"")
        await exp.stop()
        await wait_for(lambda: sub.payloads(f"{prefix}/status")[-1] == b"offline")

    # A late subscriber sees the retained messages: status offline, cam2 state, nothing for cam1.
    async with Subscriber(SHARED_BROKER[1], [f"{prefix}/#"]) as late:
        await wait_for(lambda: late.payloads(state2) and late.payloads(f"{prefix}/status"))
        await asyncio.sleep(0.3)
        assert all(r for _t, _p, r in late.messages)
        assert late.payloads(f"{prefix}/status") == [b"offline"]
        assert not late.payloads(state1)
    everything = b"".join(p for _t, p, _r in sub.messages) + caplog.text.encode()
    assert PASSWORD.encode() not in everything
    assert outbox.pending(exp.destination) == 0
    outbox.close()
    # Tidy the shared broker: clear what we left retained.
    import aiomqtt

    async with aiomqtt.Client(*SHARED_BROKER) as c:
        for t in (state2, f"{prefix}/status", f"{prefix}/ha/binary_sensor/camcheck_cam_2__/config"):
            await c.publish(t, b"", qos=1, retain=True)


async def test_broker_outage_during_burst_loses_nothing(prefix, tmp_path, broker_factory):
    broker = broker_factory()
    broker.start()
    outbox = Outbox(tmp_path / "outbox.db")
    exp = MqttExporter(_config(prefix, broker.port), outbox)
    events = _transitions(60)
    async with Subscriber(broker.port, [f"{prefix}/+/camera/+/events"], persistent=True) as sub:
        await exp.start()
        await wait_for(lambda: exp.connected)
        most_pending = 0
        for i, ev in enumerate(events):
            if i == 20:
                broker.stop(signal.SIGTERM)  # a clean stop saves the subscriber's session to disk
            if i == 45:
                broker.start()  # same port, same persistence directory
            exp.publish_transition(ev)  # must return at once, broker or not
            most_pending = max(most_pending, outbox.pending(exp.destination))
            await asyncio.sleep(0.02)
        got = await wait_for(lambda: len({json.loads(p)["event_id"] for p in sub.payloads("/events")}) >= 60 or None,
                             timeout=30)
        assert got
        await exp.stop()
    received = [json.loads(p)["event_id"] for p in sub.payloads("/events")]
    first_seen = list(dict.fromkeys(received))
    assert first_seen == [e.event_id for e in events]  # every transition, in the order produced
    # QoS 1 is at-least-once: only a message in flight at the instant the broker stopped may repeat.
    assert len(received) - len(first_seen) <= 1
    assert exp.connects >= 2 and sub.connects >= 2  # there really was an outage...
    assert most_pending >= 20  # ...and the events produced during it waited on disk
    assert outbox.pending(exp.destination) == 0
    outbox.close()


async def test_outbox_survives_exporter_restart_while_broker_down(prefix, tmp_path, broker_factory):
    broker = broker_factory(persistence=False)  # not started yet: the broker is "down"
    path = tmp_path / "outbox.db"
    events = _transitions(12)
    outbox1 = Outbox(path)
    exp1 = MqttExporter(_config(prefix, broker.port), outbox1)
    await exp1.start()
    for ev in events[:7]:
        exp1.publish_transition(ev)
    await asyncio.sleep(0.3)
    await exp1.stop()
    outbox1.close()

    outbox2 = Outbox(path)  # "the daemon restarted"
    assert outbox2.pending(f"mqtt:{prefix}") == 7
    exp2 = MqttExporter(_config(prefix, broker.port), outbox2)
    for ev in events[7:]:
        exp2.publish_transition(ev)  # still down
    broker.start()
    # Events are not retained: subscribe before the new exporter starts delivering.
    async with Subscriber(broker.port, [f"{prefix}/+/camera/+/events"]) as sub:
        await exp2.start()
        got = await wait_for(lambda: len(sub.payloads("/events")) >= 12 or None, timeout=20)
        assert got
        await asyncio.sleep(0.2)
        await exp2.stop()
    received = [json.loads(p)["event_id"] for p in sub.payloads("/events")]
    assert received == [e.event_id for e in events]
    outbox2.close()


async def test_last_will_marks_daemon_offline_when_killed(prefix, tmp_path):
    """kill -9 of the publishing process: the broker publishes the retained Last Will "offline"."""
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from camcheck.exporters.config import MqttConfig
        from camcheck.exporters.mqtt import MqttExporter
        from camcheck.exporters.outbox import Outbox
        async def main():
            exp = MqttExporter(MqttConfig(host="127.0.0.1", port={SHARED_BROKER[1]}, prefix="{prefix}", keepalive=5),
                               Outbox(r"{tmp_path / 'o.db'}"))
            await exp.start()
            while not exp.connected:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            print("ready", flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
        """
    )
    async with Subscriber(SHARED_BROKER[1], [f"{prefix}/status"]) as sub:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
        try:
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
            assert line.strip() == b"ready"
            await wait_for(lambda: sub.payloads("/status") and sub.payloads("/status")[-1] == b"online")
            os.kill(proc.pid, signal.SIGKILL)
            await wait_for(lambda: sub.payloads("/status")[-1] == b"offline", timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)
    import aiomqtt

    async with aiomqtt.Client(*SHARED_BROKER) as c:
        await c.publish(f"{prefix}/status", b"", qos=1, retain=True)


async def test_tls_and_password_auth(prefix, tmp_path, broker_factory, monkeypatch, caplog):
    """A broker that demands TLS and a password: camcheck connects with the configured secret, never shows it."""
    caplog.set_level(logging.DEBUG)
    d = tmp_path / "tls"
    d.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )
    pwfile = d / "passwd"
    pwfile.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "camcheck", PASSWORD], check=True, capture_output=True)
    os.chmod(pwfile, 0o644)
    os.chmod(d / "key.pem", 0o644)
    broker = broker_factory(
        persistence=False,
        extra_conf=f"allow_anonymous false\npassword_file {pwfile}\ncertfile {d / 'cert.pem'}\nkeyfile {d / 'key.pem'}\n",
    )
    broker.start()
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    cfg = _config(prefix, broker.port, username="camcheck", password={"file": str(tmp_path / "pw")},
                  tls={"enabled": True, "ca_file": str(d / "cert.pem")})
    outbox = Outbox(tmp_path / "outbox.db")
    exp = MqttExporter(cfg, outbox)
    await exp.start()
    ev = _transitions(1)[0]
    exp.publish_transition(ev)
    await wait_for(lambda: outbox.pending(exp.destination) == 0, timeout=15)
    assert exp.connected
    await exp.stop()

    # The same broker refuses a wrong password: camcheck keeps the event and says why without the secret.
    monkeypatch.setenv("WRONG_PW", "wrong-" + PASSWORD[::-1])
    bad = MqttExporter(_config(prefix, broker.port, username="camcheck", password={"env": "WRONG_PW"},
                               tls={"enabled": True, "ca_file": str(d / "cert.pem")}), outbox)
    await bad.start()
    bad.publish_transition(_transitions(1)[0])
    await asyncio.sleep(1.0)
    assert not bad.connected and outbox.pending(bad.destination) == 1
    await bad.stop()
    outbox.close()
    assert PASSWORD not in caplog.text and PASSWORD[::-1] not in caplog.text
    assert "unavailable" in caplog.text  # the refusal was reported


def test_config_errors_name_the_key():
    from camcheck.config.model import ConfigError
    from camcheck.exporters.config import parse_exporters_config

    with pytest.raises(ConfigError) as e:
        parse_exporters_config({"mqtt": {"prot": 1883, "prefix": "a/#"}, "prometheus": {"labels": ["status"]}})
    msg = str(e.value)
    assert "exporters.mqtt.prot: unknown key" in msg
    assert "exporters.mqtt.prefix" in msg and "exporters.prometheus.labels" in msg
    with pytest.raises(ConfigError, match="exporters.mqtt.password: .*only one of env, file, credential"):
        parse_exporters_config({"mqtt": {"username": "u", "password": {"env": "A", "file": "/x"}}})
    cfg = parse_exporters_config({"mqtt": {"host": "broker", "username": "u", "password": {"env": "X"}},
                                  "prometheus": {"labels": ["district"]}})
    assert cfg.mqtt.host == "broker" and cfg.prometheus.labels == ["district"]


async def test_retained_state_republished_after_broker_loses_it(prefix, tmp_path, broker_factory):
    """A broker restarted without persistence has forgotten every retained message: camcheck re-sends them."""
    broker = broker_factory(persistence=False)
    broker.start()
    outbox = Outbox(tmp_path / "outbox.db")
    exp = MqttExporter(_config(prefix, broker.port), outbox)
    await exp.start()
    for i in range(50):
        exp.publish_state(make_view(f"cam{i}", "working" if i % 5 else "broken"))
    await wait_for(lambda: exp.connected and not exp._dirty and not exp._in_flight)
    broker.stop(signal.SIGKILL)
    broker.start()
    await wait_for(lambda: exp.connects >= 2 and exp.connected, timeout=15)
    async with Subscriber(broker.port, [f"{prefix}/#"]) as late:  # only retained messages can reach it now
        await wait_for(lambda: len(late.payloads("/state")) >= 50 and late.payloads("/status"), timeout=15)
        states = {json.loads(p)["camera_id"]: json.loads(p)["status"] for p in late.payloads("/state")}
        assert len(states) == 50 and states["cam0"] == "broken" and states["cam1"] == "working"
        assert late.payloads("/status")[-1] == b"online"
    await exp.stop()
    outbox.close()
