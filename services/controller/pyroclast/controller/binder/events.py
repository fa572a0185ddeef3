"""The binder's Events. They never hold a decision up: each is queued to an
:class:`~pyroclast.controller.jobs.recorder.EventAggregator` and written in the background
(repeats counted into one Event, a failure logged); :meth:`BinderEvents.run` writes them."""

from __future__ import annotations

import asyncio

from pyroclast.controller.binder.api import ApiFailure, BinderApi, Obj, meta_of
from pyroclast.controller.jobs.recorder import EventAggregator, EventKey

__all__ = ["COMPONENT", "BinderEvents"]

COMPONENT = "volcano"


class BinderEvents:
    """Events about pods and podgroups, written through a :class:`BinderApi` as
    ``component``."""

    def __init__(self, api: BinderApi, *, component: str = COMPONENT, workers: int = 4) -> None:
        self.api = api
        self.component = component
        self.aggregator = EventAggregator(self._create_event, self._bump_event, workers=workers)

    async def run(self, stop: asyncio.Event) -> None:
        """Write the queued events until ``stop`` is set and the queue is empty."""
        await self.aggregator.run(stop)

    async def flush(self) -> None:
        """Write every queued event now."""
        await self.aggregator.flush()

    def record(self, obj: Obj, event_type: str, reason: str, message: str, kind: str = "Pod") -> None:
        """Queue an Event about ``obj`` (written in the background; a failure is logged)."""
        meta = meta_of(obj)
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        involved: Obj = {"kind": kind, "namespace": namespace, "name": name}
        involved["apiVersion"] = "v1" if kind == "Pod" else "scheduling.volcano.sh/v1beta1"
        if meta.get("uid"):
            involved["uid"] = meta["uid"]
        if meta.get("resourceVersion"):
            involved["resourceVersion"] = meta["resourceVersion"]
        key = EventKey(namespace, kind, name, meta.get("uid") or "", event_type, reason, message)
        self.aggregator.record(key, involved)

    async def _create_event(
        self, key: EventKey, involved: Obj, name: str, count: int, first: str, last: str
    ) -> None:
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": key.namespace},
            "involvedObject": involved,
            "reason": key.reason,
            "message": key.message,
            "type": key.type,
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "firstTimestamp": first,
            "lastTimestamp": last,
            "count": count,
        }
        await self.api.create_event(key.namespace, event)

    async def _bump_event(self, key: EventKey, name: str, count: int, last: str) -> bool:
        try:
            await self.api.patch_event(key.namespace, name, {"count": count, "lastTimestamp": last})
        except ApiFailure as err:
            if err.status == 404:
                return False
            raise
        return True
