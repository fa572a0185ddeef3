"""Decisions over the work-queue stream: once-only delivery, retries, failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from bus_waits import wait_until
from nats.aio.client import Client
from nats_fixture import NatsServer

from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.decisions import (
    DecisionConsumer,
    DecisionPublisher,
    PermanentDecisionError,
    follow_failures,
    new_decision_id,
)
from pyroclast.common.bus.messages import BindDecision, Decision, DecisionFailure, EvictDecision
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.pull import PullSettings
from pyroclast.common.bus.setup import JetStreamSettings, ensure_jetstream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

QUICK_RETRY = Backoff(initial=0.05, maximum=0.2)


def bind(name: str) -> BindDecision:
    return BindDecision(id=new_decision_id(), namespace="default", name=name, node_name="n1")


@contextlib.asynccontextmanager
async def consuming(
    nc: Client,
    names: BusNames,
    handler: Callable[[Decision], Awaitable[None]],
    settings: PullSettings,
    actor: str,
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    consumer = DecisionConsumer(nc, names, handler, actor=actor, settings=settings, retry=QUICK_RETRY)
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def stream_messages(nc: Client, names: BusNames) -> int:
    return (await nc.jetstream().stream_info(names.decisions_stream)).state.messages


async def test_each_decision_is_handled_once_across_competing_binders(
    nats_server: NatsServer, nc: Client, bus: BusNames, fast: PullSettings
) -> None:
    handled: Counter[str] = Counter()
    by_binder: Counter[str] = Counter()

    def handler_for(binder: str) -> Callable[[Decision], Awaitable[None]]:
        async def handle(decision: Decision) -> None:
            await asyncio.sleep(0.005)
            handled[decision.id] += 1
            by_binder[binder] += 1

        return handle

    other = await connect(nats_server.url, "binder-2")
    publisher = DecisionPublisher(nc, bus)
    decisions = [bind(f"p{i}") for i in range(60)]
    try:
        async with (
            consuming(nc, bus, handler_for("b1"), fast, "b1"),
            consuming(other, bus, handler_for("b2"), fast, "b2"),
        ):
            for decision in decisions:
                await publisher.publish(decision)
            await wait_until(lambda: len(handled) == len(decisions))
            await asyncio.sleep(0.3)  # room for a duplicate to show up
        assert set(handled) == {d.id for d in decisions}
        assert set(handled.values()) == {1}
        assert sum(by_binder.values()) == len(decisions)
        assert await stream_messages(nc, bus) == 0
    finally:
        await close(other)


async def test_republishing_a_decision_id_is_deduplicated(nc: Client, bus: BusNames) -> None:
    publisher = DecisionPublisher(nc, bus)
    decision = bind("dup")
    first = await publisher.publish(decision)
    assert await publisher.publish(decision) == first
    assert await stream_messages(nc, bus) == 1


async def test_failed_decision_is_redelivered_then_acked(
    nc: Client, bus: BusNames, fast: PullSettings
) -> None:
    attempts: Counter[str] = Counter()
    done = asyncio.Event()

    async def flaky(decision: Decision) -> None:
        attempts[decision.id] += 1
        if attempts[decision.id] < 3:
            raise RuntimeError("API server busy")
        done.set()

    decision = EvictDecision(id=new_decision_id(), namespace="default", name="victim", reason="Preempted")
    async with consuming(nc, bus, flaky, fast, "b1"):
        await DecisionPublisher(nc, bus).publish(decision)
        await asyncio.wait_for(done.wait(), 10)
        await wait_until(lambda: attempts[decision.id] == 3)
    assert attempts[decision.id] == 3
    assert await stream_messages(nc, bus) == 0


async def test_failures_are_reported_when_retrying_cannot_help(
    nc: Client, names: BusNames, fast: PullSettings
) -> None:
    await ensure_jetstream(nc.jetstream(), names, settings=JetStreamSettings(binder_max_deliver=2))
    attempts: Counter[str] = Counter()
    permanent = bind("no-such-pod")
    exhausted = bind("always-fails")

    async def handle(decision: Decision) -> None:
        attempts[decision.id] += 1
        if decision.id == permanent.id:
            raise PermanentDecisionError("pod not found")
        raise RuntimeError("conflict")

    failures: list[DecisionFailure] = []
    async with follow_failures(nc, names, settings=fast) as follower:

        async def collect() -> None:
            async for failure in follower:
                failures.append(failure)

        collector = asyncio.create_task(collect())
        await asyncio.wait_for(follower.caught_up.wait(), 5)
        async with consuming(nc, names, handle, fast, "binder-x"):
            publisher = DecisionPublisher(nc, names)
            await publisher.publish(permanent)
            await publisher.publish(exhausted)
            await wait_until(lambda: len(failures) == 2)
    await collector
    by_id = {f.decision.id: f for f in failures}
    assert by_id[permanent.id].attempts == 1
    assert by_id[permanent.id].reason == "Permanent"
    assert by_id[permanent.id].message == "pod not found"
    assert by_id[exhausted.id].attempts == 2
    assert by_id[exhausted.id].reason == "RuntimeError"
    assert by_id[exhausted.id].actor == "binder-x"
    assert by_id[exhausted.id].decision == exhausted
    assert attempts == {permanent.id: 1, exhausted.id: 2}
    assert await stream_messages(nc, names) == 0
