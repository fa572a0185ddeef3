"""Builders of cache records for tests: nodes, pods, podgroups and queues in a few words.

Amounts are given as Kubernetes quantities and stored in canonical units; times count
seconds from ``T0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from pyroclast.common.bus.messages import HostPort, NodeRecord, PodGroupRecord, PodRecord, QueueRecord
from pyroclast.common.models.core import Affinity, Taint, Toleration
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.common.resources import canonical_amount

T0 = datetime(2026, 1, 1, tzinfo=UTC)

_ALIASES = {"gpu": "nvidia.com/gpu", "nvidia_com_gpu": "nvidia.com/gpu"}


def res(**resources: str | int) -> dict[str, int]:
    """``res(cpu="1", memory="1Gi", gpu=1)`` in canonical units (``gpu`` is ``nvidia.com/gpu``)."""
    out: dict[str, int] = {}
    for name, value in resources.items():
        key = _ALIASES.get(name, name)
        out[key] = canonical_amount(key, value)
    return out


def node(
    name: str,
    cpu: str = "2",
    memory: str = "4Gi",
    pods: int = 110,
    labels: Mapping[str, str] | None = None,
    *,
    taints: Iterable[Taint] = (),
    unschedulable: bool = False,
    extra: Mapping[str, int] | None = None,
) -> NodeRecord:
    alloc = res(cpu=cpu, memory=memory, pods=pods)
    alloc.update(extra or {})
    return NodeRecord(
        name=name,
        allocatable=alloc,
        ready=True,
        labels=dict(labels or {}),
        taints=list(taints),
        unschedulable=unschedulable,
    )


def pod(
    namespace: str,
    name: str,
    group: str = "",
    cpu: str | None = "1",
    memory: str | None = "1Gi",
    *,
    node_name: str = "",
    phase: str = "Pending",
    priority: int = 0,
    role: str = "",
    deleting: bool = False,
    created: int = 0,
    scheduler: str = "volcano",
    priority_class: str = "",
    labels: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    affinity: Affinity | None = None,
    tolerations: Iterable[Toleration] = (),
    host_ports: Iterable[int] = (),
    extra: Mapping[str, int] | None = None,
) -> PodRecord:
    requests: dict[str, int] = {}
    if cpu is not None:
        requests["cpu"] = canonical_amount("cpu", cpu)
    if memory is not None:
        requests["memory"] = canonical_amount("memory", memory)
    requests.update(extra or {})
    return PodRecord(
        namespace=namespace,
        name=name,
        uid=f"uid-{namespace}-{name}",
        pod_group=group,
        requests=requests,
        node_name=node_name,
        phase=phase,
        priority=priority,
        task_name=role,
        deleting=deleting,
        scheduler_name=scheduler,
        priority_class_name=priority_class,
        labels=dict(labels or {}),
        node_selector=dict(node_selector or {}),
        affinity=affinity,
        tolerations=list(tolerations),
        host_ports=[HostPort(port=p) for p in host_ports],
        creation_timestamp=T0 + timedelta(seconds=created),
    )


def podgroup(
    namespace: str,
    name: str,
    min_member: int = 1,
    *,
    queue: str = "default",
    phase: str = "Inqueue",
    priority_class: str = "",
    min_resources: dict[str, int] | None = None,
    min_task_member: dict[str, int] | None = None,
    created: int = 0,
    conditions: Sequence[PodGroupCondition] = (),
) -> PodGroupRecord:
    return PodGroupRecord(
        namespace=namespace,
        name=name,
        uid=f"pg-{namespace}-{name}",
        min_member=min_member,
        queue=queue,
        phase=phase,
        priority_class_name=priority_class,
        min_resources=min_resources or {},
        min_task_member=min_task_member or {},
        creation_timestamp=T0 + timedelta(seconds=created),
        conditions=list(conditions),
    )


def queue(
    name: str = "default",
    weight: int = 1,
    *,
    capability: dict[str, int] | None = None,
    guarantee: dict[str, int] | None = None,
    state: str = "Open",
    priority: int = 0,
) -> QueueRecord:
    return QueueRecord(
        name=name,
        weight=weight,
        capability=capability or {},
        guarantee=guarantee or {},
        state=state,
        priority=priority,
    )
