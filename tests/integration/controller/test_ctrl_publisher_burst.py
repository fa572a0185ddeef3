"""The cache publisher under a burst of 1,000 concurrent pod changes: the KV bucket ends equal
to the API, with no missed and no stale record."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import eventually, plain_pod
from nats.aio.client import Client

from pyroclast.common.bus import kv
from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.project import project_pod
from pyroclast.controller.publisher import CachePublisher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

NS = "burst1k"
KEPT = 200
"""Pods p0..p199 are created and patched; p200..p399 are created, patched and deleted."""
TOTAL = 400


@contextlib.asynccontextmanager
async def running_publisher(kube: KubeClient, nc: Client, names: BusNames) -> AsyncIterator[CachePublisher]:
    factory = InformerFactory(kube)
    publisher = CachePublisher(factory, nc, names)
    stop = asyncio.Event()

    async def both() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(factory.run(stop))
            group.create_task(publisher.run(stop))

    task = asyncio.create_task(asyncio.wait_for(both(), 150))
    try:
        await eventually(publisher.synced, 20, what="publisher resync")
        yield publisher
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def bucket_contents(nc: Client, names: BusNames) -> dict[str, PodRecord]:
    """The records of the namespace the bucket holds now (last value per key)."""
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


async def test_burst_of_1000_concurrent_pod_changes_leaves_kv_equal_to_the_api(
    kube: KubeClient, nc: Client, names: BusNames, apiserver: ApiServerHandle
) -> None:
    apiserver.kubectl("create", "namespace", NS)
    sem = asyncio.Semaphore(64)
    ops = {"create": 0, "patch": 0, "delete": 0}

    async def call(op: str, request: Awaitable[object]) -> None:
        async with sem:
            await request
        ops[op] += 1

    async def lifecycle(i: int) -> None:
        """One pod's changes in order; the 400 chains run concurrently, so creates, patches
        and deletes of different pods interleave."""
        name = f"p{i}"
        await call("create", kube.create(resources.PODS, plain_pod(NS, name), NS))
        patch = {"metadata": {"labels": {"round": "2", "index": str(i)}}}
        await call("patch", kube.patch(resources.PODS, NS, name, patch))
        if i >= KEPT:
            await call("delete", kube.delete(resources.PODS, NS, name, grace_period=0))

    async with running_publisher(kube, nc, names) as publisher:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(lifecycle(i) for i in range(TOTAL)))
        issued = loop.time() - started
        assert ops == {"create": 400, "patch": 400, "delete": 200}
        assert sum(ops.values()) == 1000

        expected = await api_pods(kube)
        assert sorted(expected) == sorted(f"{NS}/p{i}" for i in range(KEPT))

        async def matches() -> bool:
            return await bucket_contents(nc, names) == expected

        await eventually(matches, 30, interval=0.3, what="KV equal to the API")
        mirrored = loop.time() - started

        held = await bucket_contents(nc, names)
        # No stale record: every kept pod carries its patch; no deleted pod is left.
        assert all(r.labels.get("round") == "2" for r in held.values())
        assert all(held[f"{NS}/p{i}"].labels["index"] == str(i) for i in range(KEPT))
        assert not any(f"{NS}/p{i}" in held for i in range(KEPT, TOTAL))
        # The publisher's own view agrees with the bucket (namespace of the test only).
        pods = publisher.buckets[1]
        mine = {k: v for k, v in pods.written.items() if k.startswith(f"{NS}/")}
        assert mine == held
        assert not pods.dirty
        print(f"\n1000 changes issued in {issued:.2f}s; KV equal to the API after {mirrored:.2f}s")

    # A restart finds nothing to write: the bucket was exact.
    stream = f"KV_{names.bucket(kv.PODS.kind)}"
    before = (await nc.jetstream().stream_info(stream)).state.last_seq
    async with running_publisher(kube, nc, names):
        assert await bucket_contents(nc, names) == await api_pods(kube)
        after = (await nc.jetstream().stream_info(stream)).state.last_seq
        assert after == before
