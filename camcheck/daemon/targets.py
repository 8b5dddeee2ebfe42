"""From a registry camera to what a probe needs: URL, credentials, claims the probe can check."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from camcheck.config.model import CredentialConfig
from camcheck.probe.observation import RtspTarget, Transport
from camcheck.probe.rtsp_client import DEFAULT_PORT, DEFAULT_TLS_PORT, SCHEMES
from camcheck.registry.models import StoredCamera
from camcheck.secrets import Secret, split_credentials
from camcheck.verdict.claims import RegisteredClaims

log = logging.getLogger(__name__)

StreamRole = Literal["main", "sub"]


class TargetError(ValueError):
    """The registry entry cannot be checked as it stands (no URL, unknown credentials ref)."""


@dataclass(frozen=True)
class Credentials:
    username: str | None
    password: Secret | None


def resolve_credentials(cam: StoredCamera, table: Mapping[str, CredentialConfig]) -> Credentials:
    if not cam.credentials_ref:
        return Credentials(None, None)
    entry = table.get(cam.credentials_ref)
    if entry is None:
        raise TargetError(f"credentials_ref {cam.credentials_ref!r} is not in the configuration's credentials")
    try:
        return Credentials(entry.username, entry.password())
    except (KeyError, OSError) as exc:
        raise TargetError(f"credentials {cam.credentials_ref!r}: {exc}") from None


def checkable(url: str | None) -> bool:
    """A stream URL the probe can read (registries also list http(s):// web pages or MJPEG and
    rtmp:// URLs: checking those would report a working camera broken)."""
    try:
        return bool(url) and urlsplit(url or "").scheme.lower() in SCHEMES
    except ValueError:  # not a URL at all (an unclosed IPv6 bracket...)
        return False


def choose_stream(cam: StoredCamera, *, want_main: bool, sub: str | None = None) -> tuple[str, StreamRole]:
    """The sub-stream is cheap and proves liveness; the main stream is what is recorded, so it is
    the one compared with the registered resolution and frame rate (every claims interval).
    `sub`: a sub-stream URL found elsewhere (ONVIF) for a camera registered without one. URLs the
    probe cannot read are passed over; with none left the camera stays unverified (TargetError)."""
    main = cam.main_stream_url if checkable(cam.main_stream_url) else None
    sub_url = next((u for u in (cam.sub_stream_url, sub) if checkable(u)), None)
    if want_main and main:
        return main, "main"
    if sub_url:
        return sub_url, "sub"
    if main:
        return main, "main"
    listed = [u for u in (cam.main_stream_url, cam.sub_stream_url) if u]
    if listed:
        schemes = ", ".join(sorted({u.split("://")[0] + "://" if "://" in u else "no scheme" for u in listed}))
        raise TargetError(f"its stream URLs cannot be checked ({schemes}; camcheck reads rtsp:// and rtsps://): "
                          "register the camera's RTSP URL")
    raise TargetError("the camera has no stream URL in the registry")


# Failures that say the camera's address does not answer at all: the main stream on the same address
# would fail the same way (after costing another timeout), so it is not tried in the sub-stream's place.
ADDRESS_FAILURES = frozenset({"dns", "unreachable", "refused", "timeout_connect"})


def _address(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        default = DEFAULT_TLS_PORT if parts.scheme.lower() == "rtsps" else DEFAULT_PORT
        return (parts.hostname or "").lower(), parts.port or default
    except ValueError:
        return None


def main_in_place_of_sub(sub_url: str, main_url: str | None, failure: str | None) -> bool:
    """Whether a sub-stream check that failed with `failure` is followed by a check of the main
    stream in its place: yes, unless there is no checkable main stream or the failure says the
    very address both are served from does not answer."""
    if failure is None or not checkable(main_url) or main_url == sub_url:
        return False
    assert main_url is not None
    return not (failure in ADDRESS_FAILURES and _address(sub_url) == _address(main_url))


def stream_target(
    cam: StoredCamera,
    creds: Credentials,
    *,
    role_url: tuple[str, StreamRole],
    transport: Transport,
    reference: bytes | None = None,
) -> RtspTarget:
    url, _role = role_url
    bare, user, password = split_credentials(url)  # the registry strips them; never trust it blindly
    return RtspTarget(
        url=bare,
        username=creds.username or user,
        password=creds.password or password,
        transport=transport,
        reference_image=reference,
    )


def registered_claims(cam: StoredCamera) -> RegisteredClaims:
    return RegisteredClaims(
        width=cam.recorded_width,
        height=cam.recorded_height,
        max_width=cam.max_width,
        max_height=cam.max_height,
        fps=cam.frame_rate,
        retention_days=cam.retention_days or None,
        recording_format=cam.file_format,
    )


def onvif_host_port(endpoint: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` (default port 80)."""
    text = endpoint.strip()
    for scheme in ("http://", "https://"):
        if text.startswith(scheme):
            text = text[len(scheme):].split("/", 1)[0]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port else 80
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, 80
    try:
        return host, int(port)
    except ValueError:
        raise TargetError(f"onvif_endpoint {endpoint!r}: port is not a number") from None
