"""Misbehaving TCP peers for probe tests, in the test's own event loop, bound to 127.0.0.1.

- `blackhole()`: accepts, reads whatever comes, never answers.
- `slow_drip(reply)`: accepts, then sends ``reply`` one byte per ``interval`` seconds.
- `garbage(reply)`: answers the first request with ``reply`` (bytes that are not RTSP).
- `closed_port()`: a port bound but not listening: connecting is refused, no race with other users.
- `full_backlog()`: a listening socket that never accepts and whose accept queue is already full,
  so a new connect never completes (SYNs are dropped): a camera that does not answer at TCP level.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator


async def _serve(handler) -> tuple[asyncio.Server, int, set[asyncio.Task]]:
    tasks: set[asyncio.Task] = set()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            tasks.discard(task)
            writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], tasks


@contextlib.asynccontextmanager
async def _running(handler) -> AsyncIterator[int]:
    server, port, tasks = await _serve(handler)
    try:
        yield port
    finally:
        server.close()
        for t in list(tasks):
            t.cancel()
        await asyncio.sleep(0)
        await server.wait_closed()


def blackhole() -> contextlib.AbstractAsyncContextManager[int]:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass

    return _running(handler)


def slow_drip(reply: bytes = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 0\r\n\r\n",
              interval: float = 1.0) -> contextlib.AbstractAsyncContextManager[int]:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        for i in range(len(reply)):
            writer.write(reply[i : i + 1])
            await writer.drain()
            await asyncio.sleep(interval)
        while await reader.read(65536):
            pass

    return _running(handler)


def garbage(reply: bytes = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") -> contextlib.AbstractAsyncContextManager[int]:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(reply)
        await writer.drain()
        while await reader.read(65536):
            pass

    return _running(handler)


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


@contextlib.contextmanager
def full_backlog() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        # Linux queues backlog+1 connections; fill the queue, then every further SYN is dropped.
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                c.connect(("127.0.0.1", port))
            fillers.append(c)
        yield port
    finally:
        for c in fillers:
            c.close()
        listener.close()
