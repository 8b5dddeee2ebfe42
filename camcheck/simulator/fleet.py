"""The description of a simulated camera fleet: pydantic models, YAML loading and the quick fleet.

A fleet file looks like this (every key except ``cameras`` and each camera's ``id`` is optional)::

    bind: 127.0.0.1          # address the RTSP and control servers listen on
    port: 8554               # one RTSP port for every camera without its own `port`
    control_port: 8555       # HTTP control endpoint (GET /cameras, PUT /cameras/<id>/fault)
    session_timeout_s: 60    # UDP sessions without keep-alive/RTCP expire after this
    onvif_port_base: null    # cameras answer ONVIF on base, base+1, ... (0 = free ports; null = no ONVIF)
    discovery_port: 3702     # WS-Discovery responder for those devices (null = none)
    defaults:                # merged into every camera (the camera's own keys win)
      credentials: {username: admin, password: secret, auth: digest}
    cameras:
      - id: cam01                       # [A-Za-z0-9_-]+, used in rtsp://HOST:PORT/cam/<id>/main|sub
        name: Gate north                # OSD / SDP text
        scene: street                   # street, lobby, parking or garden
        main: {codec: h264, width: 1920, height: 1080, fps: 25, gop: 50, bitrate_kbps: 4096}
        sub:  {codec: h264, width: 640, height: 360, fps: 25, gop: 50, bitrate_kbps: 512}
        credentials: {username: admin, password: secret, auth: digest}   # auth: basic|digest|none
        max_sessions: 4                 # concurrent RTSP sessions the camera accepts
        fault: healthy                  # or {fault: stall_after, after_s: 3}
        clock_drift_s: 0.0              # offset of the camera's wall clock (RTCP SR)
        port: null                      # own RTSP port: `offline` then really closes it
        start: keyframe                 # new PLAY starts at the last keyframe (GOP burst) or `live`
        osd_text: null                  # OSD text (ASCII); default the name (or id if not ASCII).
                                        # Cameras with equal streams, scene, fault and OSD text share
                                        # one encoded clip: a big fleet encodes only a few clips
        onvif: null                     # ONVIF device overrides, e.g. {faults: [not_recording]},
                                        # {clock_offset_s: 30}, or {enabled: false}. ONVIF faults:
                                        # onvif_auth_fail clock_drift not_recording recording_gaps
                                        # short_retention config_lies (PUT /cameras/<id>/onvif at run time)

Fault parameters (ignored by other profiles): after_s (stall_after), delay_s (slow), percent
(packet_loss), limit and status (session_limit), fps (low_fps), width/height (wrong_resolution).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError, model_validator

from camcheck.secrets import Secret

Codec = Literal["h264", "h265"]
Auth = Literal["none", "basic", "digest"]

# One line each: shown by `camcheck simulate --help` and checked by the tests.
FAULTS: dict[str, str] = {
    "healthy": "a working camera: moving picture, sensor noise, ticking OSD clock",
    "static": "no motion but sensor noise still present (a healthy camera on a quiet scene)",
    "night": "dark, grainy picture (still a healthy camera)",
    "offline": "port closed: the TCP connection is reset before any byte (own `port`: really closed)",
    "blackhole": "accepts TCP, reads requests, never answers",
    "slow": "answers every request after `delay_s` seconds (default 3)",
    "auth_fail": "always 401, even with the right credentials",
    "not_found": "404 for every stream of the camera",
    "sub_down": "404 for the sub-stream only; the main (recorded) stream plays (a disabled second stream)",
    "session_limit": "refuses sessions beyond `limit` (default 1) with `status` 453 (default) or 503",
    "no_frames": "PLAY answers 200, then no RTP at all",
    "stall_after": "sends frames for `after_s` seconds (default 5) after PLAY, then silence; connection stays open",
    "frozen": "picture stops changing while the OSD clock keeps ticking",
    "black": "black picture (OSD still ticking)",
    "covered": "lens covered: near-uniform, dim, noisy picture",
    "blurred": "defocused picture",
    "overexposed": "blown-out picture",
    "moved": "the camera looks at a different scene than configured",
    "low_fps": "delivers `fps` frames/s (default configured/5) while SDP and config claim the configured rate",
    "wrong_resolution": "delivers `width`x`height` (default half the configured size) instead of the configured size",
    "packet_loss": "drops `percent` % (default 10) of RTP packets sent over UDP",
    "garbage": "answers every request with a malformed RTSP response",
}
FaultName = Literal[
    "healthy", "static", "night", "offline", "blackhole", "slow", "auth_fail", "not_found", "sub_down", "session_limit",
    "no_frames", "stall_after", "frozen", "black", "covered", "blurred", "overexposed", "moved", "low_fps",
    "wrong_resolution", "packet_loss", "garbage",
]
# Faults that only change the picture, mapped to the media Look that draws them.
LOOK_FAULTS: dict[str, str] = {
    "static": "static", "night": "night", "frozen": "frozen", "black": "black", "covered": "covered",
    "blurred": "blurred", "overexposed": "overexposed", "moved": "moved",
}
# What `--faults mixed` assigns, in order, to every 10th.. camera; the rest stay healthy.
# (sub_down is left out: it shows only where the registry lists both streams, and quick fleets are
# often registered by one.)
MIXED_FAULTS: tuple[str, ...] = tuple(f for f in FAULTS if f not in ("healthy", "sub_down"))

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FleetError(ValueError):
    """A fleet description that cannot be served; the message says where and why."""


def _to_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ValueError("password must be a string")


SecretField = Annotated[
    Secret,
    BeforeValidator(_to_secret),
    PlainSerializer(lambda s: s.reveal(), return_type=str, when_used="json-unless-none"),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class StreamSpec(_Model):
    """What one stream (main or sub) of a camera is configured to deliver."""

    codec: Codec = "h264"
    width: int = Field(1920, ge=16, le=4096, multiple_of=2)
    height: int = Field(1080, ge=16, le=4096, multiple_of=2)
    fps: float = Field(25.0, ge=0.5, le=120)
    gop: int = Field(50, ge=1, le=1000)
    bitrate_kbps: int = Field(4096, ge=16, le=100_000)


class Credentials(_Model):
    username: str = "admin"
    password: SecretField = Field(default_factory=lambda: Secret(""))
    auth: Auth = "digest"


class FaultSpec(_Model):
    """A fault profile and its parameters (unused parameters are ignored by other profiles)."""

    fault: FaultName = "healthy"
    after_s: float = Field(5.0, ge=0)
    delay_s: float = Field(3.0, ge=0, le=3600)
    percent: float = Field(10.0, ge=0, le=100)
    limit: int = Field(1, ge=0, le=1000)
    status: Literal[453, 503] = 453
    fps: float | None = Field(None, ge=0.5, le=120)
    width: int | None = Field(None, ge=16, le=4096, multiple_of=2)
    height: int | None = Field(None, ge=16, le=4096, multiple_of=2)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"fault": data} if isinstance(data, str) else data


def _main_default() -> StreamSpec:
    return StreamSpec()


def _sub_default() -> StreamSpec:
    return StreamSpec(width=640, height=360, fps=25, gop=50, bitrate_kbps=512)


class CameraConfig(_Model):
    id: str
    name: str = ""
    scene: str = "street"
    main: StreamSpec = Field(default_factory=_main_default)
    sub: StreamSpec = Field(default_factory=_sub_default)
    credentials: Credentials | None = None
    max_sessions: int = Field(4, ge=1, le=10_000)
    fault: FaultSpec = Field(default_factory=FaultSpec)
    clock_drift_s: float = 0.0
    port: int | None = Field(None, ge=0, le=65535)
    start: Literal["keyframe", "live"] = "keyframe"
    # Text burned into the picture. Cameras with equal stream specs, scene, fault and osd_text share
    # one encoded clip, which is what keeps a 1,000-camera fleet cheap; default: the camera name.
    osd_text: str | None = None
    onvif: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> "CameraConfig":
        if not _ID.match(self.id):
            raise ValueError(f"camera id {self.id!r} must match [A-Za-z0-9_-]{{1,64}}")
        from camcheck.simulator.scenes import SCENES  # lazy: keeps `--help` fast

        if self.scene not in SCENES:
            raise ValueError(f"unknown scene {self.scene!r}; available: {', '.join(SCENES)}")
        if self.osd_text is not None and not (self.osd_text.isascii() and 0 < len(self.osd_text) <= 40):
            raise ValueError("osd_text must be 1..40 ASCII characters (the OSD font has no others)")
        if not self.name:
            self.name = self.id
        return self

    @property
    def auth(self) -> Auth:
        return self.credentials.auth if self.credentials else "none"

    def stream(self, name: str) -> StreamSpec:
        if name == "main":
            return self.main
        if name == "sub":
            return self.sub
        raise KeyError(name)


class FleetConfig(_Model):
    bind: str = "127.0.0.1"
    port: int = Field(8554, ge=0, le=65535)
    control_port: int | None = Field(8555, ge=0, le=65535)
    session_timeout_s: float = Field(60.0, gt=0, le=3600)
    onvif_port_base: int | None = Field(None, ge=0, le=65535)
    # WS-Discovery responder for the ONVIF devices (unicast, on `bind`); null = none.
    discovery_port: int | None = Field(3702, ge=0, le=65535)
    cache_dir: str | None = None
    cameras: list[CameraConfig]

    @model_validator(mode="after")
    def _check(self) -> "FleetConfig":
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.id in seen:
                raise ValueError(f"camera id {cam.id!r} appears twice")
            seen.add(cam.id)
        ports = [c.port for c in self.cameras if c.port]
        if len(ports) != len(set(ports)) or (self.port and self.port in ports):
            raise ValueError("camera ports must be distinct from each other and from the fleet port")
        return self

    def camera(self, camera_id: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(camera_id)

    def to_yaml(self) -> str:
        """YAML that `load_fleet` reads back (passwords included: for handing to a child process)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _format_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid fleet description"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def parse_fleet(data: Any, source: str = "fleet") -> FleetConfig:
    """Validate a fleet from already-parsed YAML/JSON data; raises FleetError with every problem."""
    if not isinstance(data, dict):
        raise FleetError(f"{source}: expected a mapping with a `cameras` list at the top")
    data = dict(data)
    defaults = data.pop("defaults", None) or {}
    if not isinstance(defaults, dict):
        raise FleetError(f"{source}: `defaults` must be a mapping")
    cams = data.get("cameras")
    if not isinstance(cams, list) or not cams:
        raise FleetError(f"{source}: `cameras` must be a non-empty list")
    merged = []
    for i, cam in enumerate(cams):
        if not isinstance(cam, dict):
            raise FleetError(f"{source}: cameras[{i}] must be a mapping")
        merged.append({**defaults, **cam})
    data["cameras"] = merged
    try:
        return FleetConfig.model_validate(data)
    except ValidationError as exc:
        raise FleetError(_format_error(exc, source)) from None


def load_fleet(path: str | Path) -> FleetConfig:
    """Read a fleet YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetError(f"{p}: cannot read fleet file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FleetError(f"{p}: not valid YAML: {exc}") from None
    return parse_fleet(data, str(p))


def quick_fleet(
    cameras: int,
    faults: str = "none",
    codec: str = "h264",
    *,
    scenes: tuple[str, ...] | None = None,
    max_sessions: int = 4,
    main: StreamSpec | None = None,
    sub: StreamSpec | None = None,
    auth: Auth = "digest",
    password: str = "camcheck",
) -> FleetConfig:
    """The fleet behind `camcheck simulate --cameras N --faults none|mixed|<profile> --codec ...`.

    Cameras cam0001..camNNNN; with ``mixed`` one camera in ten carries a fault, cycling through every
    profile. All cameras share a few clips (per scene/codec), so startup encodes only a handful.
    """
    if cameras < 1 or cameras > 100_000:
        raise FleetError("--cameras must be between 1 and 100000")
    if codec not in ("h264", "h265", "mixed"):
        raise FleetError("--codec must be h264, h265 or mixed")
    if faults not in ("none", "mixed") and faults not in FAULTS:
        raise FleetError(f"--faults must be none, mixed or one of: {', '.join(FAULTS)}")
    scenes = scenes or ("street",)
    main = main or StreamSpec(width=1280, height=720, fps=25, gop=50, bitrate_kbps=2048)
    sub = sub or _sub_default()
    width = max(4, len(str(cameras)))
    out = []
    for i in range(cameras):
        # mixed: alternate codecs, and also across the faulty every-10th cameras (i + i // 10)
        c = codec if codec != "mixed" else ("h264", "h265")[(i + i // 10) % 2]
        if faults == "mixed":
            fault = MIXED_FAULTS[(i // 10) % len(MIXED_FAULTS)] if i % 10 == 9 else "healthy"
        elif faults == "none":
            fault = "healthy"
        else:
            fault = faults
        out.append(
            CameraConfig(
                id=f"cam{i + 1:0{width}d}",
                name=f"CAM {i + 1}",
                scene=scenes[i % len(scenes)],
                main=main.model_copy(update={"codec": c}),
                sub=sub.model_copy(update={"codec": c}),
                credentials=None if auth == "none" else Credentials(username="admin", password=password, auth=auth),
                max_sessions=max_sessions,
                fault=FaultSpec(fault=fault),
                osd_text="CAMCHECK SIM",
            )
        )
    return FleetConfig(cameras=out)
