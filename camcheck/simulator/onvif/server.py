"""Serve simulated ONVIF devices on loopback: SOAP over HTTP (aiohttp) plus a WS-Discovery responder.

Standalone (tests)::

    async with running_onvif_device(OnvifDeviceConfig(...)) as dev:
        dev.port, dev.url

From the fleet (one HTTP port per device, one discovery socket for all)::

    servers = await start_onvif_servers([(config, port), ...], bind="127.0.0.1", discovery_port=3702)
    ...
    await servers.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from email.utils import formatdate
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from lxml import etree

from camcheck.simulator.onvif.config import EffectiveDevice, OnvifDeviceConfig
from camcheck.simulator.onvif.discovery import DiscoveryResponder
from camcheck.simulator.onvif.replies import PRE_AUTH, OnvifFault, Replies
from camcheck.simulator.onvif.soap import HttpDigest, SoapRequestError, check_wsse, envelope, fault, parse_request

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 256 * 1024
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"


@dataclass
class SimulatedOnvifDevice:
    """One running device. ``schema_errors`` collects reply validation errors when ``validate`` is on."""

    config: OnvifDeviceConfig
    host: str
    port: int
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    validate: bool = False
    schema_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # operation names seen, in order (bounded)
    replies: Replies | None = None
    tls: bool = False
    effective: EffectiveDevice | None = None

    def set_faults(self, faults: list[str]) -> None:
        """Change the device's ONVIF fault profiles while it runs (the next request sees them)."""
        self.config = self.config.model_copy(update={"faults": list(faults)})
        OnvifDeviceConfig.model_validate(self.config.model_dump())  # unknown faults raise here
        self.effective = self.config.effective()
        self.replies = Replies(self.effective, self.base_url)

    @property
    def url(self) -> str:
        return f"{self.base_url}/onvif/device_service"

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


def _make_app(dev: SimulatedOnvifDevice, eff: EffectiveDevice) -> web.Application:
    digest = HttpDigest()
    dev.effective = eff

    def soap_response(body: bytes, status: int = 200) -> web.Response:
        replies = dev.replies
        assert replies is not None
        # The HTTP Date header follows the device's (possibly drifted) clock, as a real device's does.
        date = formatdate(replies.now().timestamp(), usegmt=True)
        return web.Response(body=body, status=status, content_type="application/soap+xml", charset="utf-8", headers={"Date": date})

    async def handle(request: web.Request) -> web.Response:
        # Read per request: faults can change while the device runs (set_faults).
        eff = dev.effective
        replies = dev.replies
        assert eff is not None and replies is not None
        cfg = eff.config
        try:
            header, op_el = parse_request(await request.read())
        except SoapRequestError as exc:
            return soap_response(fault("ter:WellFormed", str(exc)), 400)
        qn = etree.QName(op_el)
        ns, op = qn.namespace or "", qn.localname
        if len(dev.requests) < 10_000:
            dev.requests.append(op)
        fn = replies.handler(ns, op)
        if fn is None:
            return soap_response(fault("ter:ActionNotSupported", f"{op} is not supported by this device"), 400)
        if not ((ns, op) in PRE_AUTH and not (cfg.time_requires_auth and op == "GetSystemDateAndTime")) and cfg.auth != "none":
            user, password = cfg.username or "", cfg.password or ""
            if cfg.auth in ("digest", "both"):
                ok = not eff.auth_fail and digest.check(request.headers.get("Authorization"), request.method, user, password)
                if not ok:
                    return web.Response(status=401, headers={"WWW-Authenticate": digest.challenge(), "Date": formatdate(replies.now().timestamp(), usegmt=True)}, text="401 Unauthorized")
            if cfg.auth in ("wsse", "both"):
                if eff.auth_fail or not check_wsse(header, user, password, replies.now()):
                    return soap_response(fault("ter:NotAuthorized", "Sender not Authorized"), 400)
        try:
            body_xml = fn(op_el)
        except OnvifFault as exc:
            return soap_response(fault(exc.subcode, exc.reason), 400)
        out = envelope(body_xml)
        if dev.validate:
            from camcheck.simulator.onvif import schema_check

            try:
                errs = schema_check.validate_envelope(out)
            except LookupError:
                errs = []  # Media2: no official schema shipped to check against
            dev.schema_errors.extend(f"{op}: {e}" for e in errs)
        return soap_response(out)

    async def snapshot(request: web.Request) -> web.Response:
        # A tiny valid JPEG is enough for a snapshot URI that answers; the RTSP simulator owns pictures.
        return web.Response(body=_TINY_JPEG, content_type="image/jpeg")

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_post("/onvif/{service}", handle)
    app.router.add_get("/onvif/snapshot/{name}", snapshot)
    return app


_TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c"
    "20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000010501010101010100"
    "000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114"
    "328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63646566"
    "6768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3"
    "d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)


@dataclass
class OnvifServers:
    """Handle on running simulated devices (and their shared discovery responder)."""

    devices: list[SimulatedOnvifDevice]
    runners: list[web.AppRunner]
    discovery: DiscoveryResponder | None = None

    @property
    def discovery_port(self) -> int | None:
        return self.discovery.port if self.discovery else None

    def by_name(self, name: str) -> SimulatedOnvifDevice:
        for d in self.devices:
            if d.config.name == name:
                return d
        raise KeyError(name)

    async def close(self) -> None:
        if self.discovery is not None:
            self.discovery.close()
        for r in self.runners:
            await r.cleanup()


async def start_onvif_servers(
    devices: Sequence[tuple[OnvifDeviceConfig, int]],
    bind: str = "127.0.0.1",
    discovery_port: int | None = 3702,
    validate: bool = False,
    ssl_context: ssl.SSLContext | None = None,
) -> OnvifServers:
    """Start one ONVIF HTTP server per (config, port) (port 0 = any free port) on ``bind``, and
    one WS-Discovery responder (unicast) on ``bind:discovery_port`` answering for all of them
    (None = no responder). If the discovery port is taken the devices still run, without it.
    With ``ssl_context`` the devices answer SOAP over https."""
    started: list[SimulatedOnvifDevice] = []
    runners: list[web.AppRunner] = []
    try:
        for cfg, port in devices:
            eff = cfg.effective()
            # XAddrs must name an address a client can use, never the wildcard the socket binds.
            advertised = "127.0.0.1" if bind in ("", "0.0.0.0", "::") else bind
            dev = SimulatedOnvifDevice(config=cfg, host=advertised, port=port, validate=validate, tls=ssl_context is not None)
            runner = web.AppRunner(_Lazy(dev, eff).app(), access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, bind, port, reuse_address=False, ssl_context=ssl_context)
            await site.start()
            sockets = getattr(site._server, "sockets", None) or []
            dev.port = sockets[0].getsockname()[1] if sockets else port
            dev.replies.base_url = dev.base_url  # type: ignore[union-attr]
            runners.append(runner)
            started.append(dev)
        responder = None
        if discovery_port is not None:
            responder = DiscoveryResponder([d for d in started if d.config.discovery])
            try:
                await responder.start(bind, discovery_port)
            except OSError as exc:
                log.warning("WS-Discovery responder not started on %s:%s: %s", bind, discovery_port, exc)
                responder = None
        return OnvifServers(started, runners, responder)
    except BaseException:
        for r in runners:
            await r.cleanup()
        raise


class _Lazy:
    """Builds the app once the device object exists (the reply base URL is fixed after bind)."""

    def __init__(self, dev: SimulatedOnvifDevice, eff: EffectiveDevice) -> None:
        dev.replies = Replies(eff, dev.base_url)
        self.dev, self.eff = dev, eff

    def app(self) -> web.Application:
        return _make_app(self.dev, self.eff)


@contextlib.asynccontextmanager
async def running_onvif_device(
    config: OnvifDeviceConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    validate: bool = True,
    discovery_port: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[SimulatedOnvifDevice]:
    """One simulated device for a test; replies are schema-validated by default."""
    servers = await start_onvif_servers([(config, port)], bind=host, discovery_port=discovery_port, validate=validate, ssl_context=ssl_context)
    try:
        dev = servers.devices[0]
        dev.discovery_port = servers.discovery_port  # type: ignore[attr-defined]
        yield dev
    finally:
        await servers.close()


async def serve_forever(configs: Sequence[OnvifDeviceConfig], port_base: int, bind: str = "127.0.0.1") -> None:
    """Run devices on port_base, port_base+1, ... until cancelled (for manual use)."""
    servers = await start_onvif_servers([(c, port_base + i) for i, c in enumerate(configs)], bind=bind)
    try:
        await asyncio.Event().wait()
    finally:
        await servers.close()
