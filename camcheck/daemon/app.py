"""Assembling the daemon: configuration -> Daemon + exporters + the HTTP server."""

from __future__ import annotations

import functools
import logging
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from camcheck import __version__
from camcheck.config.model import Config, ConfigError, HttpConfig
from camcheck.daemon.service import Daemon
from camcheck.daemon.control import Control
from camcheck.daemon.probe_handler import ProbeHandler
from camcheck.exporters.api import ApiAuthConfig, add_api_routes
from camcheck.exporters.web import DashboardSettings, add_dashboard_routes
from camcheck.exporters import build_exporters
from camcheck.exporters.config import ExportersConfig, parse_exporters_config
from camcheck.exporters.http import SafeAccessLogger, add_metrics_routes
from camcheck.exporters.prometheus import CameraMetricsCollector, ParentIncidentCollector
from camcheck.registry.db import default_db_path

log = logging.getLogger("camcheck.daemon")


class HttpServer:
    """The daemon's one HTTP port: /healthz, /metrics, /probe, the API and the dashboard."""

    def __init__(self, daemon: Daemon, collector: CameraMetricsCollector, exporters_cfg: ExportersConfig,
                 api: ApiAuthConfig, dashboard: DashboardSettings, tls: ssl.SSLContext | None = None) -> None:
        self.daemon = daemon
        self.tls = tls  # HTTPS (http.tls_cert_file); its certificate is re-read on SIGHUP
        self.collector = collector
        self.exporters_cfg = exporters_cfg
        self.api = api
        self.dashboard = dashboard
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    def build_app(self) -> web.Application:
        d = self.daemon
        app = web.Application(client_max_size=16 * 1024 * 1024)

        async def healthz(_: web.Request) -> web.Response:
            snap = d.scheduler.snapshot()
            return web.json_response({
                "status": "ok",
                "version": __version__,
                "node_id": d.node_id,
                "cameras": len(d.views),
                "checks": d.stats.checks,
                "transitions": d.stats.transitions,
                "in_flight": snap.in_flight,
                "claim_lag_s": round(d.stats.claim_lag_s, 1),
                "time": time.time(),
            })

        app.router.add_get("/healthz", healthz)
        modules = self.exporters_cfg.prometheus.probe_modules
        add_metrics_routes(app, self.collector, ProbeHandler(d, modules), probe_modules=set(modules))
        assert d.store is not None, "the HTTP server starts after the registry is open"
        add_api_routes(app, store=d.store, control=Control(d), auth=self.api)
        add_dashboard_routes(app, store=d.store, settings=self.dashboard)
        return app

    async def start(self, bind: str, port: int) -> None:
        self.runner = web.AppRunner(self.build_app(), access_log_class=SafeAccessLogger)
        await self.runner.setup()
        site = web.TCPSite(self.runner, bind, port, ssl_context=self.tls)
        await site.start()
        server = site._server  # noqa: SLF001 - the bound port when port 0 was asked for
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        scheme = "https" if self.tls else "http"
        log.info("%s on %s://%s:%s (dashboard /, metrics /metrics, API /api/v1)", scheme.upper(), scheme, bind,
                 self.port)

    def reload_tls(self, http: HttpConfig) -> None:
        """SIGHUP: a renewed certificate serves the next connections (a failure keeps the old one)."""
        if self.tls is None or http.tls_cert_file is None:
            return  # turning HTTPS on or off needs a restart
        try:
            http.load_certificate(self.tls)
            log.info("HTTPS certificate re-read from %s", http.tls_cert_file)
        except ConfigError as exc:
            log.error("%s; keeping the certificate in use", exc)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def _scheduler_stats(daemon: Daemon) -> dict[str, Any]:
    s = daemon.scheduler.snapshot()
    return {
        "in_flight": s.in_flight,
        "queue_depth": s.queue_depth,
        "cycle_lag": max(s.cycle_lag, daemon.stats.claim_lag_s),
        "started": s.started,
        "completed": s.completed,
        "errors": s.errors + daemon.stats.errors,
        "overruns": s.overruns,
    }


def _section(model: Any, data: dict[str, Any], key: str) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in (key, *e['loc']))}: "
                 f"{'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{len(lines)} problem(s):\n" + "\n".join(lines)) from None


def _check_status(config: Config) -> None:
    """The status policy and its per-tag entries, validated with errors that name the key
    (status.fail_threshold: ..., status.by_tag.still-view.unchanged_after_s: ...)."""
    from pydantic import ValidationError

    lines: list[str] = []

    def check(tag: str | None) -> None:
        prefix = ("status",) if tag is None else ("status", "by_tag", tag)
        try:
            Daemon._policy(config, tag)  # noqa: SLF001 - the policy the daemon will run with
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in (*prefix, *e["loc"]))
                lines.append(f"  {where}: {'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}")

    check(None)
    try:
        tags = list(Daemon.by_tag(config))
    except ValueError as exc:
        lines.append(f"  {exc}")
        tags = []
    for tag in tags:
        check(tag)
    if lines:
        raise ConfigError(f"{len(lines)} problem(s):\n" + "\n".join(lines))


def build_daemon(config: Config, *, config_path: Path | None = None, state_dir: Path | None = None,
                 role: str = "primary", worker_args: Sequence[str] = ()) -> Daemon:
    """The daemon with its exporters and HTTP server; a worker process (``role="worker"``) gets
    neither: it only claims, checks and commits, and the primary publishes for it."""
    exporters_cfg = parse_exporters_config(config.exporters)
    _check_status(config)
    api_cfg = _section(ApiAuthConfig, config.api, "api")
    dashboard_cfg = _section(DashboardSettings, config.dashboard, "dashboard")
    config.exporters = exporters_cfg.model_dump(mode="json")  # validated; the views use its label set
    daemon = Daemon(config, config_path=config_path, lease_ttl=config.schedule.lease_ttl, role=role,
                    worker_args=worker_args)
    if role == "worker":
        return daemon
    fan = build_exporters(
        exporters_cfg,
        state_dir=state_dir or default_db_path().parent,
        views=lambda: daemon.views.values(),
        stats=lambda: _scheduler_stats(daemon),
        node_id=config.node_id,
    )
    daemon.exporters = [fan]
    daemon.metrics = fan.collector
    fan.collector.add_collector(ParentIncidentCollector(daemon.open_incidents,
                                                        label_value_max=exporters_cfg.prometheus.label_value_max))
    tls = config.http.ssl_context()
    if tls is not None:  # the session cookie never travels over plain HTTP
        dashboard_cfg = dashboard_cfg.model_copy(update={"cookie_secure": True})
    http = HttpServer(daemon, fan.collector, exporters_cfg, api_cfg, dashboard_cfg, tls)
    daemon.add_service(functools.partial(http.start, config.http.bind, config.http.port), http.stop)
    daemon.http = http
    return daemon
