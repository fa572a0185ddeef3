"""The queue cache over a real KV bucket: initial sync, then puts and deletes as they happen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from nats_fixture import NatsServer
from webhook_process import unique_prefix

from pyroclast.common.bus.connect import close, connect
from pyroclast.common.bus.kv import QUEUES, CacheWriter
from pyroclast.common.bus.messages import QueueRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.pull import PullSettings
from pyroclast.common.bus.setup import ensure_jetstream
from pyroclast.webhook.cluster import QueueCache

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

FAST = PullSettings(heartbeat=0.25, expires=1.0, request_timeout=2.0)


async def _until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Poll ``condition`` (the cache has no change notification) until true or ``limit``."""
    for _ in range(int(limit / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not met after {limit}s")


async def test_follows_the_queues_bucket(nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, "webhook-cache-test", max_attempts=3)
    names = BusNames(unique_prefix())
    try:
        await ensure_jetstream(nc.jetstream(), names)
        writer = CacheWriter(nc, names, QUEUES)
        await writer.put(QueueRecord(name="default"))
        await writer.put(QueueRecord(name="gone"))
        await writer.delete("gone")
        cache = QueueCache()
        stop = asyncio.Event()
        task = asyncio.create_task(cache.follow(nc, names, stop, settings=FAST))
        async with asyncio.timeout(10):
            await cache.synced.wait()
        assert [q.metadata.name for q in cache.queues() if q.metadata] == ["default"]

        await writer.put(QueueRecord(name="default", state="Closed"))
        await writer.put(QueueRecord(name="late", parent="default"))
        await _until(lambda: cache.queue("late") is not None)
        closed = cache.queue("default")
        assert closed is not None
        assert closed.status is not None
        assert closed.status.state == "Closed"

        await writer.delete("late")
        await _until(lambda: cache.queue("late") is None)
        stop.set()
        async with asyncio.timeout(5):
            await task
    finally:
        await close(nc)
