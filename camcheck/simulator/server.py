"""The simulated cameras' RTSP/1.0 server (RFC 2326) on one asyncio event loop.

URLs: ``rtsp://HOST:PORT/cam/<id>/main`` and ``/sub`` (track control ``.../trackID=0``). One port serves
the fleet; a camera with its own ``port`` also listens there (so ``offline`` can really close it).

Behaviour a probe may rely on, as real cameras do it:
- OPTIONS needs no credentials; every other method does (Basic or Digest as configured).
- A new PLAY starts at the most recent keyframe (the rest of that GOP is sent at once, then live pacing),
  unless the camera is configured ``start: live`` (join mid-GOP at the next frame).
- RTP over TCP interleaved or UDP unicast; RTCP sender reports ~1 s after PLAY, then every 5 s.
- TCP-interleaved sessions end with their connection; UDP sessions expire after ``session_timeout_s``
  without an RTSP request on the session or an RTCP packet from the client.
- Several sessions may share one TCP connection; a camera accepts ``max_sessions`` at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from camcheck.simulator import auth
from camcheck.simulator.broadcast import PAYLOAD_TYPE, BuiltAU, Channel, PacketizedClip
from camcheck.simulator.faults import SILENT_FAULTS, clip_spec, garbage_response
from camcheck.simulator.fleet import CameraConfig, FaultSpec, FleetConfig
from camcheck.simulator.media import ClipSpec, load_clip
from camcheck.simulator.rtp import rtcp_sender_report

log = logging.getLogger(__name__)

STREAMS = ("main", "sub")
TRACK = "trackID=0"
SERVER_NAME = "camcheck-sim/1.0"
PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
MAX_HEADER = 16 * 1024
MAX_BODY = 64 * 1024
# Beyond this much unsent data a TCP client is too slow: frames are dropped until the next keyframe.
WRITE_LIMIT = 1 << 20
SR_INTERVAL_S = 5.0

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    453: "Not Enough Bandwidth", 454: "Session Not Found", 455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed", 461: "Unsupported Transport", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "RTSP Version Not Supported",
}


@dataclass
class Request:
    method: str
    uri: str
    version: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def cseq(self) -> str | None:
        return self.headers.get("cseq")


@dataclass
class Reply:
    data: bytes | None
    after: Callable[[], None] | None = None  # runs right after `data` is written (PLAY starts streaming)
    close: bool = False


def build_response(code: int, cseq: str | None, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> bytes:
    lines = [f"RTSP/1.0 {code} {REASONS.get(code, 'Unknown')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    lines.append(f"Server: {SERVER_NAME}")
    for k, v in headers or ():
        lines.append(f"{k}: {v}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def parse_path(uri: str) -> tuple[str, str, str | None] | None:
    """(camera id, stream, track or None) of a request URI, or None if it names no stream."""
    try:
        path = urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0]
    except ValueError:
        return None
    parts = [p for p in path.split("/") if p]
    if len(parts) not in (3, 4) or parts[0] != "cam" or parts[2] not in STREAMS:
        return None
    if len(parts) == 4 and parts[3] != TRACK:
        return None
    return parts[1], parts[2], parts[3] if len(parts) == 4 else None


def _base_uri(uri: str, cam: str, stream: str) -> str:
    """Absolute stream URL as the client wrote it (minus any userinfo), for Content-Base and RTP-Info."""
    try:
        parts = urlsplit(uri)
        host = parts.netloc.rsplit("@", 1)[-1]
        return f"{parts.scheme or 'rtsp'}://{host}/cam/{cam}/{stream}"
    except ValueError:
        return f"rtsp://localhost/cam/{cam}/{stream}"


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with RST (SO_LINGER 0), as a host does on a closed port."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class CameraState:
    """One running camera: its config, current fault, the channel each stream shows, its sessions."""

    def __init__(self, cfg: CameraConfig) -> None:
        self.cfg = cfg
        self.fault: FaultSpec = cfg.fault
        self.channels: dict[str, Channel] = {}
        self.sessions: set[Session] = set()
        self.connections: set[RtspConnection] = set()
        self.listener: asyncio.AbstractServer | None = None
        self.port: int | None = None
        self.sdp_version = 1
        self.realm = f"camcheck-sim {cfg.id}"

    @property
    def delivering(self) -> bool:
        return self.fault.fault not in SILENT_FAULTS and self.fault.fault != "offline"

    @property
    def session_limit(self) -> int:
        if self.fault.fault == "session_limit":
            return min(self.cfg.max_sessions, self.fault.limit)
        return self.cfg.max_sessions


class Session:
    """One RTSP session (one track) and its RTP delivery; subscribes to a Channel while playing."""

    def __init__(self, server: "RtspServer", sid: str, camera: CameraState, stream: str, conn: "RtspConnection") -> None:
        self.server = server
        self.id = sid
        self.camera = camera
        self.stream = stream
        self.conn: RtspConnection | None = conn
        self.tcp = True
        self.rtp_ch = 0
        self.rtcp_ch = 1
        self.client_rtp: tuple[str, int] | None = None
        self.client_rtcp: tuple[str, int] | None = None
        self.channel: Channel = camera.channels[stream]
        self.pending: Channel | None = None
        self.ssrc = self.channel.ssrc
        self.seq_delta = 0
        self.ts_delta = 0
        self.patched = False
        self.playing = False
        self.last_seen = time.monotonic()
        self.stall_at: float | None = None
        self.next_sr = 0.0
        self.blocked_since: float | None = None
        self.wait_key = False
        self.packets = 0
        self.octets = 0
        self.frames = 0
        self.dropped = 0
        self.lost = 0
        self.last_seq: int | None = None
        self.last_ts: int | None = None
        self.rng = random.Random()

    # --- delivery ---
    def on_aus(self, channel: Channel, aus: list[BuiltAU], now: float) -> None:
        if channel is not self.channel:
            # a pending switch to another clip happens at that clip's keyframe
            for i, au in enumerate(aus):
                if channel is self.pending and au.keyframe:
                    self._switch(channel, au)
                    self.on_aus(channel, aus[i:], now)
                    return
            return
        if not self.camera.delivering or (self.stall_at is not None and now >= self.stall_at):
            return
        if len(aus) == 1 or not self.tcp or self.patched:
            for au in aus:
                self.deliver(au)
        else:
            self.deliver_batch(aus)

    def _switch(self, new: Channel, au: BuiltAU) -> None:
        """Move to another clip at its keyframe, keeping sequence numbers, timestamps and SSRC continuous."""
        old = self.channel
        old.unsubscribe(self)
        if self.last_seq is not None and self.last_ts is not None:
            self.seq_delta = (self.last_seq + 1 - au.seq) & 0xFFFF
            self.ts_delta = (self.last_ts + old.frame_ticks() - au.timestamp) & 0xFFFFFFFF
        self.channel = new
        self.pending = None
        self.patched = True

    def _patched_packets(self, au: BuiltAU) -> list[bytes]:
        out = []
        for i, p in enumerate(au.packets):
            b = bytearray(p)
            struct.pack_into(
                ">HII", b, 2, (au.seq + i + self.seq_delta) & 0xFFFF, (au.timestamp + self.ts_delta) & 0xFFFFFFFF, self.ssrc
            )
            out.append(bytes(b))
        return out

    def deliver(self, au: BuiltAU) -> None:
        conn = self.conn
        if self.tcp:
            if conn is None or conn.transport is None or conn.transport.is_closing():
                return
            tr = conn.transport
            if tr.get_write_buffer_size() > WRITE_LIMIT:
                self.dropped += 1
                self.wait_key = True
                if self.blocked_since is None:
                    self.blocked_since = time.monotonic()
                return
            self.blocked_since = None
            if self.wait_key:
                if not au.keyframe:
                    self.dropped += 1
                    return
                self.wait_key = False
            if self.patched:
                head = bytes((0x24, self.rtp_ch))
                tr.write(b"".join(head + struct.pack(">H", len(p)) + p for p in self._patched_packets(au)))
            else:
                tr.write(au.blob(self.rtp_ch))
        else:
            udp = self.server.udp_rtp
            if udp is None or self.client_rtp is None:
                return
            pkts = self._patched_packets(au) if self.patched else au.packets
            loss = self.camera.fault.percent / 100 if self.camera.fault.fault == "packet_loss" else 0.0
            for p in pkts:
                if loss and self.rng.random() < loss:
                    self.lost += 1
                    continue
                udp.sendto(p, self.client_rtp)
        n = len(au.packets)
        self.packets += n
        self.octets += au.octets
        self.frames += 1
        self.last_seq = (au.seq + n - 1 + self.seq_delta) & 0xFFFF
        self.last_ts = (au.timestamp + self.ts_delta) & 0xFFFFFFFF

    def deliver_batch(self, aus: list[BuiltAU]) -> None:
        """Several AUs in one TCP write (catch-up after the loop ran late)."""
        conn = self.conn
        if conn is None or conn.transport is None or conn.transport.is_closing():
            return
        tr = conn.transport
        if tr.get_write_buffer_size() > WRITE_LIMIT or self.wait_key:
            for au in aus:
                self.deliver(au)  # the slow-client path decides what to drop
            return
        tr.write(b"".join(au.blob(self.rtp_ch) for au in aus))
        last = aus[-1]
        self.packets += sum(len(au.packets) for au in aus)
        self.octets += sum(au.octets for au in aus)
        self.frames += len(aus)
        self.last_seq = (last.seq + len(last.packets) - 1 + self.seq_delta) & 0xFFFF
        self.last_ts = (last.timestamp + self.ts_delta) & 0xFFFFFFFF

    def start(self, now: float) -> tuple[int, int]:
        """Begin PLAY: returns (seq, rtptime) of the first packet for RTP-Info. Call `begin` after replying."""
        ch = self.camera.channels[self.stream]
        if ch is not self.channel:
            self.channel.unsubscribe(self)
            self.channel = ch
        self.pending = None
        self.seq_delta = self.ts_delta = 0
        self.patched = self.ssrc != ch.ssrc
        first, nxt = ch.start_point(now, self.camera.cfg.start == "keyframe")
        self._burst = (first, nxt)
        self.playing = True
        f = self.camera.fault
        self.stall_at = now + f.after_s if f.fault == "stall_after" else None
        self.next_sr = now + 1.0
        return ch.seq_of(first), ch.ts_of(first)

    def begin(self) -> None:
        """Send the GOP burst (if any) and subscribe to live AUs; runs right after the PLAY reply."""
        if not self.playing:
            return
        now = asyncio.get_running_loop().time()
        first, nxt = self._burst
        ch = self.channel
        if self.camera.delivering and (self.stall_at is None or now < self.stall_at) and nxt > first:
            burst = [ch.au(k) for k in range(first, nxt)]
            if self.tcp and not self.patched:
                self.deliver_batch(burst)
            else:
                for au in burst:
                    self.deliver(au)
        ch.subscribe(self, now, nxt)

    def pause(self) -> None:
        self.playing = False
        self.channel.unsubscribe(self)
        if self.pending is not None:
            self.pending.unsubscribe(self)
            self.pending = None

    def switch_to(self, new: Channel, now: float) -> None:
        """The camera's picture changed (fault): switch at the new clip's next keyframe."""
        if not self.playing or new is self.channel:
            return
        if self.pending is not None and self.pending is not new:
            self.pending.unsubscribe(self)
        self.pending = new
        new.subscribe(self, now)

    def sender_report(self, now: float) -> bytes:
        wall = time.time() + self.camera.cfg.clock_drift_s
        ts = (self.channel.ts_at(now) + self.ts_delta) & 0xFFFFFFFF
        return rtcp_sender_report(self.ssrc, wall, ts, self.packets, self.octets, f"{self.camera.cfg.id}@camcheck-sim")

    def close(self) -> None:
        self.pause()
        self.camera.sessions.discard(self)
        self.server.sessions.pop(self.id, None)
        if self.client_rtcp is not None:
            self.server.udp_peers.pop(self.client_rtcp, None)
        if self.conn is not None:
            self.conn.sessions.discard(self)
            self.conn = None


class RtspConnection(asyncio.Protocol):
    """One client TCP connection: parses requests and interleaved data, answers in order."""

    def __init__(self, server: "RtspServer", own_camera: CameraState | None = None) -> None:
        self.server = server
        self.own_camera = own_camera
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.queue: asyncio.Queue[Request | int] = asyncio.Queue()
        self.sessions: set[Session] = set()
        self.cameras: set[CameraState] = set()
        self.blackholed = False
        self.worker: asyncio.Task[None] | None = None
        self.peer_ip = "127.0.0.1"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer_ip = peer[0]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.server.connections.add(self)
        self.worker = asyncio.get_running_loop().create_task(self._work(), name="sim-rtsp-conn")

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        for cam in self.cameras:
            cam.connections.discard(self)
        for s in list(self.sessions):
            if s.tcp:
                s.close()
            else:
                s.conn = None  # a UDP session outlives its connection until it times out
        self.sessions.clear()
        if self.worker is not None:
            self.worker.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        if self.blackholed:
            return
        buf = self.buf
        buf += data
        while buf:
            if buf[0] == 0x24:  # interleaved binary data from the client (RTCP receiver reports)
                if len(buf) < 4:
                    return
                size = int.from_bytes(buf[2:4], "big")
                if len(buf) < 4 + size:
                    return
                self._on_interleaved(buf[1])
                del buf[: 4 + size]
                continue
            if buf[:2] == b"\r\n":
                del buf[:2]
                continue
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEADER:
                    self.queue.put_nowait(400)
                    buf.clear()
                return
            req = self._parse(bytes(buf[:end]))
            length = 0
            if isinstance(req, Request):
                try:
                    length = int(req.headers.get("content-length", "0"))
                except ValueError:
                    req = 400
                else:
                    if length < 0 or length > MAX_BODY:
                        req, length = 400, 0
            if len(buf) < end + 4 + length:
                return
            if isinstance(req, Request) and length:
                req.body = bytes(buf[end + 4 : end + 4 + length])
            del buf[: end + 4 + length]
            self.queue.put_nowait(req)

    @staticmethod
    def _parse(head: bytes) -> Request | int:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            return 400
        lines = text.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return 400
        method, uri, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                return 400
            headers[name.strip().lower()] = value.strip()
        return Request(method.upper(), uri, version, headers)

    def _on_interleaved(self, channel: int) -> None:
        now = time.monotonic()
        for s in self.sessions:
            if s.rtcp_ch == channel or s.rtp_ch == channel:
                s.last_seen = now

    async def _work(self) -> None:
        while True:
            req = await self.queue.get()
            if self.transport is None or self.blackholed:
                continue
            try:
                if isinstance(req, int):
                    reply = Reply(build_response(req, None), close=True)
                else:
                    reply = await self.server.handle(self, req)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("error handling %s", getattr(req, "method", req))
                reply = Reply(build_response(500, getattr(req, "cseq", None)))
            if self.transport is None:
                return
            if reply.data is not None:
                self.transport.write(reply.data)
            if reply.after is not None:
                reply.after()
            if reply.close and self.transport is not None:
                self.transport.close()

    def reset(self) -> None:
        if self.transport is not None:
            _reset(self.transport)


def parse_transport(value: str) -> dict[str, str] | None:
    """The first transport spec we support, as {'proto': 'tcp'|'udp', param: value}; None if none is."""
    for spec in value.split(","):
        fields = [f.strip() for f in spec.split(";") if f.strip()]
        if not fields:
            continue
        proto = fields[0].upper()
        params = {}
        for f in fields[1:]:
            k, _, v = f.partition("=")
            params[k.lower()] = v.strip('"')
        if "multicast" in params:
            continue
        if proto == "RTP/AVP/TCP":
            params["proto"] = "tcp"
            return params
        if proto in ("RTP/AVP", "RTP/AVP/UDP") and "client_port" in params:
            params["proto"] = "udp"
            return params
    return None


def _port_pair(text: str) -> tuple[int, int] | None:
    a, _, b = text.partition("-")
    try:
        lo = int(a)
        hi = int(b) if b else lo + 1
    except ValueError:
        return None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535):
        return None
    return lo, hi


class _RtcpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: "RtspServer") -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        s = self.server.udp_peers.get((addr[0], addr[1]))
        if s is not None:
            s.last_seen = time.monotonic()


class RtspServer:
    """Serves a FleetConfig. ``await start()`` (after ``await prepare()``), then ``await stop()``."""

    def __init__(self, config: FleetConfig, cache_dir: str | Path | None = None) -> None:
        self.config = config
        self.cache_dir = Path(cache_dir) if cache_dir else (Path(config.cache_dir) if config.cache_dir else None)
        self.cameras: dict[str, CameraState] = {c.id: CameraState(c) for c in config.cameras}
        self.sessions: dict[str, Session] = {}
        self.connections: set[RtspConnection] = set()
        self.udp_peers: dict[tuple[str, int], Session] = {}
        self.channels: dict[ClipSpec, Channel] = {}
        self._loading: dict[ClipSpec, asyncio.Future[Channel]] = {}
        self.epoch = 0.0
        self.listener: asyncio.AbstractServer | None = None
        self.port: int | None = None
        self.udp_rtp: asyncio.DatagramTransport | None = None
        self.udp_rtcp: asyncio.DatagramTransport | None = None
        self.server_ports: tuple[int, int] = (0, 0)
        self._timer: asyncio.Task[None] | None = None
        self._rng = random.SystemRandom()

    @property
    def host(self) -> str:
        b = self.config.bind
        return "127.0.0.1" if b in ("0.0.0.0", "") else ("::1" if b == "::" else b)

    def url(self, camera_id: str, stream: str = "main", credentials: bool = False) -> str:
        cam = self.cameras[camera_id]
        port = cam.port or self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        userinfo = ""
        if credentials and cam.cfg.credentials is not None and cam.cfg.auth != "none":
            from urllib.parse import quote

            c = cam.cfg.credentials
            userinfo = f"{quote(c.username, safe='')}:{quote(c.password.reveal(), safe='')}@"
        return f"rtsp://{userinfo}{host}:{port}/cam/{camera_id}/{stream}"

    # --- clips and channels ---
    def clip_specs(self) -> list[ClipSpec]:
        """Distinct clips the fleet needs right now (one per stream spec/scene/fault/OSD text)."""
        specs: dict[ClipSpec, None] = {}
        for cam in self.cameras.values():
            for stream in STREAMS:
                specs[clip_spec(cam.cfg, stream, cam.fault)] = None
        return list(specs)

    def _load(self, spec: ClipSpec) -> PacketizedClip:
        return PacketizedClip.build(load_clip(spec, self.cache_dir))

    async def channel(self, spec: ClipSpec) -> Channel:
        ch = self.channels.get(spec)
        if ch is not None:
            return ch
        fut = self._loading.get(spec)
        if fut is None:
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            self._loading[spec] = fut
            try:
                pclip = await asyncio.to_thread(self._load, spec)
            except BaseException as exc:
                del self._loading[spec]
                fut.set_exception(exc)
                fut.exception()  # mark retrieved: the caller sees it via raise
                raise
            ch = Channel(pclip, self.epoch)
            self.channels[spec] = ch
            del self._loading[spec]
            fut.set_result(ch)
            return ch
        return await fut

    async def prepare(self, progress: Callable[[int, int, ClipSpec], None] | None = None) -> None:
        """Load (encoding on first use) every clip the fleet shows; ``progress(done, total, spec)``."""
        if not self.epoch:
            self.epoch = asyncio.get_running_loop().time()
        specs = self.clip_specs()
        for i, spec in enumerate(specs):
            if progress:
                progress(i, len(specs), spec)
            await self.channel(spec)
        if progress:
            progress(len(specs), len(specs), specs[-1])
        for cam in self.cameras.values():
            for stream in STREAMS:
                cam.channels[stream] = self.channels[clip_spec(cam.cfg, stream, cam.fault)]

    # --- lifecycle ---
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if not all(len(c.channels) == len(STREAMS) for c in self.cameras.values()):
            await self.prepare()
        self.listener = await loop.create_server(
            lambda: RtspConnection(self), self.config.bind, self.config.port, backlog=4096, reuse_address=True
        )
        self.port = self.listener.sockets[0].getsockname()[1]
        await self._open_udp()
        for cam in self.cameras.values():
            if cam.cfg.port is not None:
                await self._open_own(cam)  # also when offline: fixes the port number, then closes it
                if cam.fault.fault == "offline" and cam.listener is not None:
                    cam.listener.close()
                    cam.listener = None
        self._timer = loop.create_task(self._housekeeping(), name="sim-housekeeping")
        log.info("RTSP simulator on %s:%d (%d cameras)", self.host, self.port, len(self.cameras))

    async def _open_own(self, cam: CameraState) -> None:
        loop = asyncio.get_running_loop()
        port = cam.port or cam.cfg.port or 0
        cam.listener = await loop.create_server(
            lambda: RtspConnection(self, cam), self.config.bind, port, backlog=256, reuse_address=True
        )
        cam.port = cam.listener.sockets[0].getsockname()[1]

    async def _open_udp(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(50):
            base = self._rng.randrange(20000, 60000, 2)
            try:
                rtp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(self.config.bind, base))
            except OSError:
                continue
            try:
                rtcp, _ = await loop.create_datagram_endpoint(lambda: _RtcpProtocol(self), local_addr=(self.config.bind, base + 1))
            except OSError:
                rtp.close()
                continue
            self.udp_rtp, self.udp_rtcp, self.server_ports = rtp, rtcp, (base, base + 1)
            return
        raise OSError("no free UDP port pair for RTP/RTCP")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for lst in [self.listener] + [c.listener for c in self.cameras.values()]:
            if lst is not None:
                lst.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        for s in list(self.sessions.values()):
            s.close()
        for ch in self.channels.values():
            ch.stop()
        for t in (self.udp_rtp, self.udp_rtcp):
            if t is not None:
                t.close()
        await asyncio.sleep(0)

    async def _housekeeping(self) -> None:
        """Once a second: RTCP sender reports that are due, and expiry of vanished clients' sessions."""
        loop = asyncio.get_running_loop()
        timeout = self.config.session_timeout_s
        while True:
            await asyncio.sleep(1.0 if timeout > 2 else 0.25)
            now = loop.time()
            mono = time.monotonic()
            for s in list(self.sessions.values()):
                if not s.tcp and mono - s.last_seen > timeout:
                    log.info("session %s of %s expired", s.id, s.camera.cfg.id)
                    s.close()
                    continue
                if s.tcp and s.blocked_since is not None and mono - s.blocked_since > timeout and s.conn is not None:
                    s.conn.reset()  # a TCP client that stopped reading for the whole timeout is gone
                    continue
                if s.playing and s.packets and now >= s.next_sr and s.camera.delivering:
                    s.next_sr = now + SR_INTERVAL_S
                    if s.stall_at is not None and now >= s.stall_at:
                        continue
                    self._send_rtcp(s, s.sender_report(now))

    def _send_rtcp(self, s: Session, pkt: bytes) -> None:
        if s.tcp:
            if s.conn is not None and s.conn.transport is not None and not s.conn.transport.is_closing():
                s.conn.transport.write(bytes((0x24, s.rtcp_ch)) + struct.pack(">H", len(pkt)) + pkt)
        elif self.udp_rtcp is not None and s.client_rtcp is not None:
            self.udp_rtcp.sendto(pkt, s.client_rtcp)

    # --- faults at run time ---
    async def set_fault(self, camera_id: str, fault: FaultSpec) -> None:
        cam = self.cameras[camera_id]
        loop = asyncio.get_running_loop()
        new_channels = {s: await self.channel(clip_spec(cam.cfg, s, fault)) for s in STREAMS}
        old = cam.fault
        cam.fault = fault
        now = loop.time()
        for stream, ch in new_channels.items():
            if cam.channels.get(stream) is not ch:
                cam.channels[stream] = ch
                cam.sdp_version += 1
                for s in cam.sessions:
                    if s.stream == stream:
                        s.switch_to(ch, now)
        if fault.fault == "stall_after":
            for s in cam.sessions:
                if s.playing:
                    s.stall_at = now + fault.after_s
        else:
            for s in cam.sessions:
                s.stall_at = None
        if fault.fault == "offline":
            for conn in list(cam.connections):
                conn.reset()
            for s in list(cam.sessions):
                s.close()
            if cam.listener is not None:
                cam.listener.close()
                cam.listener = None
        elif old.fault == "offline" and cam.cfg.port is not None and cam.listener is None:
            await self._open_own(cam)
        log.info("camera %s: fault %s", camera_id, fault.fault)

    # --- requests ---
    async def handle(self, conn: RtspConnection, req: Request) -> Reply:
        cseq = req.cseq
        if cseq is None:
            return Reply(build_response(400, None))
        if req.version != "RTSP/1.0":
            return Reply(build_response(505, cseq))
        if req.method == "OPTIONS" and req.uri == "*":
            return Reply(build_response(200, cseq, [("Public", PUBLIC)]))
        target = parse_path(req.uri)
        cam = self.cameras.get(target[0]) if target else None
        if conn.own_camera is not None and cam is not conn.own_camera:
            cam = None
        if cam is None or target is None:
            return Reply(build_response(404, cseq))
        cam.connections.add(conn)
        conn.cameras.add(cam)
        fault = cam.fault
        if fault.fault == "offline":
            conn.reset()
            return Reply(None)
        if fault.fault == "blackhole":
            conn.blackholed = True
            return Reply(None)
        if fault.fault == "garbage":
            return Reply(garbage_response(cseq))
        if fault.fault == "slow" and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
            if cam.fault.fault in ("offline", "blackhole"):
                return await self.handle(conn, req)
        _, stream, track = target
        if fault.fault == "not_found" or (fault.fault == "sub_down" and stream == "sub"):
            return Reply(build_response(404, cseq))
        if req.method != "OPTIONS":
            denied = self._authorize(cam, req)
            if denied is not None:
                return Reply(denied)
        method = getattr(self, f"_do_{req.method.lower()}", None)
        if method is None:
            if req.method in ("ANNOUNCE", "RECORD", "REDIRECT"):
                return Reply(build_response(405, cseq, [("Allow", PUBLIC)]))
            return Reply(build_response(501, cseq, [("Public", PUBLIC)]))
        return method(conn, req, cam, stream, track)

    def _authorize(self, cam: CameraState, req: Request) -> bytes | None:
        cred = cam.cfg.credentials
        if cred is None or cred.auth == "none":
            return None
        result = "fail"
        if cam.fault.fault != "auth_fail":
            result = auth.check(req.headers.get("authorization"), cred.auth, cam.realm, cred.username, cred.password, req.method)
        if result == "ok":
            return None
        return build_response(401, req.cseq, [("WWW-Authenticate", auth.challenge(cred.auth, cam.realm, stale=result == "stale"))])

    def _session_of(self, req: Request, conn: RtspConnection) -> Session | None:
        raw = req.headers.get("session")
        if not raw:
            return None
        s = self.sessions.get(raw.split(";", 1)[0].strip())
        if s is not None:
            s.last_seen = time.monotonic()
            if s.conn is None and not s.tcp:
                s.conn = conn  # a UDP session may be controlled from a new connection
                conn.sessions.add(s)
        return s

    def _session_header(self, s: Session) -> tuple[str, str]:
        return ("Session", f"{s.id};timeout={int(self.config.session_timeout_s)}")

    def _do_options(self, conn, req, cam, stream, track) -> Reply:
        s = self._session_of(req, conn)
        headers = [("Public", PUBLIC)]
        if s is not None:
            headers.append(self._session_header(s))
        return Reply(build_response(200, req.cseq, headers))

    def _do_get_parameter(self, conn, req, cam, stream, track) -> Reply:
        if req.headers.get("session"):
            s = self._session_of(req, conn)
            if s is None:
                return Reply(build_response(454, req.cseq))
            return Reply(build_response(200, req.cseq, [self._session_header(s)]))
        return Reply(build_response(200, req.cseq))

    _do_set_parameter = _do_get_parameter

    def _sdp(self, conn: RtspConnection, cam: CameraState, stream: str) -> bytes:
        ch = cam.channels[stream]
        clip = ch.pclip.clip
        spec = cam.cfg.stream(stream)
        local = "127.0.0.1"
        if conn.transport is not None:
            sock = conn.transport.get_extra_info("sockname")
            if sock:
                local = sock[0]
        ipver = "IP6" if ":" in local else "IP4"
        fps = f"{spec.fps:g}"
        lines = [
            "v=0",
            f"o=- {abs(hash(cam.cfg.id)) % 10**10} {cam.sdp_version} IN {ipver} {local}",
            f"s={cam.cfg.name} {stream}",
            f"c=IN {ipver} {'0.0.0.0' if ipver == 'IP4' else '::'}",
            "t=0 0",
            "a=tool:camcheck-sim",
            "a=range:npt=now-",
            "a=control:*",
            f"m=video 0 RTP/AVP {PAYLOAD_TYPE}",
            f"b=AS:{spec.bitrate_kbps}",
            f"a=rtpmap:{PAYLOAD_TYPE} {clip.rtpmap}",
            f"a=fmtp:{clip.sdp_fmtp(PAYLOAD_TYPE)}",
            f"a=framerate:{fps}",
            "a=recvonly",
            f"a=control:{TRACK}",
        ]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def _do_describe(self, conn, req, cam, stream, track) -> Reply:
        accept = req.headers.get("accept")
        if accept and "application/sdp" not in accept and "*/*" not in accept:
            return Reply(build_response(406, req.cseq))
        body = self._sdp(conn, cam, stream)
        base = _base_uri(req.uri, cam.cfg.id, stream) + "/"
        headers = [("Content-Base", base), ("Content-Type", "application/sdp")]
        return Reply(build_response(200, req.cseq, headers, body))

    def _do_setup(self, conn, req, cam, stream, track) -> Reply:
        cseq = req.cseq
        raw = req.headers.get("transport")
        spec = parse_transport(raw) if raw else None
        if spec is None:
            return Reply(build_response(461, cseq))
        existing = None
        if req.headers.get("session"):
            existing = self._session_of(req, conn)
            if existing is None:
                return Reply(build_response(454, cseq))
            if existing.camera is not cam or existing.stream != stream:
                return Reply(build_response(459, cseq))
            if existing.playing:
                return Reply(build_response(455, cseq, [("Allow", "PLAY, PAUSE, TEARDOWN, GET_PARAMETER")]))
        elif len(cam.sessions) >= cam.session_limit:
            code = cam.fault.status if cam.fault.fault == "session_limit" else 453
            return Reply(build_response(code, cseq))
        s = existing or Session(self, f"{self._rng.getrandbits(64):016X}", cam, stream, conn)
        if spec["proto"] == "tcp":
            want = _port_pair(spec.get("interleaved", "")) if spec.get("interleaved") else None
            used = {x.rtp_ch for x in conn.sessions if x is not s and x.tcp} | {x.rtcp_ch for x in conn.sessions if x is not s and x.tcp}
            if want is None or want[0] > 254 or want[0] in used or want[1] in used or want[1] > 255:
                free = next(c for c in range(0, 254, 2) if c not in used and c + 1 not in used)
                want = (free, free + 1)
            s.tcp, s.rtp_ch, s.rtcp_ch = True, want[0], want[1]
            s.client_rtp = s.client_rtcp = None
            transport = f"RTP/AVP/TCP;unicast;interleaved={want[0]}-{want[1]};ssrc={s.ssrc:08X};mode=\"PLAY\""
        else:
            ports = _port_pair(spec["client_port"])
            if ports is None or ports[0] == 0:
                return Reply(build_response(461, cseq))
            if s.client_rtcp is not None:
                self.udp_peers.pop(s.client_rtcp, None)
            s.tcp = False
            s.client_rtp, s.client_rtcp = (conn.peer_ip, ports[0]), (conn.peer_ip, ports[1])
            self.udp_peers[s.client_rtcp] = s
            sp = self.server_ports
            transport = (
                f"RTP/AVP;unicast;client_port={ports[0]}-{ports[1]};server_port={sp[0]}-{sp[1]};ssrc={s.ssrc:08X};mode=\"PLAY\""
            )
        if existing is None:
            self.sessions[s.id] = s
            cam.sessions.add(s)
            conn.sessions.add(s)
        return Reply(build_response(200, cseq, [("Transport", transport), self._session_header(s)]))

    def _play_session(self, req: Request, conn: RtspConnection, cam: CameraState, stream: str) -> Session | bytes:
        if not req.headers.get("session"):
            return build_response(454, req.cseq)
        s = self._session_of(req, conn)
        if s is None:
            return build_response(454, req.cseq)
        if s.camera is not cam or s.stream != stream:
            return build_response(459, req.cseq)
        return s

    def _do_play(self, conn, req, cam, stream, track) -> Reply:
        s = self._play_session(req, conn, cam, stream)
        if isinstance(s, bytes):
            return Reply(s)
        if s.playing:
            return Reply(build_response(200, req.cseq, [("Range", "npt=now-"), self._session_header(s)]))
        now = asyncio.get_running_loop().time()
        seq, rtptime = s.start(now)
        url = _base_uri(req.uri, cam.cfg.id, stream) + "/" + TRACK
        headers = [
            ("Range", "npt=0.000-"),
            self._session_header(s),
            ("RTP-Info", f"url={url};seq={seq};rtptime={rtptime}"),
        ]
        return Reply(build_response(200, req.cseq, headers), after=s.begin)

    def _do_pause(self, conn, req, cam, stream, track) -> Reply:
        s = self._play_session(req, conn, cam, stream)
        if isinstance(s, bytes):
            return Reply(s)
        s.pause()
        return Reply(build_response(200, req.cseq, [self._session_header(s)]))

    def _do_teardown(self, conn, req, cam, stream, track) -> Reply:
        s = self._play_session(req, conn, cam, stream)
        if isinstance(s, bytes):
            return Reply(s)
        s.close()
        return Reply(build_response(200, req.cseq))

    # --- figures for the control endpoint and the benchmark ---
    def stats(self) -> dict[str, object]:
        ss = list(self.sessions.values())
        return {
            "sessions": len(ss),
            "playing": sum(1 for s in ss if s.playing),
            "connections": len(self.connections),
            "frames_sent": sum(s.frames for s in ss),
            "frames_dropped_slow_client": sum(s.dropped for s in ss),
            "packets_lost_udp": sum(s.lost for s in ss),
            "channels_live": sum(1 for c in self.channels.values() if c.task is not None),
            "channel_late_ticks": sum(c.late_ticks for c in self.channels.values()),
            "channel_skipped_frames": sum(c.skipped_frames for c in self.channels.values()),
        }

    def camera_info(self, camera_id: str) -> dict[str, object]:
        cam = self.cameras[camera_id]
        from camcheck.secrets import mask_url

        return {
            "id": cam.cfg.id,
            "name": cam.cfg.name,
            "fault": cam.fault.model_dump(),
            "sessions": len(cam.sessions),
            "max_sessions": cam.cfg.max_sessions,
            "auth": cam.cfg.auth,
            "port": cam.port or self.port,
            "urls": {s: mask_url(self.url(camera_id, s, credentials=True)) for s in STREAMS},
            "streams": {s: cam.cfg.stream(s).model_dump() for s in STREAMS},
            "clock_drift_s": cam.cfg.clock_drift_s,
        }

