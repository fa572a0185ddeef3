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
    """Posts Events in the background, so reporting never slows the work it reports on."""

    def __init__(self, client: KubeClient, component: str) -> None:
        self.client = client
        self.component = component
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
        task = asyncio.get_running_loop().create_task(record(self.client, event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
