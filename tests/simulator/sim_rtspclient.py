"""A small, strict RTSP client for protocol-level tests of the simulator (not product code).

It is deliberately independent of camcheck.simulator.auth: Digest is computed here from RFC 2617.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import struct
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class ProtocolError(Exception):
    pass


def _md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


@dataclass
class RtspClient:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    cseq: int = 0
    responses: asyncio.Queue = field(default_factory=asyncio.Queue)
    interleaved: asyncio.Queue = field(default_factory=asyncio.Queue)
    _task: asyncio.Task | None = None
    _auth: str | None = None
    _challenge: dict[str, str] | None = None
    closed_reason: str | None = None

    async def connect(self) -> "RtspClient":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self._task = asyncio.create_task(self._read_loop())
        return self

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        if self._task is not None:
            self._task.cancel()

    async def _read_loop(self) -> None:
        r = self.reader
        assert r is not None
        try:
            while True:
                first = await r.readexactly(1)
                if first == b"$":
                    ch, size = struct.unpack(">BH", await r.readexactly(3))
                    await self.interleaved.put((ch, await r.readexactly(size)))
                    continue
                head = first + await r.readuntil(b"\r\n\r\n")
                lines = head.decode("utf-8").split("\r\n")
                m = re.fullmatch(r"RTSP/1\.0 (\d{3}) (.+)", lines[0])
                if not m:
                    await self.responses.put(ProtocolError(f"bad status line {lines[0]!r}"))
                    return
                headers = {}
                for line in lines[1:]:
                    if not line:
                        continue
                    k, sep, v = line.partition(":")
                    if not sep:
                        await self.responses.put(ProtocolError(f"bad header line {line!r}"))
                        return
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                body = await r.readexactly(n) if n else b""
                await self.responses.put(Response(int(m.group(1)), m.group(2), headers, body))
        except (asyncio.IncompleteReadError, ConnectionError, UnicodeDecodeError, ValueError, asyncio.LimitOverrunError) as exc:
            self.closed_reason = type(exc).__name__
            await self.responses.put(ProtocolError(f"connection ended: {type(exc).__name__}"))

    def _authorization(self, method: str, url: str) -> str | None:
        c = self._challenge
        if c is None or self.user is None:
            return None
        if c["scheme"] == "basic":
            return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        ha1 = _md5(f"{self.user}:{c['realm']}:{self.password}")
        ha2 = _md5(f"{method}:{url}")
        resp = _md5(f"{ha1}:{c['nonce']}:{ha2}")
        return f'Digest username="{self.user}", realm="{c["realm"]}", nonce="{c["nonce"]}", uri="{url}", response="{resp}"'

    async def send_raw(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()

    async def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, *, timeout: float = 10, retry_auth: bool = True
    ) -> Response:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", "User-Agent: camcheck-test"]
        auth = self._authorization(method, url)
        if auth:
            lines.append(f"Authorization: {auth}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        await self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())
        item = await asyncio.wait_for(self.responses.get(), timeout)
        if isinstance(item, Exception):
            raise item
        if item.header("cseq") != str(self.cseq):
            raise ProtocolError(f"CSeq {item.header('cseq')} does not echo {self.cseq}")
        if item.status == 401 and retry_auth and self.user is not None:
            www = item.header("www-authenticate") or ""
            scheme, _, rest = www.partition(" ")
            params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
            self._challenge = {"scheme": scheme.lower(), **params}
            return await self.request(method, url, headers, timeout=timeout, retry_auth=False)
        return item

    async def next_interleaved(self, timeout: float = 5) -> tuple[int, bytes]:
        return await asyncio.wait_for(self.interleaved.get(), timeout)

    async def play_tcp(self, url: str, interleaved: str = "0-1") -> tuple[str, Response, Response]:
        """DESCRIBE, SETUP (TCP interleaved), PLAY; returns (session id, SETUP reply, PLAY reply)."""
        d = await self.request("DESCRIBE", url, {"Accept": "application/sdp"})
        if d.status != 200:
            raise ProtocolError(f"DESCRIBE {d.status}")
        s = await self.request("SETUP", url + "/trackID=0", {"Transport": f"RTP/AVP/TCP;unicast;interleaved={interleaved}"})
        if s.status != 200:
            raise ProtocolError(f"SETUP {s.status}")
        sid = (s.header("session") or "").split(";")[0]
        p = await self.request("PLAY", url + "/", {"Session": sid, "Range": "npt=0.000-"})
        if p.status != 200:
            raise ProtocolError(f"PLAY {p.status}")
        return sid, s, p


def parse_sdp(body: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in body.decode().splitlines():
        if len(line) > 2 and line[1] == "=":
            out.setdefault(line[0], []).append(line[2:])
    return out


def rtp_fields(pkt: bytes) -> tuple[bool, int, int, int, int]:
    """(marker, payload type, seq, timestamp, ssrc)"""
    b0, b1, seq, ts, ssrc = struct.unpack(">BBHII", pkt[:12])
    assert b0 >> 6 == 2, "RTP version must be 2"
    return bool(b1 & 0x80), b1 & 0x7F, seq, ts, ssrc
