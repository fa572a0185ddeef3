"""The shell of the node lifecycle controller: stale heartbeats, NoExecute evictions, pod GC.

Every node is checked each tick against its Lease (:func:`nodelifecycle.plan_node_health`);
the taints that follow evict the pods that do not tolerate them long enough
(:func:`nodelifecycle.plan_taint_evictions`); pods bound to nodes that no longer exist are
force-deleted, as the pod garbage collector does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from pyroclast.sandbox.controllers.nodelifecycle import plan_node_health, plan_taint_evictions
from pyroclast.sandbox.controllers.objects import meta, name, namespace
from pyroclast.sandbox.events import WARNING, Recorder
from pyroclast.sandbox.kubeclient import ApiError, Informer, KubeClient, api_path, object_key
from pyroclast.sandbox.kubelet.nodes import LEASE_NAMESPACE

log = structlog.stdlib.get_logger(__name__)


class NodeHealthController:
    def __init__(
        self,
        client: KubeClient,
        *,
        nodes: Informer,
        leases: Informer,
        pods: Informer,
        grace_seconds: float,
        clock: Callable[[], datetime],
        recheck: Callable[[str, float], None],
    ) -> None:
        self.client = client
        self.nodes = nodes
        self.leases = leases
        self.pods = pods
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.recheck = recheck
        self.events = Recorder(client, "node-controller")
        self.evictions = Recorder(client, "taint-eviction-controller")

    async def reconcile(self, node_name: str) -> None:
        node = self.nodes.get(node_name)
        if node is None:
            return
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{node_name}")
        plan = plan_node_health(node, lease, self.clock(), self.grace_seconds)
        bound = log.bind(key=node_name, controller="nodelifecycle")
        if plan.conditions is not None:
            body = {**node, "status": {**(node.get("status") or {}), "conditions": plan.conditions}}
            node = await self.client.replace(
                api_path("v1", "nodes", name=node_name, subresource="status"), body
            )
            bound.warning("node stopped posting status", ready="Unknown")
            message = f"Node {node_name} status is now: NodeNotReady"
            self.events.emit(node, "NodeNotReady", message, kind="Node", event_type=WARNING)
        if plan.taints is not None:
            body = {**node, "spec": {**(node.get("spec") or {}), "taints": plan.taints}}
            node = await self.client.replace(api_path("v1", "nodes", name=node_name), body)
            bound.info("node taints updated", taints=[t.get("key") for t in plan.taints])
        await self._evict_for_taints(node)

    async def _evict_for_taints(self, node: dict[str, Any]) -> None:
        """Delete the pods that do not tolerate the node's NoExecute taints (long enough)."""
        plan = plan_taint_evictions(node, self.pods.items(), self.clock())
        for pod in plan.evict:
            try:
                await self.client.delete(
                    api_path("v1", "pods", namespace(pod), name(pod)), uid=meta(pod).get("uid")
                )
            except ApiError as exc:
                if not (exc.not_found or exc.conflict):
                    raise
                continue
            log.info("pod evicted by a NoExecute taint", key=object_key(pod), node=name(node))
            message = f"Marking for deletion Pod {object_key(pod)}"
            self.evictions.emit(pod, "TaintManagerEviction", message, kind="Pod")
        if plan.recheck_at is not None:
            wait = (plan.recheck_at - self.clock()).total_seconds()
            self.recheck(name(node), max(wait, 0.0) + 0.05)

    async def collect_orphans(self) -> None:
        """Force-delete pods bound to nodes that no longer exist."""
        if not self.nodes.synced.is_set() or not self.pods.synced.is_set():
            return
        known = {name(node) for node in self.nodes.items()}
        for pod in self.pods.items():
            node_name = (pod.get("spec") or {}).get("nodeName")
            if not node_name or node_name in known:
                continue
            if await self.client.get_or_none(api_path("v1", "nodes", name=str(node_name))) is not None:
                continue
            path = api_path("v1", "pods", namespace(pod), name(pod))
            try:
                await self.client.delete(path, grace_period_seconds=0, uid=meta(pod).get("uid"))
            except ApiError as exc:
                if not (exc.not_found or exc.conflict):
                    raise
                continue
            log.info("orphaned pod deleted", key=object_key(pod), node=node_name)
