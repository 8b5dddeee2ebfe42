"""The TCP probe for a parent device's address: answered (connected, or refused by the host), or not
(a host that drops connections, a name that does not resolve), within its deadline. Against real
sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from camcheck.probe.tcp import TcpSettings, probe_tcp, split_address
from tests.peers import sockets

pytestmark = pytest.mark.timeout(30)


def _deadline(s: float) -> float:
    return asyncio.get_running_loop().time() + s


async def test_a_listening_host_answers() -> None:
    async with sockets.blackhole() as port:  # accepts and says nothing: a connection is the answer
        obs = await probe_tcp(f"127.0.0.1:{port}", TcpSettings(), _deadline(2))
    assert (obs.answered, obs.failure, obs.port) == (True, None, port)
    assert obs.connect_s is not None and obs.connect_s < 1 and "accepts connections" in obs.message


async def test_a_host_that_refuses_is_up() -> None:
    with sockets.closed_port() as port:
        obs = await probe_tcp(f"127.0.0.1:{port}", TcpSettings(), _deadline(2))
    assert (obs.answered, obs.failure, obs.port) == (True, "refused", port)


async def test_several_ports_at_once_the_first_answer_wins() -> None:
    """No port in the address: the usual ones are tried together; one dropping connections does not
    hold back another that answers."""
    with sockets.full_backlog() as silent:
        async with sockets.blackhole() as listening:
            loop = asyncio.get_running_loop()
            started = loop.time()
            obs = await probe_tcp("127.0.0.1", TcpSettings(ports=(silent, listening)), _deadline(3))
            took = loop.time() - started
    assert (obs.answered, obs.port) == (True, listening) and took < 1.0, (obs, took)


async def test_a_host_that_drops_connections_costs_exactly_the_deadline() -> None:
    with sockets.full_backlog() as port:
        loop = asyncio.get_running_loop()
        started = loop.time()
        obs = await probe_tcp(f"127.0.0.1:{port}", TcpSettings(), _deadline(1.0))
        took = loop.time() - started
    assert (obs.answered, obs.failure, obs.port) == (False, "timeout_connect", None)
    assert 0.95 <= took <= 1.3 and f"does not answer on port {port}" in obs.message
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and "_try" in repr(t)]


async def test_a_name_that_does_not_resolve() -> None:
    obs = await probe_tcp("nvr-3.invalid:8000", TcpSettings(), _deadline(5))
    assert (obs.answered, obs.failure) == (False, "dns") and "nvr-3.invalid" in obs.message


def test_addresses_as_the_parents_sheet_keeps_them() -> None:
    assert split_address("10.20.0.5") == ("10.20.0.5", None)
    assert split_address("nvr-3.local:8000") == ("nvr-3.local", 8000)
    assert split_address("[fe80::1]:80") == ("fe80::1", 80)
    assert split_address("[fe80::1]") == ("fe80::1", None)
    with pytest.raises(ValueError):
        split_address("a:b:c")
