"""What a simulated ONVIF device (camera or NVR) is and says: the YAML `onvif:` section of a camera.

The device's answers are computed from this at request time, on the device's own clock
(the checker's clock plus ``clock_offset_s``), so retention, gaps and recording state stay
true however long the simulator runs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Fault profiles the simulator understands (also the names `camcheck simulate` accepts).
ONVIF_FAULTS: tuple[str, ...] = (
    "onvif_auth_fail",
    "clock_drift",
    "not_recording",
    "recording_gaps",
    "short_retention",
    "config_lies",
)

Encoding = Literal["H264", "H265", "JPEG"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OnvifProfileConfig(_Model):
    """One media profile: the stream as it really is (what the RTSP simulator serves)."""

    token: str = "main"
    name: str = "MainStream"
    encoding: Encoding = "H264"
    width: int = Field(1280, gt=0, le=16384)
    height: int = Field(720, gt=0, le=16384)
    fps: float = Field(25.0, gt=0, le=240)
    bitrate_kbps: int = Field(2048, gt=0)
    gov_length: int = Field(50, gt=0)
    stream_uri: str = "rtsp://127.0.0.1:8554/cam1/main"
    snapshot_uri: str | None = None


class GapConfig(_Model):
    """A stretch without recorded data, placed relative to the device's now."""

    start_ago_h: float = Field(gt=0)  # gap starts this many hours before now
    duration_h: float = Field(gt=0)

    @model_validator(mode="after")
    def _in_past(self) -> "GapConfig":
        if self.duration_h > self.start_ago_h:
            raise ValueError("a gap cannot end in the future (duration_h > start_ago_h)")
        return self


class OnvifRecordingConfig(_Model):
    """One recording (Profile G) held by the camera's storage or by an NVR."""

    token: str = "rec0"
    source_name: str = "cam1"
    source_id: str = "cam1"
    retention_days: float = Field(30.0, ge=0)  # span of stored data back from now
    max_retention_days: float = Field(0.0, ge=0)  # configured MaximumRetentionTime (0 = none)
    job_active: bool = True
    latest_lag_s: float = Field(2.0, ge=0)  # how long ago the newest data was written
    gaps: list[GapConfig] = Field(default_factory=list)
    encoding: Encoding = "H264"
    width: int = 1280
    height: int = 720
    fps: float = 25.0
    bitrate_kbps: int = 2048


class OnvifDeviceConfig(_Model):
    name: str = "cam1"
    manufacturer: str = "camcheck"
    model: str = "SimCam-1"
    firmware: str = "1.0.0"
    serial: str = "SIM0001"
    hardware_id: str = "SIM-HW-1"
    username: str | None = "admin"
    password: str | None = "admin"  # the simulator's own test credential
    # wsse: WS-Security UsernameToken digest (ONVIF's default); digest: HTTP Digest only;
    # both: both required; none: no authentication at all.
    auth: Literal["wsse", "digest", "both", "none"] = "wsse"
    time_requires_auth: bool = False  # non-conformant, like some cameras (and ipycam)
    clock_offset_s: float = 0.0
    ntp: bool = True
    timezone: str = "ICT-7"
    profiles: list[OnvifProfileConfig] = Field(default_factory=lambda: [OnvifProfileConfig()])
    max_width: int | None = None  # largest resolution the encoder offers (default: largest profile)
    max_height: int | None = None
    media2: bool = True
    profile_g: bool = True  # offer the Recording and Search services
    recordings: list[OnvifRecordingConfig] = Field(default_factory=lambda: [OnvifRecordingConfig()])
    discovery: bool = True
    faults: list[str] = Field(default_factory=list)

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, v: list[str]) -> list[str]:
        unknown = [f for f in v if f not in ONVIF_FAULTS]
        if unknown:
            raise ValueError(f"unknown ONVIF fault(s) {unknown}; known: {', '.join(ONVIF_FAULTS)}")
        return v

    @model_validator(mode="after")
    def _tokens_unique(self) -> "OnvifDeviceConfig":
        for what, tokens in (("profile", [p.token for p in self.profiles]), ("recording", [r.token for r in self.recordings])):
            if len(set(tokens)) != len(tokens):
                raise ValueError(f"{what} tokens must be unique, got {tokens}")
        return self

    def effective(self) -> "EffectiveDevice":
        return EffectiveDevice.build(self)


class EffectiveDevice(_Model):
    """The device after its fault profiles are applied: ``truth`` is the real stream,
    ``reported`` is what the device claims over ONVIF (they differ under config_lies)."""

    config: OnvifDeviceConfig
    reported: list[OnvifProfileConfig]
    auth_fail: bool = False

    @classmethod
    def build(cls, cfg: OnvifDeviceConfig) -> "EffectiveDevice":
        cfg = cfg.model_copy(deep=True)
        auth_fail = "onvif_auth_fail" in cfg.faults
        if "clock_drift" in cfg.faults and abs(cfg.clock_offset_s) < 600:
            cfg.clock_offset_s = 900.0  # 15 minutes: evidence timestamps become useless
        for rec in cfg.recordings:
            if "not_recording" in cfg.faults:
                rec.job_active = False
                rec.latest_lag_s = max(rec.latest_lag_s, 6 * 3600.0)
            if "recording_gaps" in cfg.faults and not rec.gaps:
                rec.gaps = [GapConfig(start_ago_h=3.0, duration_h=1.5), GapConfig(start_ago_h=10.0, duration_h=0.5)]
            if "short_retention" in cfg.faults:
                rec.retention_days = min(rec.retention_days, 2.0)
        reported = [p.model_copy() for p in cfg.profiles]
        if "config_lies" in cfg.faults:
            # The encoder claims more than the stream delivers: a common firmware/registry lie.
            for p in reported:
                p.width, p.height = (1920, 1080) if p.width * p.height < 1920 * 1080 else (2560, 1440)
                p.fps = 30.0 if p.fps < 30 else p.fps
                p.encoding = "H265" if p.encoding == "H264" else "H264"
        return cls(config=cfg, reported=reported, auth_fail=auth_fail)
