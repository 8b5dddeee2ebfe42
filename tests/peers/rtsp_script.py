"""A scripted RTSP/1.0 server for cases no real server shows on demand (e.g. a camera whose
keyframes do not decode), and that records every request it receives (to prove TEARDOWN).

In the test's event loop, bound to 127.0.0.1, RTP interleaved over TCP only::

    async with scripted_rtsp(sdp, packets=[...], fps=25) as peer:
        url = peer.url("/stream")
        ...
        assert "TEARDOWN" in peer.methods

``packets``: a list of frames, each a list of RTP payloads (the peer adds RTP headers, one
timestamp per frame, marker on each frame's last packet) sent at ``fps`` after PLAY, looped.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tests.peers.sockets import _running


@dataclass
class ScriptedPeer:
    port: int
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    teardown: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/stream") -> str:
        return f"rtsp://127.0.0.1:{self.port}{path}"

    @property
    def methods(self) -> list[str]:
        return [m for m, _ in self.requests]


def rtp_packet(payload: bytes, seq: int, ts: int, marker: bool, pt: int = 96, ssrc: int = 0x1234) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


@contextlib.asynccontextmanager
async def scripted_rtsp(sdp: str, frames: list[list[bytes]], fps: float = 25.0,
                        clock: int = 90000) -> AsyncIterator[ScriptedPeer]:
    peer = ScriptedPeer(port=0)

    async def stream(writer: asyncio.StreamWriter) -> None:
        seq, ts, i = 0, 1000, 0
        while True:
            frame = frames[i % len(frames)]
            for k, payload in enumerate(frame):
                pkt = rtp_packet(payload, seq, ts, k == len(frame) - 1)
                writer.write(b"$\x00" + struct.pack("!H", len(pkt)) + pkt)
                seq += 1
            await writer.drain()
            ts += int(clock / fps)
            i += 1
            await asyncio.sleep(1 / fps)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender: asyncio.Task | None = None
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, url, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    k, sep, v = line.partition(":")
                    if sep:
                        headers[k.strip().lower()] = v.strip()
                peer.requests.append((method, headers))
                cseq = headers.get("cseq", "0")
                extra, body = "", b""
                if method == "DESCRIBE":
                    body = sdp.encode()
                    extra = f"Content-Type: application/sdp\r\nContent-Base: {url}/\r\n"
                elif method == "SETUP":
                    extra = "Session: 4242;timeout=60\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"
                elif method == "PLAY":
                    extra = "Session: 4242\r\n"
                writer.write((f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{extra}Content-Length: {len(body)}\r\n\r\n").encode()
                             + body)
                await writer.drain()
                if method == "PLAY" and sender is None:
                    sender = asyncio.create_task(stream(writer))
                if method == "TEARDOWN":
                    peer.teardown.set()
                    if sender:
                        sender.cancel()
                        sender = None
        except asyncio.IncompleteReadError:
            pass
        finally:
            if sender:
                sender.cancel()

    # The server, its client tasks and their clean-up are the misbehaving peers' (tests/peers/sockets.py).
    async with _running(handle) as port:
        peer.port = port
        yield peer
