"""Give every camera of a simulated RTSP fleet an ONVIF face (and optionally one NVR for all).

The fleet calls::

    from camcheck.simulator.onvif.fleet_glue import start_fleet_onvif
    onvif = await start_fleet_onvif(fleet, rtsp_host=bind, rtsp_port=rtsp_port, nvr=False)  # None if disabled
    ...
    if onvif: await onvif.close()

A camera's YAML ``onvif:`` mapping (OnvifDeviceConfig fields, e.g. ``{faults: [not_recording],
clock_offset_s: 30}``) overrides what is derived from its streams and credentials;
``onvif: {enabled: false}`` leaves a camera without ONVIF. Camera *i* (in fleet order, counting
only ONVIF-enabled cameras) answers on ``onvif_port_base + i``.
"""

from __future__ import annotations

from typing import Any

from camcheck.simulator.onvif.config import OnvifDeviceConfig, OnvifProfileConfig, OnvifRecordingConfig
from camcheck.simulator.onvif.server import OnvifServers, start_onvif_servers


def device_config_for_camera(cam: Any, rtsp_host: str, rtsp_port: int) -> OnvifDeviceConfig | None:
    """OnvifDeviceConfig for a camcheck.simulator.fleet.CameraConfig (None if ONVIF is disabled)."""
    overrides: dict[str, Any] = dict(cam.onvif or {})
    if overrides.pop("enabled", True) is False:
        return None
    host = f"[{rtsp_host}]" if ":" in rtsp_host else rtsp_host
    port = cam.port or rtsp_port
    profiles = []
    for token in ("main", "sub"):
        s = cam.stream(token)
        profiles.append(
            OnvifProfileConfig(
                token=token,
                name=f"{cam.name} {token}",
                encoding="H265" if s.codec == "h265" else "H264",
                width=s.width,
                height=s.height,
                fps=s.fps,
                bitrate_kbps=s.bitrate_kbps,
                gov_length=s.gop,
                stream_uri=f"rtsp://{host}:{port}/cam/{cam.id}/main" if token == "main" else f"rtsp://{host}:{port}/cam/{cam.id}/sub",
            )
        )
    main = cam.main
    creds = cam.credentials
    base: dict[str, Any] = {
        "name": cam.id,
        "model": "SimCam-1",
        "serial": f"SIM-{cam.id}",
        "username": creds.username if creds and creds.auth != "none" else None,
        "password": creds.password.reveal() if creds and creds.auth != "none" else None,
        "auth": "wsse" if creds and creds.auth != "none" else "none",
        "clock_offset_s": float(getattr(cam, "clock_drift_s", 0.0) or 0.0),
        "profiles": [p.model_dump() for p in profiles],
        "recordings": [
            OnvifRecordingConfig(
                token=f"rec_{cam.id}",
                source_name=cam.name,
                source_id=cam.id,
                encoding="H265" if main.codec == "h265" else "H264",
                width=main.width,
                height=main.height,
                fps=main.fps,
                bitrate_kbps=main.bitrate_kbps,
            ).model_dump()
        ],
    }
    base.update(overrides)
    return OnvifDeviceConfig.model_validate(base)


def nvr_config(devices: list[OnvifDeviceConfig], name: str = "nvr1", **overrides: Any) -> OnvifDeviceConfig:
    """One simulated NVR holding every camera's recording (cameras keep their own recordings too)."""
    # A camera's recording faults (e.g. not_recording) follow its recording onto the NVR.
    recs = [r for d in devices for r in d.effective().config.recordings]
    base: dict[str, Any] = {
        "name": name,
        "model": "SimNVR-16",
        "serial": f"SIM-{name}",
        "profiles": [devices[0].profiles[0].model_dump()] if devices else [],
        "recordings": [r.model_dump() for r in recs],
        "media2": False,
    }
    base.update(overrides)
    return OnvifDeviceConfig.model_validate(base)


async def start_fleet_onvif(
    fleet: Any,
    rtsp_host: str,
    rtsp_port: int,
    discovery_port: int | None = 3702,
    validate: bool = False,
    nvr: bool | dict[str, Any] = False,
) -> OnvifServers | None:
    """Start ONVIF for a camcheck.simulator.fleet.FleetConfig; None when onvif_port_base is unset.

    Port base 0 gives every device a free port. ``nvr`` adds one simulated NVR (after the cameras,
    on the next port) holding every camera's recording; a dict gives its OnvifDeviceConfig overrides
    (e.g. ``{"faults": ["short_retention"]}``)."""
    if fleet.onvif_port_base is None:
        return None
    devices = [d for d in (device_config_for_camera(c, rtsp_host, rtsp_port) for c in fleet.cameras) if d is not None]
    if nvr:
        first = next((d for d in devices if d.username), None)
        creds = {"username": first.username, "password": first.password} if first else {"auth": "none"}
        devices.append(nvr_config(devices, **{**creds, **(nvr if isinstance(nvr, dict) else {})}))
    base = fleet.onvif_port_base
    ports = [(d, 0 if base == 0 else base + i) for i, d in enumerate(devices)]
    return await start_onvif_servers(ports, bind=fleet.bind, discovery_port=discovery_port, validate=validate)
