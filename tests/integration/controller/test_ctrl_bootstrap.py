"""The controller at start: the root and default queues, and the binder beside the leader."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import eventually, http_get, start_controller
from nats.aio.client import Client
from nats_fixture import NatsServer, free_port

from pyroclast.common.bus.decisions import DecisionPublisher
from pyroclast.common.bus.kv import QUEUES, CacheWriter
from pyroclast.common.bus.messages import PodGroupStatusDecision, QueueRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.models import ObjectMeta, PodGroup, PodGroupSpec, Queue, QueueSpec
from pyroclast.controller.bootstrap import ensure_queues, wait_published
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_creates_root_and_the_default_queue_open(kube: KubeClient) -> None:
    name = unique("fresh")
    assert await ensure_queues(kube, asyncio.Event(), default_queue=name)

    root = await kube.get(resources.QUEUES, "", "root")
    created = await kube.get(resources.QUEUES, "", name)
    assert root.spec is not None
    assert created.spec is not None
    assert (root.spec.weight, root.spec.reclaimable) == (1, False)
    assert (created.spec.weight, created.spec.reclaimable) == (1, True)
    assert created.status is not None
    assert created.status.state == "Open"


async def test_existing_queues_are_left_alone(kube: KubeClient) -> None:
    name = unique("mine")
    queue = Queue(metadata=ObjectMeta(name=name), spec=QueueSpec(weight=5, reclaimable=False))
    await kube.create(resources.QUEUES, queue)
    assert await ensure_queues(kube, asyncio.Event())  # root and "default" from the fixture
    before = await kube.get(resources.QUEUES, "", name)
    default_before = await kube.get(resources.QUEUES, "", "default")

    assert await ensure_queues(kube, asyncio.Event(), default_queue=name)

    after = await kube.get(resources.QUEUES, "", name)
    assert after.metadata is not None
    assert before.metadata is not None
    assert after.metadata.resource_version == before.metadata.resource_version
    assert after.spec is not None
    assert (after.spec.weight, after.spec.reclaimable) == (5, False)
    default_after = await kube.get(resources.QUEUES, "", "default")
    assert default_after.metadata is not None
    assert default_before.metadata is not None
    assert default_after.metadata.resource_version == default_before.metadata.resource_version


async def test_gives_up_when_stopped(kube: KubeClient) -> None:
    stop = asyncio.Event()
    stop.set()
    assert not await ensure_queues(kube, stop, default_queue=unique("never"))


async def test_wait_published_follows_the_queues_bucket(nc: Client, names: BusNames) -> None:
    name = unique("q")
    stop = asyncio.Event()
    waiter = asyncio.create_task(wait_published(nc, names, stop, (name,)))
    await CacheWriter(nc, names, QUEUES).put(QueueRecord(name=name, state="Open"))
    assert await asyncio.wait_for(waiter, 10)

    stopped = asyncio.Event()
    stopped.set()
    assert not await wait_published(nc, names, stopped, (unique("absent"),))


# --- the process --------------------------------------------------------------------------------


async def readyz(port: int) -> bool:
    return bool((await http_get(f"http://127.0.0.1:{port}/readyz"))[0] == 200)


async def test_the_controller_bootstraps_queues_and_runs_the_binder(
    apiserver: ApiServerHandle, nats_server: NatsServer, nc: Client, names: BusNames, kube: KubeClient
) -> None:
    namespace = unique("boot")
    await kube.request(
        "POST", "/api/v1/namespaces", body={"apiVersion": "v1", "metadata": {"name": namespace}}
    )
    pg = await kube.create(
        resources.PODGROUPS,
        PodGroup(metadata=ObjectMeta(name="pg", namespace=namespace), spec=PodGroupSpec(min_member=1)),
        namespace,
    )
    port = free_port()
    proc = start_controller(apiserver.kubeconfig, nats_server.url, names, port, "--binder-concurrency", "4")
    try:

        async def root_created() -> bool:
            return await kube.get_or_none(resources.QUEUES, "", "root") is not None

        async def default_published() -> bool:
            return await CacheWriter(nc, names, QUEUES).get("default") is not None

        await eventually(root_created, 40, interval=0.1, what="the leader to create the root queue")
        await eventually(default_published, 20, interval=0.1, what="the default queue in the bucket")
        await eventually(lambda: readyz(port), 20, interval=0.1, what="/readyz 200")

        assert pg.metadata is not None
        decision = PodGroupStatusDecision(
            id=unique("d"), namespace=namespace, name="pg", uid=pg.metadata.uid or "", phase="Inqueue"
        )
        await DecisionPublisher(nc, names).publish(decision)

        async def inqueue() -> bool:
            got = await kube.get(resources.PODGROUPS, namespace, "pg")
            return got.status is not None and got.status.phase == "Inqueue"

        await eventually(inqueue, 20, interval=0.1, what="the binder to write the podgroup's phase")
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 20)
        assert code == 0, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_a_negative_binder_concurrency_is_a_usage_error() -> None:
    binary = Path(sys.executable).parent / "pyroclast"
    result = subprocess.run(
        [str(binary), "controller", "--binder-concurrency", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "binder_concurrency: must be 0 or more" in result.stderr
