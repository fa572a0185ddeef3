"""The session loop's triggering: a cache change starts the next session early."""

from __future__ import annotations

import asyncio

from svc_support import TEST_CONF, FakePublisher, node, pod, podgroup, put, queue, synced_cache

from pyroclast.scheduler.conf import parse_conf
from pyroclast.scheduler.service.loop import SessionLoop
from pyroclast.scheduler.service.metrics import SchedulerMetrics

CONF = parse_conf(TEST_CONF)


async def test_a_cache_change_starts_a_session_before_the_period_is_over() -> None:
    cache = synced_cache()
    put(cache, node("n1"))
    publisher = FakePublisher()
    loop = SessionLoop(cache, lambda: CONF, publisher, None, SchedulerMetrics(), period=30.0, min_period=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    async with asyncio.timeout(5):
        while loop.sessions < 1:  # noqa: ASYNC110 - polling the loop
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert loop.sessions == 1  # nothing changed: the next session waits for the period
        put(cache, queue(), podgroup("pg", 1), pod("p0", "pg"))
        while not publisher.binds():  # noqa: ASYNC110 - polling a fake
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert publisher.binds() == {"ns/p0": "n1"}
