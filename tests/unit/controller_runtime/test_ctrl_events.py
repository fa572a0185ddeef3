"""Event aggregation and rate limiting of the recorder the job controller and the binder share."""

from __future__ import annotations

import asyncio
from typing import Any

from pyroclast.common.models import Job, ObjectMeta, PodGroup, PodGroupSpec
from pyroclast.controller.jobs.reconcile import PodGroupSpecs
from pyroclast.controller.jobs.recorder import EventAggregator, EventKey


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sink:
    """Records create/bump calls; ``gone`` names events whose bump finds nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.gone: set[str] = set()

    async def create(self, key: EventKey, subject: Any, name: str, count: int, first: str, last: str) -> None:
        self.calls.append(("create", key.message, count))

    async def bump(self, key: EventKey, name: str, count: int, last: str) -> bool:
        if name in self.gone:
            return False
        self.calls.append(("bump", key.message, count))
        return True


def key(message: str = "boom", name: str = "j") -> EventKey:
    return EventKey("ns", "Job", name, "u", "Warning", "PodGroupPending", message)


def aggregator(sink: Sink, clock: Clock, **kwargs: Any) -> EventAggregator:
    return EventAggregator(sink.create, sink.bump, clock=clock, **kwargs)


async def test_repeats_while_queued_make_one_event_with_their_count() -> None:
    sink, clock = Sink(), Clock()
    events = aggregator(sink, clock)
    assert events.record(key(), None) is True
    assert events.record(key(), None) is False
    assert events.record(key(), None) is False
    events.record(key("other"), None)
    await events.flush()
    assert sink.calls == [("create", "boom", 3), ("create", "other", 1)]


async def test_a_repeat_after_the_write_bumps_the_count_and_waits_for_the_interval() -> None:
    sink, clock = Sink(), Clock()
    events = aggregator(sink, clock, interval=5.0)
    stop = asyncio.Event()
    runner = asyncio.create_task(events.run(stop))
    events.record(key(), None)
    await asyncio.sleep(0.05)
    assert sink.calls == [("create", "boom", 1)]
    events.record(key(), None)
    events.record(key(), None)
    await asyncio.sleep(0.05)
    assert sink.calls == [("create", "boom", 1)]  # not due before the interval
    clock.now += 5.0
    await asyncio.sleep(0.6)
    assert sink.calls == [("create", "boom", 1), ("bump", "boom", 3)]
    stop.set()
    await asyncio.wait_for(runner, 2)


async def test_stop_writes_what_is_queued_even_before_it_is_due() -> None:
    sink, clock = Sink(), Clock()
    events = aggregator(sink, clock, interval=60.0, workers=3)
    await events.flush()
    events.record(key(), None)
    await events.flush()
    events.record(key(), None)
    for i in range(5):
        events.record(key(name=f"j{i}"), None)
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(events.run(stop), 2)
    assert len(events) == 0
    assert ("bump", "boom", 2) in sink.calls
    assert sum(1 for call in sink.calls if call[0] == "create") == 6


async def test_outside_the_window_or_once_the_event_is_gone_a_new_event_is_created() -> None:
    sink, clock = Sink(), Clock()
    events = aggregator(sink, clock, window=600.0)
    events.record(key(), None)
    await events.flush()
    clock.now += 601
    events.record(key(), None)
    await events.flush()
    assert sink.calls == [("create", "boom", 1), ("create", "boom", 1)]
    sink.gone = {w.name for w in events._written.values()}
    events.record(key(), None)
    await events.flush()
    assert sink.calls[-1] == ("create", "boom", 1)


async def test_a_full_queue_drops_new_events_but_keeps_counting_queued_ones() -> None:
    sink, clock = Sink(), Clock()
    events = aggregator(sink, clock, max_pending=1)
    events.record(key("a"), None)
    events.record(key("b"), None)
    events.record(key("a"), None)
    await events.flush()
    assert events.dropped == 1
    assert sink.calls == [("create", "a", 2)]


async def test_write_failures_are_logged_not_raised() -> None:
    clock = Clock()

    async def create(*_: Any) -> None:
        raise TimeoutError

    async def bump(*_: Any) -> bool:
        return True

    events = EventAggregator(create, bump, clock=clock)
    events.record(key(), None)
    await events.flush()
    assert len(events) == 0


def test_podgroup_specs_are_current_until_the_job_generation_or_the_podgroup_spec_changes() -> None:
    def job(generation: int | None) -> Job:
        return Job(metadata=ObjectMeta(name="j", namespace="ns", uid="u", generation=generation))

    pg = PodGroup(metadata=ObjectMeta(name="pg"), spec=PodGroupSpec(min_member=2, min_resources={"cpu": "2"}))
    specs = PodGroupSpecs()
    assert not specs.current(job(1), pg, {})
    specs.remember(job(1), pg, {})
    assert specs.current(job(1), pg, {})
    assert not specs.current(job(2), pg, {})  # the job's spec changed
    assert not specs.current(job(1), pg, {"high": 10})  # a priority class changed
    edited = PodGroup(metadata=pg.metadata, spec=PodGroupSpec(min_member=1, min_resources={"cpu": "2"}))
    assert not specs.current(job(1), edited, {})  # someone else changed the podgroup
    specs.remember(job(None), pg, {})  # without a generation nothing is cached
    assert not specs.current(job(None), pg, {})
