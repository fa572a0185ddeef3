"""Kubernetes Events about jobs, and audit events on the bus.

:class:`EventAggregator` is the recording machinery shared by the job controller and the
binder: callers never wait on the API (events go through a bounded queue written by
background tasks), and repeats are aggregated as client-go's recorder does. An event equal
to one already written (same object, type, reason and message) within ``window`` seconds
bumps that event's ``count`` instead of creating a new Event; repeats arriving while one is
queued only add to its count, and one event is written at most once every ``interval``
seconds, so a reason recorded on every sync costs one API call per interval, not one per sync.

:class:`EventRecorder` is the job controller's (events about jobs, written with the typed
client).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyroclast.common.bus.audit import AuditPublisher
from pyroclast.common.bus.names import AuditKind
from pyroclast.common.logging import get_logger
from pyroclast.common.models import Event, Job, ObjectMeta, ObjectReference
from pyroclast.common.models.batch import BATCH_API_VERSION
from pyroclast.common.models.core import EventSource
from pyroclast.controller.job import spec
from pyroclast.controller.job.timeutil import format_time
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient

log = get_logger(__name__)

COMPONENT = "vc-controller-manager"
MAX_PENDING = 10_000
WINDOW = 600.0
"""Seconds a repeat is counted into the event already written (client-go: 10 minutes)."""
INTERVAL = 5.0
"""Least seconds between two writes of one event."""


@dataclass(frozen=True, slots=True)
class EventKey:
    """What makes two events the same one: the object, type, reason and message."""

    namespace: str
    kind: str
    name: str
    uid: str
    type: str
    reason: str
    message: str


@dataclass(slots=True)
class _Written:
    name: str
    count: int
    first: str
    at: float  # monotonic time of the last write


@dataclass(slots=True)
class _Pending:
    subject: Any  # what the create callback needs to describe the object
    times: int
    first: str
    last: str


CreateEvent = Callable[[EventKey, Any, str, int, str, str], Awaitable[None]]
"""``create(key, subject, name, count, first_timestamp, last_timestamp)``: write a new Event."""
BumpEvent = Callable[[EventKey, str, int, str], Awaitable[bool]]
"""``bump(key, name, count, last_timestamp)``: update the count; False if the Event is gone."""


class EventAggregator:
    """A bounded queue of events written by ``workers`` background tasks (:meth:`run`),
    aggregated by :class:`EventKey` (see the module's docstring)."""

    def __init__(
        self,
        create: CreateEvent,
        bump: BumpEvent,
        *,
        window: float = WINDOW,
        interval: float = INTERVAL,
        max_pending: int = MAX_PENDING,
        workers: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._create = create
        self._bump = bump
        self.window = window
        self.interval = interval
        self.max_pending = max_pending
        self.workers = max(workers, 1)
        self._clock = clock
        self._pending: dict[EventKey, _Pending] = {}
        self._due: list[tuple[float, int, EventKey]] = []
        self._seq = itertools.count()
        self._written: OrderedDict[EventKey, _Written] = OrderedDict()
        self._writing: set[EventKey] = set()
        self._wake = asyncio.Event()
        self.dropped = 0

    def record(self, key: EventKey, subject: Any) -> bool:
        """Queue one occurrence; True if it starts a new write, False if it was added to
        an occurrence already queued (or dropped because the queue is full)."""
        now = format_time(datetime.now(UTC))
        pending = self._pending.get(key)
        if pending is not None:
            pending.times += 1
            pending.last = now
            return False
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            log.warning("event dropped: recorder queue full", reason=key.reason)
            return False
        self._pending[key] = _Pending(subject, 1, now, now)
        written = self._written.get(key)
        due = self._clock()
        if written is not None and due - written.at < self.window:
            due = max(due, written.at + self.interval)
        self._schedule(due, key)
        return True

    def _schedule(self, due: float, key: EventKey) -> None:
        heapq.heappush(self._due, (due, next(self._seq), key))
        self._wake.set()

    def __len__(self) -> int:
        return len(self._pending)

    async def run(self, stop: asyncio.Event) -> None:
        """Write events until ``stop`` is set and every queued one is written."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.workers):
                group.create_task(self._worker(stop))

    async def flush(self) -> None:
        """Write every queued event now, due or not (tests; a caller without :meth:`run`)."""
        while self._due:
            _, _, key = heapq.heappop(self._due)
            await self._write_pending(key)

    async def _worker(self, stop: asyncio.Event) -> None:
        while True:
            if not self._due:
                if stop.is_set():
                    return
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._wake.wait()
                continue
            due, _, key = self._due[0]
            delay = due - self._clock()
            if delay > 0 and not stop.is_set():
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(delay, 0.5)):
                        await self._wake.wait()
                continue
            heapq.heappop(self._due)
            if key in self._writing:  # another worker writes this event: come back after it
                self._schedule(self._clock() + 0.05, key)
                if not stop.is_set():
                    await asyncio.sleep(0.01)
                continue
            await self._write_pending(key)

    async def _write_pending(self, key: EventKey) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        self._writing.add(key)
        try:
            await self._write(key, pending)
        except Exception as err:
            log.warning(
                "event not recorded", reason=key.reason, error=repr(err), key=f"{key.namespace}/{key.name}"
            )
        finally:
            self._writing.discard(key)

    async def _write(self, key: EventKey, pending: _Pending) -> None:
        now = self._clock()
        written = self._written.get(key)
        if written is not None and now - written.at < self.window:
            count = written.count + pending.times
            if await self._bump(key, written.name, count, pending.last):
                written.count, written.at = count, now
                self._written.move_to_end(key)
                return
        name = f"{key.name}.{secrets.token_hex(8)}"
        await self._create(key, pending.subject, name, pending.times, pending.first, pending.last)
        self._written[key] = _Written(name, pending.times, pending.first, now)
        self._written.move_to_end(key)
        while len(self._written) > self.max_pending:
            self._written.popitem(last=False)


def job_reference(job: Job) -> ObjectReference:
    return ObjectReference(
        api_version=BATCH_API_VERSION,
        kind="Job",
        namespace=spec.namespace(job),
        name=spec.name(job),
        uid=spec.uid(job) or None,
        resource_version=(job.metadata.resource_version if job.metadata else None),
    )


class EventRecorder:
    """Events about jobs through an :class:`EventAggregator`; start :meth:`run` in the
    service's task group."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        component: str = COMPONENT,
        window: float = WINDOW,
        interval: float = INTERVAL,
    ) -> None:
        self.kube = kube
        self.component = component
        self.events = EventAggregator(self._create, self._bump, window=window, interval=interval)

    def record(self, ref: ObjectReference, event_type: str, reason: str, message: str) -> bool:
        """Queue an event about ``ref``; False when it only adds to one already recorded."""
        return self.events.record(_key(ref, event_type, reason, message), ref)

    def job_event(self, job: Job, event_type: str, reason: str, message: str) -> None:
        new = self.record(job_reference(job), event_type, reason, message)
        (log.info if new else log.debug)(
            "job event",
            key=f"{spec.namespace(job)}/{spec.name(job)}",
            event_type=event_type,
            reason=reason,
            message=message,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.events.run(stop)

    async def flush(self) -> None:
        await self.events.flush()

    async def _write(self, ref: ObjectReference, event_type: str, reason: str, message: str) -> None:
        """Write one occurrence now, aggregated with the ones written before."""
        key = _key(ref, event_type, reason, message)
        now = format_time(datetime.now(UTC))
        await self.events._write(key, _Pending(ref, 1, now, now))

    async def _create(
        self, key: EventKey, ref: ObjectReference, name: str, count: int, first: str, last: str
    ) -> None:
        event = Event(
            metadata=ObjectMeta(name=name, namespace=key.namespace),
            involved_object=ref,
            reason=key.reason,
            message=key.message,
            type=key.type,
            count=count,
            first_timestamp=first,
            last_timestamp=last,
            source=EventSource(component=self.component),
            reporting_component=self.component,
        )
        await self.kube.create(resources.EVENTS, event, key.namespace)

    async def _bump(self, key: EventKey, name: str, count: int, last: str) -> bool:
        try:
            patch = {"count": count, "lastTimestamp": last}
            await self.kube.patch(resources.EVENTS, key.namespace, name, patch)
        except ApiError:
            return False
        return True


def _key(ref: ObjectReference, event_type: str, reason: str, message: str) -> EventKey:
    namespace = ref.namespace or "default"
    return EventKey(namespace, ref.kind or "", ref.name or "", ref.uid or "", event_type, reason, message)


class Auditor:
    """Audit events of the job controller; failures are logged, never raised."""

    def __init__(self, publisher: AuditPublisher | None) -> None:
        self.publisher = publisher

    async def emit(self, kind: AuditKind, action: str, job: Job, **fields: Any) -> None:
        if self.publisher is None:
            return
        try:
            await self.publisher.emit(
                kind, action, spec.name(job), namespace=spec.namespace(job), uid=spec.uid(job), **fields
            )
        except Exception as err:
            log.warning(
                "audit event not published",
                key=f"{spec.namespace(job)}/{spec.name(job)}",
                action=action,
                error=repr(err),
            )
