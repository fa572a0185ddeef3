"""Clients, names and fast timings for the bus integration tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats_fixture import NatsServer

from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.pull import PullSettings
from pyroclast.common.bus.setup import ensure_jetstream

FAST = PullSettings(
    heartbeat=0.25, expires=1.0, request_timeout=2.0, backoff=Backoff(initial=0.05, maximum=0.5)
)
"""Pull timings that notice a dead request within a second."""

FAST_RECONNECT = Backoff(initial=0.05, maximum=0.5)


@pytest.fixture
def fast() -> PullSettings:
    return FAST


@pytest.fixture
def names() -> BusNames:
    """A prefix of its own for each test, so tests sharing a server never meet."""
    return BusNames(f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await connect(nats_server.url, "test", backoff=FAST_RECONNECT, max_attempts=3)
    try:
        yield client
    finally:
        await close(client)


@pytest.fixture
async def bus(nc: Client, names: BusNames) -> BusNames:
    """``names`` with every bucket, stream and consumer created."""
    await ensure_jetstream(nc.jetstream(), names)
    return names
