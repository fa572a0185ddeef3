"""Kubernetes Events about jobs, and audit events on the bus.

:class:`EventRecorder` queues events and writes them from one background task, so callers
(informer handlers included) never wait on the API. A repeated event (same object, type,
reason and message) bumps the count of the event already written, as client-go's
recorder does.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
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


@dataclass(frozen=True)
class _Key:
    namespace: str
    name: str
    uid: str
    type: str
    reason: str
    message: str


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
    """Writes Events from a queue; start :meth:`run` in the service's task group."""

    def __init__(self, kube: KubeClient, *, component: str = COMPONENT) -> None:
        self.kube = kube
        self.component = component
        self._queue: asyncio.Queue[tuple[ObjectReference, str, str, str]] = asyncio.Queue(MAX_PENDING)
        self._written: dict[_Key, tuple[str, int]] = {}

    def record(self, ref: ObjectReference, event_type: str, reason: str, message: str) -> None:
        try:
            self._queue.put_nowait((ref, event_type, reason, message))
        except asyncio.QueueFull:
            log.warning("event dropped: recorder queue full", reason=reason)

    def job_event(self, job: Job, event_type: str, reason: str, message: str) -> None:
        log.info(
            "job event",
            key=f"{spec.namespace(job)}/{spec.name(job)}",
            event_type=event_type,
            reason=reason,
            message=message,
        )
        self.record(job_reference(job), event_type, reason, message)

    async def run(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and self._queue.empty()):
            try:
                async with asyncio.timeout(0.5):
                    item = await self._queue.get()
            except TimeoutError:
                continue
            try:
                await self._write(*item)
            except Exception as err:
                log.warning(
                    "event not recorded",
                    reason=item[2],
                    error=repr(err),
                    key=f"{item[0].namespace}/{item[0].name}",
                )

    async def _write(self, ref: ObjectReference, event_type: str, reason: str, message: str) -> None:
        namespace = ref.namespace or "default"
        key = _Key(namespace, ref.name or "", ref.uid or "", event_type, reason, message)
        now = format_time(datetime.now(UTC))
        seen = self._written.get(key)
        if seen is not None:
            name, count = seen
            patch = {"count": count + 1, "lastTimestamp": now}
            with contextlib.suppress(ApiError):
                await self.kube.patch(resources.EVENTS, namespace, name, patch)
                self._written[key] = (name, count + 1)
                return
        name = f"{ref.name}.{secrets.token_hex(8)}"
        event = Event(
            metadata=ObjectMeta(name=name, namespace=namespace),
            involved_object=ref,
            reason=reason,
            message=message,
            type=event_type,
            count=1,
            first_timestamp=now,
            last_timestamp=now,
            source=EventSource(component=self.component),
            reporting_component=self.component,
        )
        await self.kube.create(resources.EVENTS, event, namespace)
        if len(self._written) > MAX_PENDING:
            self._written.clear()
        self._written[key] = (name, 1)


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
