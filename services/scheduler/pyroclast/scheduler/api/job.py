"""JobInfo: a podgroup and its tasks (Volcano's ``api.JobInfo``, without sub-groups)."""

from __future__ import annotations

from collections.abc import Iterable

from pyroclast.common.bus.messages import PodGroupRecord
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.common.resources import Resource
from pyroclast.scheduler.api.job_counts import TaskCounts
from pyroclast.scheduler.api.task import TaskInfo, aware_time, resource_of
from pyroclast.scheduler.api.types import (
    POD_REASON_SCHEDULABLE,
    POD_REASON_UNSCHEDULABLE,
    FitErrors,
    TaskStatus,
    allocated_status,
    completed_status,
    scheduled_status,
)

__all__ = ["JobInfo"]

_READY = (
    TaskStatus.BOUND,
    TaskStatus.BINDING,
    TaskStatus.RUNNING,
    TaskStatus.ALLOCATED,
    TaskStatus.SUCCEEDED,
)
_VALID = frozenset(
    {
        TaskStatus.BOUND,
        TaskStatus.BINDING,
        TaskStatus.RUNNING,
        TaskStatus.ALLOCATED,
        TaskStatus.SUCCEEDED,
        TaskStatus.PIPELINED,
        TaskStatus.PENDING,
    }
)


class JobInfo:
    """A podgroup in a session, its tasks indexed by status, and the podgroup status it will write."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.pg_uid = ""
        self.name = ""
        self.namespace = ""
        self.queue = ""
        self.priority = 0
        self.min_available = 0
        self.task_min_available: dict[str, int] = {}
        self.task_min_available_total = 0
        self.min_resources: Resource | None = None
        self.preemptable = False
        self.creation_timestamp = aware_time(None)
        self.podgroup: PodGroupRecord | None = None
        self.phase = ""
        self.conditions: list[PodGroupCondition] = []
        self.tasks: dict[str, TaskInfo] = {}
        self.task_status_index: dict[TaskStatus, dict[str, TaskInfo]] = {}
        self.counts = TaskCounts()
        self.allocated = Resource()
        self.total_request = Resource()
        self.nodes_fit_errors: dict[str, FitErrors] = {}
        self.job_fit_errors = ""
        self.enqueue_error = ""
        """Why an enqueueable vote kept the job Pending this session (plain words, numbers)."""

    # -- construction -------------------------------------------------------
    @classmethod
    def from_records(cls, pg: PodGroupRecord, tasks: Iterable[TaskInfo] = (), priority: int = 0) -> JobInfo:
        job = cls(pg.ref)
        job.set_podgroup(pg)
        job.priority = priority
        for task in tasks:
            job.add_task(task)
        return job

    def set_podgroup(self, pg: PodGroupRecord) -> None:
        self.podgroup = pg
        self.pg_uid = pg.uid
        self.name = pg.name
        self.namespace = pg.namespace
        self.queue = pg.queue
        self.min_available = pg.min_member
        self.task_min_available = dict(pg.min_task_member)
        self.task_min_available_total = sum(pg.min_task_member.values())
        # Records cannot tell an absent minResources from an empty one: empty reads as absent.
        self.min_resources = resource_of(pg.min_resources) if pg.min_resources else None
        self.creation_timestamp = aware_time(pg.creation_timestamp)
        self.phase = pg.phase
        self.conditions = list(pg.conditions)

    # -- task index ---------------------------------------------------------
    def add_task(self, task: TaskInfo) -> None:
        self.tasks[task.uid] = task
        self.task_status_index.setdefault(task.status, {})[task.uid] = task
        self.counts.add(task, task.status)
        self.total_request = self.total_request.add(task.resreq)
        if allocated_status(task.status):
            self.allocated = self.allocated.add(task.resreq)

    def delete_task(self, task: TaskInfo) -> None:
        old = self.tasks.pop(task.uid, None)
        if old is None:
            return
        self.total_request = self.total_request.sub_without_assert(old.resreq)
        if allocated_status(old.status):
            self.allocated = self.allocated.sub_without_assert(old.resreq)
        self.counts.remove(old, old.status)
        bucket = self.task_status_index.get(old.status)
        if bucket is not None:
            bucket.pop(old.uid, None)
            if not bucket:
                del self.task_status_index[old.status]

    def update_task_status(self, task: TaskInfo, status: TaskStatus) -> None:
        """Move ``task`` to ``status`` keeping the index and resource sums right.

        The same as deleting and adding it again (the task moves to the end of ``tasks``
        and of its new status bucket), without recomputing the sums it leaves unchanged.
        """
        uid = task.uid
        tasks = self.tasks
        if tasks.get(uid) is not task:
            if uid in tasks:
                self.delete_task(task)
            task.status = status
            self.add_task(task)
            return
        old = task.status
        del tasks[uid]
        tasks[uid] = task
        self.counts.remove(task, old)
        index = self.task_status_index
        bucket = index.get(old)
        if bucket is not None:
            bucket.pop(uid, None)
            if not bucket:
                del index[old]
        task.status = status
        bucket = index.get(status)
        if bucket is None:
            bucket = index[status] = {}
        bucket[uid] = task
        self.counts.add(task, status)
        was, now = allocated_status(old), allocated_status(status)
        if was and not now:
            self.allocated = self.allocated.sub_without_assert(task.resreq)
        elif now and not was:
            self.allocated = self.allocated.add(task.resreq)

    def tasks_in(self, status: TaskStatus) -> dict[str, TaskInfo]:
        return self.task_status_index.get(status, {})

    def count(self, status: TaskStatus) -> int:
        return len(self.task_status_index.get(status, ()))

    # -- counts (Volcano's names) -------------------------------------------
    def is_pending(self) -> bool:
        return self.podgroup is None or self.phase in ("Pending", "")

    def ready_task_num(self) -> int:
        index = self.task_status_index
        n = 0
        for status in _READY:
            bucket = index.get(status)
            if bucket:
                n += len(bucket)
        return n

    def waiting_task_num(self) -> int:
        return self.count(TaskStatus.PIPELINED)

    def pending_best_effort_task_num(self) -> int:
        return self.counts.pending_best_effort

    def valid_task_num(self) -> int:
        return sum(len(ts) for s, ts in self.task_status_index.items() if s in _VALID)

    def allocated_task_num(self) -> int:
        return sum(len(ts) for s, ts in self.task_status_index.items() if allocated_status(s))

    def scheduled_task_num(self) -> int:
        return sum(len(ts) for s, ts in self.task_status_index.items() if scheduled_status(s))

    def completed_task_num(self) -> int:
        return sum(len(ts) for s, ts in self.task_status_index.items() if completed_status(s))

    def releasing_scheduled_task_num(self) -> int:
        return sum(1 for t in self.tasks_in(TaskStatus.RELEASING).values() if t.node_name)

    def is_ready(self) -> bool:
        return self.ready_task_num() + self.pending_best_effort_task_num() >= self.min_available

    def is_pipelined(self) -> bool:
        return (
            self.waiting_task_num() + self.ready_task_num() + self.pending_best_effort_task_num()
            >= self.min_available
        )

    def is_starving(self) -> bool:
        return self.waiting_task_num() + self.ready_task_num() < self.min_available

    # -- per-role checks ----------------------------------------------------
    def _role_counts(self, statuses: Iterable[TaskStatus], *, best_effort_pending: bool) -> dict[str, int]:
        return self.counts.role_counts(statuses, best_effort_pending=best_effort_pending)

    def _roles_meet(self, counts: dict[str, int]) -> bool:
        return all(counts.get(role, 0) >= n for role, n in self.task_min_available.items())

    def check_task_valid(self) -> bool:
        if self.min_available < self.task_min_available_total:
            return True
        counts = self._role_counts(_VALID, best_effort_pending=False)
        return all(n == 0 or counts.get(role, 0) >= n for role, n in self.task_min_available.items())

    def allocated_roles(self) -> dict[str, int]:
        """Tasks per role that are allocated, succeeded, or pending best-effort."""
        return self._role_counts((*_READY,), best_effort_pending=True)

    def check_task_ready(self) -> bool:
        if self.min_available < self.task_min_available_total or not self.task_min_available:
            return True
        return self._roles_meet(self.allocated_roles())

    def check_task_pipelined(self) -> bool:
        if self.min_available < self.task_min_available_total or not self.task_min_available:
            return True
        return self._roles_meet(self._role_counts((*_READY, TaskStatus.PIPELINED), best_effort_pending=True))

    def check_task_starving(self) -> bool:
        if self.min_available < self.task_min_available_total:
            return True
        return not self._roles_meet(
            self._role_counts((*_READY, TaskStatus.PIPELINED), best_effort_pending=False)
        )

    # -- fit errors ---------------------------------------------------------
    def fit_failed_roles(self) -> set[str]:
        return {self.tasks[tid].role for tid in self.nodes_fit_errors if tid in self.tasks}

    def task_has_fit_errors(self, task: TaskInfo) -> bool:
        """Whether a task of the same role already failed every node (roles only; no role, no cache)."""
        return bool(task.role) and task.role in self.fit_failed_roles()

    def need_continue_allocating(self) -> bool:
        """After a task fails, whether the rest can still make the gang (``NeedContinueAllocating``)."""
        if self.min_available >= len(self.tasks):
            return False
        failed = self.fit_failed_roles()
        pending: dict[str, int] = {}
        for t in self.tasks_in(TaskStatus.PENDING).values():
            pending[t.role] = pending.get(t.role, 0) + 1
        if self.min_available < self.task_min_available_total:
            left = sum(n for role, n in pending.items() if role not in failed)
            return self.ready_task_num() + left >= self.min_available
        allocated = self.allocated_roles()
        for role in failed:
            need = self.task_min_available.get(role, 0)
            if need and allocated.get(role, 0) < need:
                return False
        return True

    def task_scheduling_reason(self, uid: str) -> tuple[str, str, str]:
        """(reason, message, nominated node) for a task, from its last transaction."""
        task = self.tasks.get(uid)
        if task is None:
            return "", "", ""
        status, node, evicted = task.last_transaction or (task.status, task.node_name, task.eviction_occurred)
        msg = self.job_fit_errors
        if status is TaskStatus.ALLOCATED:
            return (
                POD_REASON_SCHEDULABLE,
                f"Pod {task.namespace}/{task.name} can possibly be assigned to {node}, "
                "once minAvailable is satisfied",
                "",
            )
        if status is TaskStatus.PIPELINED:
            return (
                POD_REASON_UNSCHEDULABLE,
                f"Pod {task.namespace}/{task.name} can possibly be assigned to {node}, "
                "once resource is released and minAvailable is satisfied",
                node if evicted else "",
            )
        if status is TaskStatus.PENDING:
            fe = self.nodes_fit_errors.get(uid)
            if fe is not None:
                return POD_REASON_UNSCHEDULABLE, fe.message(), ""
            return POD_REASON_UNSCHEDULABLE, msg, ""
        return str(status), msg, ""

    def fit_error(self) -> str:
        """Volcano's ``JobInfo.FitError()``: status histogram, pending reasons, origin reason."""
        reasons: dict[str, int] = {}
        for status, tasks in self.task_status_index.items():
            reasons[str(status)] = reasons.get(str(status), 0) + len(tasks)
        reasons["minAvailable"] = self.min_available
        state = "pod group is ready" if self.is_ready() else "pod group is not ready"
        msg = f"{state}, {', '.join(sorted(f'{v} {k}' for k, v in reasons.items()))}"
        pending: dict[str, int] = {}
        for uid in self.tasks_in(TaskStatus.PENDING):
            reason = self.task_scheduling_reason(uid)[0]
            pending[reason] = pending.get(reason, 0) + 1
        if pending:
            msg += f"; Pending: {', '.join(sorted(f'{v} {k}' for k, v in pending.items()))}"
        if self.job_fit_errors:
            msg += ". Origin reason is: " + self.job_fit_errors
        else:
            for task in self.tasks.values():
                fe = self.nodes_fit_errors.get(task.uid)
                if fe is not None:
                    msg += f". Origin reason is {task.name}: {fe.message()}"
                    break
        return msg

    # -- copying ------------------------------------------------------------
    def clone(self) -> JobInfo:
        """A copy with cloned tasks; fit errors are not carried over."""
        # (every attribute ``__init__`` sets; a constructor call, which compiled classes need)
        job = JobInfo(self.uid)
        job.pg_uid = self.pg_uid
        job.name = self.name
        job.namespace = self.namespace
        job.queue = self.queue
        job.priority = self.priority
        job.min_available = self.min_available
        job.task_min_available = dict(self.task_min_available)
        job.task_min_available_total = self.task_min_available_total
        job.min_resources = self.min_resources
        job.preemptable = self.preemptable
        job.creation_timestamp = self.creation_timestamp
        job.podgroup = self.podgroup
        job.phase = self.phase
        job.conditions = list(self.conditions)
        tasks: dict[str, TaskInfo] = {}
        index: dict[TaskStatus, dict[str, TaskInfo]] = {}
        job.tasks = tasks
        job.task_status_index = index
        job.nodes_fit_errors = {}
        job.job_fit_errors = ""
        job.enqueue_error = ""
        for uid, task in self.tasks.items():
            copy = task.clone()
            tasks[uid] = copy
            bucket = index.get(copy.status)
            if bucket is None:
                bucket = index[copy.status] = {}
            bucket[uid] = copy
        job.counts = self.counts.copy()
        # Resources are immutable: the sums are shared, not recomputed.
        job.allocated = self.allocated
        job.total_request = self.total_request
        return job

    def __repr__(self) -> str:
        return f"JobInfo({self.uid}, phase={self.phase!r}, min={self.min_available}, tasks={len(self.tasks)})"
