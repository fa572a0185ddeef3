"""The shared cache over real KV buckets: writes, reads and watches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bus_waits import retrying
from nats.aio.client import Client

from pyroclast.common.bus.kv import (
    NODES,
    PODS,
    CacheWatcher,
    CacheWriter,
    RevisionConflict,
    WatchEvent,
    WatchOp,
)
from pyroclast.common.bus.messages import NodeRecord, PodRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.pull import PullSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def next_event(events: AsyncIterator[WatchEvent[Any]]) -> WatchEvent[Any]:
    return await asyncio.wait_for(anext(events), 5)


async def test_watch_sees_initial_records_then_updates_and_deletes(
    nc: Client, bus: BusNames, fast: PullSettings
) -> None:
    writer = CacheWriter(nc, bus, PODS)
    await writer.put(PodRecord(namespace="a", name="p1", phase="Pending"))
    await writer.put(PodRecord(namespace="b", name="p2.x"))
    await writer.put(PodRecord(namespace="a", name="gone"))
    await writer.delete("a/gone")
    async with CacheWatcher(nc, bus, PODS, settings=fast) as watcher:
        events = aiter(watcher)
        initial = [await next_event(events), await next_event(events)]
        assert {(e.op, e.key) for e in initial} == {(WatchOp.PUT, "a/p1"), (WatchOp.PUT, "b/p2.x")}
        synced = await next_event(events)
        assert synced.op is WatchOp.SYNCED
        assert watcher.synced.is_set()

        revision = await writer.put(PodRecord(namespace="a", name="p1", phase="Running", node_name="n1"))
        update = await next_event(events)
        assert update.op is WatchOp.PUT
        assert update.key == "a/p1"
        assert update.revision == revision
        assert update.record is not None
        assert (update.record.phase, update.record.node_name) == ("Running", "n1")

        await writer.delete("b/p2.x")
        deleted = await next_event(events)
        assert (deleted.op, deleted.key, deleted.record) == (WatchOp.DELETE, "b/p2.x", None)
        assert deleted.revision > revision
        assert watcher.revision == deleted.revision


async def test_empty_bucket_is_synced_at_once(nc: Client, bus: BusNames, fast: PullSettings) -> None:
    async with CacheWatcher(nc, bus, NODES, settings=fast) as watcher:
        events = aiter(watcher)
        assert await next_event(events) == WatchEvent(WatchOp.SYNCED, "", None, 0)
        await CacheWriter(nc, bus, NODES).put(NodeRecord(name="n1", ready=True))
        event = await next_event(events)
        assert (event.op, event.key, event.record) == (WatchOp.PUT, "n1", NodeRecord(name="n1", ready=True))


async def test_watch_one_namespace(nc: Client, bus: BusNames, fast: PullSettings) -> None:
    writer = CacheWriter(nc, bus, PODS)
    await writer.put(PodRecord(namespace="a", name="x"))
    await writer.put(PodRecord(namespace="ab", name="y"))
    async with CacheWatcher(nc, bus, PODS, namespace="a", settings=fast) as watcher:
        events = aiter(watcher)
        assert (await next_event(events)).key == "a/x"
        assert (await next_event(events)).op is WatchOp.SYNCED
        await writer.put(PodRecord(namespace="ab", name="z"))
        await writer.put(PodRecord(namespace="a", name="w"))
        assert (await next_event(events)).key == "a/w"
    with pytest.raises(ValueError, match="not namespaced"):
        CacheWatcher(nc, bus, NODES, namespace="a")


async def test_get_and_conditional_put(nc: Client, bus: BusNames) -> None:
    writer = CacheWriter(nc, bus, NODES)
    assert await writer.get("n1") is None
    first = await writer.put(NodeRecord(name="n1"), expected_revision=0)
    with pytest.raises(RevisionConflict):
        await writer.put(NodeRecord(name="n1", ready=True), expected_revision=0)
    second = await writer.put(NodeRecord(name="n1", ready=True), expected_revision=first)
    assert await writer.get("n1") == (NodeRecord(name="n1", ready=True), second)
    await writer.delete("n1")
    assert await writer.get("n1") is None


async def test_two_watchers_see_the_same_history(nc: Client, bus: BusNames, fast: PullSettings) -> None:
    writer = CacheWriter(nc, bus, NODES)
    for i in range(300):  # more than one pull batch
        await writer.put(NodeRecord(name=f"n{i}"))

    async def collect() -> list[str]:
        seen: list[str] = []
        async with CacheWatcher(nc, bus, NODES, settings=fast, batch=64) as watcher:
            async for event in watcher:
                if event.op is WatchOp.SYNCED:
                    return seen
                seen.append(event.key)
        return seen

    first, second = await asyncio.gather(collect(), collect())
    assert first == second == [f"n{i}" for i in range(300)]


async def test_closing_a_watcher_removes_its_consumer(nc: Client, bus: BusNames, fast: PullSettings) -> None:
    js = nc.jetstream()
    stream = bus.kv_stream(PODS.kind)
    async with CacheWatcher(nc, bus, PODS, settings=fast) as watcher:
        async for event in watcher:
            assert event.op is WatchOp.SYNCED
            break
        assert len(await js.consumers_info(stream)) == 1
    assert await js.consumers_info(stream) == []


async def test_watch_resumes_when_its_consumer_is_deleted(
    nc: Client, bus: BusNames, fast: PullSettings
) -> None:
    js = nc.jetstream()
    stream = bus.kv_stream(PODS.kind)
    writer = CacheWriter(nc, bus, PODS)
    await writer.put(PodRecord(namespace="a", name="one"))
    async with CacheWatcher(nc, bus, PODS, settings=fast) as watcher:
        events = aiter(watcher)
        assert (await next_event(events)).key == "a/one"
        assert (await next_event(events)).op is WatchOp.SYNCED
        for info in await js.consumers_info(stream):
            await js.delete_consumer(stream, info.name)
        await writer.put(PodRecord(namespace="a", name="two"))
        await writer.put(PodRecord(namespace="a", name="one", phase="Running"))
        assert [
            (e.key, e.record and e.record.phase) for e in [await next_event(events), await next_event(events)]
        ] == [
            ("a/two", "Pending"),
            ("a/one", "Running"),
        ]


async def test_delete_markers_expire(nc: Client, bus: BusNames) -> None:
    writer = CacheWriter(nc, bus, NODES, tombstone_ttl=1)
    await writer.put(NodeRecord(name="n1"))
    await writer.delete("n1")
    js = nc.jetstream()
    stream = bus.kv_stream(NODES.kind)
    assert (await js.stream_info(stream)).state.messages == 1  # the marker replaced the value

    async def marker_gone() -> None:
        assert (await js.stream_info(stream)).state.messages == 0

    await retrying(marker_gone, within=10)
