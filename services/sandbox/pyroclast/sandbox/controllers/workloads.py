"""The shells of the ReplicaSet and Deployment controllers: read fresh, plan, act.

Each reconcile reads the object and what it controls from the API server (the sandbox API is
local and strongly consistent, so there is no stale cache to second-guess), asks the pure
planner (:mod:`replicaset`, :mod:`deployment`) what to do, and does it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from pyroclast.sandbox.controllers.deployment import REVISION_ANNOTATION, plan_deployment
from pyroclast.sandbox.controllers.objects import meta, name, selector_string
from pyroclast.sandbox.controllers.replicaset import plan_replicaset, pod_from_template
from pyroclast.sandbox.events import Recorder
from pyroclast.sandbox.kubeclient import ApiError, KubeClient, api_path, object_key

log = structlog.stdlib.get_logger(__name__)


class ReplicaSetController:
    def __init__(
        self, client: KubeClient, clock: Callable[[], datetime], recheck: Callable[[str, float], None]
    ) -> None:
        self.client = client
        self.clock = clock
        self.recheck = recheck
        self.events = Recorder(client, "replicaset-controller")

    async def reconcile(self, key: str) -> None:
        ns, rs_name = key.split("/", 1)
        rs = await self.client.get_or_none(api_path("apps/v1", "replicasets", ns, rs_name))
        if rs is None:
            return
        selector = selector_string((rs.get("spec") or {}).get("selector"))
        if not selector:
            return
        listing = await self.client.get(api_path("v1", "pods", ns), {"labelSelector": selector})
        plan = plan_replicaset(rs, listing.get("items") or [], self.clock())
        bound = log.bind(key=key, controller="replicaset")
        for _ in range(plan.create):
            try:
                pod = await self.client.create(api_path("v1", "pods", ns), pod_from_template(rs))
            except ApiError as exc:
                if exc.status in (403, 422):  # namespace terminating, invalid template
                    bound.warning("cannot create pod", error=exc.message)
                    break
                raise
            bound.info("pod created", pod=object_key(pod))
            self.events.emit(
                rs, "SuccessfulCreate", f"Created pod: {name(pod)}", kind="ReplicaSet", api_version="apps/v1"
            )
        for pod in plan.delete:
            try:
                await self.client.delete(api_path("v1", "pods", ns, name(pod)), uid=meta(pod).get("uid"))
            except ApiError as exc:
                if not (exc.not_found or exc.conflict):
                    raise
            bound.info("pod deleted", pod=object_key(pod))
            self.events.emit(
                rs, "SuccessfulDelete", f"Deleted pod: {name(pod)}", kind="ReplicaSet", api_version="apps/v1"
            )
        if plan.status is not None:
            path = api_path("apps/v1", "replicasets", ns, rs_name, "status")
            await self.client.replace(path, {**rs, "status": plan.status})
        if plan.recheck_after is not None:
            self.recheck(key, plan.recheck_after + 0.05)


class DeploymentController:
    def __init__(self, client: KubeClient, clock: Callable[[], datetime]) -> None:
        self.client = client
        self.clock = clock
        self.events = Recorder(client, "deployment-controller")

    async def reconcile(self, key: str) -> None:
        ns, deploy_name = key.split("/", 1)
        deploy = await self.client.get_or_none(api_path("apps/v1", "deployments", ns, deploy_name))
        if deploy is None:
            return
        listing = await self.client.get(api_path("apps/v1", "replicasets", ns))
        plan = plan_deployment(deploy, listing.get("items") or [], self.clock())
        bound = log.bind(key=key, controller="deployment")
        revision: str | None = None
        if plan.create is not None:
            try:
                created = await self.client.create(api_path("apps/v1", "replicasets", ns), plan.create)
                bound.info("replicaset created", replicaset=object_key(created))
                self._scaled(
                    deploy, f"Scaled up replica set {name(created)} to {plan.create['spec']['replicas']}"
                )
            except ApiError as exc:
                if exc.status != 409:
                    raise
            revision = (plan.create["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
        for rs_name, replicas in plan.scale.items():
            path = api_path("apps/v1", "replicasets", ns, rs_name)
            await self.client.patch(path, {"spec": {"replicas": replicas}})
            bound.info("replicaset scaled", replicaset=f"{ns}/{rs_name}", replicas=replicas)
            self._scaled(deploy, f"Scaled replica set {rs_name} to {replicas}")
        for rs_name in plan.delete:
            try:
                await self.client.delete(api_path("apps/v1", "replicasets", ns, rs_name))
            except ApiError as exc:
                if not exc.not_found:
                    raise
        if plan.status is not None:
            path = api_path("apps/v1", "deployments", ns, deploy_name, "status")
            deploy = await self.client.replace(path, {**deploy, "status": plan.status})
        annotations = meta(deploy).get("annotations") or {}
        if revision is not None and annotations.get(REVISION_ANNOTATION) != revision:
            await self.client.patch(
                api_path("apps/v1", "deployments", ns, deploy_name),
                {"metadata": {"annotations": {REVISION_ANNOTATION: revision}}},
            )

    def _scaled(self, deploy: dict[str, object], message: str) -> None:
        self.events.emit(deploy, "ScalingReplicaSet", message, kind="Deployment", api_version="apps/v1")
