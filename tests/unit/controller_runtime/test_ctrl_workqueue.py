"""Work queue semantics: dedup, per-key exclusivity, payload order, backoff, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from pyroclast.controller.kube.workqueue import ShutDownError, WorkQueue


async def test_key_is_queued_once_and_items_are_merged_without_duplicates() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("ns/a", "x")
    q.add("ns/b")
    q.add("ns/a", "y")
    q.add("ns/a", "x")
    assert len(q) == 2
    assert await q.get() == ("ns/a", ["x", "y"])
    assert await q.get() == ("ns/b", [])


async def test_key_in_process_is_not_handed_out_until_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("k", "1")
    key, _ = await q.get()
    q.add("k", "2")
    assert len(q) == 0  # held by a worker
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await q.get()
    q.done(key)
    assert await q.get() == ("k", ["2"])


async def test_rate_limited_requeue_backs_off_exponentially_until_forgotten() -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=0.01, max_delay=0.04)
    assert [q.add_rate_limited("k", ["i"]) for _ in range(4)] == [0.01, 0.02, 0.04, 0.04]
    assert q.num_requeues("k") == 4
    async with asyncio.timeout(1):
        assert await q.get() == ("k", ["i"])
    q.forget("k")
    assert q.num_requeues("k") == 0
    assert q.backoff("k") == 0.01


async def test_add_after_delays_and_depth_is_reported() -> None:
    depths: list[int] = []
    q: WorkQueue[str] = WorkQueue(on_depth=depths.append)
    q.add_after("k", "late", 0.05)
    assert len(q) == 0
    async with asyncio.timeout(1):
        assert await q.get() == ("k", ["late"])
    assert depths == [1, 0]


async def test_shutdown_wakes_waiting_workers_and_drops_timers() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("k", "never", 10)
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.shutdown()
    with pytest.raises(ShutDownError):
        await asyncio.wait_for(waiter, 1)
    q.add("k", "ignored")
    assert len(q) == 0
