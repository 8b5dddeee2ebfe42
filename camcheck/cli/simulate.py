"""`camcheck simulate`: serve a fleet of simulated IP cameras over RTSP until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from camcheck.simulator.fleet import FAULTS, FleetConfig, FleetError, load_fleet, quick_fleet

NAME = "simulate"
HELP = "serve a fleet of simulated IP cameras (RTSP, with fault profiles) for tests and demos"


def _fault_lines() -> str:
    width = max(len(f) for f in FAULTS)
    return "\n".join(f"  {name.ljust(width)}  {text}" for name, text in FAULTS.items())


def _yaml_doc() -> str:
    from camcheck.simulator import fleet

    doc = fleet.__doc__ or ""
    start = doc.find("    bind:")
    return doc[start:].rstrip() if start >= 0 else ""


DESCRIPTION = f"""\
Serve simulated IP cameras over RTSP/1.0 (H.264/H.265, RTP over TCP or UDP, Basic/Digest auth,
RTCP sender reports, per-camera session limits) at
  rtsp://HOST:PORT/cam/<id>/main   and   rtsp://HOST:PORT/cam/<id>/sub
Clips are encoded once (progress is shown) and cached in $CAMCHECK_CACHE or ~/.cache/camcheck/sim.
A new PLAY starts at the most recent keyframe (camera `start: keyframe`) or mid-GOP (`start: live`).

Fault profiles (per camera; `fault:` in YAML, or at run time through the control endpoint:
  curl -X PUT http://127.0.0.1:8555/cameras/cam0001/fault -d '{{"fault": "stall_after", "after_s": 3}}'
  curl http://127.0.0.1:8555/cameras ):
{_fault_lines()}

ONVIF (with onvif_port_base set, every camera also answers ONVIF: device info, clock, Media1/Media2
profiles, stream/snapshot URIs, Profile G recording and search, WS-Discovery). ONVIF fault profiles,
per camera as `onvif: {{faults: [...]}}` or at run time with
  curl -X PUT http://127.0.0.1:8555/cameras/cam0001/onvif -d '{{"faults": ["not_recording"]}}':
  onvif_auth_fail   refuses every login
  clock_drift       the device clock is 15 minutes off
  not_recording     recording job stopped, newest data hours old
  recording_gaps    holes in the last 24 h of recording
  short_retention   only 2 days of recording kept
  config_lies       the encoder configuration claims more than the stream delivers

Fleet YAML (--config):
{_yaml_doc()}

Quick fleet (no --config): cam0001..camNNNN, main 1280x720@25 2 Mbit/s, sub 640x360@25 512 kbit/s,
Digest auth admin/camcheck; `--faults mixed` gives every 10th camera a fault, cycling through all.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="fleet YAML file (see above); other flags override its bind/ports")
    parser.add_argument("--cameras", type=int, default=10, help="quick fleet: number of cameras (default 10)")
    parser.add_argument(
        "--faults", default="none", help="quick fleet: none (default), mixed, or one profile name for every camera"
    )
    parser.add_argument("--codec", default="h264", choices=["h264", "h265", "mixed"], help="quick fleet codec (default h264)")
    parser.add_argument("--max-sessions", type=int, default=4, help="quick fleet: concurrent sessions per camera (default 4)")
    parser.add_argument("--auth", default="digest", choices=["none", "basic", "digest"], help="quick fleet auth (default digest)")
    parser.add_argument("--bind", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="RTSP port for the fleet (default 8554; 0 = any free port)")
    parser.add_argument("--control-port", type=int, help="HTTP control port on 127.0.0.1 (default 8555; 0 = any free; -1 = off)")
    parser.add_argument("--session-timeout", type=float, help="seconds before a silent UDP session expires (default 60)")
    parser.add_argument("--onvif-port-base", type=int, metavar="PORT",
                        help="give every camera an ONVIF device on PORT, PORT+1, ... (0 = any free ports)")
    parser.add_argument("--discovery-port", type=int, metavar="PORT",
                        help="WS-Discovery responder port for the ONVIF devices (default 3702; -1 = none)")
    parser.add_argument("--cache-dir", type=Path, help="encoded clip cache (default $CAMCHECK_CACHE or ~/.cache/camcheck/sim)")
    parser.add_argument("--ready-file", type=Path, help="write JSON {rtsp_port, control_url, pid} here once serving")
    parser.add_argument("--table-rows", type=int, default=50, help="cameras listed in the start-up table (default 50, 0 = all)")
    parser.add_argument("--prepare-only", action="store_true", help="encode/cache every clip the fleet needs, then exit")


def build_config(args: argparse.Namespace) -> FleetConfig:
    if args.config:
        cfg = load_fleet(args.config)
    else:
        cfg = quick_fleet(args.cameras, args.faults, args.codec, max_sessions=args.max_sessions, auth=args.auth)
    update: dict[str, object] = {}
    for flag, value in (("--port", args.port), ("--control-port", args.control_port)):
        if value is not None and not (value == -1 and flag == "--control-port") and not 0 <= value <= 65535:
            raise FleetError(f"{flag} must be a port number 0..65535")
    if args.bind:
        update["bind"] = args.bind
    if args.port is not None:
        update["port"] = args.port
    if args.control_port is not None:
        update["control_port"] = None if args.control_port < 0 else args.control_port
    if getattr(args, "onvif_port_base", None) is not None:
        if not 0 <= args.onvif_port_base <= 65535:
            raise FleetError("--onvif-port-base must be a port number 0..65535")
        update["onvif_port_base"] = args.onvif_port_base
    if getattr(args, "discovery_port", None) is not None:
        update["discovery_port"] = None if args.discovery_port < 0 else args.discovery_port
    if args.session_timeout is not None:
        if args.session_timeout <= 0:
            raise FleetError("--session-timeout must be > 0")
        update["session_timeout_s"] = args.session_timeout
    return cfg.model_copy(update=update) if update else cfg


def _progress(done: int, total: int, spec: object) -> None:
    if done < total:
        s = spec
        print(
            f"  preparing clip {done + 1}/{total}: {s.codec} {s.width}x{s.height}@{s.fps:g} {s.look} ({s.scene})",  # type: ignore[attr-defined]
            file=sys.stderr, flush=True,
        )
    else:
        print(f"  {total} clip(s) ready", file=sys.stderr, flush=True)


async def serve(cfg: FleetConfig, args: argparse.Namespace, banner: str = "") -> int:
    from camcheck.simulator.app import Simulator

    sim = Simulator(cfg, args.cache_dir)
    print(f"camcheck simulate: {len(cfg.cameras)} camera(s); loading clips (first run encodes them)...", file=sys.stderr, flush=True)
    if args.prepare_only:
        await sim.rtsp.prepare(_progress)
        return 0
    try:
        await sim.start(_progress)
    except OSError as exc:
        print(f"camcheck simulate: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(sim.table(args.table_rows or None), flush=True)
    print(f"\nRTSP on {sim.rtsp.host}:{sim.rtsp.port}; control: {sim.control_url or 'off'}", flush=True)
    if sim.onvif is not None:
        ports = sorted(d.port for d in sim.onvif.devices)
        where = f"ports {ports[0]}..{ports[-1]}" if ports else "no devices"
        disco = f"; WS-Discovery on {sim.rtsp.host}:{sim.onvif.discovery_port}" if sim.onvif.discovery_port else ""
        print(f"ONVIF: {len(ports)} device(s) on {where} (GET {sim.control_url or 'control'}/cameras/<id>/onvif){disco}",
              flush=True)
    if banner:
        print(banner.format(port=sim.rtsp.port, control=sim.control_url or "", host=sim.rtsp.host,
                            first=next(iter(sim.rtsp.cameras))), flush=True)
    if args.ready_file:
        tmp = args.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"rtsp_port": sim.rtsp.port, "control_url": sim.control_url, "pid": os.getpid(),
                                   "host": sim.rtsp.host}))
        tmp.replace(args.ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        cfg = build_config(args)
    except FleetError as exc:
        print(f"camcheck simulate: {exc}", file=sys.stderr)
        return 3
    logging.getLogger("camcheck.simulator.media").setLevel(max(logging.getLogger().level, logging.INFO))
    try:
        return asyncio.run(serve(cfg, args))
    except ValueError as exc:  # e.g. a clip spec media.py refuses
        print(f"camcheck simulate: {exc}", file=sys.stderr)
        return 3
