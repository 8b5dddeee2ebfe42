"""`camcheck discover`: find ONVIF devices by WS-Discovery and print them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

NAME = "discover"
HELP = "find ONVIF cameras and recorders on the network (WS-Discovery)"
DESCRIPTION = """\
Send one WS-Discovery Probe for ONVIF video devices and print every device that answers within
--timeout seconds: its device-service address(es), name and hardware scopes, endpoint id.

Without --target the probe is multicast to 239.255.255.250:3702 on the local segment (TTL 1);
with --target it goes unicast to that address (e.g. a device on another subnet, or the simulator
on 127.0.0.1 with --port). Exit code: 0 devices found, 1 none, 3 usage error.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to collect answers (default 3)")
    parser.add_argument("--target", metavar="IP", help="probe this address by unicast instead of multicast")
    parser.add_argument("--port", type=int, default=3702, help="WS-Discovery port (default 3702)")
    parser.add_argument("--interface", metavar="IP", help="multicast from the interface with this address")
    parser.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace) -> int:
    from camcheck.probe.discovery import discover

    if args.timeout <= 0 or args.timeout > 600:
        print("camcheck discover: --timeout must be in (0, 600] seconds", file=sys.stderr)
        return 3
    if not 0 < args.port < 65536:
        print("camcheck discover: --port must be 1..65535", file=sys.stderr)
        return 3
    try:
        found = asyncio.run(discover(timeout=args.timeout, target=args.target, port=args.port, interface_ip=args.interface))
    except (ValueError, OSError) as exc:
        print(f"camcheck discover: {exc}", file=sys.stderr)
        return 3
    found.sort(key=lambda d: (d.xaddrs[:1], d.address))
    if args.json:
        print(json.dumps([d.to_dict() for d in found], indent=2, ensure_ascii=False))
    else:
        for d in found:
            print(f"{' '.join(d.xaddrs) or '-':50}  {d.name or '-':20}  {d.hardware or '-':16}  {d.address}")
        print(f"{len(found)} device(s) answered", file=sys.stderr)
    return 0 if found else 1
