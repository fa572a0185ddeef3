"""Fixtures of the scheduler service integration tests: the sandbox API server with Volcano's
podgroup CRD, a NATS server, and a fresh bus prefix with fast binder redelivery."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apiserver_fixture import ApiServerHandle, start_server
from nats.aio.client import Client
from nats_fixture import NatsServer, nats_server

from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.setup import JetStreamSettings, ensure_jetstream

__all__ = ["nats_server"]

CRDS = Path(__file__).resolve().parents[3] / "deploy" / "crds"
ACK_WAIT = 2.0


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerHandle]:
    """A sandbox API server with Volcano's PodGroup CRD."""
    handle = start_server(tmp_path_factory.mktemp("apiserver"))
    try:
        handle.kubectl("apply", "-f", str(CRDS / "scheduling.volcano.sh_podgroups.yaml"))
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def names() -> BusNames:
    return BusNames(f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def nc(nats_server: NatsServer, names: BusNames) -> AsyncIterator[Client]:
    client = await connect(
        nats_server.url, "test", backoff=Backoff(initial=0.05, maximum=0.5), max_attempts=3
    )
    try:
        settings = JetStreamSettings(binder_ack_wait=ACK_WAIT, binder_max_deliver=10)
        await ensure_jetstream(client.jetstream(), names, settings=settings)
        yield client
    finally:
        await close(client)
