"""Who may use the API: bearer tokens from the config (read or write), and the dashboard's session.

Config (YAML, under the daemon's ``api:`` section)::

    api:
      anonymous_read: false          # true: GET endpoints and the dashboard need no token
      tokens:
        - {name: ops-team,  role: write, token_env: CAMCHECK_API_TOKEN_OPS}
        - {name: grafana,   role: read,  token_file: /etc/camcheck/grafana.token}
        - {name: committee, role: read,  token_credential: api-committee}   # systemd LoadCredential=

Token values are read once when the routes are mounted, kept in :class:`camcheck.secrets.Secret`
and compared in constant time; they never appear in logs, responses or the audit log (the token's
*name* is the actor). Dashboard sessions: a person pastes a token once on the login page; the
browser then holds an HttpOnly cookie ``name.role.expiry`` signed with a key derived from that
token's value — never the token itself. Changing or removing a token ends its sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from camcheck.secrets import Secret

Role = Literal["read", "write"]
SESSION_COOKIE = "camcheck_session"
# Unsafe requests authenticated by the session cookie must carry this header: a cross-site form
# cannot set it, and a cross-origin script needs a CORS preflight the API never grants.
CSRF_HEADER = "X-Camcheck-Request"
MIN_TOKEN_LENGTH = 16


class AuthConfigError(ValueError):
    """A token that cannot be loaded; names the token, never shows a value."""


class ApiToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role = "read"
    token_env: str | None = None
    token_file: Path | None = None
    token_credential: str | None = Field(
        None, description="name of a systemd credential (LoadCredential=) in $CREDENTIALS_DIRECTORY"
    )

    @model_validator(mode="after")
    def _one_source(self) -> "ApiToken":
        sources = [s for s in (self.token_env, self.token_file, self.token_credential) if s]
        if len(sources) != 1:
            raise ValueError("give exactly one of token_env, token_file, token_credential")
        return self

    def value(self) -> Secret:
        try:
            if self.token_env:
                secret = Secret.from_env(self.token_env)
            elif self.token_file:
                secret = Secret.from_file(self.token_file)
            else:
                secret = Secret.from_credential(str(self.token_credential))
        except (KeyError, OSError) as exc:
            detail = exc.args[0] if isinstance(exc, KeyError) else (exc.strerror or type(exc).__name__)
            raise AuthConfigError(f"API token {self.name!r}: cannot read its value: {detail}") from None
        raw = secret.reveal().strip()
        if len(raw) < MIN_TOKEN_LENGTH:
            raise AuthConfigError(f"API token {self.name!r} is shorter than {MIN_TOKEN_LENGTH} characters")
        if any(ord(c) < 33 or ord(c) > 126 for c in raw):
            raise AuthConfigError(f"API token {self.name!r} must be printable ASCII without spaces")
        return Secret(raw)


class ApiAuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[ApiToken] = Field(default_factory=list)
    anonymous_read: bool = Field(
        False, description="allow GET requests (API and dashboard) without a token, e.g. on a closed control-room network"
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="dashboard login lifetime")

    @field_validator("tokens")
    @classmethod
    def _unique(cls, v: list[ApiToken]) -> list[ApiToken]:
        names = [t.name for t in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"token names must be unique: {', '.join(dup)}")
        return v


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: Literal["bearer", "session", "anonymous"]

    @property
    def actor(self) -> str:
        """What the audit log records as "who"."""
        return f"api:{self.name}"

    def may(self, role: Role) -> bool:
        return role == "read" or self.role == "write"


@dataclass(frozen=True)
class _Loaded:
    name: str
    role: Role
    digest: bytes  # sha256 of the value: compared in constant time, never the value itself
    session_key: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Checks bearer tokens and dashboard sessions. Build with :meth:`from_config`."""

    def __init__(self, tokens: list[_Loaded], *, anonymous_read: bool, session_hours: float) -> None:
        self._tokens = tokens
        self._by_name = {t.name: t for t in tokens}
        self.anonymous_read = anonymous_read
        self.session_seconds = session_hours * 3600

    @classmethod
    def from_config(cls, cfg: ApiAuthConfig) -> "Authenticator":
        loaded: list[_Loaded] = []
        seen: dict[bytes, str] = {}
        for t in cfg.tokens:
            raw = t.value().reveal().encode()
            digest = hashlib.sha256(raw).digest()
            if digest in seen:
                raise AuthConfigError(f"API tokens {seen[digest]!r} and {t.name!r} have the same value")
            seen[digest] = t.name
            key = hmac.new(raw, b"camcheck dashboard session v1", hashlib.sha256).digest()
            loaded.append(_Loaded(t.name, t.role, digest, key))
        return cls(loaded, anonymous_read=cfg.anonymous_read, session_hours=cfg.session_hours)

    @property
    def has_tokens(self) -> bool:
        return bool(self._tokens)

    def check_token(self, presented: str) -> Principal | None:
        digest = hashlib.sha256(presented.strip().encode("utf-8", "replace")).digest()
        found: _Loaded | None = None
        for t in self._tokens:  # no early exit: every token is compared
            if hmac.compare_digest(digest, t.digest):
                found = t
        return Principal(found.name, found.role, "bearer") if found else None

    # --- dashboard sessions ----------------------------------------------------------------------

    def issue_session(self, principal: Principal, now: float | None = None) -> str:
        t = self._by_name[principal.name]
        payload = _b64(json.dumps({"n": t.name, "r": t.role, "e": int((now or time.time()) + self.session_seconds)},
                                  separators=(",", ":")).encode())
        sig = _b64(hmac.new(t.session_key, payload.encode(), hashlib.sha256).digest())
        return f"{payload}.{sig}"

    def check_session(self, value: str, now: float | None = None) -> Principal | None:
        try:
            payload, sig = value.split(".", 1)
            data = json.loads(_unb64(payload))
            name, role, exp = str(data["n"]), data["r"], float(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        t = self._by_name.get(name)
        if t is None or t.role != role or exp < (now or time.time()):
            return None
        expected = _b64(hmac.new(t.session_key, payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, sig):
            return None
        return Principal(t.name, t.role, "session")

    # --- requests --------------------------------------------------------------------------------

    def identify(self, request: web.Request) -> tuple[Principal | None, str | None]:
        """(principal, None) or (None, why) — why is shown to the client, never a token."""
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return None, "use 'Authorization: Bearer <token>'"
            p = self.check_token(value)
            return (p, None) if p else (None, "the bearer token is not valid")
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            p = self.check_session(cookie)
            if p is None:
                if self.anonymous_read and request.method in ("GET", "HEAD"):
                    return Principal("anonymous", "read", "anonymous"), None  # a stale cookie must not lock a kiosk out
                return None, "the dashboard session has expired or is no longer valid; log in again"
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                if request.headers.get(CSRF_HEADER) != "1":
                    return None, f"requests made with the dashboard session must send the {CSRF_HEADER} header"
            return p, None
        if self.anonymous_read and request.method in ("GET", "HEAD"):
            return Principal("anonymous", "read", "anonymous"), None
        return None, "authentication required: send 'Authorization: Bearer <token>'"
