"""A NATS restart in the middle of work: watchers and binders carry on, nothing is lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest
from bus_waits import retrying, wait_until
from nats_fixture import NatsServer

from pyroclast.common.bus.audit import AuditPublisher, audit_follow
from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.decisions import DecisionConsumer, DecisionPublisher, new_decision_id
from pyroclast.common.bus.kv import PODS, CacheWatcher, CacheWriter, ResumeGapError, WatchEvent, WatchOp
from pyroclast.common.bus.messages import AuditEvent, BindDecision, Decision, PodRecord
from pyroclast.common.bus.names import AuditKind, BusNames
from pyroclast.common.bus.pull import PullSettings
from pyroclast.common.bus.setup import JetStreamSettings, ensure_jetstream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def bind(name: str) -> BindDecision:
    return BindDecision(id=new_decision_id(), namespace="default", name=name, node_name="n1")


async def test_watchers_and_binders_survive_a_server_restart(
    nats_server_factory: Callable[[], NatsServer], fast: PullSettings
) -> None:
    server = nats_server_factory()
    names = BusNames("restart")
    backoff = Backoff(initial=0.05, maximum=0.3)
    scheduler = await connect(server.url, "scheduler", backoff=backoff)
    binder = await connect(server.url, "binder", backoff=backoff)
    await ensure_jetstream(scheduler.jetstream(), names, settings=JetStreamSettings(binder_ack_wait=2))

    writer = CacheWriter(scheduler, names, PODS)
    publisher = DecisionPublisher(scheduler, names)
    await writer.put(PodRecord(namespace="ns", name="before"))

    events: list[WatchEvent[PodRecord]] = []
    watcher = CacheWatcher(scheduler, names, PODS, settings=fast)

    async def watch() -> None:
        async for event in watcher:
            events.append(event)

    audit: list[AuditEvent] = []
    follower = audit_follow(binder, names, settings=fast)

    async def follow() -> None:
        async for event in follower:
            audit.append(event)

    handled: Counter[str] = Counter()
    release = asyncio.Event()

    async def handle(decision: Decision) -> None:
        if decision.name.startswith("slow"):
            await release.wait()  # still in hand when the server goes away
        handled[decision.id] += 1

    stop = asyncio.Event()
    consumer = DecisionConsumer(binder, names, handle, actor="binder", settings=fast)
    tasks = [
        asyncio.create_task(watch()),
        asyncio.create_task(follow()),
        asyncio.create_task(consumer.run(stop)),
    ]
    try:
        await asyncio.wait_for(watcher.synced.wait(), 5)
        await asyncio.wait_for(follower.caught_up.wait(), 5)
        first = [bind("fast-0"), bind("fast-1")]
        slow = [bind("slow-0"), bind("slow-1")]
        for decision in first + slow:
            await publisher.publish(decision)
        await wait_until(lambda: all(handled[d.id] for d in first))

        await asyncio.to_thread(server.restart)
        release.set()

        await retrying(lambda: writer.put(PodRecord(namespace="ns", name="after")))
        await retrying(lambda: writer.delete("ns/before"))
        later = [bind(f"later-{i}") for i in range(5)]
        for decision in later:
            await retrying(lambda decision=decision: publisher.publish(decision))
        await retrying(
            lambda: AuditPublisher(scheduler, names, actor="scheduler").emit(AuditKind.DECISION, "Bind", "x")
        )

        await wait_until(lambda: all(handled[d.id] for d in first + slow + later))
        await wait_until(lambda: [e.op for e in events][-1:] == [WatchOp.DELETE])
        await wait_until(lambda: len(audit) == 1)
        await wait_until(lambda: events[-1].key == "ns/before")
    finally:
        stop.set()
        await watcher.close()
        await follower.close()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)

    assert [(e.op, e.key) for e in events] == [
        (WatchOp.PUT, "ns/before"),
        (WatchOp.SYNCED, ""),
        (WatchOp.PUT, "ns/after"),
        (WatchOp.DELETE, "ns/before"),
    ]
    revisions = [e.revision for e in events]
    assert revisions == sorted(revisions)
    assert audit[0].name == "x"
    # Nothing lost; a decision whose ack died with the old connection may run twice.
    assert set(handled) == {d.id for d in first + slow + later}
    remaining = -1

    async def count() -> None:
        nonlocal remaining
        remaining = (await binder.jetstream().stream_info(names.decisions_stream)).state.messages
        assert remaining == 0

    await retrying(count)
    await close(scheduler)
    await close(binder)


async def test_a_watcher_cut_off_too_long_asks_to_start_over(
    nats_server_factory: Callable[[], NatsServer], fast: PullSettings
) -> None:
    server = nats_server_factory()
    names = BusNames("gap")
    nc = await connect(server.url, "scheduler", backoff=Backoff(initial=0.05, maximum=0.3))
    try:
        await ensure_jetstream(nc.jetstream(), names)
        async with CacheWatcher(nc, names, PODS, settings=fast, max_outage=0.5) as watcher:
            events = aiter(watcher)
            assert (await asyncio.wait_for(anext(events), 5)).op is WatchOp.SYNCED
            await asyncio.to_thread(server.stop)
            await asyncio.sleep(1.0)  # the outage itself, longer than max_outage
            await asyncio.to_thread(server.start)
            with pytest.raises(ResumeGapError, match="no contact"):
                await asyncio.wait_for(anext(events), 10)
    finally:
        await close(nc)
