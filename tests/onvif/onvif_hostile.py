"""A hostile "ONVIF device" on loopback: raw HTTP answers a real device could send by bug or malice.

Every mode is bounded on the server side too (total bytes and time), so a client that misbehaves
cannot make the test itself run away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

SOAP_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    b'xmlns:tt="http://www.onvif.org/ver10/schema"><env:Body>'
)
GOOD_TIME = (
    SOAP_HEAD + b"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
    b"<tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>1</tt:Hour><tt:Minute>2</tt:Minute>"
    b"<tt:Second>3</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>1</tt:Month><tt:Day>2</tt:Day></tt:Date>"
    b"</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
    )
    + b"]>"
    + SOAP_HEAD.split(b"?>", 1)[1]
    + b"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>&lol9;</tt:DateTimeType>"
    b"</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + SOAP_HEAD.split(b"?>", 1)[1]
    + b"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>&xxe;</tt:DateTimeType>"
    b"</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>"
)
# Cut mid-element: lxml's recover mode would hand zeep a tree with the missing fields as None.
TRUNCATED_XML = GOOD_TIME[: GOOD_TIME.index(b"<tt:Year>") + 12]
# Well-formed but missing what the schema promises (UTCDateTime).
MISSING_FIELDS = (
    SOAP_HEAD + b"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
    b"<tt:DaylightSavings>false</tt:DaylightSavings></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>"
)

MODES = (
    "huge_stream",  # endless fast body, no Content-Length
    "huge_declared",  # Content-Length of 300 MB
    "slow_drip",  # one byte every 100 ms, forever
    "truncated_body",  # Content-Length promises more than is sent, then close
    "truncated_xml",  # complete HTTP body, XML cut mid-element
    "billion_laughs",
    "external_entity",
    "missing_fields",
    "blackhole",  # accepts, reads, never answers
)
SERVER_BYTE_LIMIT = 400 * 1024 * 1024
SERVER_TIME_LIMIT = 60.0


async def _read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(min(length, 1 << 20))
    return True


def _head(status: str = "200 OK", length: int | None = None, close: bool = True) -> bytes:
    h = f"HTTP/1.1 {status}\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
    if length is not None:
        h += f"Content-Length: {length}\r\n"
    if close:
        h += "Connection: close\r\n"
    return (h + "\r\n").encode()


async def _serve(mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + SERVER_TIME_LIMIT
    try:
        await _read_request(reader)
        if mode == "huge_stream":
            writer.write(_head() + SOAP_HEAD + b"<tds:GetSystemDateAndTimeResponse>")
            chunk = b"<tt:X>" + b"A" * 65000 + b"</tt:X>"
            sent = 0
            while sent < SERVER_BYTE_LIMIT and loop.time() < stop_at:
                writer.write(chunk)
                sent += len(chunk)
                await writer.drain()
        elif mode == "huge_declared":
            writer.write(_head(length=300 * 1024 * 1024) + SOAP_HEAD)
            await writer.drain()
            await asyncio.sleep(SERVER_TIME_LIMIT)
        elif mode == "slow_drip":
            writer.write(_head(length=len(GOOD_TIME) * 1000))
            body = GOOD_TIME * 1000
            for i in range(len(body)):
                if loop.time() > stop_at:
                    break
                writer.write(body[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0.1)
        elif mode == "truncated_body":
            writer.write(_head(length=len(GOOD_TIME)) + GOOD_TIME[: len(GOOD_TIME) // 2])
            await writer.drain()
        elif mode == "blackhole":
            await asyncio.sleep(SERVER_TIME_LIMIT)
        else:
            body = {
                "truncated_xml": TRUNCATED_XML,
                "billion_laughs": BILLION_LAUGHS,
                "external_entity": EXTERNAL_ENTITY,
                "missing_fields": MISSING_FIELDS,
            }[mode]
            writer.write(_head(length=len(body)) + body)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass  # the client gave up: exactly what it should do
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def hostile_endpoint(mode: str) -> AsyncIterator[int]:
    """Serve ``mode`` on 127.0.0.1:<free port>; yields the port."""
    if mode not in MODES:
        raise ValueError(mode)
    tasks: set[asyncio.Task] = set()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await _serve(mode, reader, writer)
        except asyncio.CancelledError:
            pass  # torn down by the fixture
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
