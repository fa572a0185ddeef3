"""Overcommit: admit podgroups while the cluster, inflated by a factor, still has room.

Idle = total allocatable x ``overcommit-factor`` (default 1.2; below 1 falls back to the
default) minus what nodes use. Inqueue = the ``minResources`` of Inqueue podgroups, plus
for Running podgroups with all ``minMember`` tasks allocated what their ``minResources``
still exceed their allocation by. A job is enqueueable when inqueue + its minResources
fits idle on the dimensions it asks for; each admitted job adds to inqueue.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyroclast.common.resources import PODS, Resource, is_scalar_resource_name
from pyroclast.scheduler.api import JobInfo, NodeInfo
from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.framework import PERMIT, REJECT, Plugin, Session, register_plugin
from pyroclast.scheduler.plugins.fresource import FRes, amount_text

__all__ = [
    "DEFAULT_OVERCOMMIT_FACTOR",
    "OVERCOMMIT_FACTOR",
    "OvercommitPlugin",
    "allocated_task_num",
    "inqueue_resource",
    "reserved_resource",
]

OVERCOMMIT_FACTOR = "overcommit-factor"
DEFAULT_OVERCOMMIT_FACTOR = 1.2


def allocated_task_num(job: JobInfo) -> int:
    return job.allocated_task_num()


def reserved_resource(job: JobInfo) -> Resource:
    """Volcano's ``GetInqueueResource``: what ``minResources`` still exceeds the job's allocation by."""
    min_res = job.min_resources or Resource()
    alloc = job.allocated
    cpu = max(min_res.cpu_milli - alloc.cpu_milli, 0)
    memory = max(min_res.memory - alloc.memory, 0)
    scalars: dict[str, int] = {}
    for name, amount in min_res.scalars.items():
        if name == PODS:
            if amount - alloc.get(name) > 0:
                scalars[name] = amount - alloc.get(name)
        elif name.startswith("count/") or not is_scalar_resource_name(name):
            continue
        elif name not in alloc.scalars:
            scalars[name] = amount
        elif amount - alloc.get(name) > 0:
            scalars[name] = amount - alloc.get(name)
    return Resource(cpu, memory, scalars)


def inqueue_resource(jobs: Iterable[JobInfo]) -> Resource:
    """The resources reserved by admitted podgroups at session open."""
    total = Resource()
    for job in jobs:
        if job.min_resources is None:
            continue
        if job.phase == "Inqueue":
            total = total.add(job.min_resources)
        elif job.phase == "Running" and allocated_task_num(job) >= job.min_available:
            total = total.add(reserved_resource(job))
    return total


class OvercommitPlugin(Plugin):
    name = "overcommit"

    def __init__(self, arguments: Arguments | None = None) -> None:
        super().__init__(arguments)
        factor = self.arguments.get_float(OVERCOMMIT_FACTOR, DEFAULT_OVERCOMMIT_FACTOR)
        self.factor = factor if factor >= 1.0 else DEFAULT_OVERCOMMIT_FACTOR
        self.idle = FRes()
        self.inqueue = FRes()

    def open(self, total: Resource, nodes: Iterable[NodeInfo], jobs: Iterable[JobInfo]) -> None:
        """Compute idle (floats, as Volcano's) and inqueue from the session's starting state."""
        used = Resource()
        for node in nodes:
            used = used.add(node.used)
        self.idle = FRes.of(total).multi(self.factor).sub(FRes.of(used))
        self.inqueue = FRes.of(inqueue_resource(jobs))

    def enqueueable(self, job: JobInfo) -> int:
        if job.min_resources is None:
            return PERMIT
        req = FRes.of(job.min_resources)
        over = self.inqueue.add(req).exceeding(self.idle, req)
        if over:
            job.enqueue_error = "resource in cluster is overused: " + "; ".join(
                f"{name}: this job's minResources {amount_text(name, req.get(name))}"
                f" + inqueue {amount_text(name, self.inqueue.get(name))}"
                f" > idle {amount_text(name, self.idle.get(name))} (overcommit factor {self.factor:g})"
                for name in over
            )
            return REJECT
        return PERMIT

    def enqueued(self, job: JobInfo) -> None:
        if job.min_resources is not None:
            self.inqueue = self.inqueue.add(FRes.of(job.min_resources))

    def on_session_open(self, ssn: Session) -> None:
        self.open(ssn.total_resource, ssn.nodes.values(), ssn.jobs.values())
        ssn.add_job_enqueueable_fn(self.name, self.enqueueable)
        ssn.add_job_enqueued_fn(self.name, self.enqueued)


register_plugin(OvercommitPlugin.name, OvercommitPlugin)
