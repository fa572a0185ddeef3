"""Kubernetes Events from the sandbox's kubelet and controllers, for ``kubectl describe``.

Recording an event never fails the caller: an event that cannot be written is logged and
dropped, as client-go's recorder does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import structlog

from pyroclast.sandbox.kubeclient import ApiError, KubeClient, api_path, object_key
from pyroclast.sandbox.timeutil import format_micro_time, format_time, now

log = structlog.stdlib.get_logger(__name__)
NORMAL, WARNING = "Normal", "Warning"
WORKERS = 2
"""Events written at once by one recorder."""
MAX_QUEUED = 10000
"""Events waiting to be written; more are dropped."""


def event_object(
    obj: Mapping[str, Any],
    reason: str,
    message: str,
    *,
    kind: str,
    api_version: str,
    component: str,
    host: str | None = None,
    event_type: str = NORMAL,
) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    stamp = now()
    source: dict[str, str] = {"component": component}
    if host:
        source["host"] = host
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name')}.{time.time_ns():x}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": api_version,
            "kind": kind,
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": source,
        "reportingComponent": component,
        "reportingInstance": host or component,
        "firstTimestamp": format_time(stamp),
        "lastTimestamp": format_time(stamp),
        "eventTime": format_micro_time(stamp),
        "action": reason,
        "count": 1,
    }


async def record(client: KubeClient, event: dict[str, Any]) -> None:
    """Write ``event``; on failure log it and carry on."""
    namespace = event["metadata"]["namespace"]
    try:
        await client.create(api_path("v1", "events", namespace), event)
    except (ApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        involved = event.get("involvedObject") or {}
        log.debug(
            "event dropped",
            key=object_key({"metadata": involved}),
            reason=event.get("reason"),
            error=str(exc) or type(exc).__name__,
        )


class Recorder:
    """Posts Events in the background, so reporting never slows the work it reports on.

    Like client-go's broadcaster, events go through a bounded queue written by a few
    workers (an event that finds the queue full is dropped and logged): a burst of events
    then trickles to the API server instead of competing with the work it reports on.
    """

    def __init__(
        self, client: KubeClient, component: str, *, workers: int = WORKERS, max_queued: int = MAX_QUEUED
    ) -> None:
        self.client = client
        self.component = component
        self.workers = max(1, workers)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max_queued)
        self._pending: set[asyncio.Task[None]] = set()

    def emit(
        self,
        obj: Mapping[str, Any],
        reason: str,
        message: str,
        *,
        kind: str,
        api_version: str = "v1",
        event_type: str = NORMAL,
        host: str | None = None,
    ) -> None:
        event = event_object(
            obj,
            reason,
            message,
            kind=kind,
            api_version=api_version,
            component=self.component,
            host=host,
            event_type=event_type,
        )
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            involved = event.get("involvedObject") or {}
            log.debug(
                "event dropped", key=object_key({"metadata": involved}), reason=reason, error="queue full"
            )
            return
        if sum(1 for task in self._pending if not task.done()) < self.workers:
            task = asyncio.get_running_loop().create_task(self._drain())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _drain(self) -> None:
        """Write queued events until the queue is empty (a worker ends when idle)."""
        while not self._queue.empty():
            try:
                await record(self.client, self._queue.get_nowait())
            except RuntimeError as exc:  # the client was closed: the process is stopping
                log.debug("events dropped", error=str(exc), dropped=self._queue.qsize() + 1)
                return
