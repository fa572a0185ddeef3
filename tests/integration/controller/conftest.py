"""Fixtures of the controller integration tests: the sandbox API server with Volcano's CRDs,
a NATS server with the JetStream objects of a fresh prefix, and a connected client."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))

from apiserver_fixture import ApiServerHandle, start_server
from ctrl_helpers import FAST_SETTINGS, Harness
from nats.aio.client import Client
from nats_fixture import NatsServer

from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.setup import ensure_jetstream
from pyroclast.controller.kube.client import KubeClient

CRDS = Path(__file__).resolve().parents[3] / "deploy" / "crds"

DEFAULT_QUEUE = """
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: default}
spec: {weight: 1, reclaimable: true}
"""


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServerHandle]:
    """A sandbox API server with Volcano's CRDs and the default queue."""
    handle = start_server(tmp_path_factory.mktemp("apiserver"))
    try:
        handle.kubectl("apply", "-f", str(CRDS))
        handle.kubectl("apply", "-f", "-", input=DEFAULT_QUEUE)
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
        await ensure_jetstream(client.jetstream(), names)
        yield client
    finally:
        await close(client)


@pytest.fixture
async def kube(apiserver: ApiServerHandle) -> AsyncIterator[KubeClient]:
    client = await KubeClient.connect(str(apiserver.kubeconfig))
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def controller(kube: KubeClient, nc: Client, names: BusNames) -> AsyncIterator[Harness]:
    harness = await Harness(kube, nc, names, FAST_SETTINGS).start()
    try:
        yield harness
    finally:
        await harness.close()
