"""The session loop: decisions published and assumed, explanations kept current, failures survived."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from svc_support import (
    TEST_CONF,
    FakeExplanations,
    FakePublisher,
    node,
    pod,
    podgroup,
    put,
    queue,
    synced_cache,
)

from pyroclast.common.bus.messages import Decision
from pyroclast.common.bus.names import AuditKind, BusNames
from pyroclast.scheduler.conf import SchedulerConf, parse_conf
from pyroclast.scheduler.service.cache import SchedulerCache
from pyroclast.scheduler.service.loop import SessionLoop
from pyroclast.scheduler.service.metrics import SchedulerMetrics

CONF = parse_conf(TEST_CONF)


def make_loop(
    cache: SchedulerCache, conf: SchedulerConf = CONF
) -> tuple[SessionLoop, FakePublisher, FakeExplanations]:
    publisher, explanations = FakePublisher(), FakeExplanations()
    loop = SessionLoop(cache, lambda: conf, publisher, explanations, SchedulerMetrics(), period=0.01)
    return loop, publisher, explanations


def gang(cache: SchedulerCache, size: int = 3) -> None:
    put(cache, queue(), podgroup("pg", size), *(pod(f"p{i}", "pg") for i in range(size)))


async def test_gang_waits_with_an_explanation_then_binds_whole_when_a_node_comes() -> None:
    cache = synced_cache()
    put(cache, node("n1", cpu="2"))
    gang(cache, 3)
    loop, publisher, explanations = make_loop(cache)
    result = await loop.run_once()
    assert result is not None
    assert result.binds() == {}
    assert list(explanations.records) == ["ns/pg"]
    assert "3/3 tasks in gang unschedulable" in explanations.records["ns/pg"].message
    puts = explanations.puts
    await loop.run_once()
    assert explanations.puts == puts  # unchanged explanations are not written again
    put(cache, node("n2", cpu="2"))
    await loop.run_once()
    assert len(publisher.binds()) == 3
    await loop.run_once()  # the binds, assumed, count as Bound: the job runs
    assert explanations.records == {}
    assert len(publisher.binds()) == 3


async def test_published_binds_are_assumed_so_the_next_session_does_not_bind_again() -> None:
    cache = synced_cache()
    put(cache, node("n1", cpu="4"))
    gang(cache, 2)
    loop, publisher, _ = make_loop(cache)
    await loop.run_once()
    assert len(publisher.binds()) == 2
    assert cache.assumed_binds() == publisher.binds()
    put(cache, pod("extra", "pg2", cpu="3"), podgroup("pg2", 1))
    second = await loop.run_once()
    assert second is not None
    assert second.binds() == {}


async def test_a_failing_session_is_counted_and_the_loop_goes_on() -> None:
    cache = synced_cache()
    put(cache, node("n1"))
    gang(cache, 1)
    confs = iter([RuntimeError("boom")])

    def conf() -> SchedulerConf:
        nxt = next(confs, None)
        if isinstance(nxt, Exception):
            raise nxt
        return CONF

    publisher = FakePublisher()
    loop = SessionLoop(cache, conf, publisher, None, SchedulerMetrics(), period=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    async with asyncio.timeout(5):
        while not publisher.binds():  # noqa: ASYNC110 - polling a fake
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert loop.failures == 1
    assert loop.sessions >= 1
    assert loop.metrics.sessions.labels(result="error")._value.get() == 1


async def test_unconfirmed_publishes_are_retried_with_the_same_ids() -> None:
    cache = synced_cache()
    put(cache, node("n1"))
    gang(cache, 1)
    loop, publisher, _ = make_loop(cache)
    publisher.fail = 2
    await loop.run_once()
    assert len(publisher.batches) == 1
    assert loop.metrics.publish_failures._value.get() == 2


async def test_no_session_before_the_cache_is_ready() -> None:
    cache = SchedulerCache(None, BusNames("t"))
    loop, publisher, _ = make_loop(cache)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert loop.sessions == 0
    assert publisher.batches == []


async def test_explanations_left_by_a_previous_scheduler_are_rewritten_or_deleted() -> None:
    cache = synced_cache()
    put(cache, node("n1", cpu="1"))
    gang(cache, 2)
    loop, _, explanations = make_loop(cache)
    loop.adopt_explanations(["ns/stale", "ns/pg"])
    await loop.run_once()
    assert explanations.deletes == 1
    assert list(explanations.records) == ["ns/pg"]


class FakeAudit:
    """Records what the loop emits on the audit stream; fails when asked to."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    async def emit(self, kind: AuditKind, action: str, name: str, **fields: Any) -> None:
        if self.fail:
            raise ConnectionError("audit stream unreachable")
        self.events.append({"kind": kind, "action": action, "name": name, **fields})


async def test_binds_are_audited_before_they_are_published() -> None:
    cache = synced_cache()
    put(cache, node("n1", cpu="4"))
    gang(cache, 2)
    publisher, audit = FakePublisher(), FakeAudit()
    loop = SessionLoop(cache, lambda: CONF, publisher, None, SchedulerMetrics(), period=0.01, audit=audit)
    await loop.run_once()
    assert {f"{e['namespace']}/{e['name']}": e["reason"] for e in audit.events} == publisher.binds()
    for event in audit.events:
        assert (event["kind"], event["action"], event["wait"]) == (AuditKind.DECISION, "Bind", False)
        assert event["details"]["node"] == "n1"
        assert event["details"]["podGroup"]


async def test_an_audit_failure_does_not_stop_the_decisions() -> None:
    cache = synced_cache()
    put(cache, node("n1", cpu="4"))
    gang(cache, 2)
    publisher = FakePublisher()
    loop = SessionLoop(
        cache, lambda: CONF, publisher, None, SchedulerMetrics(), period=0.01, audit=FakeAudit(fail=True)
    )
    await loop.run_once()
    assert len(publisher.binds()) == 2


class SlowAudit(FakeAudit):
    """Each emit takes a moment; counts how many are in flight at once."""

    def __init__(self, fail_first: bool = False) -> None:
        super().__init__()
        self.fail_first = fail_first
        self.active = self.peak = 0

    async def emit(self, kind: AuditKind, action: str, name: str, **fields: Any) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.01)
            if self.fail_first:
                self.fail_first = False
                raise ConnectionError("audit stream unreachable")
            await super().emit(kind, action, name, **fields)
        finally:
            self.active -= 1


class OrderedPublisher:
    """Publishes like FakePublisher; notes how many decisions were audited by then."""

    def __init__(self, audit: FakeAudit) -> None:
        self.audit = audit
        self.published = FakePublisher()
        self.audited_first: list[int] = []

    async def publish_all(
        self,
        decisions: Sequence[Decision],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[int]:
        self.audited_first.append(len(self.audit.events))
        ids: list[int] = await self.published.publish_all(decisions, timeout=timeout)
        return ids


async def test_the_decisions_of_a_session_are_audited_together_before_they_are_published() -> None:
    cache = synced_cache()
    put(cache, node("n1", cpu="16", memory="64Gi"))
    gang(cache, 6)
    audit = SlowAudit()
    publisher = OrderedPublisher(audit)
    loop = SessionLoop(cache, lambda: CONF, publisher, None, SchedulerMetrics(), period=0.01, audit=audit)
    await loop.run_once()
    assert len(publisher.published.binds()) == 6
    assert audit.peak == 6  # not one emit after the other
    assert publisher.audited_first == [6]  # all on the stream before the binder can act


async def test_one_failed_audit_emit_loses_only_its_own_event() -> None:
    cache = synced_cache()
    put(cache, node("n1", cpu="16", memory="64Gi"))
    gang(cache, 4)
    audit = SlowAudit(fail_first=True)
    publisher = FakePublisher()
    loop = SessionLoop(cache, lambda: CONF, publisher, None, SchedulerMetrics(), period=0.01, audit=audit)
    await loop.run_once()
    assert len(publisher.binds()) == 4
    assert len(audit.events) == 3
