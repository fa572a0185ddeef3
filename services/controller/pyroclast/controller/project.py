"""Projection of API objects into the cache records the scheduler reads from the bus."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pyroclast.common.bus.messages import (
    HostPort,
    NodeRecord,
    PodGroupRecord,
    PodRecord,
    PriorityClassRecord,
    QueueRecord,
    ResourceList,
)
from pyroclast.common.models import Container, Node, Pod, PodGroup, PriorityClass, Queue
from pyroclast.common.models import labels as keys
from pyroclast.common.models.wire import Quantity
from pyroclast.common.resources import CPU, MEMORY, Resource
from pyroclast.controller.job.timeutil import parse_time


def amounts(resource: Resource) -> ResourceList:
    """Canonical amounts; cpu and memory only when non-zero, scalars as present."""
    return {name: value for name, value in resource if value or name not in (CPU, MEMORY)}


def resource_list(values: Mapping[str, Quantity] | None) -> ResourceList:
    return amounts(Resource.from_list(values or {}))


def container_requests(container: Container) -> Resource:
    """A container's requests; a resource with only a limit requests its limit."""
    res = container.resources
    merged: dict[str, Quantity] = dict((res.limits if res else None) or {})
    merged.update((res.requests if res else None) or {})
    return Resource.from_list(merged)


def pod_requests(pod: Pod) -> ResourceList:
    """What the scheduler charges for ``pod``: the containers' sum (with sidecars), raised to
    the largest init container where higher, plus the pod overhead."""
    spec = pod.spec
    if spec is None:
        return {}
    total = Resource()
    for container in spec.containers or []:
        total = total.add(container_requests(container))
    sidecars = Resource()
    init_peak = Resource()
    for init in spec.init_containers or []:
        req = container_requests(init)
        if init.restart_policy == "Always":
            sidecars = sidecars.add(req)
            init_peak = init_peak.set_max(sidecars)
        else:
            init_peak = init_peak.set_max(req.add(sidecars))
    total = total.add(sidecars).set_max(init_peak)
    if spec.overhead:
        total = total.add(Resource.from_list(spec.overhead))
    return amounts(total)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def _host_ports(pod: Pod) -> list[HostPort]:
    ports: list[HostPort] = []
    for container in (pod.spec.containers if pod.spec else None) or []:
        for port in container.ports or []:
            if port.host_port:
                ports.append(
                    HostPort(port=port.host_port, protocol=port.protocol or "TCP", host_ip=port.host_ip or "")
                )
    return ports


def project_pod(pod: Pod) -> PodRecord:
    meta = pod.metadata
    spec = pod.spec
    annotations = (meta.annotations if meta else None) or {}
    owner = next((ref for ref in (meta.owner_references if meta else None) or [] if ref.controller), None)
    return PodRecord(
        namespace=(meta.namespace if meta else None) or "",
        name=(meta.name if meta else None) or "",
        uid=(meta.uid if meta else None) or "",
        labels=dict((meta.labels if meta else None) or {}),
        annotations=dict(annotations),
        node_name=(spec.node_name if spec else None) or "",
        phase=(pod.status.phase if pod.status else None) or "Pending",
        requests=pod_requests(pod),
        scheduler_name=(spec.scheduler_name if spec else None) or "",
        priority=(spec.priority if spec else None) or 0,
        priority_class_name=(spec.priority_class_name if spec else None) or "",
        pod_group=annotations.get(keys.KUBE_GROUP_NAME_ANNOTATION_KEY, ""),
        task_name=annotations.get(keys.TASK_SPEC_KEY, ""),
        node_selector=dict((spec.node_selector if spec else None) or {}),
        affinity=spec.affinity if spec else None,
        tolerations=list((spec.tolerations if spec else None) or []),
        host_ports=_host_ports(pod),
        deleting=bool(meta and meta.deletion_timestamp),
        owner=owner,
        creation_timestamp=_time(meta.creation_timestamp if meta else None),
        resource_version=(meta.resource_version if meta else None) or "",
    )


def node_ready(node: Node) -> bool:
    """The node's Ready condition is True."""
    for condition in (node.status.conditions if node.status else None) or []:
        if condition.type == "Ready":
            return condition.status == "True"
    return False


def project_node(node: Node) -> NodeRecord:
    meta = node.metadata
    return NodeRecord(
        name=(meta.name if meta else None) or "",
        uid=(meta.uid if meta else None) or "",
        labels=dict((meta.labels if meta else None) or {}),
        annotations=dict((meta.annotations if meta else None) or {}),
        taints=list((node.spec.taints if node.spec else None) or []),
        allocatable=resource_list(node.status.allocatable if node.status else None),
        capacity=resource_list(node.status.capacity if node.status else None),
        unschedulable=bool(node.spec and node.spec.unschedulable),
        ready=node_ready(node),
        resource_version=(meta.resource_version if meta else None) or "",
    )


def project_podgroup(pg: PodGroup) -> PodGroupRecord:
    meta = pg.metadata
    spec = pg.spec
    return PodGroupRecord(
        namespace=(meta.namespace if meta else None) or "",
        name=(meta.name if meta else None) or "",
        uid=(meta.uid if meta else None) or "",
        min_member=(spec.min_member if spec else None) or 0,
        min_task_member=dict((spec.min_task_member if spec else None) or {}),
        min_resources=resource_list(spec.min_resources if spec else None),
        queue=(spec.queue if spec else None) or keys.DEFAULT_QUEUE,
        priority_class_name=(spec.priority_class_name if spec else None) or "",
        phase=(pg.status.phase if pg.status else None) or "",
        conditions=list((pg.status.conditions if pg.status else None) or []),
        running=(pg.status.running if pg.status else None) or 0,
        succeeded=(pg.status.succeeded if pg.status else None) or 0,
        failed=(pg.status.failed if pg.status else None) or 0,
        creation_timestamp=_time(meta.creation_timestamp if meta else None),
        resource_version=(meta.resource_version if meta else None) or "",
    )


def project_queue(queue: Queue) -> QueueRecord:
    meta = queue.metadata
    spec = queue.spec
    guarantee = spec.guarantee.resource if spec and spec.guarantee else None
    reclaimable = spec.reclaimable if spec else None
    return QueueRecord(
        name=(meta.name if meta else None) or "",
        uid=(meta.uid if meta else None) or "",
        weight=(spec.weight if spec else None) or 1,
        capability=resource_list(spec.capability if spec else None),
        deserved=resource_list(spec.deserved if spec else None),
        guarantee=resource_list(guarantee),
        reclaimable=True if reclaimable is None else reclaimable,
        state=(queue.status.state if queue.status else None) or "Open",
        parent=(spec.parent if spec else None) or "",
        priority=(spec.priority if spec else None) or 0,
        annotations=dict((meta.annotations if meta else None) or {}),
        resource_version=(meta.resource_version if meta else None) or "",
    )


def project_priority_class(pc: PriorityClass) -> PriorityClassRecord:
    meta = pc.metadata
    return PriorityClassRecord(
        name=(meta.name if meta else None) or "",
        value=pc.value or 0,
        global_default=bool(pc.global_default),
        preemption_policy=pc.preemption_policy or "PreemptLowerPriority",
        resource_version=(meta.resource_version if meta else None) or "",
    )
