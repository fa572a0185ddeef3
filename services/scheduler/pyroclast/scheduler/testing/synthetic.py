"""Synthetic clusters for property tests and benchmarks: nodes, queues, gang jobs, running pods.

:func:`synthetic_cluster` turns a :class:`ClusterShape` and a seed into snapshot records:
nodes of a few sizes (some with GPUs, labels by zone, some tainted or cordoned), weighted
queues, priority classes, running pods filling part of the nodes (some being deleted,
i.e. releasing), and pending gang jobs whose tasks share a request per role, with some
best-effort pods and some node selectors or tolerations. The same seed gives the same
records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyroclast.common.bus.messages import (
    NodeRecord,
    PodGroupRecord,
    PodRecord,
    PriorityClassRecord,
    QueueRecord,
)
from pyroclast.common.models.core import Taint, Toleration
from pyroclast.common.resources import CPU, GPU, MEMORY, PODS
from pyroclast.scheduler.api import SnapshotRecord

__all__ = ["ClusterShape", "synthetic_cluster"]

GI = 1024**3
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = ("zone-a", "zone-b", "zone-c")
# (cpu cores, memory GiB, GPUs)
NODE_SIZES = ((8, 32, 0), (16, 64, 0), (32, 128, 0), (64, 256, 0), (32, 192, 4))
# (cpu millicores, memory GiB, GPUs) of a task
TASK_SIZES = (
    (250, 1, 0),
    (500, 1, 0),
    (1000, 2, 0),
    (2000, 4, 0),
    (4000, 16, 0),
    (8000, 32, 0),
    (4000, 32, 1),
)


@dataclass(frozen=True)
class ClusterShape:
    """How big and how varied a synthetic cluster is."""

    nodes: int = 1000
    pending_pods: int = 10000
    queues: int = 4
    max_gang: int = 100
    running_fill: float = 0.3
    releasing: float = 0.1
    best_effort: float = 0.02
    pods_per_node: int = 110
    taints: float = 0.05
    selectors: float = 0.05
    node_scale: float = 1.0
    mixed_requests: float = 0.0


def _node(rng: random.Random, i: int, shape: ClusterShape) -> NodeRecord:
    cpu, mem, gpu = rng.choice(NODE_SIZES)
    alloc = {
        CPU: int(cpu * 1000 * shape.node_scale),
        MEMORY: int(mem * GI * shape.node_scale),
        PODS: shape.pods_per_node * 1000,
    }
    if gpu:
        alloc[GPU] = gpu * 1000
    taints = []
    if rng.random() < shape.taints:
        effect = rng.choice(("NoSchedule", "PreferNoSchedule"))
        taints.append(Taint(key="dedicated", value="batch", effect=effect))
    return NodeRecord(
        name=f"node-{i:05d}",
        labels={"topology.kubernetes.io/zone": rng.choice(ZONES), "kubernetes.io/hostname": f"node-{i:05d}"},
        taints=taints,
        allocatable=alloc,
        unschedulable=rng.random() < shape.taints / 5,
        ready=True,
    )


def _requests(size: tuple[int, int, int]) -> dict[str, int]:
    cpu, mem, gpu = size
    out = {CPU: cpu, MEMORY: mem * GI}
    if gpu:
        out[GPU] = gpu * 1000
    return out


def _running(rng: random.Random, nodes: list[NodeRecord], shape: ClusterShape) -> list[SnapshotRecord]:
    """Running gangs on part of each node's capacity; some pods are being deleted."""
    records: list[SnapshotRecord] = []
    for n, node in enumerate(nodes):
        budget = int(node.allocatable[CPU] * shape.running_fill * rng.random() * 2)
        k = 0
        while budget > 0 and k < 8:
            size = rng.choice(TASK_SIZES[:5])
            budget -= size[0]
            if budget < 0:
                break
            name = f"run-{n}-{k}"
            records.append(
                PodGroupRecord(
                    namespace="running",
                    name=name,
                    uid=f"pg-{name}",
                    min_member=1,
                    queue=f"queue-{rng.randrange(shape.queues)}",
                    phase="Running",
                    creation_timestamp=T0,
                )
            )
            records.append(
                PodRecord(
                    namespace="running",
                    name=f"{name}-t-0",
                    uid=f"uid-{name}",
                    node_name=node.name,
                    phase="Running",
                    requests=_requests(size),
                    scheduler_name="volcano",
                    pod_group=name,
                    deleting=rng.random() < shape.releasing,
                    creation_timestamp=T0,
                )
            )
            k += 1
    return records


def _job(rng: random.Random, j: int, size: int, shape: ClusterShape) -> list[SnapshotRecord]:
    name = f"job-{j:05d}"
    created = T0 + timedelta(seconds=rng.randrange(3600))
    roles = ["worker"] if rng.random() < 0.7 else ["ps", "worker"]
    sizes = {r: rng.choice(TASK_SIZES) for r in roles}
    best_effort = rng.random() < shape.best_effort
    selector = {"topology.kubernetes.io/zone": rng.choice(ZONES)} if rng.random() < shape.selectors else {}
    tolerate = rng.random() < 0.5
    tolerations = [Toleration(key="dedicated", operator="Exists")] if tolerate else []
    min_member = size if rng.random() < 0.7 else rng.randint(1, size)
    records: list[SnapshotRecord] = [
        PodGroupRecord(
            namespace=f"ns-{j % 7}",
            name=name,
            uid=f"pg-{name}",
            min_member=min_member,
            queue=f"queue-{rng.randrange(shape.queues)}",
            priority_class_name=rng.choice(("", "", "high", "low")),
            phase=rng.choice(("Inqueue", "Inqueue", "Inqueue", "Pending")),
            creation_timestamp=created,
        )
    ]
    priority = rng.randint(0, 2)

    def size_of(role: str) -> tuple[int, int, int]:
        """The role's request, or now and then another one (tasks of a role may differ)."""
        mixed = shape.mixed_requests and rng.random() < shape.mixed_requests
        return rng.choice(TASK_SIZES) if mixed else sizes[role]

    for t in range(size):
        role = roles[0] if t == 0 or len(roles) == 1 else roles[1]
        records.append(
            PodRecord(
                namespace=f"ns-{j % 7}",
                name=f"{name}-{role}-{t}",
                uid=f"uid-{name}-{t}",
                phase="Pending",
                requests={} if best_effort and t > 0 else _requests(size_of(role)),
                scheduler_name="volcano",
                pod_group=name,
                task_name=role,
                priority=priority,
                node_selector=selector,
                tolerations=tolerations,
                creation_timestamp=created,
            )
        )
    return records


def synthetic_cluster(shape: ClusterShape, seed: int = 0) -> list[SnapshotRecord]:
    """The records of a random cluster of ``shape``; deterministic in ``seed``."""
    rng = random.Random(seed)
    nodes = [_node(rng, i, shape) for i in range(shape.nodes)]
    records: list[SnapshotRecord] = [*nodes]
    records += [QueueRecord(name=f"queue-{q}", weight=q + 1) for q in range(shape.queues)]
    records += [PriorityClassRecord(name="high", value=100), PriorityClassRecord(name="low", value=-10)]
    records += _running(rng, nodes, shape)
    left, j = shape.pending_pods, 0
    while left > 0:
        size = min(left, rng.randint(1, shape.max_gang))
        records += _job(rng, j, size, shape)
        left -= size
        j += 1
    return records
