"""HTTP routes for Prometheus: ``/metrics`` and a blackbox-exporter-style ``/probe``.

``/probe?camera=<id>`` checks a registered camera now; ``/probe?target=<url>&module=<name>`` checks an
arbitrary stream with the settings (and credentials) of a named module from the config. Credentials
are never accepted in the query string: a target with ``user:pass@`` or a password-like query
parameter is refused with 400, and anything echoed back is masked.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from camcheck.exporters.prometheus import clean_label_value
from camcheck.secrets import mask_text, mask_url

log = logging.getLogger(__name__)

ProbeHandler = Callable[..., Awaitable[tuple[bool, dict[str, Any]]]]

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROBE_SCHEMES = frozenset({"rtsp", "rtsps", "rtspt", "http", "https"})
# Query parameters some vendors use to put credentials in a stream URL (e.g. ?user=..&password=..).
SECRET_PARAMS = frozenset(
    {"password", "passwd", "pwd", "pass", "token", "auth", "secret", "apikey", "api_key", "key", "access_token"}
)
_PROBE_PARAMS = frozenset({"camera", "target", "module"})
# How long past its timeout a probe handler may take before /probe gives up on it: less than the
# 0.5 s kept from a Prometheus scrape timeout, so the answer still reaches Prometheus.
PROBE_BACKSTOP_S = 0.25
_METRIC_KEY = re.compile(r"[^a-zA-Z0-9_]")
_GZIP_MIN = 64 * 1024


_SECRET_PARAM_RE = re.compile(r"(?i)\b(" + "|".join(sorted(SECRET_PARAMS)) + r")=([^&#\s]*)")


def mask_query_secrets(text: str) -> str:
    """``...?user=a&password=b`` -> ``...?user=a&password=***`` (vendor URLs that carry credentials)."""
    return _SECRET_PARAM_RE.sub(lambda m: m.group(1) + "=***", text)


def wants_openmetrics(accept: str) -> bool:
    return any(p.split(";", 1)[0].strip() == "application/openmetrics-text" for p in accept.split(","))


def _bad(msg: str, status: int = 400) -> web.Response:
    return web.Response(status=status, text=msg + "\n", content_type="text/plain")


def validate_target(target: str) -> str | None:
    """Return a reason to refuse ``target``, or None. Reasons never contain the secret."""
    if len(target) > 2048:
        return "target is too long"
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "target contains control characters"
    try:
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "target is not a valid URL"
    if parts.scheme.lower() not in PROBE_SCHEMES:
        return f"target scheme must be one of {', '.join(sorted(PROBE_SCHEMES))}"
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return (
            f"credentials are not accepted in target ({mask_url(target)}); "
            "configure them in a probe module and pass module=<name>"
        )
    if not parts.hostname:
        return "target has no host"
    for name, _value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in SECRET_PARAMS:
            return f"credentials are not accepted in target (query parameter {name!r}); use a probe module"
    return None


class SafeAccessLogger(AbstractAccessLogger):
    """An aiohttp access log that never writes a secret someone put in a query string.

    aiohttp's default access log prints the raw request line, so ``/probe?target=rtsp://u:p@h`` —
    refused with 400 — would still leave the password in the log. Use it for the daemon's runner:
    ``web.AppRunner(app, access_log_class=SafeAccessLogger)``.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        query = "&".join(
            f"{k}={'***' if k.lower() in SECRET_PARAMS else mask_query_secrets(mask_text(v))}"
            for k, v in request.rel_url.query.items()
        )
        path = request.path + (f"?{query}" if query else "")
        self.logger.info(
            '%s "%s %s" %s %s %.3fs', request.remote, request.method, path, response.status,
            response.body_length, time,
        )


def add_metrics_routes(
    app: web.Application,
    registry_collector: Any,
    probe_handler: ProbeHandler | None = None,
    *,
    probe_modules: Collection[str] | None = None,
    probe_timeout: float = 30.0,
) -> None:
    """Add ``GET /metrics`` and ``GET /probe`` to ``app``.

    ``registry_collector`` is a ``CameraMetricsCollector`` (fast path, rendered off the event loop)
    or any prometheus_client collector/registry. ``probe_modules`` (names from the config), when
    given, is checked before the handler is called.
    """

    async def metrics(request: web.Request) -> web.StreamResponse:
        om = wants_openmetrics(request.headers.get("Accept", ""))
        gz = "gzip" in request.headers.get("Accept-Encoding", "")
        loop = asyncio.get_running_loop()
        if hasattr(registry_collector, "render_snapshot"):
            snap = registry_collector.snapshot()  # on the loop: the daemon's dict is only read here

            def work() -> bytes:
                return registry_collector.render_snapshot(snap, om)
        else:
            reg = registry_collector if hasattr(registry_collector, "get_sample_value") else _OneCollector(registry_collector)

            def work() -> bytes:
                return (generate_openmetrics if om else generate_text)(reg)

        def work_and_zip() -> tuple[bytes, bool]:
            body = work()
            if gz and len(body) >= _GZIP_MIN:
                return gzip.compress(body, compresslevel=1), True
            return body, False

        # Rendering and compressing run in a thread so a big scrape never stalls the checks.
        body, zipped = await loop.run_in_executor(None, work_and_zip)
        headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE}
        if zipped:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)

    async def probe(request: web.Request) -> web.StreamResponse:
        if probe_handler is None:
            return _bad("probing is not enabled on this camcheck", 404)
        q = request.rel_url.query
        for name in q.keys():
            if name not in _PROBE_PARAMS:
                # Name only: the value might be a password someone tried to pass.
                return _bad(f"unknown query parameter {clean_label_value(name, 64)!r} (use camera= or target= and module=)")
        if any(len(q.getall(k)) > 1 for k in q.keys()):
            return _bad("each query parameter may be given once")
        camera, target, module = q.get("camera"), q.get("target"), q.get("module")
        if (camera is None) == (target is None):
            return _bad("give exactly one of camera=<id> or target=<url>&module=<name>")
        if target is not None:
            reason = validate_target(target)
            if reason:
                return _bad(reason)
            if not module:
                return _bad("target= needs module=<name> (a probe module from the config)")
        if module is not None:
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", module):
                return _bad("module name is not valid")
            if probe_modules is not None and module not in probe_modules:
                return _bad(f"unknown module {module!r}")
        if camera is not None and (not camera or len(camera) > 256 or any(ord(c) < 32 for c in camera)):
            return _bad("camera id is not valid")

        timeout = probe_timeout
        hdr = request.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
        if hdr:
            try:  # like blackbox_exporter: finish a little before Prometheus gives up
                timeout = max(1.0, min(timeout, float(hdr) - 0.5))
            except ValueError:
                pass
        t0 = time.perf_counter()
        success, facts = False, {}
        try:
            # The handler's probe ends by `timeout` with its own finding; wait_for is the backstop.
            success, facts = await asyncio.wait_for(
                probe_handler(camera_id=camera, target=target, module=module, timeout=timeout),
                timeout + PROBE_BACKSTOP_S,
            )
        except LookupError:
            what = f"camera {clean_label_value(camera, 64)!r}" if camera is not None else "module"
            return _bad(f"unknown {what}", 404)
        except asyncio.TimeoutError:
            facts = {"timeout": True}
        except Exception as exc:  # a failed probe is a result (probe_success 0), not a server error
            log.warning("probe failed: %s", mask_text(f"{type(exc).__name__}: {exc}"))
        duration = time.perf_counter() - t0
        body = render_probe(bool(success), duration, facts or {}, wants_openmetrics(request.headers.get("Accept", "")))
        om = wants_openmetrics(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE})

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/probe", probe)


def render_probe(success: bool, duration: float, facts: dict[str, Any], openmetrics: bool = False) -> bytes:
    """A fresh registry per probe, as blackbox_exporter does: nothing lingers between probes."""
    reg = CollectorRegistry(auto_describe=True)
    Gauge("probe_success", "Whether the probe succeeded", registry=reg).set(1 if success else 0)
    Gauge("probe_duration_seconds", "How long the probe took", registry=reg).set(duration)
    text_facts: dict[str, str] = {}
    for key, value in sorted(facts.items()):
        name = _METRIC_KEY.sub("_", str(key)).strip("_")[:64]
        if name[:1].isdigit():
            name = "f_" + name
        if not name:
            continue
        if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(float(value))):
            Gauge(f"camcheck_probe_{name}", f"Probe fact {name}", registry=reg).set(float(value))
        elif isinstance(value, str):
            text_facts[name] = clean_label_value(mask_text(value), 128)
        elif isinstance(value, (list, tuple)) and name == "findings":
            g = Gauge("camcheck_probe_finding", "Findings of this probe", ["finding"], registry=reg)
            from camcheck.exporters.prometheus import finding_code

            for f in value:
                g.labels(finding_code(str(f))).set(1)
    if text_facts:
        g = Gauge("camcheck_probe_info", "Text facts of this probe", list(text_facts), registry=reg)
        g.labels(*text_facts.values()).set(1)
    return (generate_openmetrics if openmetrics else generate_text)(reg)


class _OneCollector:
    def __init__(self, collector: Any) -> None:
        self._c = collector

    def collect(self):
        return self._c.collect()
