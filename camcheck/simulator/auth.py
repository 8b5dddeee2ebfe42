"""RTSP authentication as cameras do it: Basic and Digest (RFC 2617 / RFC 7616, MD5).

Nonces are stateless: hex(issue time) + HMAC over it with a per-process key, so any worker can check
them and an old nonce is answered with ``stale=TRUE`` instead of a plain failure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time

from camcheck.secrets import Secret

NONCE_LIFETIME_S = 300.0
_KEY = os.urandom(16)
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def make_nonce(now: float | None = None) -> str:
    stamp = f"{int((now if now is not None else time.time()) * 1000):x}"
    mac = hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    return stamp + mac


def nonce_state(nonce: str, now: float | None = None) -> str:
    """'valid', 'stale' (ours but expired) or 'invalid'."""
    if len(nonce) <= 24:
        return "invalid"
    stamp, mac = nonce[:-24], nonce[-24:]
    want = hmac.new(_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    if not hmac.compare_digest(mac, want):
        return "invalid"
    try:
        issued = int(stamp, 16) / 1000
    except ValueError:
        return "invalid"
    age = (now if now is not None else time.time()) - issued
    return "valid" if -5 <= age <= NONCE_LIFETIME_S else "stale"


def challenge(scheme: str, realm: str, stale: bool = False) -> str:
    """The WWW-Authenticate value a camera sends with 401."""
    if scheme == "basic":
        return f'Basic realm="{realm}"'
    extra = ", stale=TRUE" if stale else ""
    return f'Digest realm="{realm}", nonce="{make_nonce()}", algorithm=MD5{extra}'


def parse_auth_params(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _PARAM.finditer(text):
        key = m.group(1).lower()
        val = m.group(2) if m.group(2) is not None else m.group(3)
        out[key] = re.sub(r"\\(.)", r"\1", val)
    return out


def digest_response(
    username: str, password: str, realm: str, method: str, uri: str, nonce: str,
    qop: str | None = None, nc: str | None = None, cnonce: str | None = None,
) -> str:
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def check(
    header: str | None, scheme: str, realm: str, username: str, password: Secret, method: str
) -> str:
    """Check an Authorization header: 'ok', 'stale' (Digest with an expired nonce of ours) or 'fail'."""
    if not header:
        return "fail"
    kind, _, rest = header.strip().partition(" ")
    kind = kind.lower()
    if scheme == "basic":
        if kind != "basic":
            return "fail"
        try:
            user, _, pw = base64.b64decode(rest.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "fail"
        ok = hmac.compare_digest(user, username) and hmac.compare_digest(pw.encode(), password.reveal().encode())
        return "ok" if ok else "fail"
    if kind != "digest":
        return "fail"
    p = parse_auth_params(rest)
    if p.get("username") != username or p.get("realm") != realm or "nonce" not in p or "uri" not in p:
        return "fail"
    if p.get("algorithm", "MD5").upper() != "MD5":
        return "fail"
    qop = p.get("qop")
    if qop and (qop != "auth" or "nc" not in p or "cnonce" not in p):
        return "fail"
    want = digest_response(username, password.reveal(), realm, method, p["uri"], p["nonce"], qop, p.get("nc"), p.get("cnonce"))
    if not hmac.compare_digest(want, p.get("response", "").lower()):
        return "fail"
    state = nonce_state(p["nonce"])
    return "ok" if state == "valid" else ("stale" if state == "stale" else "fail")
