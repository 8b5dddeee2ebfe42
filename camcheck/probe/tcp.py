"""Does anything at this address answer? A TCP probe for a parent device (recorder, switch, site
router) whose cameras all stopped together: an address that answers (a connection made, or refused:
a refusal comes from the host itself) is up, so the fault is behind it (its cameras' power, a PoE
switch, the recorder's channels); one that does not answer is down or cut off (power, the uplink).

One shape with the other probes: (target, settings, deadline) -> observation; never raises for the
peer's fault. Several ports are tried at once when the address names none: the first answer wins.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
from dataclasses import dataclass

# What a recorder or a router listens on: web, HTTPS, RTSP and Hikvision's SDK port.
DEFAULT_PORTS: tuple[int, ...] = (80, 443, 554, 8000)


@dataclass(frozen=True)
class TcpSettings:
    ports: tuple[int, ...] = DEFAULT_PORTS  # tried at once when the address names no port


@dataclass(frozen=True)
class TcpObservation:
    address: str  # as given (host[:port]; parent addresses never carry credentials)
    answered: bool  # connected, or refused by the host
    failure: str | None  # None (connected), "refused", "dns", "unreachable" or "timeout_connect"
    port: int | None  # the port that answered
    connect_s: float | None  # how long the answer took
    message: str


def split_address(address: str) -> tuple[str, int | None]:
    """"10.0.0.5" -> ("10.0.0.5", None); "nvr.local:8000" -> ("nvr.local", 8000); "[fe80::1]:80" too."""
    m = re.fullmatch(r"\[([0-9a-fA-F:]+)\](?::(\d{1,5}))?|([^:\[\]]+)(?::(\d{1,5}))?", address.strip())
    if not m:
        raise ValueError(f"not a host[:port] address: {address!r}")
    host = m.group(1) or m.group(3)
    port = m.group(2) or m.group(4)
    return host, int(port) if port else None


async def _try(host: str, port: int) -> tuple[int, str | None, float]:
    """Connect once: (port, None) when connected, (port, failure) otherwise, and the time taken."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        _, writer = await asyncio.open_connection(host, port)
    except socket.gaierror:
        return port, "dns", loop.time() - started
    except ConnectionRefusedError:
        return port, "refused", loop.time() - started
    except OSError as exc:
        return port, ("timeout_connect" if exc.errno == errno.ETIMEDOUT else "unreachable"), loop.time() - started
    writer.close()  # nothing to say to it: a made connection is the answer
    return port, None, loop.time() - started


async def probe_tcp(address: str, settings: TcpSettings, deadline: float) -> TcpObservation:
    """Whether the host at `address` answers on TCP; `deadline` is an absolute ``loop.time()``."""
    try:
        host, port = split_address(address)
    except ValueError as exc:
        return TcpObservation(address, False, "dns", None, None, str(exc))
    ports = (port,) if port else settings.ports
    loop = asyncio.get_running_loop()
    tries = [asyncio.create_task(_try(host, p)) for p in ports]
    seen: list[tuple[int, str | None, float]] = []
    try:
        pending = set(tries)
        while pending:
            left = deadline - loop.time()
            if left <= 0:
                break
            done, pending = await asyncio.wait(pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                p, failure, took = t.result()
                if failure in (None, "refused"):  # the host itself answered
                    said = "accepts connections" if failure is None else "refuses connections (the host is up)"
                    return TcpObservation(address, True, failure, p, took, f"{host} port {p} {said}")
                seen.append((p, failure, took))
    finally:
        for t in tries:
            t.cancel()
        await asyncio.gather(*tries, return_exceptions=True)
    failures = {f for _, f, _ in seen}
    on = ", ".join(str(p) for p in ports)
    if failures == {"dns"}:
        return TcpObservation(address, False, "dns", None, None, f"cannot resolve {host}")
    if "unreachable" in failures and len(seen) == len(ports):
        return TcpObservation(address, False, "unreachable", None, None, f"{host} is unreachable (no route)")
    return TcpObservation(address, False, "timeout_connect", None, None, f"{host} does not answer on port {on}")
