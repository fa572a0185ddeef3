"""Audit events: follow live, replay from a time, filter by subject."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client

from pyroclast.common.bus.audit import AuditPublisher, audit_follow
from pyroclast.common.bus.messages import AuditEvent
from pyroclast.common.bus.names import AuditKind, BusNames
from pyroclast.common.bus.pull import PullSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_follow_live_sees_only_new_events(nc: Client, bus: BusNames, fast: PullSettings) -> None:
    publisher = AuditPublisher(nc, bus, actor="controller")
    await publisher.emit(AuditKind.JOB, "Created", "old", namespace="default")
    received: list[AuditEvent] = []
    async with audit_follow(nc, bus, settings=fast) as follower:

        async def collect() -> None:
            async for event in follower:
                received.append(event)
                if len(received) == 3:
                    return

        task = asyncio.create_task(collect())
        await asyncio.wait_for(follower.caught_up.wait(), 5)
        sent = [
            await publisher.emit(
                AuditKind.JOB, "PhaseChanged", "train", namespace="team.a", reason="Running"
            ),
            await publisher.emit(AuditKind.QUEUE, "Closed", "research", details={"by": "vcctl"}),
            await publisher.emit(AuditKind.DECISION, "Bind", "train-0", namespace="team.a", wait=False),
        ]
        await asyncio.wait_for(task, 5)
    assert received == sent
    assert {e.cluster for e in received} == {bus.prefix}
    assert {e.actor for e in received} == {"controller"}


async def test_replay_since_a_time_then_stop(nc: Client, bus: BusNames, fast: PullSettings) -> None:
    publisher = AuditPublisher(nc, bus, actor="webhook")
    for name in ("a", "b"):
        await publisher.emit(AuditKind.ADMISSION, "Denied", name, namespace="ns")
    await asyncio.sleep(0.05)  # server timestamps of the two groups must differ
    middle = datetime.now(UTC)
    await asyncio.sleep(0.05)
    for name in ("c", "d"):
        await publisher.emit(AuditKind.ADMISSION, "Allowed", name, namespace="ns")

    replayed = [e.name async for e in audit_follow(nc, bus, since=middle, follow=False, settings=fast)]
    assert replayed == ["c", "d"]
    everything = [e.name async for e in audit_follow(nc, bus, since="all", follow=False, settings=fast)]
    assert everything == ["a", "b", "c", "d"]
    recent = [
        e.name async for e in audit_follow(nc, bus, since=timedelta(hours=1), follow=False, settings=fast)
    ]
    assert recent == ["a", "b", "c", "d"]


async def test_filters_narrow_the_replay(nc: Client, bus: BusNames, fast: PullSettings) -> None:
    publisher = AuditPublisher(nc, bus, actor="cli")
    await publisher.emit(AuditKind.COMMAND, "Suspend", "job-1", namespace="x")
    await publisher.emit(AuditKind.COMMAND, "Resume", "job-2", namespace="y")
    await publisher.emit(AuditKind.PODGROUP, "Inqueue", "job-1", namespace="x")

    async def replay(**filters: object) -> list[str]:
        follower = audit_follow(nc, bus, since="all", follow=False, settings=fast, **filters)  # type: ignore[arg-type]
        return [f"{e.kind.value}:{e.name}" async for e in follower]

    assert await replay(kind=AuditKind.COMMAND) == ["command:job-1", "command:job-2"]
    assert await replay(namespace="x") == ["command:job-1", "podgroup:job-1"]
    assert await replay(kind=AuditKind.PODGROUP, namespace="x", name="job-1") == ["podgroup:job-1"]
    assert await replay(namespace="z") == []
