"""`camcheck onvif HOST[:PORT]`: what the device says it is, how it is configured, whether it records."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from camcheck.cli.passwords import PasswordError, add_password_arguments, read_password
from camcheck.probe.onvif_target import parse_host_port

NAME = "onvif"
HELP = "ask a camera or recorder over ONVIF: identity, clock, profiles, recording (Profile G)"
DESCRIPTION = """\
Ask one ONVIF device (camera or NVR) what it is (manufacturer, model, firmware, serial), what its
clock says (offset from this machine's clock, NTP or manual), how its encoders are configured
(Media2 first, Media1 otherwise: encoding, resolution, frame-rate and bitrate limits, GOP, stream and
snapshot URIs, largest resolution offered) and, over Profile G (Recording + Search), whether it
really records: retention actually kept (now - earliest data), configured maximum retention,
recording job state, newest data age, gaps and recorded hours in the last 24 h.

Findings: onvif_unreachable, onvif_timeout, onvif_auth_failed, onvif_bad_reply, clock_drift,
not_recording, recording_gaps, retention_short (with --required-days), no_profile_g.

Exit code: 0 no finding, 1 only warnings/info, 2 a critical finding, 3 usage error.
The password is never taken on the command line: use --password-env VAR or --password-file PATH.

Examples:
  CAM_PW=secret camcheck onvif 192.0.2.10 --user admin --password-env CAM_PW --required-days 30
  camcheck onvif 127.0.0.1:8000 --user admin --password-env CAM_PW --json
"""

EXIT_USAGE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("host", metavar="HOST[:PORT]", help="device address (default port 80; 443 with --tls)")
    parser.add_argument("--user", help="ONVIF user name")
    add_password_arguments(parser)
    parser.add_argument("--timeout", type=float, default=15.0, help="deadline for the whole check, seconds (default 15)")
    parser.add_argument("--required-days", type=float, help="retention the registry requires, days (retention_short below it)")
    parser.add_argument("--recording-source", metavar="NAME", help="on an NVR: only recordings whose token/source name/id is NAME")
    parser.add_argument("--max-clock-offset", type=float, default=10.0, help="clock_drift above this many seconds (default 10)")
    parser.add_argument("--no-recording", action="store_true", help="skip the Profile G (recording) questions")
    parser.add_argument("--tls", action="store_true", help="talk SOAP over https")
    parser.add_argument("--no-tls-verify", action="store_true", help="with --tls: accept any certificate (self-signed cameras)")
    parser.add_argument("--max-reply-kb", type=int, default=4096, help="refuse SOAP replies larger than this (default 4096 KiB)")
    parser.add_argument("--json", action="store_true", help="print the observation as JSON")


def render_text(d: dict[str, Any]) -> str:
    lines = [d["message"]]
    dev = d.get("device") or {}
    if dev:
        lines.append(f"  device   {dev.get('manufacturer')} {dev.get('model')}  firmware {dev.get('firmware')}  serial {dev.get('serial')}")
    clock = d.get("clock") or {}
    if clock.get("camera_utc"):
        lines.append(f"  clock    {clock['camera_utc']}  offset {clock['offset_s']:+.1f} s  {clock.get('date_time_type')}  TZ {clock.get('timezone')}")
    for p in d.get("profiles") or []:
        lines.append(
            f"  profile  {p['token']} ({p['source']}): {p.get('encoding')} {p.get('width')}x{p.get('height')} "
            f"≤{p.get('fps_limit')} fps ≤{p.get('bitrate_limit_kbps')} kbit/s GOP {p.get('gov_length')}  {p.get('stream_uri')}"
        )
    if d.get("max_resolution"):
        lines.append(f"  max      {d['max_resolution']['width']}x{d['max_resolution']['height']}")
    for r in (d.get("recording") or {}).get("recordings") or []:
        lines.append(
            f"  record   {r['token']} ({r.get('source_name')}): active={r.get('active')} job={r.get('job_state')} "
            f"retention {r.get('retention_days')} d (max {r.get('max_retention_days')}) "
            f"recorded {r.get('recorded_hours_24h')} h/24 h, {len(r.get('gaps_24h') or [])} gap(s)"
        )
    for f in d.get("findings") or []:
        lines.append(f"  {f['severity'].upper():8} {f['code']}: {f['message']}")
    return "\n".join(lines)


def exit_code(findings: list[dict[str, Any]]) -> int:
    if any(f["severity"] == "critical" for f in findings):
        return 2
    return 1 if findings else 0


def run(args: argparse.Namespace) -> int:
    from camcheck.probe.onvif import OnvifSettings, OnvifTarget, probe_onvif

    try:
        host, port = parse_host_port(args.host, 443 if args.tls else 80)
        password = read_password(args)
    except (ValueError, PasswordError) as exc:
        print(f"camcheck onvif: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0 or args.max_reply_kb <= 0:
        print("camcheck onvif: --timeout and --max-reply-kb must be positive", file=sys.stderr)
        return EXIT_USAGE
    target = OnvifTarget(
        host=host,
        port=port,
        username=args.user,
        password=password,
        tls=args.tls,
        tls_verify=not args.no_tls_verify,
        required_retention_days=args.required_days,
        recording_source=args.recording_source,
    )
    settings = OnvifSettings(
        max_reply_bytes=args.max_reply_kb * 1024, max_clock_offset_s=args.max_clock_offset, want_recording=not args.no_recording
    )

    async def go() -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + args.timeout
        return (await probe_onvif(target, settings, deadline)).to_dict()

    d = asyncio.run(go())
    print(json.dumps(d, indent=2, ensure_ascii=False) if args.json else render_text(d))
    return exit_code(d["findings"])
