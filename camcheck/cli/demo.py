"""`camcheck demo`: a simulated fleet and the daemon checking it, on this machine (what `make run` starts)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from camcheck.cli import simulate
from camcheck.probe.allocator import keep_freed_memory
from camcheck.simulator.fleet import FleetConfig, FleetError

NAME = "demo"
HELP = "start a demo fleet of simulated cameras and the daemon checking it (what `make run` does)"
DESCRIPTION = """\
Start the demo fleet described in config/demo-fleet.yaml (healthy cameras plus night, frozen,
covered, moved, stalling, low-frame-rate, offline and wrong-password ones, each with an ONVIF
face), register it in a demo registry (SQLite under --state-dir), and run the daemon against it
with the dashboard, API and /metrics on --http-port. Everything listens on 127.0.0.1.

Break a camera while it runs and watch camcheck confirm it (a few checks, a minute or two):
  curl -X PUT http://127.0.0.1:8555/cameras/gate-north/fault -d '{"fault": "frozen"}'
  curl -X PUT http://127.0.0.1:8555/cameras/lobby/onvif -d '{"faults": ["not_recording"]}'

With --no-daemon only the fleet runs (for `camcheck probe` / `camcheck onvif` by hand).
The first start encodes the demo's video clips (a few minutes; progress is shown); later starts
reuse them from the cache.
"""

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo-fleet.yaml"
DEMO_AGENCIES = ("เทศบาลนครเชียงใหม่", "สถานีตำรวจภูธรเมืองเชียงใหม่", "องค์การบริหารส่วนจังหวัดเชียงใหม่")
DEMO_DISTRICTS = ("เมืองเชียงใหม่", "สันทราย", "หางดง")

BANNER = """
camcheck demo is running.
  dashboard      http://{http}/
  API            http://{http}/api/v1/cameras   (reading needs no token in the demo)
  write token    {token}   (dashboard login, or: curl -H 'Authorization: Bearer …')
  metrics        http://{http}/metrics
  health         http://{http}/healthz
  cameras        rtsp://{host}:{port}/cam/<id>/main|sub   (passwords: config/demo-fleet.yaml)
Break a camera and watch it change status after its confirmation checks:
  curl -X PUT {control}/cameras/gate-north/fault -d '{{"fault": "offline"}}'
  curl -X PUT {control}/cameras/gate-north/fault -d '{{"fault": "healthy"}}'
  curl -X PUT {control}/cameras/lobby/onvif -d '{{"faults": ["not_recording"]}}'
Probe one by hand:
  camcheck probe rtsp://{host}:{port}/cam/gate-north/main --user admin --password-env DEMO_PW   (DEMO_PW=demo1234)
Ctrl-C stops the demo.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"fleet YAML (default {DEFAULT_CONFIG})")
    parser.add_argument("--state-dir", type=Path, default=Path("var/demo"), help="demo registry and outbox (default var/demo)")
    parser.add_argument("--http-port", type=int, default=9470, help="dashboard/API/metrics port (default 9470)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between checks of a camera (default 30)")
    parser.add_argument("--port", type=int, help="RTSP port (default from the file: 8554)")
    parser.add_argument("--control-port", type=int, help="simulator control port (default from the file: 8555)")
    parser.add_argument("--cache-dir", type=Path, help="encoded clip cache (default $CAMCHECK_CACHE or ~/.cache/camcheck/sim)")
    parser.add_argument("--no-daemon", action="store_true", help="run only the simulated fleet")


def _fleet(args: argparse.Namespace) -> FleetConfig:
    ns = argparse.Namespace(
        config=args.config, cameras=0, faults="none", codec="h264", max_sessions=4, auth="digest",
        bind="127.0.0.1", port=args.port, control_port=args.control_port, session_timeout=None,
        cache_dir=args.cache_dir, ready_file=None, table_rows=0, prepare_only=False,
    )
    return simulate.build_config(ns)


def demo_records(sim, fleet: FleetConfig):  # noqa: ANN001, ANN201
    """Registry entries for the demo cameras, shaped like a province's survey rows."""
    from camcheck.registry.models import CameraRecord

    records = []
    for i, cam in enumerate(fleet.cameras):
        creds = cam.credentials
        ref = None
        if creds is not None and creds.auth != "none":
            ref = f"demo-{creds.username}"
        onvif = sim.onvif_devices.get(cam.id)
        main, sub = cam.stream("main"), cam.stream("sub")
        records.append(CameraRecord(
            id=cam.id,
            name=cam.name,
            owner_agency=DEMO_AGENCIES[i % len(DEMO_AGENCIES)],
            point_id=f"P{i // 2 + 1:03d}",
            point_name=cam.name,
            lat=18.7883 + 0.004 * (i % 5) - 0.008,
            lon=98.9853 + 0.005 * (i // 5) - 0.005,
            purposes=["deterrence_surveillance"] + (["traffic"] if i % 3 == 0 else []),
            district=DEMO_DISTRICTS[i % len(DEMO_DISTRICTS)],
            province="เชียงใหม่",
            brand="SimCam",
            recorded_width=main.width,
            recorded_height=main.height,
            frame_rate=main.fps,
            retention_days=30,
            internet_viewable=i % 2 == 0,
            connected=True,
            main_stream_url=sim.rtsp.url(cam.id, "main"),
            sub_stream_url=sim.rtsp.url(cam.id, "sub") if sub else None,
            onvif_endpoint=f"{onvif.host}:{onvif.port}" if onvif is not None else None,
            credentials_ref=ref,
            parent_id="nvr-city-hall" if i < 3 else None,
        ))
    return records


async def record_registered_views(store, fleet: FleetConfig) -> None:  # noqa: ANN001
    """For each camera whose fault is `moved`: its registered view (the scene the registry says it
    watches, as the simulator renders it healthy) as its reference picture, as an installer records
    one. Without it the daemon would take the moved view itself as the reference and never flag it.
    Started again on the same state, the demo finds that picture recorded already and adds none."""
    import cv2

    from camcheck.daemon.checks import snapshot_evidence
    from camcheck.registry.models import EvidenceKind
    from camcheck.simulator.faults import clip_spec
    from camcheck.simulator.fleet import FaultSpec
    from camcheck.simulator.media import render_frame

    for cam in fleet.cameras:
        if cam.fault.fault != "moved":
            continue
        picture = render_frame(clip_spec(cam, "main", FaultSpec()), 0)
        ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok and await store.latest_jpeg(cam.id, EvidenceKind.REFERENCE) != jpeg.tobytes():
            await store.add_evidence(cam.id, snapshot_evidence(jpeg.tobytes(), EvidenceKind.REFERENCE, time.time()))


def _daemon_config(args: argparse.Namespace, fleet: FleetConfig):  # noqa: ANN202
    from camcheck.config.model import parse_config

    credentials = {}
    for cam in fleet.cameras:
        c = cam.credentials
        if c is None or c.auth == "none":
            continue
        env = f"CAMCHECK_DEMO_PW_{c.username.upper()}"
        os.environ[env] = c.password.reveal()  # demo cameras only: simulated passwords, this process only
        credentials[f"demo-{c.username}"] = {"username": c.username, "password_env": env}
    state = args.state_dir.absolute()
    # A write token for this demo run only (printed in the banner); viewing needs none.
    os.environ.setdefault("CAMCHECK_DEMO_TOKEN", secrets.token_urlsafe(18))
    return parse_config({
        "api": {"anonymous_read": True,
                "tokens": [{"name": "demo-admin", "role": "write", "token_env": "CAMCHECK_DEMO_TOKEN"}]},
        "node_id": "demo",
        "province": "เชียงใหม่",
        "database": {"url": f"sqlite:///{state / 'registry.db'}"},
        "http": {"bind": "127.0.0.1", "port": args.http_port},
        "schedule": {"interval": args.interval, "onvif_interval": max(60.0, args.interval * 4)},
        # Quicker confirmations than production so a demo shows a change within a minute or two.
        "status": {"confirm_delays_s": [10, 20], "recover_delay_s": 10, "finding_confirm_delay_s": 15,
                   "onvif_confirm_delays_s": [15, 30]},
        "credentials": credentials,
    }, "demo")


async def _run(args: argparse.Namespace, fleet: FleetConfig) -> int:
    from camcheck.daemon.app import build_daemon
    from camcheck.registry.store import open_store
    from camcheck.simulator.app import Simulator

    if fleet.onvif_port_base is None:
        fleet = fleet.model_copy(update={"onvif_port_base": 0})
    sim = Simulator(fleet, args.cache_dir)
    print(f"camcheck demo: {len(fleet.cameras)} simulated cameras; loading clips (the first run encodes them)...",
          file=sys.stderr, flush=True)
    try:
        await sim.start(simulate._progress)  # noqa: SLF001
    except OSError as exc:
        print(f"camcheck demo: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(sim.table(), flush=True)
    daemon = None
    try:
        if not args.no_daemon:
            args.state_dir.mkdir(parents=True, exist_ok=True)
            config = _daemon_config(args, fleet)
            store = await open_store(config.database.url, migrate=True)
            try:
                # a recorder behind its site's network cabinet, as a parents sheet describes them
                await store.upsert_parent("site-city-hall", kind="site", name="ตู้สื่อสารศาลากลาง")
                await store.upsert_parent("nvr-city-hall", kind="nvr", name="NVR ศาลากลาง", parent_of="site-city-hall")
                await store.upsert_cameras(demo_records(sim, fleet))
                await record_registered_views(store, fleet)
            finally:
                await store.close()
            daemon = build_daemon(config, state_dir=args.state_dir.absolute())
            await daemon.start()
        http = f"127.0.0.1:{daemon.http.port}" if daemon is not None and daemon.http else "(daemon off)"
        print(BANNER.format(http=http, host=sim.rtsp.host, port=sim.rtsp.port, control=sim.control_url or "",
                            token=os.environ.get("CAMCHECK_DEMO_TOKEN", "-")), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        if daemon is not None:
            await daemon.stop()
        await sim.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        fleet = _fleet(args)
    except FleetError as exc:
        print(f"camcheck demo: {exc}", file=sys.stderr)
        return 3
    logging.getLogger("camcheck.simulator.media").setLevel(max(logging.getLogger().level, logging.INFO))
    keep_freed_memory()  # as `camcheck run` does
    return asyncio.run(_run(args, fleet))
