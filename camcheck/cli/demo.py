"""`camcheck demo`: start the demo fleet (config/demo-fleet.yaml) and show how to look at it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from camcheck.cli import simulate
from camcheck.simulator.fleet import FleetError

NAME = "demo"
HELP = "start the demo fleet of simulated cameras and print how to view and probe them"
DESCRIPTION = """\
Start the demo fleet described in config/demo-fleet.yaml (healthy cameras plus night, frozen,
covered, moved, stalling, low-frame-rate, offline and wrong-password ones), print a table of the
cameras with their RTSP URLs (passwords masked) and commands to look at them. Ctrl-C stops it.
"""

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo-fleet.yaml"

BANNER = """
Look at a camera (password of the demo cameras: see config/demo-fleet.yaml):
  ffplay -rtsp_transport tcp 'rtsp://admin:PASSWORD@{host}:{port}/cam/{first}/main'
  gst-play-1.0 'rtsp://admin:PASSWORD@{host}:{port}/cam/{first}/sub'
  vlc --rtsp-tcp 'rtsp://admin:PASSWORD@{host}:{port}/cam/{first}/sub'   (VLC needs its live555 module)
  camcheck probe 'rtsp://admin:PASSWORD@{host}:{port}/cam/{first}/main'
Change a fault while it runs:
  curl -X PUT {control}/cameras/{first}/fault -d '{{"fault": "frozen"}}'
  curl {control}/cameras
Ctrl-C stops the demo.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"fleet YAML (default {DEFAULT_CONFIG})")
    parser.add_argument("--bind", help="listen address (default from the file: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="RTSP port (default from the file: 8554)")
    parser.add_argument("--control-port", type=int, help="control port (default from the file: 8555)")
    parser.add_argument("--cache-dir", type=Path, help="encoded clip cache (default $CAMCHECK_CACHE or ~/.cache/camcheck/sim)")


def run(args: argparse.Namespace) -> int:
    ns = argparse.Namespace(
        config=args.config, cameras=0, faults="none", codec="h264", max_sessions=4, auth="digest",
        bind=args.bind, port=args.port, control_port=args.control_port, session_timeout=None,
        cache_dir=args.cache_dir, ready_file=None, table_rows=0, prepare_only=False,
    )
    try:
        cfg = simulate.build_config(ns)
    except FleetError as exc:
        print(f"camcheck demo: {exc}", file=sys.stderr)
        return 3
    return asyncio.run(simulate.serve(cfg, ns, banner=BANNER))
