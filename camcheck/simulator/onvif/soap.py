"""SOAP 1.2 plumbing for the simulated device: parse requests safely, wrap replies, faults,
and check both kinds of credentials ONVIF devices use (WS-Security UsernameToken, HTTP Digest)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections import OrderedDict
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TT = "http://www.onvif.org/ver10/schema"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TR2 = "http://www.onvif.org/ver20/media/wsdl"
TRC = "http://www.onvif.org/ver10/recording/wsdl"
TSE = "http://www.onvif.org/ver10/search/wsdl"
TER = "http://www.onvif.org/ver10/error"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
TNS1 = "http://www.onvif.org/ver10/topics"

NSMAP_DECL = (
    f'xmlns:env="{SOAP_ENV}" xmlns:tt="{TT}" xmlns:tds="{TDS}" xmlns:trt="{TRT}" xmlns:tr2="{TR2}" '
    f'xmlns:trc="{TRC}" xmlns:tse="{TSE}" xmlns:ter="{TER}" xmlns:wsnt="{WSNT}" xmlns:tns1="{TNS1}"'
)

WSSE_CLOCK_SKEW_S = 300.0  # what cameras commonly accept between Created and their own clock

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class SoapRequestError(ValueError):
    """The request is not a SOAP 1.2 envelope the device can read."""


def parse_request(body: bytes) -> tuple[etree._Element | None, etree._Element]:
    """Return (Header or None, first Body child) of a SOAP 1.2 request."""
    try:
        env = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapRequestError(f"not XML: {exc}") from None
    if env.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapRequestError(f"not a SOAP 1.2 envelope: {env.tag}")
    body_el = env.find(f"{{{SOAP_ENV}}}Body")
    if body_el is None or len(body_el) == 0:
        raise SoapRequestError("empty SOAP body")
    return env.find(f"{{{SOAP_ENV}}}Header"), body_el[0]


def t(value: object) -> str:
    """Escape text content."""
    return escape(str(value))


def a(value: object) -> str:
    """Escape an attribute value (with its quotes)."""
    return quoteattr(str(value))


def envelope(body_xml: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope {NSMAP_DECL}><env:Body>{body_xml}</env:Body></env:Envelope>'
    ).encode()


def fault(subcode: str, reason: str, sender: bool = True) -> bytes:
    code = "env:Sender" if sender else "env:Receiver"
    return envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode><env:Value>{subcode}</env:Value>"
        f'</env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">{t(reason)}</env:Text></env:Reason></env:Fault>'
    )


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def duration(seconds: float) -> str:
    """xs:duration for a number of seconds (whole days when exact)."""
    seconds = int(round(seconds))
    if seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    return f"PT{seconds}S"


def check_wsse(header: etree._Element | None, username: str, password: str, device_now: dt.datetime) -> bool:
    """True when the header carries a UsernameToken for these credentials, fresh on the device's clock."""
    if header is None:
        return False
    token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return False
    user = token.findtext(f"{{{WSSE}}}Username")
    pw = token.find(f"{{{WSSE}}}Password")
    if user != username or pw is None or pw.text is None:
        return False
    if (pw.get("Type") or "").endswith("#PasswordText"):
        return hmac.compare_digest(pw.text.encode(), password.encode())
    nonce_text = token.findtext(f"{{{WSSE}}}Nonce")
    created = token.findtext(f"{{{WSU}}}Created")
    if not nonce_text or not created:
        return False
    try:
        nonce = base64.b64decode(nonce_text)
        created_at = parse_iso(created)
    except ValueError:
        return False
    if abs((created_at - device_now).total_seconds()) > WSSE_CLOCK_SKEW_S:
        return False
    expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
    return hmac.compare_digest(expected, pw.text.strip())


class HttpDigest:
    """Server side of RFC 7616 Digest (MD5, qop=auth), enough for SOAP-over-HTTP devices."""

    def __init__(self, realm: str = "camcheck-sim") -> None:
        self.realm = realm
        self._nonces: OrderedDict[str, None] = OrderedDict()

    def challenge(self) -> str:
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = None
        while len(self._nonces) > 256:  # bounded: old nonces simply expire
            self._nonces.popitem(last=False)
        return f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", algorithm=MD5'

    def check(self, authorization: str | None, method: str, username: str, password: str) -> bool:
        if not authorization or not authorization.lower().startswith("digest "):
            return False
        fields: dict[str, str] = {}
        for part in _split_auth(authorization[7:]):
            if "=" in part:
                k, v = part.split("=", 1)
                fields[k.strip().lower()] = v.strip().strip('"')
        nonce = fields.get("nonce", "")
        if nonce not in self._nonces or fields.get("username") != username or fields.get("realm") != self.realm:
            return False
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
        ha1 = md5(f"{username}:{self.realm}:{password}")
        ha2 = md5(f"{method}:{fields.get('uri', '')}")
        if fields.get("qop"):
            expected = md5(f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:{fields['qop']}:{ha2}")
        else:
            expected = md5(f"{ha1}:{nonce}:{ha2}")
        return hmac.compare_digest(expected, fields.get("response", ""))


def _split_auth(text: str) -> list[str]:
    """Split a Digest header's comma list, keeping commas inside quotes."""
    parts, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts
