"""PodGroup controller requests (a pod added, a ReplicaSet or StatefulSet added or updated)
as plans of API operations."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from pyroclast.common.models import ObjectMeta, Pod, PodGroup, ReplicaSet
from pyroclast.common.models import labels as keys
from pyroclast.common.models.core import StatefulSet
from pyroclast.controller.podgroup.build import (
    DEFAULT_SCHEDULER_NAME,
    build_podgroup,
    owner_annotations,
    pod_annotation_patch,
    podgroup_name,
    wants_podgroup,
)

STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
_REVISION_HASH = "controller-revision-hash"


@dataclass(frozen=True)
class PodGroupWorld:
    """Read-only view for the podgroup controller."""

    podgroups: Mapping[str, PodGroup] = field(default_factory=dict)
    """Existing podgroups keyed ``namespace/name``."""
    pods: Sequence[Pod] = ()
    """Pods to search for a workload's pods (its namespace suffices)."""
    owner_annotations: Mapping[tuple[str, str, str], Mapping[str, str]] = field(default_factory=dict)
    """Annotations of pod owners keyed (kind, namespace, name)."""
    scheduler_names: Collection[str] = (DEFAULT_SCHEDULER_NAME,)
    inherit_owner_annotations: bool = True

    def podgroup(self, namespace: str, name: str) -> PodGroup | None:
        return self.podgroups.get(f"{namespace}/{name}")


@dataclass(frozen=True)
class CreatePodGroup:
    """Create; an AlreadyExists answer counts as done."""

    podgroup: PodGroup


@dataclass(frozen=True)
class UpdatePodGroup:
    podgroup: PodGroup


@dataclass(frozen=True)
class DeletePodGroup:
    """Delete; NotFound counts as done."""

    namespace: str
    name: str


@dataclass(frozen=True)
class PatchPod:
    namespace: str
    name: str
    patch: dict[str, Any]
    content_type: str = STRATEGIC_MERGE_PATCH


Operation = CreatePodGroup | UpdatePodGroup | DeletePodGroup | PatchPod


@dataclass
class Plan:
    """Operations in order; an error from one stops the rest (retry the request)."""

    ops: list[Operation] = field(default_factory=list)

    def of(self, kind: type[Any]) -> list[Any]:
        return [op for op in self.ops if isinstance(op, kind)]


def _meta(obj: Pod | ReplicaSet | StatefulSet) -> ObjectMeta:
    return obj.metadata or ObjectMeta()


def _built(pod: Pod, world: PodGroupWorld) -> PodGroup:
    upper = owner_annotations(pod, world.owner_annotations) if world.inherit_owner_annotations else {}
    return build_podgroup(pod, podgroup_name(pod), upper, world.inherit_owner_annotations)


def _patch_pod(pod: Pod, pg_name: str, plan: Plan) -> None:
    patch = pod_annotation_patch(pod, pg_name)
    if patch is not None:
        meta = _meta(pod)
        plan.ops.append(PatchPod(meta.namespace or "", meta.name or "", patch))


def reconcile_pod(pod: Pod, world: PodGroupWorld) -> Plan:
    """A pod was added: create its podgroup if missing, then annotate the pod with it."""
    plan = Plan()
    if not wants_podgroup(pod, world.scheduler_names):
        return plan
    name = podgroup_name(pod)
    if world.podgroup(_meta(pod).namespace or "", name) is None:
        plan.ops.append(CreatePodGroup(_built(pod, world)))
    _patch_pod(pod, name, plan)
    return plan


def _differs(a: object, b: object) -> bool:
    return bool(msgspec.to_builtins(a) != msgspec.to_builtins(b))


def create_or_update(pod: Pod, world: PodGroupWorld) -> Plan:
    """Create the pod's podgroup, or bring an existing one's spec, labels and annotations up
    to date with the pod's template (a workload was updated), then annotate the pod."""
    plan = Plan()
    wanted = _built(pod, world)
    meta = wanted.metadata or ObjectMeta()
    current = world.podgroup(meta.namespace or "", meta.name or "")
    if current is None:
        plan.ops.append(CreatePodGroup(wanted))
    else:
        cur_meta = current.metadata or ObjectMeta()
        changed = (
            _differs(current.spec, wanted.spec)
            or (cur_meta.labels or {}) != (meta.labels or {})
            or (cur_meta.annotations or {}) != (meta.annotations or {})
        )
        if changed:
            new_meta = msgspec.structs.replace(cur_meta, labels=meta.labels, annotations=meta.annotations)
            plan.ops.append(
                UpdatePodGroup(msgspec.structs.replace(current, metadata=new_meta, spec=wanted.spec))
            )
    _patch_pod(pod, meta.name or "", plan)
    return plan


def _workload_pod(pod: Pod | None, world: PodGroupWorld) -> Plan:
    if pod is None or not wants_podgroup(pod, world.scheduler_names):
        return Plan()
    return create_or_update(pod, world)


def _selected(world: PodGroupWorld, namespace: str, match: Mapping[str, str]) -> Pod | None:
    """The first pod (by name) in ``namespace`` whose labels include ``match``."""
    found = [
        p
        for p in world.pods
        if (_meta(p).namespace or "") == namespace and match.items() <= (_meta(p).labels or {}).items()
    ]
    found.sort(key=lambda p: _meta(p).name or "")
    return found[0] if found else None


def _scale(replicas: int | None, obj: ReplicaSet | StatefulSet) -> tuple[int, Plan]:
    meta = _meta(obj)
    count = 1 if replicas is None else replicas
    plan = Plan()
    if count == 0:
        plan.ops.append(DeletePodGroup(meta.namespace or "", keys.PODGROUP_NAME_PREFIX + (meta.uid or "")))
    return count, plan


def reconcile_replicaset(rs: ReplicaSet, world: PodGroupWorld) -> Plan:
    """A ReplicaSet (of a Deployment, say) was added or updated.

    Scaled to zero: delete ``podgroup-<rs uid>``. Otherwise take its first pod (labels
    matching ``selector.matchLabels``) and create or update that pod's podgroup.
    """
    count, plan = _scale(rs.spec.replicas if rs.spec else None, rs)
    if count > 0:
        selector = rs.spec.selector if rs.spec else None
        match = (selector.match_labels if selector else None) or {}
        plan.ops.extend(_workload_pod(_selected(world, _meta(rs).namespace or "", match), world).ops)
    return plan


def reconcile_statefulset(sts: StatefulSet, world: PodGroupWorld) -> Plan:
    """A StatefulSet was added or updated: as a ReplicaSet, its pods of the update revision."""
    count, plan = _scale(sts.spec.replicas if sts.spec else None, sts)
    if count > 0:
        selector = sts.spec.selector if sts.spec else None
        match = dict((selector.match_labels if selector else None) or {})
        match[_REVISION_HASH] = (sts.status.update_revision if sts.status else None) or ""
        plan.ops.extend(_workload_pod(_selected(world, _meta(sts).namespace or "", match), world).ops)
    return plan
