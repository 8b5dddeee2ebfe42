"""RTP packetisation (RFC 3550, H.264 per RFC 6184, H.265 per RFC 7798) and RTCP sender reports.

Access units are split into RTP *payloads* once per clip; sending then only prepends a 12-byte
header, so serving costs almost nothing per packet.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Sequence

RTP_VERSION = 2
DEFAULT_MTU_PAYLOAD = 1400  # keeps RTP+UDP+IP below a 1500-byte Ethernet MTU
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01

_HDR = struct.Struct(">BBHII")


def packetize_h264(nal: bytes, mtu: int = DEFAULT_MTU_PAYLOAD) -> list[bytes]:
    """One NAL unit (no start code) as RTP payloads: single NAL unit packet or FU-A fragments."""
    if len(nal) <= mtu:
        return [nal]
    indicator = (nal[0] & 0xE0) | 28  # F and NRI from the NAL header, type 28 = FU-A
    nal_type = nal[0] & 0x1F
    body = memoryview(nal)[1:]
    chunk = mtu - 2
    out = []
    for off in range(0, len(body), chunk):
        start = off == 0
        end = off + chunk >= len(body)
        fu_header = (0x80 if start else 0) | (0x40 if end else 0) | nal_type
        out.append(bytes((indicator, fu_header)) + bytes(body[off : off + chunk]))
    return out


def packetize_h265(nal: bytes, mtu: int = DEFAULT_MTU_PAYLOAD) -> list[bytes]:
    """One NAL unit (no start code) as RTP payloads: single NAL unit packet or FU fragments (type 49)."""
    if len(nal) <= mtu:
        return [nal]
    nal_type = (nal[0] >> 1) & 0x3F
    # PayloadHdr keeps F, LayerId and TID of the NAL header and sets Type = 49.
    payload_hdr = bytes(((nal[0] & 0x81) | (49 << 1), nal[1]))
    body = memoryview(nal)[2:]
    chunk = mtu - 3
    out = []
    for off in range(0, len(body), chunk):
        start = off == 0
        end = off + chunk >= len(body)
        fu_header = (0x80 if start else 0) | (0x40 if end else 0) | nal_type
        out.append(payload_hdr + bytes((fu_header,)) + bytes(body[off : off + chunk]))
    return out


def packetize_au(nals: Sequence[bytes], codec: str, mtu: int = DEFAULT_MTU_PAYLOAD) -> tuple[bytes, ...]:
    """All RTP payloads of one access unit in order; the last one gets the marker bit when sent."""
    fn = packetize_h264 if codec == "h264" else packetize_h265
    out: list[bytes] = []
    for nal in nals:
        if nal:
            out.extend(fn(nal, mtu))
    return tuple(out)


def rtp_header(payload_type: int, marker: bool, seq: int, timestamp: int, ssrc: int) -> bytes:
    return _HDR.pack(RTP_VERSION << 6, (0x80 if marker else 0) | payload_type, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)


@dataclass(frozen=True)
class RtpHeader:
    version: int
    padding: bool
    extension: bool
    csrc_count: int
    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int


def parse_rtp_header(packet: bytes) -> RtpHeader:
    if len(packet) < 12:
        raise ValueError("RTP packet shorter than 12 bytes")
    b0, b1, seq, ts, ssrc = _HDR.unpack_from(packet)
    return RtpHeader(b0 >> 6, bool(b0 & 0x20), bool(b0 & 0x10), b0 & 0x0F, bool(b1 & 0x80), b1 & 0x7F, seq, ts, ssrc)


def ntp_timestamp(unix_time: float) -> tuple[int, int]:
    """(seconds, fraction) of an NTP 64-bit timestamp for a Unix time."""
    secs = int(unix_time)
    frac = int((unix_time - secs) * (1 << 32)) & 0xFFFFFFFF
    return (secs + NTP_EPOCH_OFFSET) & 0xFFFFFFFF, frac


def rtcp_sender_report(
    ssrc: int, wall_time: float, rtp_timestamp: int, packet_count: int, octet_count: int, cname: str
) -> bytes:
    """A compound RTCP packet: SR (no report blocks) followed by SDES with CNAME (RFC 3550 6.1)."""
    ntp_s, ntp_f = ntp_timestamp(wall_time)
    sr = struct.pack(
        ">BBHIIIIII", 0x80, 200, 6, ssrc, ntp_s, ntp_f, rtp_timestamp & 0xFFFFFFFF,
        packet_count & 0xFFFFFFFF, octet_count & 0xFFFFFFFF,
    )
    name = cname.encode("utf-8")[:255]
    item = bytes((1, len(name))) + name + b"\x00"  # CNAME item, then end-of-list
    chunk = struct.pack(">I", ssrc) + item
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack(">BBH", 0x81, 202, (len(chunk) + 4) // 4 - 1) + chunk
    return sr + sdes


@dataclass(frozen=True)
class SenderReport:
    ssrc: int
    ntp_time: float  # Unix time
    rtp_timestamp: int
    packet_count: int
    octet_count: int


def parse_rtcp(data: bytes) -> list[tuple[int, bytes]]:
    """Split a compound RTCP packet into (packet type, packet bytes); raises ValueError if malformed."""
    out = []
    off = 0
    while off < len(data):
        if len(data) - off < 4:
            raise ValueError("truncated RTCP header")
        b0, pt, length = struct.unpack_from(">BBH", data, off)
        if b0 >> 6 != 2:
            raise ValueError("RTCP version is not 2")
        size = (length + 1) * 4
        if off + size > len(data):
            raise ValueError("RTCP length beyond packet end")
        out.append((pt, data[off : off + size]))
        off += size
    return out


def parse_sender_report(packet: bytes) -> SenderReport:
    if len(packet) < 28 or packet[1] != 200:
        raise ValueError("not an RTCP sender report")
    ssrc, ntp_s, ntp_f, ts, pc, oc = struct.unpack_from(">IIIIII", packet, 4)
    return SenderReport(ssrc, ntp_s - NTP_EPOCH_OFFSET + ntp_f / (1 << 32), ts, pc, oc)


def wall_clock() -> float:
    return time.time()
