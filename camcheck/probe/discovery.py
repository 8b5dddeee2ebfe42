"""WS-Discovery: find ONVIF devices with one Probe over UDP (multicast, or unicast to a target).

A small asyncio datagram client, bounded in time (the caller's timeout) and in what it keeps
(at most ``max_devices`` answers, each datagram at most 64 KiB, parsed without DTDs/entities).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree

WS_DISCOVERY_PORT = 3702
WS_DISCOVERY_MULTICAST = "239.255.255.250"
SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
PROBE_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
PROBE_MATCHES_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"
ANONYMOUS_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def probe_message(message_id: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="{SOAP_ENV}" xmlns:w="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}">'
        f"<e:Header><w:MessageID>{message_id}</w:MessageID><w:To>{ANONYMOUS_TO}</w:To><w:Action>{PROBE_ACTION}</w:Action></e:Header>"
        "<e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>"
    ).encode()


@dataclass
class DiscoveredDevice:
    address: str  # the endpoint reference (usually urn:uuid:...)
    xaddrs: list[str]  # device service URLs
    types: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    source: str = ""  # ip:port the answer came from
    name: str | None = None  # from onvif://www.onvif.org/name/ scope
    hardware: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_probe_matches(data: bytes, relates_to: str | None = None) -> list[DiscoveredDevice]:
    """Devices in one ProbeMatches datagram; [] for anything else (or an answer to another probe)."""
    try:
        env = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return []
    if relates_to is not None:
        rel = env.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA}}}RelatesTo")
        if rel is not None and rel.strip() != relates_to:
            return []
    out = []
    for m in env.iterfind(f"{{{SOAP_ENV}}}Body/{{{WSD}}}ProbeMatches/{{{WSD}}}ProbeMatch"):
        addr = (m.findtext(f"{{{WSA}}}EndpointReference/{{{WSA}}}Address") or "").strip()
        xaddrs = (m.findtext(f"{{{WSD}}}XAddrs") or "").split()
        scopes = (m.findtext(f"{{{WSD}}}Scopes") or "").split()
        dev = DiscoveredDevice(address=addr, xaddrs=xaddrs, types=(m.findtext(f"{{{WSD}}}Types") or "").split(), scopes=scopes)
        for s in scopes:
            from urllib.parse import unquote

            if s.startswith("onvif://www.onvif.org/name/"):
                dev.name = unquote(s.rsplit("/", 1)[1])
            elif s.startswith("onvif://www.onvif.org/hardware/"):
                dev.hardware = unquote(s.rsplit("/", 1)[1])
        if addr or xaddrs:
            out.append(dev)
    return out


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str, max_devices: int) -> None:
        self.message_id = message_id
        self.max_devices = max_devices
        self.found: dict[str, DiscoveredDevice] = {}
        self.full = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        for dev in parse_probe_matches(data[:65536], self.message_id):
            dev.source = f"{addr[0]}:{addr[1]}"
            key = dev.address or " ".join(dev.xaddrs)
            if key not in self.found and len(self.found) < self.max_devices:
                self.found[key] = dev
        if len(self.found) >= self.max_devices:
            self.full.set()

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable on unicast: just no answer
        pass


async def discover(
    timeout: float = 3.0,
    target: str | None = None,
    port: int = WS_DISCOVERY_PORT,
    max_devices: int = 10_000,
    interface_ip: str | None = None,
) -> list[DiscoveredDevice]:
    """Send one WS-Discovery Probe and collect answers for ``timeout`` seconds.

    ``target`` None multicasts to 239.255.255.250 (from ``interface_ip`` if given); otherwise the
    probe goes unicast to ``target:port``. Raises ValueError for a bad target, OSError if no socket."""
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    if target is not None:
        try:
            dest = str(ipaddress.ip_address(target))
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(target, port, type=socket.SOCK_DGRAM, family=socket.AF_INET)
            if not infos:
                raise ValueError(f"cannot resolve {target!r}") from None
            dest = infos[0][4][0]
    else:
        dest = WS_DISCOVERY_MULTICAST
    message_id = f"urn:uuid:{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if target is None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # never beyond the local segment
            if interface_ip:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface_ip))
        sock.bind((interface_ip or ("127.0.0.1" if ipaddress.ip_address(dest).is_loopback else "0.0.0.0"), 0))
    except BaseException:
        sock.close()
        raise
    transport, proto = await loop.create_datagram_endpoint(lambda: _Collector(message_id, max_devices), sock=sock)
    try:
        transport.sendto(probe_message(message_id), (dest, port))
        try:
            await asyncio.wait_for(proto.full.wait(), timeout)
        except TimeoutError:
            pass
    finally:
        transport.close()
    return list(proto.found.values())
