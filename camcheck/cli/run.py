"""`camcheck run`: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from camcheck.config.model import ConfigError, load_config
from camcheck.probe.allocator import keep_freed_memory

NAME = "run"
HELP = "run the daemon: check every registered camera continuously and keep its status true"
DESCRIPTION = """\
Check every camera in the registry on schedule (stream probe every interval, ONVIF inventory and
recording on a slower one), keep each camera's status with hysteresis (no flapping), record every
check and status change with evidence, and feed Prometheus (/metrics), MQTT, webhooks and the web
dashboard on the HTTP port.

Several `camcheck run` processes on one PostgreSQL registry share the cameras through leases: no
camera is checked by two nodes at once, and a node that dies hands its cameras over after the
lease time.

With --workers N (schedule.workers), N-1 worker processes (node ids <node-id>-w1 ...) check cameras
beside this one, sharing the work through the same leases; this process keeps the HTTP port and the
exporters, publishes the workers' transitions, restarts a worker that dies, and stops them with it.

Signals: SIGTERM/SIGINT drain the checks in flight and exit; SIGHUP reloads the configuration
(kept as it was if the new one is invalid) and the registry. Under systemd (Type=notify) it reports
readiness and pings the watchdog.

Exit status: 0 after a clean stop, 2 if the configuration or database cannot be used.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration (default: built-in defaults, SQLite registry)")
    parser.add_argument("--db", help="registry database URL; overrides database.url (e.g. postgresql://user@host/db)")
    parser.add_argument("--node-id", help="this node's name in a multi-node deployment (default: host name)")
    parser.add_argument("--http-port", type=int, help="overrides http.port (0 = any free port)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="overrides schedule.workers: processes checking cameras on this machine (1-64)")
    parser.add_argument("--worker", action="store_true",
                        help="internal: run as a worker process of a `camcheck run --workers N` (no HTTP "
                        "server, no exporters; the primary publishes its transitions)")
    parser.add_argument("--check-config", action="store_true", help="validate the configuration and exit")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"camcheck run: {exc}", file=sys.stderr)
        return 2
    if args.db:
        config.database.url = args.db
    if args.node_id:
        config.node_id = args.node_id
    if args.http_port is not None:
        config.http.port = args.http_port
    if args.workers is not None:
        if not 1 <= args.workers <= 64:
            print(f"camcheck run: --workers must be between 1 and 64, not {args.workers}", file=sys.stderr)
            return 2
        config.schedule.workers = args.workers
    if args.worker and args.config is None:
        print("camcheck run: --worker needs --config (it is started by `camcheck run --workers N`)", file=sys.stderr)
        return 2
    from camcheck.daemon.app import build_daemon  # heavy imports only when running

    try:
        daemon = build_daemon(config, config_path=args.config, role="worker" if args.worker else "primary",
                              worker_args=["--db", args.db] if args.db else [])
    except (ConfigError, ValueError) as exc:
        print(f"camcheck run: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        print("configuration is valid")
        return 0
    keep_freed_memory()  # checks reuse the memory of earlier checks' decoders (see camcheck.probe.allocator)
    try:
        asyncio.run(daemon.run_forever())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        logging.getLogger("camcheck").error("cannot run: %s", exc)
        return 2
    return 0
