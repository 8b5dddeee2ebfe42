"""Configuration model for `camcheck run`.

Every section forbids unknown keys, so a typo is an error naming the key, not a silently ignored
setting. Secrets are never written here in clear if it can be helped: credentials name an
environment variable or a file (systemd's LoadCredential puts them in $CREDENTIALS_DIRECTORY).
"""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from camcheck.secrets import Secret, credential_path


class ConfigError(ValueError):
    """A configuration problem, worded for the person who edits the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(_Section):
    url: str | None = Field(
        default=None,
        description="sqlite:///path.db or postgresql://user@host/db (multi-node); default: "
        "$CAMCHECK_DB_URL, else SQLite in $STATE_DIRECTORY (systemd) or ~/.local/state/camcheck",
    )


class HttpConfig(_Section):
    bind: str = "127.0.0.1"
    port: int = Field(9470, ge=0, le=65535)
    tls_cert_file: Path | None = Field(
        None, description="serve HTTPS with this certificate chain (PEM; may hold the key too); re-read on SIGHUP")
    tls_key_file: Path | None = Field(None, description="the certificate's private key (PEM), if not in tls_cert_file")
    tls_key_credential: str | None = Field(
        None, description="the private key as a systemd credential (LoadCredential=) in $CREDENTIALS_DIRECTORY, "
        "so the key file can stay readable by root only; credentials are copied when the service starts, so a "
        "renewed key needs a restart, not a reload")

    @field_validator("tls_cert_file", "tls_key_file")
    @classmethod
    def _exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no such file: {v}")
        return v

    @model_validator(mode="after")
    def _key_needs_cert(self) -> HttpConfig:
        if self.tls_key_file is not None and self.tls_key_credential is not None:
            raise ValueError("give only one of tls_key_file, tls_key_credential")
        for key in ("tls_key_file", "tls_key_credential"):
            if getattr(self, key) is not None and self.tls_cert_file is None:
                raise ValueError(f"{key} needs tls_cert_file")
        return self

    def _key_path(self) -> Path | None:
        if self.tls_key_credential is None:
            return self.tls_key_file
        try:
            return credential_path(self.tls_key_credential)
        except KeyError as exc:
            raise ConfigError(f"http.tls_key_credential: {exc.args[0]}") from None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The HTTPS server's TLS settings, None for plain HTTP; ConfigError naming the key when the
        certificate or key cannot be loaded."""
        if self.tls_cert_file is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.load_certificate(ctx)
        return ctx

    def load_certificate(self, ctx: ssl.SSLContext) -> None:
        """(Re)load the certificate and key into `ctx`: new connections get them (SIGHUP, renewal)."""
        assert self.tls_cert_file is not None
        key = self._key_path()
        try:
            ctx.load_cert_chain(self.tls_cert_file, key)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"http.tls_cert_file: cannot load the certificate and key from {self.tls_cert_file}"
                              + (f" and {key}" if key else "")
                              + f" ({getattr(exc, 'reason', None) or exc.strerror or exc})") from None


class ScheduleConfig(_Section):
    interval: float = Field(300.0, gt=0, description="seconds between checks of a camera")
    jitter: float = Field(0.1, ge=0, le=1, description="fraction of the interval added at random")
    onvif_interval: float = Field(3600.0, gt=0, description="seconds between ONVIF inventory/recording checks")
    max_in_flight: int = Field(200, ge=1)
    per_parent: int = Field(4, ge=1, description="checks at once per NVR/switch/site")
    broken_max_interval: float = Field(3600.0, gt=0, description="long-broken cameras: checked at least this often")
    lease_ttl: float = Field(
        60.0, ge=2, le=3600,
        description="multi-node: a node's claim on a camera expires this long after its last heartbeat",
    )
    workers: int = Field(
        1, ge=1, le=64,
        description="processes checking cameras on this machine (1 = one event loop); the extra ones are "
        "lease-holding nodes '<node_id>-w<i>' started and supervised by `camcheck run`; max_in_flight and "
        "per_parent are shared out between them",
    )


class ProbeConfig(_Section):
    timeout: float = Field(10.0, gt=0, le=120)
    window: float = Field(2.0, gt=0, le=30)
    transport: Literal["tcp", "udp"] = Field(
        "tcp", description="RTP over the RTSP connection or over UDP (rtsps:// streams: always inside their TLS connection)")
    tls_verify: bool = Field(
        False, description="rtsps:// streams: verify the camera's certificate (system CAs, or tls_ca_file); cameras "
        "mostly carry self-signed ones, so by default the stream is encrypted without verifying")
    tls_ca_file: Path | None = Field(None, description="rtsps:// streams: CA certificate(s) to verify with (PEM)")
    snapshot_max_width: int = Field(640, ge=64, le=3840)
    max_keyframe_wait: float = Field(
        20.0, ge=0, le=28,
        description="a stream whose last check saw only one keyframe (a GOP longer than the default wait, "
        "max(2 x window, 4 s)) is waited on up to this long for a second one, and then for its measured "
        "GOP: frozen is judged between two keyframes (0 = never wait longer than the default)",
    )
    auto_reference: bool = Field(
        True, description="record a camera's first verified-good view as its reference (for scene_changed)"
    )

    def rtsp_tls(self) -> dict[str, Any]:
        """RtspSettings' TLS fields (a CA file means: verify)."""
        ca = str(self.tls_ca_file) if self.tls_ca_file is not None else None
        return {"tls_verify": self.tls_verify or ca is not None, "tls_ca_file": ca}

    @field_validator("tls_ca_file")
    @classmethod
    def _ca_file_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no such file: {v}")
        return v


class HistoryConfig(_Section):
    checks_days: float = Field(30, gt=0, description="keep compact check results this long")
    evidence_days: float = Field(90, gt=0, description="keep evidence snapshots this long")
    good_picture_every_s: float = Field(
        3600, ge=1, le=86400,
        description="keep a verified-good picture of each camera this often (the 'last good' evidence)",
    )


class CredentialConfig(_Section):
    username: str
    password_env: str | None = None
    password_file: Path | None = None
    password_credential: str | None = Field(
        None, description="name of a systemd credential (LoadCredential=) in $CREDENTIALS_DIRECTORY"
    )

    @model_validator(mode="after")
    def _one_source(self) -> "CredentialConfig":
        sources = [s for s in (self.password_env, self.password_file, self.password_credential) if s]
        if len(sources) > 1:
            raise ValueError("give only one of password_env, password_file, password_credential")
        return self

    def password(self) -> Secret | None:
        if self.password_env:
            return Secret.from_env(self.password_env)
        if self.password_file:
            return Secret.from_file(self.password_file)
        if self.password_credential:
            return Secret.from_credential(self.password_credential)
        return None


class Config(_Section):
    node_id: str = Field(default_factory=socket.gethostname)
    province: str | None = None
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    probe: ProbeConfig = Field(default_factory=ProbeConfig)
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    credentials: dict[str, CredentialConfig] = Field(default_factory=dict)
    # Sections validated by their own models when the daemon is built (errors name the key):
    status: dict[str, Any] = Field(default_factory=dict)  # camcheck.verdict.StatusPolicy (+ grouping: GroupPolicy)
    exporters: dict[str, Any] = Field(default_factory=dict)  # camcheck.exporters.config.ExportersConfig
    api: dict[str, Any] = Field(default_factory=dict)  # camcheck.exporters.api.ApiAuthConfig (tokens)
    dashboard: dict[str, Any] = Field(default_factory=dict)  # camcheck.exporters.web.DashboardSettings


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_config(data: Any, source: str = "config") -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see config/camcheck.example.yaml)"
            lines.append(f"  {_where(err['loc'])}: {msg}")
        raise ConfigError(f"{source}: {len(lines)} problem(s):\n" + "\n".join(lines)) from None


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Read and validate a YAML file; None gives the defaults (embedded SQLite)."""
    if path is None:
        return parse_config({}, "defaults")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_config(data, str(p))
