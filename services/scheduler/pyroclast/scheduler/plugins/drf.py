"""DRF: order jobs by dominant resource share (Volcano's ``drf``, without hierarchy).

A job's share is the largest ``allocated / total`` over the resources the cluster has
(``pods`` included, as Volcano counts it). Jobs with the smaller share go first; shares
follow allocate and deallocate events. Preemptable: a preemptee may be evicted when the
preemptor's share after taking its task is at most the preemptee job's share after losing
it (within ``1e-6``). With ``enableHierarchy`` queues are also ordered, and reclaimed
from, by hierarchical DRF (:mod:`.drf_hierarchy`). Vectorisation: shares of all jobs are
``max(allocated / total, axis=1)`` over a job x resource matrix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import JobInfo, TaskInfo
from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.framework import PERMIT, Event, EventHandler, Plugin, Session, register_plugin

if TYPE_CHECKING:
    from pyroclast.scheduler.plugins.drf_hierarchy import HierarchicalDrf

__all__ = ["SHARE_DELTA", "DrfAttr", "DrfPlugin", "calculate_share", "share"]

SHARE_DELTA = 0.000001


def share(allocated: float, total: float) -> float:
    """Volcano's ``helpers.Share``: l/r, with 0/0 = 0 and x/0 = 1."""
    if total == 0:
        return 0.0 if allocated == 0 else 1.0
    return allocated / total


def calculate_share(
    allocated: Resource, total: Resource, names: list[str] | None = None
) -> tuple[str, float]:
    """(dominant resource, dominant share) over the resources ``total`` has (``names``:
    ``total.names()`` when known)."""
    res = 0.0
    dominant = ""
    for name in total.names() if names is None else names:
        s = share(allocated.get(name), total.get(name))
        if s > res:
            res = s
            dominant = name
    return dominant, res


class DrfAttr:
    """A job's allocation and dominant share. After :meth:`charge` the share is recomputed
    only when read (allocate changes a job's allocation once per task; its share is read
    by the job order between turns), by the same :func:`calculate_share` call."""

    __slots__ = ("_basis", "_dominant", "_share", "allocated")

    def __init__(
        self, allocated: Resource | None = None, share: float = 0.0, dominant_resource: str = ""
    ) -> None:
        self.allocated = allocated if allocated is not None else Resource()
        self._share = share
        self._dominant = dominant_resource
        self._basis: tuple[Resource, list[str]] | None = None

    def charge(self, allocated: Resource, total: Resource, names: list[str]) -> None:
        """Set the allocation; the share follows (over ``total``'s ``names``) when read."""
        self.allocated = allocated
        self._basis = (total, names)

    def _settle(self) -> None:
        basis = self._basis
        if basis is not None:
            self._basis = None
            self._dominant, self._share = calculate_share(self.allocated, basis[0], basis[1])

    def assign(self, dominant_resource: str, share: float) -> None:
        """Set the dominant resource and share outright (a pending :meth:`charge` is dropped)."""
        self._basis = None
        self._dominant, self._share = dominant_resource, share

    @property
    def share(self) -> float:
        if self._basis is not None:
            self._settle()
        return self._share

    @property
    def dominant_resource(self) -> str:
        if self._basis is not None:
            self._settle()
        return self._dominant

    def __repr__(self) -> str:
        return (
            f"DrfAttr(allocated={self.allocated!r}, share={self.share!r}, "
            f"dominant_resource={self.dominant_resource!r})"
        )


class DrfPlugin(Plugin):
    name = "drf"

    def __init__(self, arguments: Arguments | None = None) -> None:
        super().__init__(arguments)
        self.total = Resource()
        self._total_names: tuple[Resource, list[str]] = (self.total, [])
        self.job_attrs: dict[str, DrfAttr] = {}
        self.hierarchy: HierarchicalDrf | None = None

    # -- pure parts -------------------------------------------------------------------
    def _basis(self) -> tuple[Resource, list[str]]:
        total, names = self._total_names
        if total is not self.total:
            total, names = self.total, self.total.names()
            self._total_names = (total, names)
        return total, names

    def update_share(self, attr: DrfAttr) -> None:
        total, names = self._basis()
        attr.assign(*calculate_share(attr.allocated, total, names))

    def open(self, total: Resource, jobs: dict[str, JobInfo]) -> None:
        self.total = total
        self.job_attrs = {}
        for uid, job in jobs.items():
            attr = DrfAttr(allocated=job.allocated)
            self.update_share(attr)
            self.job_attrs[uid] = attr

    def job_order(self, lv: JobInfo, rv: JobInfo) -> int:
        ls, rs = self.job_attrs[lv.uid].share, self.job_attrs[rv.uid].share
        if ls == rs:
            return 0
        return -1 if ls < rs else 1

    def preemptable(self, preemptor: TaskInfo, preemptees: list[TaskInfo]) -> tuple[list[TaskInfo], int]:
        latt = self.job_attrs.get(preemptor.job)
        if latt is None:
            return [], PERMIT
        _, ls = calculate_share(latt.allocated.add(preemptor.resreq), self.total)
        allocations: dict[str, Resource] = {}
        victims: list[TaskInfo] = []
        for preemptee in preemptees:
            if preemptee.job not in allocations:
                ratt = self.job_attrs.get(preemptee.job)
                if ratt is None:
                    continue
                allocations[preemptee.job] = ratt.allocated
            allocations[preemptee.job] = allocations[preemptee.job].sub_without_assert(preemptee.resreq)
            _, rs = calculate_share(allocations[preemptee.job], self.total)
            if ls < rs or abs(ls - rs) <= SHARE_DELTA:
                victims.append(preemptee)
        return victims, PERMIT

    def on_allocate(self, event: Event) -> None:
        attr = self.job_attrs.get(event.task.job)
        if attr is not None:
            attr.charge(attr.allocated.add(event.task.resreq), *self._basis())
            if self.hierarchy is not None:
                self.hierarchy.on_event(event.task, 1)

    def on_deallocate(self, event: Event) -> None:
        attr = self.job_attrs.get(event.task.job)
        if attr is not None:
            attr.charge(attr.allocated.sub_without_assert(event.task.resreq), *self._basis())
            if self.hierarchy is not None:
                self.hierarchy.on_event(event.task, -1)

    # -- session ------------------------------------------------------------------------
    def on_session_open(self, ssn: Session) -> None:
        self.open(ssn.total_resource, ssn.jobs)
        ssn.add_preemptable_fn(self.name, self.preemptable)
        if ssn.hierarchy_enabled(self.name):
            from pyroclast.scheduler.plugins.drf_hierarchy import HierarchicalDrf

            hdrf = HierarchicalDrf(self, ssn.jobs, ssn.queues)
            self.hierarchy = hdrf
            ssn.add_queue_order_fn(self.name, hdrf.queue_order)
            ssn.add_reclaimable_fn(self.name, hdrf.reclaimable)
        ssn.add_job_order_fn(self.name, self.job_order)
        ssn.add_event_handler(EventHandler(allocate=self.on_allocate, deallocate=self.on_deallocate))

    def on_session_close(self, ssn: Session) -> None:
        self.total = Resource()
        self.job_attrs = {}
        self.hierarchy = None


register_plugin(DrfPlugin.name, DrfPlugin)
