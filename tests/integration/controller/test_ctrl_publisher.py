"""The cache publisher against the sandbox API server and a real NATS server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import eventually, plain_pod
from nats.aio.client import Client
from nats_fixture import NatsServer

from pyroclast.common.bus import kv
from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.setup import ensure_jetstream
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.project import project_pod
from pyroclast.controller.publisher import CachePublisher

pytestmark = [pytest.mark.integration]

NS = "burst"


@contextlib.asynccontextmanager
async def running_publisher(kube: KubeClient, nc: Client, names: BusNames) -> AsyncIterator[CachePublisher]:
    factory = InformerFactory(kube)
    publisher = CachePublisher(factory, nc, names)
    stop = asyncio.Event()
    task = asyncio.create_task(asyncio.wait_for(_both(factory, publisher, stop), 120))
    try:
        await eventually(publisher.synced, 20, what="publisher resync")
        yield publisher
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _both(factory: InformerFactory, publisher: CachePublisher, stop: asyncio.Event) -> None:
    async with asyncio.TaskGroup() as group:
        group.create_task(factory.run(stop))
        group.create_task(publisher.run(stop))


async def bucket_contents(nc: Client, names: BusNames) -> dict[str, PodRecord]:
    held: dict[str, PodRecord] = {}
    async with asyncio.timeout(30), kv.CacheWatcher(nc, names, kv.PODS, namespace=NS) as watcher:
        async for event in watcher:
            if event.op == kv.WatchOp.SYNCED:
                break
            if event.record is not None:
                held[event.key] = event.record
    return held


async def api_pods(kube: KubeClient) -> dict[str, PodRecord]:
    _, items, _ = resources.PODS.decode_list(await kube.list_raw(resources.PODS, NS))
    return {f"{NS}/{p.metadata.name}": project_pod(p) for p in items if p.metadata}


async def test_burst_of_pod_changes_is_mirrored_then_resynced(
    kube: KubeClient, nc: Client, names: BusNames, apiserver: ApiServerHandle
) -> None:
    apiserver.kubectl("create", "namespace", NS)
    sem = asyncio.Semaphore(32)

    async def bounded(coro: object) -> None:
        async with sem:
            await coro  # type: ignore[misc]

    async with running_publisher(kube, nc, names):
        await asyncio.gather(
            *(bounded(kube.create(resources.PODS, plain_pod(NS, f"p{i}"), NS)) for i in range(300))
        )
        await asyncio.gather(
            *(
                bounded(kube.patch(resources.PODS, NS, f"p{i}", {"metadata": {"labels": {"round": "2"}}}))
                for i in range(300)
            )
        )
        await asyncio.gather(*(bounded(kube.delete(resources.PODS, NS, f"p{i}")) for i in range(100)))

        async def matches() -> bool:
            return await bucket_contents(nc, names) == await api_pods(kube)

        await eventually(matches, 30, interval=0.3, what="KV equal to the API")
        held = await bucket_contents(nc, names)
        assert len(held) == 200
        assert held[f"{NS}/p150"].labels["round"] == "2"
        assert held[f"{NS}/p150"].requests == {"cpu": 100, "memory": 64 * 2**20}

    # Changes while no publisher runs, then a restart: resync without duplicates.
    await asyncio.gather(*(bounded(kube.delete(resources.PODS, NS, f"p{i}")) for i in range(100, 120)))
    await kube.patch(resources.PODS, NS, "p200", {"metadata": {"labels": {"round": "3"}}})
    stream = f"KV_{names.bucket(kv.PODS.kind)}"
    before = (await nc.jetstream().stream_info(stream)).state.last_seq
    async with running_publisher(kube, nc, names) as publisher:
        assert await bucket_contents(nc, names) == await api_pods(kube)
        after = (await nc.jetstream().stream_info(stream)).state.last_seq
        # 20 deletes and one put; nothing unchanged was written again.
        assert after - before == 21
        pods = publisher.buckets[1]
        assert len(pods.written) == 180


async def test_publisher_catches_up_after_a_nats_outage(
    kube: KubeClient,
    names: BusNames,
    apiserver: ApiServerHandle,
    nats_server_factory: Callable[[], NatsServer],
) -> None:
    apiserver.kubectl("create", "namespace", "outage")
    server = nats_server_factory()
    client = await connect(server.url, "test", backoff=Backoff(initial=0.05, maximum=0.2), max_attempts=3)
    try:
        await ensure_jetstream(client.jetstream(), names)
        async with running_publisher(kube, client, names):
            await kube.create(resources.PODS, plain_pod("outage", "before"), "outage")
            writer = kv.CacheWriter(client, names, kv.PODS)

            async def present(ref: str) -> bool:
                try:
                    return await writer.get(ref, timeout=1) is not None
                except Exception:
                    return False

            await eventually(lambda: present("outage/before"), 10, what="record before the outage")
            await asyncio.to_thread(server.stop)
            await kube.create(resources.PODS, plain_pod("outage", "during"), "outage")
            await kube.delete(resources.PODS, "outage", "before")
            await asyncio.to_thread(server.start)
            await eventually(lambda: present("outage/during"), 20, what="record written after the outage")

            async def before_gone() -> bool:
                return not await present("outage/before")

            await eventually(before_gone, 20, what="record deleted after the outage")
    finally:
        await close(client)
