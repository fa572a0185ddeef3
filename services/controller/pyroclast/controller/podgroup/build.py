"""The podgroup Volcano creates for a plain pod (or the pods of a workload) and its fields."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from pyroclast.common.models import (
    NetworkTopologySpec,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodGroup,
    PodGroupSpec,
)
from pyroclast.common.models import labels as keys
from pyroclast.common.models.core import PodSpec
from pyroclast.common.models.enums import NetworkTopologyMode, PodGroupPhase
from pyroclast.common.models.scheduling import SCHEDULING_API_VERSION, PodGroupStatus
from pyroclast.controller.job.podgroup import pod_quota_usage

if TYPE_CHECKING:
    from pyroclast.controller.podgroup.reconcile import PodGroupWorld

DEFAULT_SCHEDULER_NAME = "volcano"
_INT = re.compile(r"[+-]?\d+\Z")
_INT32_MAX = 2**31 - 1
_OWNER_KINDS = ("ReplicaSet", "DaemonSet", "StatefulSet", "Job")
"""Owner kinds whose annotations a podgroup inherits."""


def _meta(pod: Pod) -> ObjectMeta:
    return pod.metadata or ObjectMeta()


def _controller_ref(pod: Pod) -> OwnerReference | None:
    for ref in _meta(pod).owner_references or []:
        if ref.controller:
            return ref
    return None


def podgroup_name(pod: Pod) -> str:
    """``podgroup-<uid>``: the uid of the pod's controller, else of the pod itself."""
    ref = _controller_ref(pod)
    return keys.PODGROUP_NAME_PREFIX + ((ref.uid if ref else _meta(pod).uid) or "")


def wants_podgroup(pod: Pod, scheduler_names: Collection[str] = (DEFAULT_SCHEDULER_NAME,)) -> bool:
    """Pods of a configured scheduler that name no podgroup yet."""
    scheduler = (pod.spec.scheduler_name if pod.spec else None) or ""
    if scheduler not in scheduler_names:
        return False
    return not (_meta(pod).annotations or {}).get(keys.KUBE_GROUP_NAME_ANNOTATION_KEY)


def owner_references(pod: Pod) -> list[OwnerReference]:
    """The pod's owner references when one is a controller, else a controller ref to the pod."""
    meta = _meta(pod)
    if _controller_ref(pod) is not None:
        return list(meta.owner_references or [])
    return [
        OwnerReference(
            api_version="v1",
            kind="Pod",
            name=meta.name,
            uid=meta.uid,
            controller=True,
            block_owner_deletion=True,
        )
    ]


def owner_annotations(
    pod: Pod, annotations_of: Mapping[tuple[str, str, str], Mapping[str, str]]
) -> dict[str, str]:
    """Annotations of the pod's ReplicaSet/DaemonSet/StatefulSet/Job owners, first owner winning.

    ``annotations_of`` maps (kind, namespace, name) to an owner's annotations; an owner not
    found there is skipped, as when Volcano fails to get it.
    """
    meta = _meta(pod)
    out: dict[str, str] = {}
    for ref in meta.owner_references or []:
        if not ref.kind or not ref.name or ref.kind not in _OWNER_KINDS:
            continue
        for key, value in (annotations_of.get((ref.kind, meta.namespace or "", ref.name)) or {}).items():
            out.setdefault(key, value)
    return out


def min_member_from(annotations: Mapping[str, str]) -> int:
    """``scheduling.volcano.sh/group-min-member`` of the owners; 1 when absent, bad or negative."""
    text = annotations.get(keys.VOLCANO_GROUP_MIN_MEMBER_ANNOTATION_KEY)
    if text is None or not _INT.match(text):
        return 1
    value = int(text)
    if value < 0 or value > _INT32_MAX:
        return 1
    return value


def network_topology(annotations: Mapping[str, str]) -> NetworkTopologySpec | None:
    """The network topology asked for by the pod's annotations (mode ``hard`` by default)."""
    mode = annotations.get(keys.NETWORK_TOPOLOGY_MODE_ANNOTATION_KEY)
    tier = annotations.get(keys.NETWORK_TOPOLOGY_HIGHEST_TIER_ANNOTATION_KEY)
    if mode is None and tier is None:
        return None
    chosen = NetworkTopologyMode.HARD.value
    if mode is not None and mode.lower() in (NetworkTopologyMode.HARD, NetworkTopologyMode.SOFT):
        chosen = mode.lower()
    highest = int(tier) if tier is not None and _INT.match(tier) else None
    return NetworkTopologySpec(mode=chosen, highest_tier_allowed=highest)


def min_resources(pod: Pod, min_member: int) -> dict[str, Any]:
    """The pod's quota usage times ``min_member`` (Volcano's ``CalTaskRequests``)."""
    usage = pod_quota_usage(pod.spec or PodSpec())
    total: dict[str, Any] = {}
    for _ in range(max(min_member, 0)):
        for name, value in usage.items():
            total[name] = total[name] + value if name in total else value
    return {name: str(total[name]) for name in sorted(total)}


def build_podgroup(
    pod: Pod, name: str, upper: Mapping[str, str] | None = None, inherit_owner_annotations: bool = True
) -> PodGroup:
    """The podgroup for ``pod``; ``upper`` holds its owners' annotations (see `owner_annotations`)."""
    meta = _meta(pod)
    pod_annotations = meta.annotations or {}
    pod_labels = meta.labels or {}
    upper = upper if inherit_owner_annotations and upper else {}
    min_member = min_member_from(upper) if inherit_owner_annotations else 1
    annotations = {k: v for k, v in upper.items() if k.startswith(keys.ANNOTATION_PREFIX)}
    labels: dict[str, str] = {}
    for key in (keys.POD_PREEMPTABLE, keys.COOLDOWN_TIME, keys.REVOCABLE_ZONE):
        if key in pod_annotations:
            annotations[key] = pod_annotations[key]
    for key in (keys.POD_PREEMPTABLE, keys.COOLDOWN_TIME):
        if key in pod_labels:
            labels[key] = pod_labels[key]
    if keys.JDB_MIN_AVAILABLE in pod_annotations:
        annotations[keys.JDB_MIN_AVAILABLE] = pod_annotations[keys.JDB_MIN_AVAILABLE]
    elif keys.JDB_MAX_UNAVAILABLE in pod_annotations:
        annotations[keys.JDB_MAX_UNAVAILABLE] = pod_annotations[keys.JDB_MAX_UNAVAILABLE]
    return PodGroup(
        api_version=SCHEDULING_API_VERSION,
        kind="PodGroup",
        metadata=ObjectMeta(
            name=name,
            namespace=meta.namespace,
            owner_references=owner_references(pod),
            annotations=annotations or None,
            labels=labels or None,
        ),
        spec=PodGroupSpec(
            min_member=min_member,
            queue=pod_annotations.get(keys.QUEUE_NAME_ANNOTATION_KEY),
            priority_class_name=(pod.spec.priority_class_name if pod.spec else None) or None,
            min_resources=min_resources(pod, min_member),
            network_topology=network_topology(pod_annotations),
        ),
        status=PodGroupStatus(phase=PodGroupPhase.PENDING.value),
    )


def podgroup_for_pod(pod: Pod, world: PodGroupWorld) -> PodGroup | None:
    """The podgroup to create for ``pod``; None when the pod is not Volcano's to group or
    its podgroup already exists (the pod still needs `pod_annotation_patch` then)."""
    if not wants_podgroup(pod, world.scheduler_names):
        return None
    name = podgroup_name(pod)
    if world.podgroup(_meta(pod).namespace or "", name) is not None:
        return None
    upper = owner_annotations(pod, world.owner_annotations) if world.inherit_owner_annotations else {}
    return build_podgroup(pod, name, upper, world.inherit_owner_annotations)


def pod_annotation_patch(pod: Pod, pg_name: str) -> dict[str, Any] | None:
    """Strategic-merge patch naming the pod's podgroup; None when it already names one."""
    if (_meta(pod).annotations or {}).get(keys.KUBE_GROUP_NAME_ANNOTATION_KEY):
        return None
    return {"metadata": {"annotations": {keys.KUBE_GROUP_NAME_ANNOTATION_KEY: pg_name}}}
