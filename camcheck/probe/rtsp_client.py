"""A small asyncio RTSP/1.0 client (RFC 2326), just enough to prove a camera streams.

DESCRIBE, SETUP (RTP over the RTSP TCP connection, or over UDP with RTCP ports), PLAY, TEARDOWN
(and OPTIONS), over plain TCP (rtsp://) or TLS (rtsps://, RTP interleaved inside the TLS
connection; SRTP over UDP is not supported). Basic and Digest authentication (MD5, MD5-sess,
SHA-256; qop=auth and the legacy RFC 2069 form). Redirects are reported, never followed. Replies are size-limited. Interleaved
RTP is handed to a sink straight from the receive buffer (a memoryview slice, valid only during
the call), so reading a stream allocates nothing per packet.

Nothing here enforces time: the caller bounds every await with one deadline. Camera faults are
raised as `ProbeFailure(failure, message)` with a failure name from `observation.FAILURES` and a
message that never contains a password (URLs are masked).
"""

from __future__ import annotations

import asyncio
import base64
import errno
import functools
import hashlib
import ipaddress
import logging
import os
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from camcheck.secrets import Secret, mask_text, mask_url

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024  # a reply's start line + headers
MAX_BODY_BYTES = 512 * 1024  # an SDP is a few KB
BODY_IDLE_S = 1.0  # a reply body that gets no byte for this long after its headers is broken
READ_BUFFER_BYTES = 256 * 1024  # the connection's read buffer (one recv_into takes at most what is free in it)
READ_MIN_FREE = 64 * 1024  # room kept for each read: at least one whole interleaved packet
SCHEMES = ("rtsp", "rtsps")  # the URLs this client reads
DEFAULT_PORT = 554
DEFAULT_TLS_PORT = 322  # rtsps (RFC 2326 section 19.2 leaves it open; 322 is IANA's rtsps)
TLS_RECORD_TYPES = (0x15, 0x16)  # alert, handshake: what a TLS-only port sends back to plain text

# Sink for RTP/RTCP: (packet, loop time of arrival). The packet view is valid only during the call.
PacketSink = Callable[[memoryview | bytes, float], None]
# A sink that takes a whole run of interleaved packets of its channel at once (see
# RtpCollector.feed_interleaved): (buffer, its memoryview, start, end, channel, arrival) -> where it stopped.
RunSink = Callable[[bytearray, memoryview, int, int, int, float], int]


class ProbeFailure(Exception):
    """A camera fault: ``failure`` is one of observation.FAILURES."""

    def __init__(self, failure: str, message: str) -> None:
        super().__init__(mask_text(message))
        self.failure = failure
        self.message = mask_text(message)


@dataclass
class RtspResponse:
    status: int
    reason: str
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-case names
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass
class SetupResult:
    session: str
    transport: str
    rtp_channel: int | None = None  # TCP interleaved
    rtcp_channel: int | None = None
    server_ports: tuple[int, int] | None = None  # UDP


# ---- status codes -> failures ------------------------------------------------------------------------

# 453 Not Enough Bandwidth and 503 Service Unavailable are what cameras answer when every
# streaming session is taken (Hikvision/Dahua/Axis families); both are read as session_limit.
SESSION_LIMIT_STATUSES = frozenset({453, 503})


def failure_for_status(status: int) -> str:
    if status in (401, 403):
        return "auth_failed"
    if status == 404:
        return "not_found"
    if status in SESSION_LIMIT_STATUSES:
        return "session_limit"
    return "rtsp_error"


def status_failure(method: str, url: str, resp: RtspResponse) -> ProbeFailure:
    what = f"{method} {mask_url(url)} answered {resp.status} {resp.reason}".rstrip()
    failure = failure_for_status(resp.status)
    if 300 <= resp.status < 400:
        loc = resp.header("location")
        msg = f"{what}: the camera redirects" + (f" to {mask_url(loc)}" if loc else "") + \
            "; redirects are not followed, register the final URL"
    elif failure == "not_found":
        msg = f"{what}: no such stream on this camera (check the path)"
    elif failure == "session_limit":
        msg = f"{what}: the camera refuses another stream (all its sessions are probably in use)"
    elif resp.status == 403:
        msg = f"{what}: the user has no right to this stream"
    elif resp.status == 461:
        msg = f"{what}: the camera does not support this transport; try the other one (--transport)"
    else:
        msg = what
    return ProbeFailure(failure, msg)


# ---- authentication --------------------------------------------------------------------------------

_AUTH_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_DIGEST_HASHES = {"MD5": hashlib.md5, "MD5-SESS": hashlib.md5, "SHA-256": hashlib.sha256, "SHA-256-SESS": hashlib.sha256}


@dataclass
class Challenge:
    scheme: str  # "digest" | "basic"
    params: dict[str, str]


def parse_challenges(values: list[str]) -> list[Challenge]:
    out: list[Challenge] = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        params = {m[1].lower(): (m[2] if m[2] is not None else m[3]) for m in _AUTH_PARAM.finditer(rest)}
        params = {k: v.replace('\\"', '"') for k, v in params.items()}
        out.append(Challenge(scheme.lower(), params))
    return out


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Authenticator:
    """Builds Authorization headers for one challenge. The password never leaves this object."""

    def __init__(self, challenge: Challenge, username: str, password: Secret) -> None:
        self.challenge = challenge
        self.username = username
        self._password = password
        self._nc = 0
        self._cnonce = os.urandom(8).hex()
        algo = challenge.params.get("algorithm", "MD5").upper()
        self._hash = _DIGEST_HASHES.get(algo)
        self.algorithm = algo

    @property
    def supported(self) -> bool:
        return self.challenge.scheme == "basic" or (self.challenge.scheme == "digest" and self._hash is not None)

    def header(self, method: str, uri: str) -> str:
        if self.challenge.scheme == "basic":
            token = base64.b64encode(f"{self.username}:{self._password.reveal()}".encode()).decode()
            return f"Basic {token}"
        p = self.challenge.params
        h = self._hash
        assert h is not None

        def H(s: str) -> str:
            return h(s.encode("utf-8")).hexdigest()

        realm, nonce = p.get("realm", ""), p.get("nonce", "")
        ha1 = H(f"{self.username}:{realm}:{self._password.reveal()}")
        if self.algorithm.endswith("-SESS"):
            ha1 = H(f"{ha1}:{nonce}:{self._cnonce}")
        ha2 = H(f"{method}:{uri}")
        qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
        parts = [f"username={_quote(self.username)}", f"realm={_quote(realm)}", f"nonce={_quote(nonce)}",
                 f"uri={_quote(uri)}"]
        if "auth" in qops:
            self._nc += 1
            nc = f"{self._nc:08x}"
            response = H(f"{ha1}:{nonce}:{nc}:{self._cnonce}:auth:{ha2}")
            parts += [f"response={_quote(response)}", "qop=auth", f"nc={nc}", f"cnonce={_quote(self._cnonce)}"]
        else:
            response = H(f"{ha1}:{nonce}:{ha2}")
            parts.append(f"response={_quote(response)}")
        if "algorithm" in p:
            parts.append(f"algorithm={p['algorithm']}")
        if "opaque" in p:
            parts.append(f"opaque={_quote(p['opaque'])}")
        return "Digest " + ", ".join(parts)


def choose_challenge(challenges: list[Challenge]) -> Challenge | None:
    """Digest (strongest supported hash) before Basic."""
    digests = [c for c in challenges if c.scheme == "digest"
               and c.params.get("algorithm", "MD5").upper() in _DIGEST_HASHES]
    digests.sort(key=lambda c: 0 if c.params.get("algorithm", "MD5").upper().startswith("SHA-256") else 1)
    if digests:
        return digests[0]
    for c in challenges:
        if c.scheme == "basic":
            return c
    return None


# ---- the connection --------------------------------------------------------------------------------


class _RtspConnection:
    """One RTSP TCP connection on a non-blocking socket: splits the byte stream into RTSP messages
    and '$'-framed interleaved packets.

    The socket is read straight into one buffer (``recv_into``): a batch of a video stream is
    hundreds of KB, and a fresh bytes object per read plus a copy into the parse buffer cost more
    than parsing the packets (page faults on every new allocation).

    A plain socket rather than an asyncio transport, for the streaming phase: in batch mode (see
    ``RtspClient.batch_reads``) one timer callback drains the socket and parses what the kernel
    queued. A paused transport would need a resume (a selector change), another loop iteration for
    the readiness event, then a pause (another selector change) per batch; on a small VM each loop
    iteration after a sleep costs more than parsing the batch's packets."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        self.tls = isinstance(sock, ssl.SSLSocket)
        self.buf = bytearray(READ_BUFFER_BYTES)
        self.pos = 0  # parsed up to here
        self.end = 0  # bytes read up to here
        self.waiter: asyncio.Future[RtspResponse] | None = None
        self.channels: dict[int, PacketSink] = {}
        self.runs: dict[int, RunSink] = {}  # channels whose sink takes runs of packets (the video's RTP)
        self.closed = False
        self.on_close: Callable[[], None] | None = None
        self.error: ProbeFailure | None = None
        self.received = 0
        self.batch_interval = 0.0  # > 0: read the socket at most this often (see RtspClient.batch_reads)
        self.batch_sizer: Callable[[], float] | None = None  # asked for the interval at each batch
        self._body_missing = 0
        self._body_timer: asyncio.TimerHandle | None = None
        self._batch_timer: asyncio.TimerHandle | None = None
        self._reading = False
        self._out = bytearray()  # what the kernel did not take yet (a full send buffer: rare)
        self._start_reading()

    # ---- socket plumbing ----

    def _start_reading(self) -> None:
        if not self._reading and not self.closed:
            self.loop.add_reader(self.fd, self._read_ready)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            self.loop.remove_reader(self.fd)
            self._reading = False

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self._out:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                sent = 0
            except OSError as exc:
                self._lost(exc)
                return
            data = data[sent:]
            if not data:
                return
            self.loop.add_writer(self.fd, self._write_ready)
        self._out += data

    def _write_ready(self) -> None:
        try:
            sent = self.sock.send(self._out)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as exc:
            self._lost(exc)
            return
        del self._out[:sent]
        if not self._out:
            self.loop.remove_writer(self.fd)

    def _read_ready(self) -> None:
        """Take what the kernel holds (until a read leaves room in the buffer: then it is empty;
        over TLS until the TLS layer wants more, as it may hold decrypted bytes the kernel does not)."""
        while not self.closed:
            if len(self.buf) - self.end < READ_MIN_FREE:
                self._make_room()
            offered = len(self.buf) - self.end
            view = memoryview(self.buf)[self.end :]
            try:
                nbytes = self.sock.recv_into(view)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self._lost(None)  # the camera closed its TLS session
                return
            except OSError as exc:
                self._lost(exc)
                return
            finally:
                view.release()
            if nbytes == 0:
                self._lost(None)
                return
            self._buffer_updated(nbytes)
            if nbytes < offered and not self.tls:
                return

    def _batch_tick(self) -> None:
        self._batch_timer = None
        if self.closed or self.batch_interval <= 0:
            return
        self._read_ready()
        if not self.closed and self.batch_interval > 0:
            if self.batch_sizer is not None:
                self.batch_interval = self.batch_sizer()
            self._batch_timer = self.loop.call_later(self.batch_interval, self._batch_tick)

    def set_batching(self, interval: float, sizer: Callable[[], float] | None) -> None:
        """Read every ``interval`` s from a timer (the kernel queues packets meanwhile: one loop
        wake-up per batch instead of one per packet; only TCP: the sender just waits if the window
        fills), or, with 0, as soon as data arrives."""
        self.batch_interval = interval
        self.batch_sizer = sizer if interval > 0 else None
        if self.closed:
            return
        if interval > 0:
            self._stop_reading()
            if self._batch_timer is None:
                self._batch_timer = self.loop.call_later(interval, self._batch_tick)
        else:
            if self._batch_timer is not None:
                self._batch_timer.cancel()
                self._batch_timer = None
            self._start_reading()

    def _lost(self, exc: Exception | None) -> None:
        """The camera closed or reset the connection (or it broke)."""
        if self.closed:
            return
        # TLS servers answer plain text by resetting (GnuTLS) or closing (OpenSSL) before a byte.
        hint = "" if self.tls or self.received else " (a camera that serves only rtsps:// does this to plain RTSP)"
        if isinstance(exc, ConnectionResetError) and not self.received:
            # A reset before any byte is how a closed service behind a listening socket (or a
            # rejecting firewall) says no: the same fault as a refused connection.
            self._fail(ProbeFailure("refused", f"the camera reset the connection before answering{hint}"))
        else:
            self._fail(ProbeFailure("protocol_error", f"the camera closed the connection without an RTSP reply{hint}"))
        self.close()
        if self.on_close:
            self.on_close()

    def close(self) -> None:
        """Close the socket (ours: no on_close call). Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._stop_reading()
        if self._out:
            self.loop.remove_writer(self.fd)
            self._out.clear()
        for timer in (self._batch_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._batch_timer = self._body_timer = None
        self.channels.clear()
        self.runs.clear()
        self.sock.close()
        self._fail(ProbeFailure("protocol_error", "the camera closed the connection without an RTSP reply"))

    def _fail(self, failure: ProbeFailure) -> None:
        if self.error is None:
            self.error = failure
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(failure)

    def _make_room(self) -> None:
        pending = self.end - self.pos
        size = len(self.buf)
        while size - pending < READ_MIN_FREE:  # a message larger than the buffer is arriving
            size *= 2
        # A new buffer when growing, else the unparsed tail moves to the front.
        buf = bytearray(size) if size != len(self.buf) else self.buf
        buf[:pending] = self.buf[self.pos : self.end]
        self.buf, self.pos, self.end = buf, 0, pending

    def _buffer_updated(self, nbytes: int) -> None:
        if self.error is not None:
            self.pos = self.end = 0
            return  # the stream is already judged broken and is being closed
        self.end += nbytes
        self.received += nbytes
        try:
            self._parse(self.loop.time())
        except ProbeFailure as f:
            self._fail(f)
            self.close()
        if self.pos == self.end:
            self.pos = self.end = 0

    def _watch_body(self, missing: int) -> None:
        # Headers are in, the body is not: a body that stops arriving is a broken reply (firmware
        # that announces more than it sends), not a slow camera; say so instead of waiting it out.
        self._body_missing = missing
        if self._body_timer is None:
            self._body_timer = self.loop.call_later(BODY_IDLE_S, self._body_idle, self.received)

    def _body_idle(self, received_then: int) -> None:
        self._body_timer = None
        if not self._body_missing or self.closed:
            return
        if self.received != received_then:
            self._body_timer = self.loop.call_later(BODY_IDLE_S, self._body_idle, self.received)
            return
        self._fail(ProbeFailure("protocol_error", f"the camera's reply stopped {self._body_missing} bytes short "
                                                  "of its Content-Length"))
        self.close()

    def _parse(self, now: float) -> None:
        buf = self.buf
        n = self.end
        pos = self.pos
        with memoryview(buf) as mv:
            try:
                while pos < n:
                    c = buf[pos]
                    if c == 0x24:  # '$' channel, length16, packet
                        if n - pos < 4:
                            break
                        size = (buf[pos + 2] << 8) | buf[pos + 3]
                        if n - pos < 4 + size:
                            break
                        run = self.runs.get(buf[pos + 1])
                        if run is not None:
                            pos = run(buf, mv, pos, n, buf[pos + 1], now)
                            continue
                        sink = self.channels.get(buf[pos + 1])
                        if sink is not None:
                            view = mv[pos + 4 : pos + 4 + size]
                            sink(view, now)
                            view.release()
                        pos += 4 + size
                        continue
                    if c in (0x0D, 0x0A):  # stray line ends between messages
                        pos += 1
                        continue
                    used = self._message(buf, pos, n)
                    if used == 0:
                        break
                    pos += used
            finally:
                self.pos = pos

    def _message(self, buf: bytearray, pos: int, n: int) -> int:
        """Parse one RTSP message at ``pos``; return bytes used, 0 if incomplete."""
        head = bytes(buf[pos : min(n, pos + 5)])
        if not self.tls and len(head) >= 2 and head[0] in TLS_RECORD_TYPES and head[1] == 0x03:
            raise ProbeFailure("protocol_error", "the camera answered in TLS: it serves rtsps://, not rtsp://")
        if not (head.startswith(b"RTSP/"[: len(head)]) or re.match(rb"[A-Z_]{1,5}$", head)):
            raise ProbeFailure("protocol_error", f"the camera answered something that is not RTSP ({_preview(head)})")
        eol = buf.find(b"\n", pos, min(n, pos + MAX_HEADER_BYTES))
        if eol >= 0:
            first = bytes(buf[pos:eol]).rstrip(b"\r")
            if not (first.startswith(b"RTSP/") or first.endswith(b" RTSP/1.0")):
                raise ProbeFailure("protocol_error",
                                   f"the camera answered something that is not RTSP ({_preview(first)})")
        end = buf.find(b"\r\n\r\n", pos, min(n, pos + MAX_HEADER_BYTES + 4))
        sep = 4
        lf = buf.find(b"\n\n", pos, min(n, pos + MAX_HEADER_BYTES + 2))
        if lf >= 0 and (end < 0 or lf < end):
            end, sep = lf, 2
        if end < 0:
            if n - pos > MAX_HEADER_BYTES:
                raise ProbeFailure("protocol_error", "the camera's reply headers exceed 64 KiB")
            return 0
        text = bytes(buf[pos:end]).decode("latin-1")
        lines = text.replace("\r\n", "\n").split("\n")
        start = lines[0]
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                continue
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        try:
            length = int(headers.get("content-length", ["0"])[0] or 0)
        except ValueError:
            raise ProbeFailure("protocol_error", "the camera sent an invalid Content-Length") from None
        if length < 0 or length > MAX_BODY_BYTES:
            raise ProbeFailure("protocol_error", f"the camera's reply body is too large ({length} bytes)")
        body_start = end + sep
        if n - body_start < length:
            self._watch_body(length - (n - body_start))
            return 0
        self._body_missing = 0
        body = bytes(buf[body_start : body_start + length])
        used = body_start + length - pos
        if start.startswith("RTSP/"):
            parts = start.split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit() or len(parts[1]) != 3:
                raise ProbeFailure("protocol_error", f"malformed RTSP status line ({_preview(start.encode())})")
            resp = RtspResponse(int(parts[1]), parts[2].strip() if len(parts) > 2 else "", headers, body)
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(resp)
            return used
        if start.rstrip().endswith("RTSP/1.0"):
            # A request from the camera (e.g. GET_PARAMETER keep-alive, ANNOUNCE): not needed, ignored.
            return used
        raise ProbeFailure("protocol_error", f"the camera answered something that is not RTSP ({_preview(start.encode())})")


def _preview(data: bytes) -> str:
    text = data[:40].decode("latin-1")
    return repr(mask_text("".join(ch if ch.isprintable() else "?" for ch in text)))


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, source_ip: str, sink: PacketSink | None) -> None:
        self.loop = loop
        self.source_ip = source_ip
        self.sink = sink

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        # Only the camera may feed the probe: drop anything from another address.
        if addr[0] == self.source_ip and self.sink is not None:
            self.sink(data, self.loop.time())


def _connect_failure(host: str, port: int, exc: OSError) -> ProbeFailure:
    where = f"{host}:{port}"
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return ProbeFailure("refused", f"connection to {where} refused (nothing listens on that port)")
    if exc.errno in (errno.ETIMEDOUT,):
        return ProbeFailure("timeout_connect", f"connection to {where} timed out")
    reason = exc.strerror or type(exc).__name__
    return ProbeFailure("unreachable", f"{where} is unreachable ({reason})")


async def _open_socket(loop: asyncio.AbstractEventLoop, family: int, ip: str, port: int) -> socket.socket:
    """A connected non-blocking TCP socket (closed again if connecting fails or is cancelled)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # requests are small and awaited
        await loop.sock_connect(sock, (ip, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def _fd_ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool) -> None:
    fut: asyncio.Future[None] = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)
    add(fd, lambda: fut.done() or fut.set_result(None))
    try:
        await fut
    finally:
        remove(fd)


async def _tls_handshake(loop: asyncio.AbstractEventLoop, sock: socket.socket, ctx: ssl.SSLContext,
                         host: str, where: str) -> ssl.SSLSocket:
    """`sock` wrapped in TLS, handshake done (the caller's deadline bounds it; the socket is closed
    if it fails or is cancelled)."""
    try:
        tls = ctx.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    except BaseException:
        sock.close()
        raise
    try:
        while True:
            try:
                tls.do_handshake()
                return tls
            except ssl.SSLWantReadError:
                await _fd_ready(loop, tls.fileno(), write=False)
            except ssl.SSLWantWriteError:
                await _fd_ready(loop, tls.fileno(), write=True)
    except ssl.SSLCertVerificationError as exc:
        tls.close()
        raise ProbeFailure("protocol_error", f"TLS: the certificate of {where} was rejected ({exc.verify_message}); "
                                             "trust its CA, or check without verification") from None
    except (ssl.SSLError, ConnectionError) as exc:
        tls.close()
        why = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise ProbeFailure("protocol_error", f"TLS handshake with {where} failed ({why}): does it serve rtsps "
                                             "on this port?") from None
    except BaseException:
        tls.close()
        raise


def is_tls_url(url: str) -> bool:
    return url[:6].lower() == "rtsps:"


@functools.lru_cache(maxsize=8)  # loading the system's CAs costs milliseconds; a context serves many checks
def tls_context(verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """The TLS settings of an rtsps check: cameras mostly carry self-signed certificates, so
    verification is a choice (with the system's CAs, or `ca_file`, the fleet's own CA)."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@functools.cache
def _rmem_max() -> int:
    """The largest receive buffer a process may set (Linux net.core.rmem_max; its default elsewhere)."""
    try:
        with open("/proc/sys/net/core/rmem_max", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 212992


def map_connect_error(host: str, port: int, exc: OSError) -> tuple[str, str]:
    """(failure, message) for an error raised while connecting (exposed for tests)."""
    f = _connect_failure(host, port, exc)
    return f.failure, f.message


class RtspClient:
    """One RTSP connection to one camera. Not reusable after close()."""

    def __init__(self, url: str, username: str | None = None, password: Secret | None = None,
                 user_agent: str = "camcheck", tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in SCHEMES:
            raise ValueError(f"not an rtsp:// or rtsps:// URL: {mask_url(url)}")
        if not parts.hostname:
            raise ValueError(f"no host in URL: {mask_url(url)}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("credentials must be passed separately, not inside the URL")
        self.url = url
        self.host = parts.hostname
        self.tls = (tls or tls_context(verify=False)) if is_tls_url(url) else None
        self.tls_pending = False  # TCP connected, TLS handshake under way
        try:
            self.port = parts.port or (DEFAULT_TLS_PORT if self.tls else DEFAULT_PORT)
        except ValueError:
            raise ValueError(f"bad port in URL: {mask_url(url)}") from None
        self.username = username
        self._password = password
        self.user_agent = user_agent
        self._cseq = 0
        self._auth: Authenticator | None = None
        self._conn: _RtspConnection | None = None
        self._udp: list[asyncio.DatagramTransport] = []
        self.peer_ip: str | None = None
        self.local_ip: str | None = None
        self.session: str | None = None
        self.on_close: Callable[[], None] | None = None
        self._lock = asyncio.Lock()

    # ---- connection ----

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            ipaddress.ip_address(self.host)
            addrs: list[tuple[int, str]] = [(socket.AF_INET6 if ":" in self.host else socket.AF_INET, self.host)]
        except ValueError:
            try:
                infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise ProbeFailure("dns", f"cannot resolve host {self.host!r} ({exc.strerror})") from None
            except UnicodeError:
                raise ProbeFailure("dns", f"invalid host name {self.host!r}") from None
            addrs = []
            for family, _type, _proto, _canon, sockaddr in infos:
                if (family, sockaddr[0]) not in addrs:
                    addrs.append((family, sockaddr[0]))
            if not addrs:
                raise ProbeFailure("dns", f"host {self.host!r} has no address")
        first_error: OSError | None = None
        for family, ip in addrs:
            try:
                sock = await _open_socket(loop, family, ip, self.port)
            except OSError as exc:
                first_error = first_error or exc
                continue
            if self.tls is not None:
                self.tls_pending = True  # connected: a deadline from here on is the camera not answering
                sock = await _tls_handshake(loop, sock, self.tls, self.host, f"{self.host}:{self.port}")
                self.tls_pending = False
            self._conn = _RtspConnection(loop, sock)
            self._conn.on_close = self._closed
            self.peer_ip = ip
            try:
                self.local_ip = sock.getsockname()[0]
            except OSError:
                self.local_ip = None
            return
        assert first_error is not None
        raise _connect_failure(self.host, self.port, first_error)

    def _closed(self) -> None:
        if self.on_close:
            self.on_close()

    @property
    def closed(self) -> bool:
        return self._conn is None or self._conn.closed

    def close(self) -> None:
        for t in self._udp:
            t.close()
        self._udp.clear()
        if self._conn is not None:
            self._conn.close()

    # ---- requests ----

    def _send(self, method: str, url: str, headers: dict[str, str]) -> asyncio.Future[RtspResponse]:
        proto = self._conn
        if proto is not None and proto.error is not None:
            raise proto.error
        if proto is None or proto.closed:
            raise ProbeFailure("protocol_error", "the camera closed the connection")
        self._cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self._cseq}", f"User-Agent: {self.user_agent}"]
        if self.session and "Session" not in headers:
            lines.append(f"Session: {self.session}")
        if self._auth is not None:
            lines.append(f"Authorization: {self._auth.header(method, url)}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        proto.waiter = asyncio.get_running_loop().create_future()
        proto.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        return proto.waiter

    async def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> RtspResponse:
        """Send one request, answering an authentication challenge once. Returns any status."""
        headers = headers or {}
        async with self._lock:
            stale_retry = True
            for _ in range(3):
                resp = await self._send(method, url, headers)
                if resp.status != 401:
                    log.debug("%s %s -> %d", method, mask_url(url), resp.status)
                    return resp
                challenge = choose_challenge(parse_challenges(resp.headers.get("www-authenticate", [])))
                if self.username is None or self._password is None:
                    raise ProbeFailure("auth_failed",
                                       f"{method} {mask_url(url)}: the camera requires credentials and none were given")
                if challenge is None:
                    offered = ", ".join(v.split(" ", 1)[0] for v in resp.headers.get("www-authenticate", [])) or "none"
                    raise ProbeFailure("auth_failed",
                                       f"{method} {mask_url(url)}: unsupported authentication scheme ({offered})")
                if self._auth is not None:
                    # A stale or renewed nonce (some cameras issue one per request) earns one retry.
                    stale = (challenge.params.get("stale", "").lower() == "true"
                             or challenge.params.get("nonce") != self._auth.challenge.params.get("nonce"))
                    if not (stale and stale_retry and challenge.scheme == "digest"):
                        raise ProbeFailure("auth_failed",
                                           f"{method} {mask_url(url)}: the camera rejected the credentials of user "
                                           f"{self.username!r}")
                    stale_retry = False
                self._auth = Authenticator(challenge, self.username, self._password)
            raise ProbeFailure("auth_failed", f"{method} {mask_url(url)}: authentication did not succeed")

    async def options(self) -> RtspResponse:
        return await self.request("OPTIONS", self.url)

    async def describe(self) -> RtspResponse:
        return await self.request("DESCRIBE", self.url, {"Accept": "application/sdp"})

    async def setup(self, control_url: str, transport: str, rtp_sink: PacketSink,
                    rtcp_sink: PacketSink | None = None, rtp_run: RunSink | None = None) -> SetupResult:
        """SETUP one track. RTP goes to ``rtp_sink`` packet by packet, or over TCP to ``rtp_run``
        (when given) a run of packets at a time."""
        if transport == "tcp":
            spec = "RTP/AVP/TCP;unicast;interleaved=0-1"
        elif self.tls is not None:
            raise ProbeFailure("rtsp_error", "an rtsps:// stream is read over TCP, inside its TLS connection: "
                                             "RTP over UDP would travel unencrypted (SRTP is not supported)")
        else:
            rtp_port = await self._open_udp(rtp_sink, rtcp_sink)
            spec = f"RTP/AVP;unicast;client_port={rtp_port}-{rtp_port + 1}"
        resp = await self.request("SETUP", control_url, {"Transport": spec})
        if resp.status != 200:
            raise status_failure("SETUP", control_url, resp)
        session = (resp.header("session") or "").split(";", 1)[0].strip()
        if not session:
            raise ProbeFailure("protocol_error", "the camera accepted SETUP but sent no Session header")
        self.session = session
        tr = resp.header("transport") or ""
        result = SetupResult(session=session, transport=transport)
        params = dict(p.partition("=")[::2] for p in tr.split(";"))
        if transport == "tcp":
            rtp_ch, rtcp_ch = 0, 1
            if "interleaved" in params:
                a, _, b = params["interleaved"].partition("-")
                if not a.strip().isdigit():
                    raise ProbeFailure("protocol_error", "the camera's Transport reply has a bad interleaved= value")
                rtp_ch = int(a)
                rtcp_ch = int(b) if b.strip().isdigit() else rtp_ch + 1
            elif "RTP/AVP/TCP" not in tr.upper() and tr:
                raise ProbeFailure("rtsp_error", "the camera answered SETUP for TCP with a UDP transport")
            assert self._conn is not None
            self._conn.channels[rtp_ch] = rtp_sink
            if rtp_run is not None:
                self._conn.runs[rtp_ch] = rtp_run
            if rtcp_sink is not None:
                self._conn.channels[rtcp_ch] = rtcp_sink
            result.rtp_channel, result.rtcp_channel = rtp_ch, rtcp_ch
        else:
            if "server_port" in params:
                a, _, b = params["server_port"].partition("-")
                if a.isdigit():
                    result.server_ports = (int(a), int(b) if b.isdigit() else int(a) + 1)
        return result

    async def play(self, url: str) -> RtspResponse:
        resp = await self.request("PLAY", url, {"Range": "npt=0.000-"})
        if resp.status != 200:
            raise status_failure("PLAY", url, resp)
        return resp

    def batch_reads(self, interval: float, sizer: Callable[[], float] | None = None) -> None:
        """From now on read the RTSP connection at most every ``interval`` seconds (0 = at once);
        ``sizer()``, when given, is asked for the next interval at every batch instead.
        Arrival times then have that resolution; replies wait at most that long."""
        if self._conn is not None:
            self._conn.set_batching(interval, sizer)

    def receive_buffer(self, grow_to: int = 0) -> int | None:
        """The kernel's receive buffer of the RTSP connection now (bytes; Linux autotunes it).

        ``grow_to``: when the buffer is smaller, ask for that much, but only if the system's limit
        for an explicit size (net.core.rmem_max) allows it: an explicit size also ends autotuning,
        which gives a fast stream far more (MBs) than the limit."""
        if self._conn is None or self._conn.closed:
            return None
        sock = self._conn.sock
        try:
            size = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
            if size < grow_to <= 2 * _rmem_max():
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, grow_to // 2)  # Linux doubles it
                size = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
            return size
        except OSError:
            return None

    def detach_media(self) -> None:
        """Stop handing packets to the sinks (they are dropped from here on)."""
        if self._conn is not None:
            self._conn.channels.clear()
            self._conn.runs.clear()
        for t in self._udp:
            proto = t.get_protocol()
            if isinstance(proto, _UdpProtocol):
                proto.sink = None

    def start_teardown(self, url: str) -> asyncio.Future[RtspResponse] | None:
        """Send TEARDOWN for the session now; the future of its reply (None: no session, or the
        connection is gone). Sent before the probe's last work, the reply arrives meanwhile."""
        if not self.session or self.closed:
            return None
        session, self.session = self.session, None
        try:
            fut = self._send("TEARDOWN", url, {"Session": session})
        except ProbeFailure:
            return None
        # Whether or not anyone waits for the reply: a connection closed before it came is no error.
        fut.add_done_callback(lambda f: f.exception() if not f.cancelled() else None)
        return fut

    async def teardown(self, url: str) -> None:
        """Send TEARDOWN for the session and wait for the reply (the caller bounds the wait)."""
        fut = self.start_teardown(url)
        if fut is None:
            return
        try:
            await fut
        except ProbeFailure:
            pass

    def send_teardown_nowait(self, url: str) -> None:
        """Best effort when there is no time to wait (cancellation): write TEARDOWN and go."""
        self.start_teardown(url)

    # ---- UDP ----

    async def _open_udp(self, rtp_sink: PacketSink, rtcp_sink: PacketSink | None) -> int:
        loop = asyncio.get_running_loop()
        local = self.local_ip or "0.0.0.0"
        family = socket.AF_INET6 if ":" in local else socket.AF_INET
        assert self.peer_ip is not None
        for _ in range(64):
            rtp = socket.socket(family, socket.SOCK_DGRAM)
            rtcp = socket.socket(family, socket.SOCK_DGRAM)
            try:
                rtp.bind((local, 0))
                port = rtp.getsockname()[1]
                if port % 2 or port >= 65535:
                    raise OSError("odd port")
                rtcp.bind((local, port + 1))
            except OSError:
                rtp.close()
                rtcp.close()
                continue
            try:
                rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            except OSError:
                pass
            for sock, sink in ((rtp, rtp_sink), (rtcp, rtcp_sink)):
                sock.setblocking(False)
                t, _ = await loop.create_datagram_endpoint(
                    lambda s=sink: _UdpProtocol(loop, self.peer_ip or "", s), sock=sock)
                self._udp.append(t)  # type: ignore[arg-type]
            return port
        raise ProbeFailure("rtsp_error", "no free pair of local UDP ports for RTP/RTCP")
