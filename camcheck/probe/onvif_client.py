"""A hardened way to talk SOAP to cameras with onvif-zeep-async's WSDLs and zeep.

onvif-zeep-async's ``ONVIFCamera`` is not used directly because of what it does to a daemon
(measured, see issue 4): 90 s hard-coded timeouts, unbounded reply reads, one HTTP session per
service per camera, ``logging.basicConfig`` at import, deleting proxy variables from the
environment, a SQLite cache under $HOME, no TLS verification, WSDL parsing per camera on
concurrent first use, forgiving ("recover") XML parsing that turns truncated replies into
None-filled objects, and no HTTP Digest for SOAP. Here the library's bundled WSDLs, its
document tweaks (FastDateTime/ForgivingTime) and its WS-Security token (with a clock offset)
are used under:

- one aiohttp session per probe (shared by every service of that camera), TLS verification a
  setting, HTTP Digest answered when a device asks for it;
- a reply size cap enforced while reading (before anything is parsed);
- a strict well-formedness check with DTDs refused before zeep sees a reply;
- WSDL documents parsed once per process (thread-safe), shared by every camera;
- no timeout of its own: callers run everything under ``asyncio.timeout_at(deadline)`` and
  each HTTP request also gets the time left as its aiohttp timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from lxml import etree


def _import_onvif_quietly() -> None:
    """Import onvif.client without letting its ``logging.basicConfig`` configure our root logger."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    added = not root.handlers
    if added:
        root.addHandler(guard)  # basicConfig is a no-op when the root already has a handler
    try:
        import onvif.client  # noqa: F401
    finally:
        if added:
            root.removeHandler(guard)


_import_onvif_quietly()

import zeep  # noqa: E402
import zeep.exceptions  # noqa: E402
from onvif.client import DocumentWithDeferredLoad, ZeepAsyncClient, UsernameDigestTokenDtDiff  # noqa: E402
from onvif.definition import SERVICES  # noqa: E402
from onvif.settings import DEFAULT_SETTINGS  # noqa: E402
from onvif.transport import ASYNC_TRANSPORT  # noqa: E402
from onvif.types import FastDateTime, ForgivingTime  # noqa: E402
from onvif.wsa import WsAddressingIfMissingPlugin  # noqa: E402
from onvif.zeep_aiohttp import AIOHTTPTransport  # noqa: E402

log = logging.getLogger(__name__)
# zeep logs every schema type it registers at DEBUG (~800 KB per process): not camcheck's business.
logging.getLogger("zeep").setLevel(logging.WARNING)

WSDL_DIR = str(Path(__import__("onvif").__file__).parent / "wsdl")
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024

# Service names used here -> (namespace, wsdl file, binding). Media2 has no bundled WSDL: see onvif_media2.py.
ZEEP_SERVICES = ("devicemgmt", "media", "recording", "search")
MEDIA2_NS = "http://www.onvif.org/ver20/media/wsdl"

# Reply parsing: strict about what zeep may see. recover stays on inside zeep (strict=False) only
# for schema leniency; well-formedness is enforced by _check_reply_xml before that.
ZEEP_SETTINGS = zeep.Settings(strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True)
_STRICT_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, recover=False)


class OnvifReplyError(Exception):
    """A reply camcheck refuses to use: too large, malformed, DTD-laden or missing fields."""


class ReplyTooLarge(OnvifReplyError):
    pass


# ---------------------------------------------------------------------------------- WSDL documents
# Parsed once per process on one dedicated thread; concurrent first users (50 cameras probed at
# start-up) all wait on the same future instead of each parsing (the library's behaviour) or each
# blocking a default-executor thread.
_DOCS: dict[str, Any] = {}
_INFLIGHT: dict[str, concurrent.futures.Future[Any]] = {}
_INFLIGHT_LOCK = threading.Lock()
_LOADER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="camcheck-wsdl")


def _load_document_sync(path: str) -> Any:
    doc = _DOCS.get(path)
    if doc is not None:
        return doc
    # Same tweaks as onvif.client._cached_document, minus its per-caller race.
    doc = DocumentWithDeferredLoad(path, ASYNC_TRANSPORT, settings=DEFAULT_SETTINGS)
    schema = doc.types.documents.get_by_namespace("http://www.w3.org/2001/XMLSchema", False)[0]
    schema.register_type(FastDateTime._default_qname, FastDateTime(is_global=True))
    schema.register_type(ForgivingTime._default_qname, ForgivingTime(is_global=True))
    doc.types.add_documents([None], path)
    doc.original_load(path)
    _DOCS[path] = doc
    return doc


async def get_document(service: str) -> Any:
    path = str(Path(WSDL_DIR) / SERVICES[service]["wsdl"])
    doc = _DOCS.get(path)
    if doc is not None:
        return doc
    with _INFLIGHT_LOCK:
        fut = _INFLIGHT.get(path)
        if fut is None or (fut.done() and fut.exception() is not None):
            fut = _INFLIGHT[path] = _LOADER.submit(_load_document_sync, path)
    return await asyncio.wrap_future(fut)


async def warm_wsdls(services: tuple[str, ...] = ZEEP_SERVICES) -> float:
    """Parse the WSDLs the probe uses, once, off the event loop. Returns seconds spent.
    A daemon calls this at start-up; the first probe does it otherwise."""
    t0 = time.perf_counter()
    for s in services:
        await get_document(s)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------- transport
_ROOT_START = re.compile(rb"<[A-Za-z_]")


def _check_reply_xml(content: bytes) -> None:
    m = _ROOT_START.search(content)
    if m is not None and b"<!DOCTYPE" in content[: m.start()].upper():
        # SOAP 1.2 forbids DTDs; a DTD is how entity bombs and external entities arrive.
        raise OnvifReplyError("reply carries a DTD (refused: SOAP forbids it; entity expansion risk)")
    try:
        root = etree.fromstring(content, _STRICT_PARSER)
    except etree.XMLSyntaxError as exc:
        raise OnvifReplyError(f"malformed XML in reply ({exc.msg})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # SOAP 1.2 forbids DTDs; a DTD is how entity bombs and external entities arrive.
        raise OnvifReplyError("reply carries a DTD (refused: SOAP forbids it; entity expansion risk)")


class CappedTransport(AIOHTTPTransport):
    """zeep transport on a shared aiohttp session: size-capped reads, deadline-bound requests,
    optional HTTP Digest, strict XML check."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        deadline: float,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        digest: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(session=session, verify_ssl=True)
        self.deadline = deadline
        self.max_reply_bytes = max_reply_bytes
        self._digest = digest
        self.bytes_read = 0
        # (HTTP Date header, local wall time) of the newest reply: a clock hint for devices that
        # demand credentials even for GetSystemDateAndTime.
        self.last_http_date: tuple[str, float] | None = None

    def _timeout(self) -> aiohttp.ClientTimeout:
        left = max(0.01, self.deadline - asyncio.get_running_loop().time())
        return aiohttp.ClientTimeout(total=left)

    async def _post_internal(self, address: str, message: str | bytes, headers: dict[str, str]):  # type: ignore[override]
        headers = dict(headers or {})
        headers.setdefault("User-Agent", "camcheck")
        headers.setdefault("Content-Type", "application/soap+xml; charset=utf-8")
        data = message.encode("utf-8") if isinstance(message, str) else message
        kwargs: dict[str, Any] = {}
        if self._digest is not None:
            # Non-preemptive: the middleware answers a 401 Digest challenge, never sends Basic.
            kwargs["middlewares"] = (aiohttp.DigestAuthMiddleware(self._digest[0], self._digest[1], preemptive=False),)
        async with self.session.post(address, data=data, headers=headers, timeout=self._timeout(), **kwargs) as response:
            content = await self._read_capped(response)
        date = response.headers.get("Date")
        if date:
            self.last_http_date = (date[:64], time.time())
        if response.status != 200 and "xml" not in (response.headers.get("Content-Type") or "").lower():
            # e.g. an HTML/text 401 page: zeep's forgiving parser would turn it into None.
            raise zeep.exceptions.TransportError(f"HTTP {response.status}", status_code=response.status)
        if content:
            _check_reply_xml(content)
        return response, content

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_reply_bytes:
            raise ReplyTooLarge(f"reply of {declared} bytes exceeds the {self.max_reply_bytes}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            self.bytes_read += len(chunk)
            if size > self.max_reply_bytes:
                raise ReplyTooLarge(f"reply exceeds the {self.max_reply_bytes}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    async def get(self, address: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None):  # type: ignore[override]
        raise RuntimeError("camcheck's ONVIF transport does not fetch remote documents")


# ---------------------------------------------------------------------------------- client
@dataclass
class ClientConfig:
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)  # revealed only here, at the edge; never in a repr
    tls: bool = False
    tls_verify: bool = True
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    http_digest: bool = True


@dataclass
class ConnectionTrace:
    """Whether a TCP connection to the device was ever made: a deadline that expires before
    one means unreachable, after one means the device is too slow or stalls."""

    connected: bool = False
    responses: int = 0


def make_session(cfg: ClientConfig, trace: ConnectionTrace | None = None) -> aiohttp.ClientSession:
    if cfg.tls:
        ctx: ssl.SSLContext | bool = ssl.create_default_context() if cfg.tls_verify else False
    else:
        ctx = False
    connector = aiohttp.TCPConnector(limit=4, ssl=ctx, force_close=False, enable_cleanup_closed=True)
    tc = aiohttp.TraceConfig()
    if trace is not None:

        async def _connected(session: Any, ctx_: Any, params: Any) -> None:
            trace.connected = True

        async def _answered(session: Any, ctx_: Any, params: Any) -> None:
            trace.responses += 1

        tc.on_connection_create_end.append(_connected)
        tc.on_connection_reuseconn.append(_connected)
        tc.on_request_end.append(_answered)
    # trust_env stays False: proxies for camera networks are configured explicitly, never inherited.
    return aiohttp.ClientSession(
        connector=connector, trust_env=False, max_line_size=8190, max_field_size=8190, trace_configs=[tc] if trace else None
    )


class OnvifClient:
    """SOAP calls to one device, all sharing one session; create per probe, use under a deadline."""

    def __init__(self, cfg: ClientConfig, session: aiohttp.ClientSession, deadline: float) -> None:
        self.cfg = cfg
        self.session = session
        digest = (cfg.username, cfg.password) if (cfg.http_digest and cfg.username and cfg.password) else None
        self.transport = CappedTransport(session, deadline, cfg.max_reply_bytes, digest)
        self.dt_diff: dt.timedelta | None = None
        self.xaddrs: dict[str, str] = {}
        self._proxies: dict[tuple[str, bool], Any] = {}

    @property
    def device_url(self) -> str:
        scheme = "https" if self.cfg.tls else "http"
        host = f"[{self.cfg.host}]" if ":" in self.cfg.host else self.cfg.host
        return f"{scheme}://{host}:{self.cfg.port}/onvif/device_service"

    def wsse(self) -> Any:
        if not self.cfg.username:
            return None
        return UsernameDigestTokenDtDiff(self.cfg.username, self.cfg.password or "", dt_diff=self.dt_diff, use_digest=True)

    async def service(self, name: str, auth: bool = True) -> Any:
        key = (name, auth)
        proxy = self._proxies.get(key)
        if proxy is not None:
            return proxy
        ns = SERVICES[name]["ns"]
        xaddr = self.device_url if name == "devicemgmt" else self.xaddrs.get(ns)
        if not xaddr:
            raise LookupError(f"device offers no {name} service")
        doc = await get_document(name)
        client = ZeepAsyncClient(
            wsdl=doc,
            wsse=self.wsse() if auth else None,
            transport=self.transport,
            settings=ZEEP_SETTINGS,
            plugins=[WsAddressingIfMissingPlugin()],
        )
        proxy = client.create_service(f"{{{ns}}}{SERVICES[name]['binding']}", xaddr)
        self._proxies[key] = proxy
        return proxy

    def http_date_offset(self) -> float | None:
        """Device clock minus ours from the last reply's HTTP Date header (1 s resolution)."""
        if self.transport.last_http_date is None:
            return None
        from email.utils import parsedate_to_datetime

        text, received = self.transport.last_http_date
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return when.timestamp() - received

    def reset_auth(self) -> None:
        """Forget signed proxies (after dt_diff changes)."""
        self._proxies = {k: v for k, v in self._proxies.items() if not k[1]}

    async def call(self, service: str, op: str, auth: bool = True, **params: Any) -> Any:
        proxy = await self.service(service, auth)
        return await getattr(proxy, op)(**params)

    async def raw_call(self, xaddr: str, body: etree._Element, auth: bool = True) -> etree._Element:
        """Send one hand-built SOAP 1.2 request (Media2) and return the reply's Body child.
        Raises zeep.exceptions.Fault for a SOAP fault, like zeep does."""
        env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"s": SOAP12})
        etree.SubElement(env, f"{{{SOAP12}}}Header")
        b = etree.SubElement(env, f"{{{SOAP12}}}Body")
        b.append(body)
        headers: dict[str, str] = {}
        wsse = self.wsse() if auth else None
        if wsse is not None:
            env, headers = wsse.apply(env, headers)
        response, content = await self.transport._post_internal(xaddr, etree.tostring(env), headers)
        if response.status == 401:
            raise zeep.exceptions.TransportError("HTTP 401", status_code=401)
        if not content:
            raise zeep.exceptions.TransportError(f"HTTP {response.status} with no content", status_code=response.status)
        root = etree.fromstring(content, _STRICT_PARSER)
        body_el = root.find(f"{{{SOAP12}}}Body")
        if body_el is None or len(body_el) == 0:
            raise OnvifReplyError("reply has no SOAP body")
        first = body_el[0]
        if first.tag == f"{{{SOAP12}}}Fault":
            reason = (first.findtext(f".//{{{SOAP12}}}Text") or "SOAP fault").strip()
            subcodes = [
                etree.QName(_resolve_qname(v, v.text or "")) for v in first.iterfind(f".//{{{SOAP12}}}Subcode/{{{SOAP12}}}Value")
            ]
            raise zeep.exceptions.Fault(reason, code=first.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value"), subcodes=subcodes)
        if response.status != 200:
            raise zeep.exceptions.TransportError(f"HTTP {response.status}", status_code=response.status)
        return first


def _resolve_qname(el: etree._Element, text: str) -> str:
    prefix, _, local = text.strip().rpartition(":")
    ns = el.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else local
