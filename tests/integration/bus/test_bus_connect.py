"""Connecting: waiting for a server that is not up yet, giving up when told to, draining."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import nats.errors
import pytest
from bus_waits import wait_until
from nats_fixture import NatsServer, find_nats_server

from pyroclast.common.bus.connect import Backoff, close, connect, connection

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def stopped_server(tmp_path: Path) -> NatsServer:
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server binary not available")
    return NatsServer(tmp_path / "nats", binary=binary)


async def test_connect_waits_for_a_late_server(stopped_server: NatsServer) -> None:
    attempt = asyncio.create_task(
        connect(stopped_server.url, "late", backoff=Backoff(initial=0.05, maximum=0.2), connect_timeout=0.5)
    )
    await asyncio.sleep(0.3)
    assert not attempt.done()
    await asyncio.to_thread(stopped_server.start)
    try:
        nc = await asyncio.wait_for(attempt, 5)
        assert nc.is_connected
        await close(nc)
        assert nc.is_closed
    finally:
        stopped_server.stop()


async def test_connect_gives_up_after_max_attempts(stopped_server: NatsServer) -> None:
    with pytest.raises((OSError, nats.errors.Error)):
        await connect(
            stopped_server.url, "never", backoff=Backoff(initial=0.01, maximum=0.02), max_attempts=2
        )


async def test_connection_context_drains_pending_publishes(nats_server: NatsServer) -> None:
    received: list[bytes] = []
    async with connection(nats_server.url, "listener") as listener:
        sub = await listener.subscribe("drain.test")
        async with connection(nats_server.url, "talker") as talker:
            for i in range(100):
                await talker.publish("drain.test", str(i).encode())
        async with asyncio.timeout(5):
            while len(received) < 100:
                received.append((await sub.next_msg(timeout=5)).data)
    assert received[-1] == b"99"
    assert listener.is_closed


async def test_client_reconnects_after_a_restart(nats_server_factory: Callable[[], NatsServer]) -> None:
    server = nats_server_factory()
    nc = await connect(server.url, "bouncer", backoff=Backoff(initial=0.05, maximum=0.2))
    try:
        await asyncio.to_thread(server.restart)
        await wait_until(lambda: nc.is_connected, within=5)
        assert nc.stats["reconnects"] >= 1
        await nc.flush(timeout=2)
    finally:
        await close(nc)
