"""The podgroup controller: a PodGroup for every pod of the configured schedulers that names
none (standalone pods, and the pods of Deployments/ReplicaSets and StatefulSets).

Keys are ``namespace/name``; the items of a key say which kind of object changed (``Pod``,
``ReplicaSet``, ``StatefulSet``). A pod is handled when it is added (and on later updates
while it still names no podgroup); a ReplicaSet or StatefulSet when it is added or updated
(its podgroup follows the pod template; scaled to zero, the podgroup is deleted). The
owners' annotations come from the ReplicaSet and StatefulSet caches.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from pyroclast.common.logging import get_logger
from pyroclast.common.models import Pod, ReplicaSet
from pyroclast.common.models.core import StatefulSet
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.informer import Cache, Handlers, object_key
from pyroclast.controller.kube.shell import DEFAULT_SETTINGS, CacheView, KeyedController, ShellSettings
from pyroclast.controller.podgroup import (
    DEFAULT_SCHEDULER_NAME,
    CreatePodGroup,
    DeletePodGroup,
    PatchPod,
    Plan,
    PodGroupWorld,
    UpdatePodGroup,
    reconcile_pod,
    reconcile_replicaset,
    reconcile_statefulset,
    wants_podgroup,
)

log = get_logger(__name__)

POD, REPLICASET, STATEFULSET = "Pod", "ReplicaSet", "StatefulSet"


class _OwnerAnnotations(Mapping[tuple[str, str, str], Mapping[str, str]]):
    """Annotations of pod owners, keyed (kind, namespace, name), read from the caches."""

    def __init__(self, caches: Mapping[str, Cache[Any]]) -> None:
        self._caches = caches

    def __getitem__(self, key: tuple[str, str, str]) -> Mapping[str, str]:
        kind, namespace, name = key
        cache = self._caches.get(kind)
        obj = cache.get(f"{namespace}/{name}") if cache is not None else None
        if obj is None:
            raise KeyError(key)
        return dict((obj.metadata.annotations if obj.metadata else None) or {})

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        for kind, cache in self._caches.items():
            for key in cache.keys():  # noqa: SIM118 (a Cache is not a mapping)
                namespace, _, name = key.partition("/")
                yield kind, namespace, name

    def __len__(self) -> int:
        return sum(len(cache) for cache in self._caches.values())


class PodGroupController(KeyedController[str]):
    name = "podgroup"

    def __init__(
        self,
        kube: KubeClient,
        factory: InformerFactory,
        settings: ShellSettings = DEFAULT_SETTINGS,
        scheduler_names: Collection[str] = (DEFAULT_SCHEDULER_NAME,),
    ) -> None:
        self.kube = kube
        self.scheduler_names = tuple(scheduler_names)
        self.pods = factory.informer(resources.PODS)
        self.podgroups = factory.informer(resources.PODGROUPS)
        self.replicasets = factory.informer(resources.REPLICASETS)
        self.statefulsets = factory.informer(resources.STATEFULSETS)
        super().__init__(
            [self.pods.cache, self.podgroups.cache, self.replicasets.cache, self.statefulsets.cache], settings
        )
        self.owners = _OwnerAnnotations(
            {REPLICASET: self.replicasets.cache, STATEFULSET: self.statefulsets.cache}
        )
        self.pods.cache.add_handlers(Handlers(self._pod_added, lambda _old, new: self._pod_added(new)))
        self.replicasets.cache.add_handlers(
            Handlers(self._workload(REPLICASET), lambda _old, new: self._workload(REPLICASET)(new))
        )
        self.statefulsets.cache.add_handlers(
            Handlers(self._workload(STATEFULSET), lambda _old, new: self._workload(STATEFULSET)(new))
        )

    # --- informer handlers ------------------------------------------------------------

    def _pod_added(self, pod: Pod) -> None:
        if wants_podgroup(pod, self.scheduler_names) and not (
            pod.metadata and pod.metadata.deletion_timestamp
        ):
            self.queue.add(object_key(pod), POD)

    def _workload(self, kind: str) -> Any:
        def added(obj: ReplicaSet | StatefulSet) -> None:
            self.queue.add(object_key(obj), kind)

        return added

    # --- work -------------------------------------------------------------------------

    def world(self, namespace: str = "") -> PodGroupWorld:
        pods: list[Pod] = []
        if namespace:
            pods = [p for p in self.pods.cache if p.metadata and p.metadata.namespace == namespace]
        return PodGroupWorld(
            podgroups=CacheView(self.podgroups.cache),
            pods=pods,
            owner_annotations=self.owners,
            scheduler_names=self.scheduler_names,
        )

    async def handle(self, key: str, items: list[str]) -> None:
        namespace = key.partition("/")[0]
        for kind in items or [POD]:
            plan: Plan
            if kind == POD:
                pod = self.pods.cache.get(key)
                if pod is None or (pod.metadata and pod.metadata.deletion_timestamp):
                    continue
                plan = reconcile_pod(pod, self.world())
            elif kind == REPLICASET:
                rs = self.replicasets.cache.get(key)
                if rs is None:
                    continue
                plan = reconcile_replicaset(rs, self.world(namespace))
            else:
                sts = self.statefulsets.cache.get(key)
                if sts is None:
                    continue
                plan = reconcile_statefulset(sts, self.world(namespace))
            await self.apply(key, kind, plan)

    async def apply(self, key: str, kind: str, plan: Plan) -> None:
        for op in plan.ops:
            if isinstance(op, CreatePodGroup):
                await self._create(key, kind, op)
            elif isinstance(op, UpdatePodGroup):
                written = await self.kube.replace(resources.PODGROUPS, op.podgroup)
                self.podgroups.cache.note_written(written)
                log.info("podgroup updated", key=object_key(op.podgroup), source=kind, source_key=key)
            elif isinstance(op, DeletePodGroup):
                if await self.kube.delete(resources.PODGROUPS, op.namespace, op.name):
                    log.info("podgroup deleted", key=f"{op.namespace}/{op.name}", source=kind, source_key=key)
            elif isinstance(op, PatchPod):
                try:
                    patched = await self.kube.patch(
                        resources.PODS, op.namespace, op.name, op.patch, content_type=op.content_type
                    )
                except ApiError as err:
                    if err.not_found:
                        continue
                    raise
                self.pods.cache.note_written(patched)

    async def _create(self, key: str, kind: str, op: CreatePodGroup) -> None:
        pg = op.podgroup
        namespace = (pg.metadata.namespace if pg.metadata else None) or ""
        try:
            created = await self.kube.create(resources.PODGROUPS, pg, namespace)
        except ApiError as err:
            if err.already_exists:
                return
            raise
        self.podgroups.cache.note_written(created)
        log.info("podgroup created", key=object_key(created), source=kind, source_key=key)
