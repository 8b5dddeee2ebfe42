"""`camcheck probe URL`: check one RTSP stream now and say whether it really works."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from camcheck.cli.passwords import PasswordError, add_password_arguments, read_password
from camcheck.probe.observation import EXIT_CODES, Observation, RtspSettings, RtspTarget
from camcheck.probe.rtsp_client import SCHEMES
from camcheck.secrets import Secret, mask_url, split_credentials

NAME = "probe"
HELP = "check one RTSP stream now: live, decodable, changing pictures?"
DESCRIPTION = """\
Check one RTSP stream now: connect, DESCRIBE, SETUP, PLAY, read RTP for --window seconds, decode
the keyframe(s), analyse the picture, TEARDOWN. The whole check is bounded by --timeout.

Exit status: 0 working, 1 degraded, 2 broken, 3 usage error.

Credentials: prefer --user with --password-env VAR or --password-file FILE. Credentials inside the
URL are accepted but warned about (they end up in shell history and process lists).

--json prints one object:
  url            the URL, password masked
  verdict        working | degraded | broken
  failure        null or dns, unreachable, refused, timeout_connect, timeout_response, auth_failed,
                 not_found, session_limit, rtsp_error, no_video_track, no_frames, stalled,
                 decode_failed, protocol_error
  message        one sentence: what was seen, what is wrong
  timings        seconds from the start: connect, describe, setup, play, first_packet, first_frame
  stream         codec, width, height, fps (measured), fps_declared, gop_s (measured keyframe
                 interval), gop_min_s (only one keyframe came: the interval is longer than this;
                 frozen needs two, see --keyframe-wait), bitrate_kbps, packet_loss (fraction),
                 keyframe_bytes, frames, packets, transport
  image          the picture measures the verdict used (brightness, contrast, sharpness, motion,
                 change and noise between keyframes, empty_frames: the fraction of inter frames
                 coded as nothing changed, ...)
  findings       the failure (if any) plus frozen, black, dark, covered, blurred, overexposed,
                 scene_changed, low_fps, packet_loss, resolution_mismatch
  started_at     UNIX time the check started; duration: seconds it took
  snapshot       path of the JPEG written by --snapshot, or null
Facts that could not be measured are null (never 0x0 or a clock rate as fps).
"""

# The picture measures worth a glance in the human summary (--json has them all).
_IMAGE_HEADLINE = ("brightness", "contrast", "sharpness", "change", "noise", "empty_frames", "motion", "similarity")
_RES = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")


class UsageError(Exception):
    pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", nargs="?", help="rtsp://host[:port]/path or rtsps:// (TLS) (optional with --onvif: the "
                                          "device's largest profile)")
    p.add_argument("--user", help="user name for the camera")
    add_password_arguments(p)
    p.add_argument("--transport", choices=["tcp", "udp"], default="tcp",
                   help="RTP over the RTSP TCP connection (default) or over UDP")
    p.add_argument("--timeout", type=float, default=None,
                   help="deadline for the whole check, seconds (default 10; with --keyframe-wait W, "
                        "4 + window + 2 W when that is longer)")
    p.add_argument("--tls-verify", action="store_true",
                   help="rtsps://: verify the camera's certificate (system CAs, or --tls-ca-file); cameras "
                        "mostly carry self-signed ones, so the default encrypts without verifying")
    p.add_argument("--tls-ca-file", metavar="PEM", help="rtsps://: the CA certificate(s) to verify with (implies --tls-verify)")
    p.add_argument("--window", type=float, default=2.0, help="seconds of video to read (default 2)")
    p.add_argument("--keyframe-wait", type=float, metavar="SECONDS",
                   help="how long to wait after the first keyframe for a second one: frozen is judged "
                        "between the two (default max(2 x window, 4)); cameras with long GOPs "
                        "(\"smart\" codecs) need more, see gop_min_s")
    p.add_argument("--reference", metavar="IMAGE", help="JPEG/PNG of the camera's normal view: enables scene_changed")
    p.add_argument("--snapshot", metavar="OUT.jpg", help="write the decoded keyframe as JPEG")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.add_argument("--expect-resolution", metavar="WxH", help="registered resolution: finding resolution_mismatch")
    p.add_argument("--expect-fps", type=float, metavar="N", help="registered frame rate: finding low_fps when well below")
    p.add_argument("--onvif", metavar="HOST[:PORT]",
                   help="also ask the device over ONVIF (same credentials): identity, clock, encoder "
                        "configuration vs the measured stream (config_mismatch), recording; without a URL "
                        "the stream URI comes from the device")
    p.add_argument("--required-retention-days", type=float, metavar="N",
                   help="with --onvif: finding retention_short when the recorder keeps less")


def _password(args: argparse.Namespace) -> Secret | None:
    try:
        return read_password(args)
    except PasswordError as exc:
        raise UsageError(str(exc)) from None


def default_timeout(window: float, keyframe_wait: float | None) -> float:
    """10 s, or enough to join mid-GOP, wait up to one GOP for the first keyframe and
    `keyframe_wait` for the second."""
    if keyframe_wait is None:
        return 10.0
    return max(10.0, 4.0 + window + 2 * keyframe_wait)


def _check_times(args: argparse.Namespace) -> None:
    """Validate --keyframe-wait and --timeout; fill in the default timeout (once)."""
    if args.keyframe_wait is not None and not 0 < args.keyframe_wait <= 300:
        raise UsageError("--keyframe-wait must be between 0 and 300 seconds")
    if args.timeout is None:
        args.timeout = default_timeout(args.window, args.keyframe_wait)
    if args.timeout <= 0 or args.timeout > 600:
        raise UsageError("--timeout must be between 0 and 600 seconds")


def resolve_target(args: argparse.Namespace) -> RtspTarget:
    """Build the probe target from the arguments; UsageError for anything wrong.

    With --onvif and no URL, run() resolves the URL from the device first and sets args.url; it
    has checked --timeout and --keyframe-wait before (_check_times)."""
    if not args.url:
        raise UsageError("give the stream URL (or --onvif HOST to take it from the device)")
    url = args.url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise UsageError(f"not a valid URL: {mask_url(url)}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(f"only rtsp:// and rtsps:// URLs can be probed (got {parts.scheme or 'no scheme'}://)")
    if scheme == "rtsps" and args.transport == "udp":
        raise UsageError("rtsps:// is read over TCP inside its TLS connection (RTP over UDP would travel "
                         "unencrypted; SRTP is not supported): drop --transport udp")
    if (args.tls_verify or args.tls_ca_file) and scheme != "rtsps":
        raise UsageError("--tls-verify and --tls-ca-file apply to rtsps:// URLs only")
    if args.tls_ca_file and not Path(args.tls_ca_file).is_file():
        raise UsageError(f"--tls-ca-file: no such file: {args.tls_ca_file}")
    if not parts.hostname:
        raise UsageError(f"no host in {mask_url(url)}")
    bare, url_user, url_password = split_credentials(url)
    if url_user is not None or url_password is not None:
        print("camcheck: warning: credentials inside the URL end up in shell history; "
              "prefer --user with --password-env or --password-file", file=sys.stderr)
    user = args.user
    password = _password(args)
    if user is not None and url_user is not None and user != url_user:
        raise UsageError("two different user names: one in the URL and one in --user")
    if password is not None and url_password is not None:
        raise UsageError("two passwords: one in the URL and one from --password-env/--password-file")
    user = user or url_user
    password = password or url_password
    if password is not None and user is None:
        raise UsageError("a password was given without a user name (--user)")
    if args.window <= 0 or args.window >= args.timeout:
        raise UsageError("--window must be positive and shorter than --timeout")
    width = height = None
    if args.expect_resolution:
        m = _RES.match(args.expect_resolution)
        if not m or int(m[1]) == 0 or int(m[2]) == 0:
            raise UsageError(f"--expect-resolution must look like 1920x1080 (got {args.expect_resolution!r})")
        width, height = int(m[1]), int(m[2])
    if args.expect_fps is not None and not (0 < args.expect_fps <= 1000):
        raise UsageError("--expect-fps must be a positive number of frames per second")
    reference = None
    if args.reference:
        try:
            reference = Path(args.reference).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read reference image {args.reference}: {exc.strerror}") from None
        from camcheck.probe.image import load_reference

        try:
            load_reference(reference)
        except ValueError as exc:
            raise UsageError(f"reference image {args.reference}: {exc}") from None
    if args.snapshot:
        parent = Path(args.snapshot).resolve().parent
        if not parent.is_dir():
            raise UsageError(f"--snapshot: directory {parent} does not exist")
    return RtspTarget(url=bare, username=user, password=password, transport=args.transport,
                      expected_width=width, expected_height=height, expected_fps=args.expect_fps,
                      reference_image=reference)


def _fmt(v: float | None, unit: str = "", digits: int = 1) -> str:
    return "?" if v is None else f"{v:.{digits}f}{unit}"


def human(obs: Observation, snapshot: str | None) -> str:
    st, t = obs.stream, obs.timings
    lines = [f"{obs.url}: {obs.verdict.upper()}" + (f" ({obs.failure})" if obs.failure else ""), f"  {obs.message}"]
    if st.codec:
        size = f"{st.width}x{st.height}" if st.width and st.height else "size ?"
        declared = f" (declared {st.fps_declared:g})" if st.fps_declared else ""
        loss = "?" if st.packet_loss is None else f"{st.packet_loss * 100:.1f} %"
        gop = f">{st.gop_min_s:.1f} s" if st.gop_s is None and st.gop_min_s is not None else _fmt(st.gop_s, " s")
        lines.append(f"  stream:   {st.codec} {size}, {_fmt(st.fps, ' fps')}{declared}, keyframe every "
                     f"{gop}, {_fmt(st.bitrate_kbps, ' kbit/s', 0)}, loss {loss}, over {st.transport}")
    steps = [(k, getattr(t, k)) for k in ("connect", "describe", "setup", "play", "first_packet", "first_frame")]
    reached = ", ".join(f"{k} {v:.3f}" for k, v in steps if v is not None) or "no connection made"
    lines.append(f"  timings:  {reached} (total {obs.duration:.2f} s)")
    if obs.image:
        numeric = {k: v for k, v in obs.image.items() if isinstance(v, (int, float))}
        headline = {k: numeric[k] for k in _IMAGE_HEADLINE if k in numeric} or numeric
        lines.append("  image:    " + ", ".join(f"{k} {v:.3g}" for k, v in headline.items()) +
                     ("  (all measures: --json)" if len(headline) < len(numeric) else ""))
    lines.append(f"  findings: {', '.join(obs.findings) if obs.findings else 'none'}")
    if snapshot:
        lines.append(f"  snapshot: {snapshot}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from camcheck.cli import EXIT_USAGE
    from camcheck.probe.rtsp import probe_rtsp

    onvif_obs = None
    try:
        _check_times(args)
        if args.onvif:
            onvif_obs = _ask_onvif(args)
            if not args.url:
                from camcheck.probe.onvif import pick_stream_uri

                args.url = pick_stream_uri(onvif_obs)
                if not args.url:
                    print(f"camcheck probe: the ONVIF device gave no stream URI ({onvif_obs.message})", file=sys.stderr)
                    return EXIT_CODES["broken"]
        elif args.required_retention_days is not None:
            raise UsageError("--required-retention-days needs --onvif")
        target = resolve_target(args)
    except UsageError as exc:
        print(f"camcheck probe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = RtspSettings(window=args.window, want_snapshot=bool(args.snapshot), keyframe_wait=args.keyframe_wait,
                            tls_verify=bool(args.tls_verify or args.tls_ca_file), tls_ca_file=args.tls_ca_file)

    async def check() -> Observation:
        deadline = asyncio.get_running_loop().time() + args.timeout
        return await probe_rtsp(target, settings, deadline)

    obs = asyncio.run(check())
    onvif_extra: list[dict] = []
    sub_url = None
    if onvif_obs is not None:
        from camcheck.probe.onvif import config_findings, sub_stream_url

        onvif_extra = config_findings(onvif_obs, target.url, obs.stream)
        _combine(obs, onvif_obs, onvif_extra)
        # What the daemon would check between main-stream checks were this URL registered alone.
        sub_url = sub_stream_url(target.url, onvif_obs.profiles)
    snapshot = None
    if args.snapshot and obs.snapshot_jpeg:
        try:
            Path(args.snapshot).write_bytes(obs.snapshot_jpeg)
            snapshot = args.snapshot
        except OSError as exc:
            print(f"camcheck probe: cannot write snapshot {args.snapshot}: {exc.strerror}", file=sys.stderr)
    elif args.snapshot:
        print("camcheck probe: no picture decoded, no snapshot written", file=sys.stderr)
    if args.json:
        d = obs.to_dict()
        d["snapshot"] = snapshot
        if onvif_obs is not None:
            d["onvif"] = onvif_obs.to_dict()
            d["onvif_findings"] = onvif_extra
            d["onvif_sub_stream_url"] = mask_url(sub_url) if sub_url else None
        print(json.dumps(d, ensure_ascii=False))
    else:
        print(human(obs, snapshot))
        if onvif_obs is not None:
            print(f"  onvif:    {onvif_obs.message}")
            for f in [*onvif_obs.findings, *onvif_extra]:
                print(f"            {f['code']}: {f['message']}")
            if sub_url:
                print(f"  sub-stream: {mask_url(sub_url)} (the daemon checks it between main-stream checks "
                      "when this URL is registered alone)")
    return EXIT_CODES[obs.verdict]


def _ask_onvif(args: argparse.Namespace):  # noqa: ANN202
    """The ONVIF half of `probe --onvif`: same credentials, half the timeout."""
    from camcheck.probe.onvif import OnvifSettings, OnvifTarget, probe_onvif
    from camcheck.probe.onvif_target import parse_host_port

    try:
        host, port = parse_host_port(args.onvif)
    except ValueError as exc:
        raise UsageError(f"--onvif: {exc}") from None
    user = args.user
    password = _password(args)
    if args.url and (user is None or password is None):
        _, url_user, url_password = split_credentials(args.url.strip())
        user, password = user or url_user, password or url_password
    target = OnvifTarget(host=host, port=port, username=user, password=password,
                         required_retention_days=args.required_retention_days)

    async def ask():  # noqa: ANN202
        return await probe_onvif(target, OnvifSettings(), asyncio.get_running_loop().time() + args.timeout / 2)

    return asyncio.run(ask())


def _combine(obs: Observation, onvif_obs, extra: list[dict]) -> None:  # noqa: ANN001
    """One verdict for stream + device: a critical ONVIF finding (not recording, retention short,
    device unreachable) makes the camera broken; a warning (config mismatch, gaps, clock) degraded."""
    codes = [f["code"] for f in [*onvif_obs.findings, *extra]]
    severities = {f.get("severity", "warning") for f in [*onvif_obs.findings, *extra] if f.get("severity") != "info"}
    obs.findings = list(dict.fromkeys([*obs.findings, *codes]))
    if "critical" in severities:
        obs.verdict = "broken"
    elif severities and obs.verdict == "working":
        obs.verdict = "degraded"
