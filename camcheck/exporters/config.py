"""Configuration of the exporters: the ``exporters:`` section of camcheck.yaml.

    exporters:
      prometheus: {labels: [district, agency], probe_modules: {...}}
      mqtt: {host: ..., prefix: camcheck, password_env: CAMCHECK_MQTT_PASSWORD, ...}
      webhooks: [{name: line-ops, url_env: LINE_WEBHOOK_URL, secret_env: ..., template: ...}]
      outbox: {max_pending: 10000}

Secrets (MQTT password, webhook HMAC keys, webhook URLs that embed tokens) are named by an
environment variable, a file, or a systemd credential — never written in the YAML, never logged.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from camcheck.secrets import Secret

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the exporter itself uses on per-camera or aggregate series; a registry label may not shadow them.
RESERVED_LABELS = frozenset(
    {"camera_id", "status", "finding", "verdict", "brand", "model", "firmware", "codec", "resolution",
     "name", "parent_id", "le", "quantile", "job", "instance", "destination", "key", "value"}
)
_TOPIC_BAD = re.compile(r"[+#\x00]")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecretRef(_Section):
    """Where a secret comes from: exactly one of env / file / systemd credential (or none)."""

    env: str | None = None
    file: Path | None = None
    credential: str | None = Field(None, description="name of a systemd credential in $CREDENTIALS_DIRECTORY")

    @model_validator(mode="after")
    def _one(self) -> "SecretRef":
        if sum(x is not None for x in (self.env, self.file, self.credential)) > 1:
            raise ValueError("give only one of env, file, credential")
        return self

    @property
    def given(self) -> bool:
        return any(x is not None for x in (self.env, self.file, self.credential))

    def load(self) -> Secret | None:
        if self.env is not None:
            return Secret.from_env(self.env)
        if self.file is not None:
            return Secret.from_file(self.file)
        if self.credential is not None:
            return Secret.from_credential(self.credential)
        return None


class OutboxConfig(_Section):
    path: Path | None = Field(None, description="SQLite file; default <state dir>/outbox.db")
    max_pending: int = Field(10_000, ge=1, description="per destination; oldest dropped (and counted) past this")
    synchronous: Literal["normal", "full"] = Field(
        "normal", description="normal survives a crash or kill -9; full also survives power loss (an fsync per event)"
    )


class ProbeModule(_Section):
    """A named way to probe an arbitrary target from /probe?target=...&module=NAME."""

    credential: str | None = Field(None, description="name of an entry in the top-level credentials: section")
    transport: Literal["tcp", "udp"] | None = None
    timeout: float | None = Field(None, gt=0, le=120)
    keyframe_wait: float | None = Field(
        None, gt=0, le=28,
        description="wait up to this long for a second keyframe (frozen is judged between two): for targets "
        "with a long GOP; the probe's timeout stretches to fit, within the scrape's timeout",
    )


class PrometheusConfig(_Section):
    enabled: bool = True
    labels: list[str] = Field(
        default_factory=lambda: ["district", "agency"], max_length=8,
        description="registry fields copied as labels on per-camera series; the shipped rules and dashboards use these two",
    )
    label_value_max: int = Field(128, ge=8, le=1024, description="label values are cut to this many characters")
    histogram_buckets: list[float] = Field(
        default_factory=lambda: [0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0]
    )
    probe_modules: dict[str, ProbeModule] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _LABEL_NAME.match(name) or name.startswith("__"):
                raise ValueError(f"{name!r} is not a valid Prometheus label name")
            if name in RESERVED_LABELS:
                raise ValueError(f"{name!r} is used by camcheck itself; pick another label name")
        if len(set(v)) != len(v):
            raise ValueError("labels must not repeat")
        return v

    @field_validator("histogram_buckets")
    @classmethod
    def _buckets(cls, v: list[float]) -> list[float]:
        if not v or any(b <= 0 for b in v) or sorted(set(v)) != v:
            raise ValueError("histogram_buckets must be positive and strictly increasing")
        return v


class MqttTlsConfig(_Section):
    enabled: bool = False
    ca_file: Path | None = Field(None, description="CA bundle for the broker; system CAs when empty")
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = Field(False, description="skip host name verification (test brokers only)")

    def context(self) -> ssl.SSLContext | None:
        if not self.enabled:
            return None
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        if self.insecure:
            ctx.check_hostname = False
        return ctx


class HomeAssistantConfig(_Section):
    enabled: bool = False
    discovery_prefix: str = "homeassistant"


class MqttConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    prefix: str = Field("camcheck", min_length=1, description="topic prefix, e.g. camcheck or province/pk")
    client_id: str | None = Field(None, description="default camcheck-<node>-<pid>")
    username: str | None = None
    password: SecretRef = Field(default_factory=SecretRef)
    tls: MqttTlsConfig = Field(default_factory=MqttTlsConfig)
    keepalive: int = Field(30, ge=5, le=3600)
    qos: Literal[1] = 1  # QoS 1 is what lets the outbox delete an event only after the broker's PUBACK
    retain_state: bool = True
    publish_timeout: float = Field(10.0, gt=0, description="seconds to wait for a PUBACK before reconnecting")
    reconnect_min: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)
    state_concurrency: int = Field(64, ge=1, le=1000, description="state messages awaiting PUBACK at once")
    home_assistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)

    @model_validator(mode="after")
    def _auth(self) -> "MqttConfig":
        if self.password.given and not self.username:
            raise ValueError("password needs a username")
        return self

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.strip("/")
        if not v or _TOPIC_BAD.search(v):
            raise ValueError("prefix must be a non-empty topic without + # or NUL")
        return v


class WebhookConfig(_Section):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="used in logs and metrics instead of the URL")
    url: str | None = Field(None, description="plain URL; use url_env/url_file when the URL embeds a token")
    url_secret: SecretRef = Field(default_factory=SecretRef, description="URL from env/file/credential")
    hmac_key: SecretRef = Field(default_factory=SecretRef, description="HMAC-SHA256 key for X-Camcheck-Signature")
    template: str | None = Field(
        None, description="string.Template body ($camera_id, $to_status, $reason, ...); default the JSON event"
    )
    template_escape: Literal["json", "none"] = Field(
        "json", description="json: values are JSON-string-escaped so a template that is JSON stays JSON"
    )
    content_type: str = "application/json"
    headers: dict[str, str] = Field(default_factory=dict, description="static extra headers (no secrets)")
    statuses: list[str] | None = Field(None, description="only transitions to these statuses; all when empty")
    timeout: float = Field(10.0, gt=0, le=120)
    backoff_initial: float = Field(1.0, gt=0)
    backoff_max: float = Field(300.0, gt=0)

    @model_validator(mode="after")
    def _url(self) -> "WebhookConfig":
        if (self.url is None) == (not self.url_secret.given):
            raise ValueError("give exactly one of url or url_secret")
        if self.url is not None and not re.match(r"^https?://", self.url):
            raise ValueError("url must start with http:// or https://")
        if self.url is not None and "@" in self.url.split("/")[2]:
            raise ValueError("url must not carry user:password@; use url_secret")
        return self

    def resolve_url(self) -> str:
        if self.url is not None:
            return self.url
        secret = self.url_secret.load()
        assert secret is not None
        return secret.reveal().strip()


class ExportersConfig(_Section):
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    mqtt: MqttConfig | None = None
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)

    @model_validator(mode="after")
    def _unique_names(self) -> "ExportersConfig":
        names = [w.name for w in self.webhooks]
        if len(set(names)) != len(names):
            raise ValueError("webhook names must be unique")
        return self


def parse_exporters_config(data: Any, source: str = "exporters") -> ExportersConfig:
    """Validate the ``exporters:`` mapping; errors name the key (``exporters.mqtt.port: ...``)."""
    from camcheck.config.model import ConfigError  # the daemon's error type, so the CLI prints it the same way

    try:
        return ExportersConfig.model_validate(data or {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in (source, *err["loc"]))
            msg = "unknown key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {where}: {msg}")
        raise ConfigError(f"{len(lines)} problem(s):\n" + "\n".join(lines)) from None
