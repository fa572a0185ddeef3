"""ClusterSnapshot: what a session starts from, built from the cache records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pyroclast.common.bus.messages import (
    NodeRecord,
    PodGroupRecord,
    PodRecord,
    PriorityClassRecord,
    QueueRecord,
)
from pyroclast.common.resources import Resource
from pyroclast.scheduler.api.job import JobInfo
from pyroclast.scheduler.api.node import NodeInfo
from pyroclast.scheduler.api.queue import QueueInfo
from pyroclast.scheduler.api.task import TaskInfo
from pyroclast.scheduler.api.types import TaskStatus

__all__ = ["DEFAULT_SCHEDULER_NAMES", "ClusterSnapshot", "SnapshotRecord", "snapshot"]

DEFAULT_SCHEDULER_NAMES: tuple[str, ...] = ("volcano",)

SnapshotRecord = NodeRecord | PodRecord | PodGroupRecord | QueueRecord | PriorityClassRecord


@dataclass
class ClusterSnapshot:
    """Nodes, jobs and queues by name, each map in name order."""

    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    jobs: dict[str, JobInfo] = field(default_factory=dict)
    queues: dict[str, QueueInfo] = field(default_factory=dict)
    priority_classes: dict[str, PriorityClassRecord] = field(default_factory=dict)
    default_priority: int = 0

    def total_resource(self) -> Resource:
        total = Resource()
        for node in self.nodes.values():
            total = total.add(node.allocatable)
        return total

    def clone(self) -> ClusterSnapshot:
        """A deep copy a session may change freely."""
        return ClusterSnapshot(
            nodes={n: node.clone() for n, node in self.nodes.items()},
            jobs={j: job.clone() for j, job in self.jobs.items()},
            queues={q: queue.clone() for q, queue in self.queues.items()},
            priority_classes=dict(self.priority_classes),
            default_priority=self.default_priority,
        )


def snapshot(
    records: Iterable[SnapshotRecord], *, scheduler_names: Iterable[str] = DEFAULT_SCHEDULER_NAMES
) -> ClusterSnapshot:
    """Build the session's starting view, as Volcano's cache ``Snapshot()`` does.

    Pods are kept when assigned to a node or addressed to one of ``scheduler_names``;
    a pod on a node charges that node unless it has completed. A podgroup becomes a
    job when its queue exists; pods naming a missing podgroup belong to no job.
    Job priority is the podgroup's priority class value, else the global default's.
    """
    names = frozenset(scheduler_names)
    node_records: list[NodeRecord] = []
    pods: list[PodRecord] = []
    groups: dict[str, PodGroupRecord] = {}
    queues: dict[str, QueueInfo] = {}
    classes: dict[str, PriorityClassRecord] = {}
    for rec in records:
        if isinstance(rec, NodeRecord):
            node_records.append(rec)
        elif isinstance(rec, PodRecord):
            pods.append(rec)
        elif isinstance(rec, PodGroupRecord):
            groups[rec.ref] = rec
        elif isinstance(rec, QueueRecord):
            queues[rec.name] = QueueInfo(rec)
        elif isinstance(rec, PriorityClassRecord):
            classes[rec.name] = rec
    default_priority = next((pc.value for pc in classes.values() if pc.global_default), 0)

    nodes = {r.name: NodeInfo(r) for r in sorted(node_records, key=lambda r: r.name)}
    tasks_by_job: dict[str, list[TaskInfo]] = {}
    for pod in sorted(pods, key=lambda p: (p.namespace, p.name)):
        if not pod.node_name and pod.scheduler_name not in names:
            continue
        task = TaskInfo.from_pod(pod)
        node = nodes.get(task.node_name) if task.node_name else None
        if node is not None and task.status not in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
            node.add_task(task)
        if task.job:
            tasks_by_job.setdefault(task.job, []).append(task)

    jobs: dict[str, JobInfo] = {}
    for ref in sorted(groups):
        pg = groups[ref]
        if pg.queue not in queues:
            continue
        pc = classes.get(pg.priority_class_name)
        priority = pc.value if pc is not None else default_priority
        jobs[ref] = JobInfo.from_records(pg, tasks_by_job.get(ref, ()), priority)
    return ClusterSnapshot(
        nodes=nodes,
        jobs=jobs,
        queues=dict(sorted(queues.items())),
        priority_classes=classes,
        default_priority=default_priority,
    )
