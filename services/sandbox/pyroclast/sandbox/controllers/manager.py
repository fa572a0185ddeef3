"""The controllers process: informers feed work queues; workers run the controllers.

    informers (deployments, replicasets, pods, nodes, leases)
        -> keys on work queues (one per controller, de-duplicated)
        -> DeploymentController, ReplicaSetController (workloads), NodeHealthController,
           DefaultBinder (binding)

A failed reconcile is retried with back-off; a conflict means someone else wrote first, so
the key is simply reconciled again from the new state. A periodic resync catches anything an
event could not (time passing, a missed watch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import structlog

from pyroclast.sandbox.config import Timing
from pyroclast.sandbox.controllers import binder
from pyroclast.sandbox.controllers.binding import DefaultBinder
from pyroclast.sandbox.controllers.nodehealth import NodeHealthController
from pyroclast.sandbox.controllers.objects import condition, controller_of, name, namespace
from pyroclast.sandbox.controllers.workloads import DeploymentController, ReplicaSetController
from pyroclast.sandbox.controllers.workqueue import WorkQueue
from pyroclast.sandbox.kubeclient import ApiError, Informer, KubeClient, object_key
from pyroclast.sandbox.kubelet.nodes import LEASE_NAMESPACE
from pyroclast.sandbox.timeutil import now as wall_clock

log = structlog.stdlib.get_logger(__name__)
TRANSIENT = (ApiError, aiohttp.ClientError, TimeoutError, OSError)
RESYNC_SECONDS = 30.0


class ControllerManager:
    def __init__(
        self,
        client: KubeClient,
        timing: Timing | None = None,
        *,
        clock: Callable[[], datetime] = wall_clock,
        node_check_seconds: float = 1.0,
    ) -> None:
        timing = timing or Timing()
        self.node_check_seconds = node_check_seconds
        self.deployments = Informer(client, "apps/v1", "deployments")
        self.replicasets = Informer(client, "apps/v1", "replicasets")
        self.pods = Informer(client, "v1", "pods")
        self.nodes = Informer(client, "v1", "nodes")
        self.leases = Informer(client, "coordination.k8s.io/v1", "leases", namespace=LEASE_NAMESPACE)
        self.deployment_queue = WorkQueue("deployment")
        self.replicaset_queue = WorkQueue("replicaset")
        self.node_queue = WorkQueue("nodelifecycle")
        self.bind_queue = WorkQueue("binder")
        self.deployment_controller = DeploymentController(client, clock)
        self.replicaset_controller = ReplicaSetController(client, clock, self.replicaset_queue.add_after)
        self.node_health = NodeHealthController(
            client,
            nodes=self.nodes,
            leases=self.leases,
            pods=self.pods,
            grace_seconds=timing.node_monitor_grace_period_seconds,
            clock=clock,
            recheck=self.node_queue.add_after,
        )
        self.binder = DefaultBinder(
            client, pods=self.pods, nodes=self.nodes, clock=clock, retry=self.bind_queue.add_after
        )
        self.deployments.add_handler(lambda kind, obj: self.deployment_queue.add(object_key(obj)))
        self.replicasets.add_handler(self._on_replicaset)
        self.pods.add_handler(self._on_pod)
        self.nodes.add_handler(self._on_node)
        self.leases.add_handler(lambda kind, obj: self.node_queue.add(name(obj)))

    async def run(self) -> None:
        informers = (self.deployments, self.replicasets, self.pods, self.nodes, self.leases)
        async with asyncio.TaskGroup() as tasks:
            for informer in informers:
                tasks.create_task(informer.run())
            for _ in range(2):
                tasks.create_task(self._worker(self.deployment_queue, self.deployment_controller.reconcile))
                tasks.create_task(self._worker(self.replicaset_queue, self.replicaset_controller.reconcile))
            tasks.create_task(self._worker(self.node_queue, self.node_health.reconcile))
            tasks.create_task(self._worker(self.bind_queue, self.binder.bind))
            tasks.create_task(self._ticker())

    # --- events -> keys -----------------------------------------------------------------------

    def _on_replicaset(self, kind: str, rs: dict[str, Any]) -> None:
        self.replicaset_queue.add(object_key(rs))
        owner = controller_of(rs)
        if owner and owner.get("kind") == "Deployment":
            self.deployment_queue.add(f"{namespace(rs)}/{owner.get('name')}")

    def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        owner = controller_of(pod)
        if owner and owner.get("kind") == "ReplicaSet":
            self.replicaset_queue.add(f"{namespace(pod)}/{owner.get('name')}")
        self.binder.observed(kind, pod)
        if kind != "DELETED" and binder.needs_binding(pod):
            self.bind_queue.add(object_key(pod))
        if kind == "DELETED" or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self._retry_unbound()  # resources were freed

    def _on_node(self, kind: str, node: dict[str, Any]) -> None:
        self.node_queue.add(name(node))
        ready = condition(node, "Ready")
        if ready is not None and ready.get("status") == "True":
            self._retry_unbound()

    def _retry_unbound(self) -> None:
        for pod in self.pods.items():
            if binder.needs_binding(pod):
                self.bind_queue.add(object_key(pod))

    async def _ticker(self) -> None:
        """Time-driven work: stale heartbeats each tick; a resync of everything now and then."""
        elapsed = 0.0
        while True:
            await asyncio.sleep(self.node_check_seconds)
            elapsed += self.node_check_seconds
            for node in self.nodes.items():
                self.node_queue.add(name(node))
            if elapsed < RESYNC_SECONDS:
                continue
            elapsed = 0.0
            try:
                await self.node_health.collect_orphans()
            except TRANSIENT as exc:
                log.warning("pod garbage collection failed", key="pods", error=str(exc))
            for deploy in self.deployments.items():
                self.deployment_queue.add(object_key(deploy))
            for rs in self.replicasets.items():
                self.replicaset_queue.add(object_key(rs))
            self._retry_unbound()

    async def _worker(self, queue: WorkQueue, reconcile: Callable[[str], Awaitable[None]]) -> None:
        while True:
            key = await queue.get()
            try:
                await reconcile(key)
                queue.forget(key)
            except TRANSIENT as exc:
                delay = queue.retry(key)
                level = "debug" if isinstance(exc, ApiError) and exc.conflict else "warning"
                getattr(log, level)(
                    "reconcile failed, retrying",
                    controller=queue.name,
                    key=key,
                    error=str(exc),
                    retry_in=delay,
                )
            except Exception:
                log.exception("reconcile crashed, retrying", controller=queue.name, key=key)
                queue.retry(key)
            finally:
                queue.done(key)
