"""WS-Discovery responder for simulated devices: answers unicast Probes on one UDP socket.

Multicast is deliberately not joined: the simulator stays on loopback, and joining
239.255.255.250 could answer probes from the real network.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING
from urllib.parse import quote

from lxml import etree

from camcheck.probe.discovery import PROBE_MATCHES_ACTION, SOAP_ENV, WSA, WSD

if TYPE_CHECKING:
    from camcheck.simulator.onvif.server import SimulatedOnvifDevice

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def probe_match(dev: "SimulatedOnvifDevice", relates_to: str) -> bytes:
    c = dev.config
    scopes = " ".join(
        [
            "onvif://www.onvif.org/type/video_encoder",
            "onvif://www.onvif.org/Profile/Streaming",
            *(["onvif://www.onvif.org/Profile/G"] if c.profile_g else []),
            f"onvif://www.onvif.org/name/{quote(c.name)}",
            f"onvif://www.onvif.org/hardware/{quote(c.model)}",
            "onvif://www.onvif.org/location/simulated",
        ]
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="{SOAP_ENV}" xmlns:w="{WSA}" xmlns:d="{WSD}" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        f"<e:Header><w:MessageID>urn:uuid:{uuid.uuid4()}</w:MessageID><w:RelatesTo>{relates_to}</w:RelatesTo>"
        f"<w:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</w:To><w:Action>{PROBE_MATCHES_ACTION}</w:Action></e:Header>"
        f"<e:Body><d:ProbeMatches><d:ProbeMatch><w:EndpointReference><w:Address>urn:uuid:{dev.uuid}</w:Address></w:EndpointReference>"
        f"<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>{scopes}</d:Scopes>"
        f"<d:XAddrs>{dev.url}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>"
    ).encode()


class DiscoveryResponder(asyncio.DatagramProtocol):
    def __init__(self, devices: "list[SimulatedOnvifDevice]") -> None:
        self.devices = devices
        self.transport: asyncio.DatagramTransport | None = None
        self.port: int | None = None
        self.probes = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        try:
            env = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError:
            return
        if env.find(f"{{{SOAP_ENV}}}Body/{{{WSD}}}Probe") is None:
            return
        message_id = (env.findtext(f"{{{SOAP_ENV}}}Header/{{{WSA}}}MessageID") or "").strip()
        self.probes += 1
        if self.transport is None:
            return
        for dev in self.devices:  # one answer per device, as separate devices would send
            self.transport.sendto(probe_match(dev, message_id), addr)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
