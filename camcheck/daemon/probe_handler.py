"""The blackbox-style /probe endpoint: probe a registered camera, or a URL with a named module.

Credentials come from the configuration only: a registered camera's ``credentials_ref``, or the
module's ``credential``; never from the query string. The result is facts for this scrape; it is
not recorded and changes no status (the scheduled checks own that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from camcheck.daemon.checks import stream_deadline_s
from camcheck.daemon.targets import Credentials, TargetError, choose_stream, resolve_credentials, stream_target
from camcheck.exporters.config import ProbeModule
from camcheck.probe.observation import Observation, RtspSettings, RtspTarget
from camcheck.probe.rtsp import probe_rtsp


def observation_facts(obs: Observation) -> dict[str, Any]:
    s = obs.stream
    facts: dict[str, Any] = {
        "verdict": obs.verdict,
        "failure": obs.failure,
        "findings": list(obs.findings),
        "fps": s.fps,
        "width": s.width,
        "height": s.height,
        "bitrate_kbps": s.bitrate_kbps,
        "gop_seconds": s.gop_s,
        "gop_min_seconds": s.gop_min_s,  # one keyframe in this long: frozen was not judged
        "packet_loss": s.packet_loss,
        "codec": s.codec,
    }
    for key, value in obs.timings.__dict__.items():
        if value is not None:
            facts[f"{key}_seconds"] = value
    return {k: v for k, v in facts.items() if v is not None}


class ProbeHandler:
    def __init__(self, daemon: Any, modules: Mapping[str, ProbeModule]) -> None:
        self.daemon = daemon
        self.modules = modules

    async def __call__(self, *, camera_id: str | None = None, target: str | None = None,
                       module: str | None = None, timeout: float | None = None) -> tuple[bool, dict[str, Any]]:
        """Probe and return (success, facts). ``timeout``: what the caller can wait from now (the
        scrape's own timeout): the probe ends by then with its own finding (``timeout_response``,
        ``stalled``, ...) instead of being cut off without one."""
        d = self.daemon
        cfg = d.config
        loop = asyncio.get_running_loop()
        caller_deadline = loop.time() + timeout if timeout is not None else None
        probe_timeout = cfg.probe.timeout
        if camera_id is not None:
            if d.store is None:
                raise LookupError(camera_id)
            cam = await d.store.get_camera(camera_id)
            if cam is None:
                raise LookupError(camera_id)
            try:
                creds = resolve_credentials(cam, cfg.credentials)
                role_url = choose_stream(cam, want_main=False, sub=d.sub_stream(cam))
                rt = stream_target(cam, creds, role_url=role_url, transport=cfg.probe.transport)
            except TargetError:
                return False, {"configuration_error": True}
            # A long-GOP camera is waited on as its scheduled checks are (the GOP they learnt).
            gop, keyframe_wait = d.keyframe_plan(cam, role_url[1])
        else:
            assert target is not None and module is not None
            mod = self.modules.get(module)
            if mod is None:
                raise LookupError(module)
            creds = Credentials(None, None)
            if mod.credential:
                entry = cfg.credentials.get(mod.credential)
                if entry is None:
                    return False, {"configuration_error": True}
                creds = Credentials(entry.username, entry.password())
            rt = RtspTarget(url=target, username=creds.username, password=creds.password,
                            transport=mod.transport or cfg.probe.transport)
            probe_timeout = mod.timeout or probe_timeout
            gop, keyframe_wait = None, mod.keyframe_wait
        window = cfg.probe.window
        settings = RtspSettings(window=window, keyframe_wait=keyframe_wait, **cfg.probe.rtsp_tls())
        deadline = loop.time() + stream_deadline_s(probe_timeout, window, gop, keyframe_wait)
        if caller_deadline is not None:
            deadline = min(deadline, caller_deadline)
        obs = await probe_rtsp(rt, settings, deadline)
        return obs.verdict != "broken", observation_facts(obs)
