"""The shell of the built-in binder: places default-scheduler pods on the first node that fits.

Decisions come from :mod:`binder`; this module feeds it the cluster as the informers see it,
plus the pods it bound whose binding the informer has not shown yet (``assumed``), so two
pods bound in a row never count the same free capacity twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from pyroclast.sandbox.controllers import binder
from pyroclast.sandbox.controllers.objects import condition, meta, name, namespace
from pyroclast.sandbox.events import WARNING, Recorder
from pyroclast.sandbox.kubeclient import ApiError, Informer, KubeClient, api_path
from pyroclast.sandbox.resources import Resources, pod_requests
from pyroclast.sandbox.timeutil import format_time

log = structlog.stdlib.get_logger(__name__)
UNSCHEDULABLE_RETRY_SECONDS = 2.0


class DefaultBinder:
    def __init__(
        self,
        client: KubeClient,
        *,
        pods: Informer,
        nodes: Informer,
        clock: Callable[[], datetime],
        retry: Callable[[str, float], None],
    ) -> None:
        self.client = client
        self.pods = pods
        self.nodes = nodes
        self.clock = clock
        self.retry = retry
        self.events = Recorder(client, "default-scheduler")
        self.assumed: dict[str, tuple[str, Resources]] = {}  # pod uid -> (node, requests)

    def observed(self, kind: str, pod: dict[str, Any]) -> None:
        """The informer caught up with a pod: its binding (or its end) is no longer assumed."""
        if kind == "DELETED" or (pod.get("spec") or {}).get("nodeName"):
            self.assumed.pop(str(meta(pod).get("uid") or ""), None)

    async def bind(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or not binder.needs_binding(pod):
            return
        uid = str(meta(pod).get("uid") or "")
        if uid in self.assumed:
            return
        usage = binder.node_usage(self.pods.items())
        for other, (node_name, requests) in self.assumed.items():
            if other != uid:
                total = usage.setdefault(node_name, {})
                for resource, amount in requests.items():
                    total[resource] = total.get(resource, 0) + amount
        placement = binder.choose_node(pod, self.nodes.items(), usage)
        bound = log.bind(key=key, controller="binder")
        if placement.node is None:
            bound.info("no node fits", reason=placement.message)
            if (condition(pod, "PodScheduled") or {}).get("message") != placement.message:
                self.events.emit(pod, "FailedScheduling", placement.message, kind="Pod", event_type=WARNING)
                await self._mark_unschedulable(pod, placement.message)
            self.retry(key, UNSCHEDULABLE_RETRY_SECONDS)
            return
        path = api_path("v1", "pods", namespace(pod), name(pod), "binding")
        try:
            await self.client.create(path, binder.binding(pod, placement.node))
        except ApiError as exc:
            if exc.not_found or exc.conflict:
                bound.info("pod already bound or gone", error=exc.message)
                return
            raise
        self.assumed[uid] = (placement.node, pod_requests(pod))
        bound.info("pod bound", node=placement.node)
        self.events.emit(pod, "Scheduled", f"Successfully assigned {key} to {placement.node}", kind="Pod")

    async def _mark_unschedulable(self, pod: dict[str, Any], message: str) -> None:
        """``PodScheduled=False, reason Unschedulable``, as kube-scheduler reports it."""
        status = dict(pod.get("status") or {})
        others = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        status["phase"] = status.get("phase") or "Pending"
        status["conditions"] = [
            *others,
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": None,
                "lastTransitionTime": format_time(self.clock()),
            },
        ]
        try:
            path = api_path("v1", "pods", namespace(pod), name(pod), "status")
            await self.client.replace(path, {**pod, "status": status})
        except ApiError as exc:
            if not (exc.conflict or exc.not_found):
                raise
