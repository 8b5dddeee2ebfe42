"""Helpers for the ONVIF tests: run the probe against a port with a short deadline."""

from __future__ import annotations

import asyncio
from typing import Any

from camcheck.probe.onvif import OnvifObservation, OnvifSettings, OnvifTarget, probe_onvif
from camcheck.secrets import Secret

PASSWORD = "sim-pass"


async def run_probe(port: int, password: str | None = PASSWORD, timeout: float = 10.0, settings: OnvifSettings | None = None, **target: Any) -> OnvifObservation:
    target.setdefault("username", "admin")
    t = OnvifTarget(host="127.0.0.1", port=port, password=Secret(password) if password is not None else None, **target)
    deadline = asyncio.get_running_loop().time() + timeout
    return await probe_onvif(t, settings or OnvifSettings(), deadline)
