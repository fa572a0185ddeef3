"""Proportion: share the cluster among queues by weight (Volcano's ``proportion``).

Deserved (water-filling): each round, every queue not yet satisfied gets the remaining
resources times ``weight / total weight of unsatisfied queues``, capped by its real
capability (capability, and the cluster minus the other queues' guarantees) and by its
request, and raised to its guarantee. A queue whose request fits its deserved, or whose
deserved stopped growing, is satisfied. Rounds stop when nothing remains, the remaining
stops changing, or every queue is satisfied. Only queues with jobs take part.

Then: queue order by priority then share (``max allocated/deserved``); overused when
deserved <= allocated; allocatable when allocated + task fits deserved on the task's
dimensions (and the queue is Open); enqueueable when minResources + allocated + inqueue
- elastic fits the real capability on the job's dimensions; reclaimable takes tasks from
queues above their deserved. Amounts are floats, as Volcano's (:mod:`.fresource`), so a
weight split keeps its fractions. Vectorisation: queues x resources float matrices make
each water-filling round a few array operations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pyroclast.common.resources import INFINITY, PODS, ZERO, Resource
from pyroclast.scheduler.api import JobInfo, QueueInfo, TaskInfo, TaskStatus, allocated_status
from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.framework import (
    PERMIT,
    REJECT,
    Event,
    EventHandler,
    Plugin,
    Session,
    register_plugin,
)
from pyroclast.scheduler.plugins.drf import share
from pyroclast.scheduler.plugins.fresource import MAX_FLOAT, FRes, amount_text, fmax
from pyroclast.scheduler.plugins.overcommit import reserved_resource

__all__ = [
    "ProportionPlugin",
    "QueueAttr",
    "build_queue_attrs",
    "compute_deserved",
]

QUEUE_STATE_OPEN = "Open"


@dataclass
class QueueAttr:
    """Per-queue accounting of one session (float amounts, as Volcano's)."""

    name: str
    weight: int
    priority: int = 0
    share: float = 0.0
    deserved: FRes = field(default_factory=FRes)
    allocated: FRes = field(default_factory=FRes)
    request: FRes = field(default_factory=FRes)
    elastic: FRes = field(default_factory=FRes)
    inqueue: FRes = field(default_factory=FRes)
    guarantee: FRes = field(default_factory=FRes)
    real_capability: FRes = field(default_factory=FRes)
    #: ``allocated`` changed since ``share`` was computed (allocate events defer it)
    stale: bool = False

    def update_share(self) -> None:
        res = 0.0
        for name in self.deserved.names():
            res = max(res, share(self.allocated.get(name), self.deserved.get(name)))
        self.share = res
        self.stale = False

    def current_share(self) -> float:
        """``share`` after the allocation changes deferred so far (the same computation)."""
        if self.stale:
            self.update_share()
        return self.share

    def fits(self, req: FRes) -> bool:
        """``not allocated.add(req).exceeding(deserved, req)`` without building the sum."""
        a, d = self.allocated, self.deserved
        if req.cpu > 0 and a.cpu + req.cpu > d.cpu:
            return False
        if req.memory > 0 and a.memory + req.memory > d.memory:
            return False
        if not a.scalars and not req.scalars:
            return True
        ascal, dscal = a.scalars, d.scalars
        for name, q in req.scalars.items():
            if name == PODS:
                continue
            if q > 0 and ascal.get(name, 0.0) + q > dscal.get(name, 0.0):
                return False
        return True


def _capability(queue: QueueInfo) -> FRes | None:
    if queue.capability is None:
        return None
    cap = FRes.of(queue.capability)
    return FRes(
        cap.cpu if cap.cpu > 0 else MAX_FLOAT,
        cap.memory if cap.memory > 0 else MAX_FLOAT,
        cap.scalars,
    )


def build_queue_attrs(
    total: Resource, queues: dict[str, QueueInfo], jobs: Iterable[JobInfo]
) -> dict[str, QueueAttr]:
    """Attributes of every queue that has jobs: allocated, request, inqueue, elastic, capability."""
    ftotal = FRes.of(total)
    total_guarantee = FRes()
    for q in queues.values():
        if q.guarantee is not None:
            total_guarantee = total_guarantee.add(FRes.of(q.guarantee))
    attrs: dict[str, QueueAttr] = {}
    totals: dict[str, tuple[_Sum, _Sum]] = {}
    for job in jobs:
        queue = queues.get(job.queue)
        if queue is None:
            continue
        attr = attrs.get(job.queue)
        if attr is None:
            attr = QueueAttr(queue.name, queue.weight, queue.record.priority)
            if queue.guarantee is not None:
                attr.guarantee = FRes.of(queue.guarantee)
            real = ftotal.exceeded_part(total_guarantee).add(attr.guarantee)
            cap = _capability(queue)
            attr.real_capability = real if cap is None else real.min_dimension(cap, INFINITY)
            attrs[job.queue] = attr
        sums = totals.get(job.queue)
        if sums is None:
            sums = totals[job.queue] = (_Sum(), _Sum())
        allocated, request = sums
        for status, tasks in job.task_status_index.items():
            if allocated_status(status):
                for t in tasks.values():
                    allocated.add(t.resreq)
                    request.add(t.resreq)
            elif status is TaskStatus.PENDING:
                for t in tasks.values():
                    request.add(t.resreq)
        if job.min_resources is not None and (
            job.phase == "Inqueue"
            or (job.phase == "Running" and job.allocated_task_num() >= job.min_available)
        ):
            attr.inqueue = attr.inqueue.add(FRes.of(reserved_resource(job)))
        attr.elastic = attr.elastic.add(FRes.of(job.allocated).exceeded_part(FRes.of(job.min_resources)))
    for name, (allocated, request) in totals.items():
        attrs[name].allocated = allocated.fres()
        attrs[name].request = request.fres()
    return attrs


class _Sum:
    """``FRes()`` plus ``FRes.of(r)`` for each ``r`` added, with the same float additions in
    the same order, without a frozen vector per step."""

    __slots__ = ("cpu", "memory", "scalars")

    def __init__(self) -> None:
        self.cpu = 0.0
        self.memory = 0.0
        self.scalars: dict[str, float] = {}

    def add(self, r: Resource) -> None:
        self.cpu = self.cpu + float(r.cpu_milli)
        self.memory = self.memory + float(r.memory)
        if r.scalars:
            s = self.scalars
            for k, v in r.scalars.items():
                s[k] = s.get(k, 0.0) + float(v)

    def fres(self) -> FRes:
        return FRes(self.cpu, self.memory, dict(self.scalars))


def compute_deserved(total: Resource, attrs: dict[str, QueueAttr]) -> None:
    """Water-fill ``total`` into each attr's ``deserved`` (and share), as Volcano does."""
    remaining = FRes.of(total)
    meet: set[str] = set()
    while True:
        total_weight = sum(a.weight for q, a in attrs.items() if q not in meet)
        if total_weight == 0:
            break
        old_remaining = remaining
        increased, decreased = FRes(), FRes()
        for q, attr in attrs.items():
            if q in meet:
                continue
            old = attr.deserved
            deserved = old.add(remaining.multi(float(attr.weight) / float(total_weight)))
            deserved = deserved.min_dimension(attr.real_capability, INFINITY)
            deserved = deserved.min_dimension(attr.request, ZERO)
            attr.deserved = fmax(deserved, attr.guarantee)
            attr.update_share()
            if attr.request.less_equal(attr.deserved, ZERO) or attr.deserved == old:
                meet.add(q)
            inc, dec = attr.deserved.diff(old, ZERO)
            increased = increased.add(inc)
            decreased = decreased.add(dec)
        remaining = remaining.add(decreased).exceeded_part(increased)
        if remaining.is_empty() or remaining == old_remaining:
            break


class ProportionPlugin(Plugin):
    name = "proportion"

    def __init__(self, arguments: Arguments | None = None) -> None:
        super().__init__(arguments)
        self.attrs: dict[str, QueueAttr] = {}
        self.queues: dict[str, QueueInfo] = {}
        self.jobs: dict[str, JobInfo] = {}
        self._requests: dict[str, tuple[Resource, FRes]] = {}
        self._converted: dict[Resource, FRes] = {}

    def request_of(self, task: TaskInfo) -> FRes:
        """``FRes.of(task.resreq)``, converted once per task and request."""
        cached = self._requests.get(task.uid)
        if cached is None or cached[0] is not task.resreq:
            req = task.resreq
            # (FRes.of is a function of the request's value, and FRes is immutable: shared)
            fres = self._converted.get(req)
            if fres is None:
                fres = self._converted[req] = FRes.of(req)
            cached = self._requests[task.uid] = (req, fres)
        return cached[1]

    def open(self, total: Resource, queues: dict[str, QueueInfo], jobs: dict[str, JobInfo]) -> None:
        self.queues, self.jobs = queues, jobs
        self.attrs = build_queue_attrs(total, queues, jobs.values())
        compute_deserved(total, self.attrs)

    # -- extension functions -------------------------------------------------------------
    def queue_order(self, lv: QueueInfo, rv: QueueInfo) -> int:
        lp, rp = lv.record.priority, rv.record.priority
        if lp != rp:
            return rp - lp
        la, ra = self.attrs.get(lv.uid), self.attrs.get(rv.uid)
        ls = la.current_share() if la is not None else 0.0
        rs = ra.current_share() if ra is not None else 0.0
        if ls == rs:
            return 0
        return -1 if ls < rs else 1

    def overused(self, queue: QueueInfo) -> bool:
        attr = self.attrs.get(queue.uid)
        return attr is not None and attr.deserved.less_equal(attr.allocated, ZERO)

    def queue_allocatable(self, queue: QueueInfo, candidates: list[TaskInfo]) -> bool:
        if queue.state != QUEUE_STATE_OPEN:
            return False
        attr = self.attrs.get(queue.uid)
        if attr is None:
            return False
        total_req = FRes()
        for task in candidates:
            total_req = total_req.add(self.request_of(task))
        return not attr.allocated.add(total_req).exceeding(attr.deserved, total_req)

    def allocatable(self, queue: QueueInfo, task: TaskInfo) -> bool:
        """``queue_allocatable(queue, [task])`` (``FRes() + r`` is ``r``)."""
        if queue.state != QUEUE_STATE_OPEN:
            return False
        attr = self.attrs.get(queue.uid)
        return attr is not None and attr.fits(self.request_of(task))

    def enqueueable(self, job: JobInfo) -> int:
        queue = self.queues.get(job.queue)
        attr = self.attrs.get(job.queue)
        if queue is None or attr is None or queue.state != QUEUE_STATE_OPEN:
            state = "missing" if queue is None else queue.state or "not Open"
            job.enqueue_error = f"queue {job.queue} is {state}: it admits no new job"
            return REJECT
        if job.min_resources is None:
            return PERMIT
        min_req = FRes.of(job.min_resources)
        r = min_req.add(attr.allocated).add(attr.inqueue).sub(attr.elastic)
        over = r.exceeding(attr.real_capability, min_req)
        if over:
            job.enqueue_error = "queue resource quota insufficient: " + "; ".join(
                f"queue {job.queue} {name}: this job's minResources {amount_text(name, min_req.get(name))}"
                f" + allocated {amount_text(name, attr.allocated.get(name))}"
                f" + inqueue {amount_text(name, attr.inqueue.get(name))}"
                f" > capability {amount_text(name, attr.real_capability.get(name))}"
                for name in over
            )
            return REJECT
        return PERMIT

    def enqueued(self, job: JobInfo) -> None:
        attr = self.attrs.get(job.queue)
        if job.min_resources is not None and attr is not None:
            attr.inqueue = attr.inqueue.add(FRes.of(job.min_resources))

    def reclaimable(self, reclaimer: TaskInfo, reclaimees: list[TaskInfo]) -> tuple[list[TaskInfo], int]:
        del reclaimer
        victims: list[TaskInfo] = []
        allocations: dict[str, FRes] = {}
        for reclaimee in reclaimees:
            job = self.jobs.get(reclaimee.job)
            attr = self.attrs.get(job.queue) if job is not None else None
            if job is None or attr is None:
                continue
            allocated = allocations.setdefault(job.queue, attr.allocated)
            if not allocated.less_equal(attr.deserved, ZERO):
                allocations[job.queue] = allocated.sub(FRes.of(reclaimee.resreq))
                victims.append(reclaimee)
        return victims, PERMIT

    def _on_event(self, event: Event, sign: int) -> None:
        job = self.jobs.get(event.task.job)
        attr = self.attrs.get(job.queue) if job is not None else None
        if attr is None:
            return
        if sign > 0:
            attr.allocated = attr.allocated.add(self.request_of(event.task))
        else:
            attr.allocated = attr.allocated.sub(self.request_of(event.task))
        attr.stale = True

    # -- session ------------------------------------------------------------------------
    def on_session_open(self, ssn: Session) -> None:
        self.open(ssn.total_resource, ssn.queues, ssn.jobs)
        ssn.add_queue_order_fn(self.name, self.queue_order)
        ssn.add_reclaimable_fn(self.name, self.reclaimable)
        ssn.add_overused_fn(self.name, self.overused)
        ssn.add_allocatable_fn(self.name, self.allocatable)
        ssn.add_preemptive_fn(self.name, self.queue_allocatable)
        ssn.add_job_enqueueable_fn(self.name, self.enqueueable)
        ssn.add_job_enqueued_fn(self.name, self.enqueued)
        ssn.add_event_handler(
            EventHandler(
                allocate=lambda e: self._on_event(e, 1),
                deallocate=lambda e: self._on_event(e, -1),
            )
        )

    def on_session_close(self, ssn: Session) -> None:
        self.attrs, self.queues, self.jobs = {}, {}, {}


register_plugin(ProportionPlugin.name, ProportionPlugin)
