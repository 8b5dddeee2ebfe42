"""Keeping camera passwords and tokens out of every output.

`Secret` wraps a value so that str/repr/format/JSON never show it; `mask_url` removes
credentials from any URL before it is printed, logged, exported or put in an exception.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

MASK = "***"


class Secret:
    """A string that refuses to be printed. Use ``.reveal()`` only where the camera needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # pickling for worker processes keeps the value, never a text form
        return (Secret, (self._value,))

    @classmethod
    def from_env(cls, var: str) -> "Secret":
        if var not in os.environ:
            raise KeyError(f"environment variable {var} is not set")
        return cls(os.environ[var])

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "Secret":
        # One trailing newline is an editor artefact, not part of the password.
        return cls(Path(path).read_text(encoding="utf-8").removesuffix("\n"))

    @classmethod
    def from_credential(cls, name: str) -> "Secret":
        return cls.from_file(credential_path(name))


def credential_path(name: str) -> Path:
    """The file of systemd credential `name` (LoadCredential=): $CREDENTIALS_DIRECTORY/name."""
    base = os.environ.get("CREDENTIALS_DIRECTORY")
    if not base:
        raise KeyError("CREDENTIALS_DIRECTORY is not set (is the service using LoadCredential=?)")
    return Path(base) / name


_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]*)@")


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (the user name is kept)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    user = parts.username
    userinfo = (quote(unquote(user), safe="") if user else "") + (f":{MASK}" if parts.password is not None else "")
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_text(text: str) -> str:
    """Mask credentials of every URL found inside free text (exception messages, log lines)."""
    return _URL_USERINFO.sub(
        lambda m: m["scheme"] + (m["userinfo"].split(":", 1)[0] + f":{MASK}" if ":" in m["userinfo"] else m["userinfo"]) + "@",
        text,
    )


def split_credentials(url: str) -> tuple[str, str | None, Secret | None]:
    """Split ``rtsp://user:pass@host/path`` into (url without userinfo, user, Secret(password))."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    bare = urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = Secret(unquote(parts.password)) if parts.password is not None else None
    return bare, user, password
