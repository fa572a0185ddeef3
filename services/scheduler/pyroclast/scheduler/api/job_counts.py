"""Task counts of a job kept up to date as tasks move between statuses.

A gang's readiness is asked after every placement; recounting the job's tasks each time
is quadratic in the gang's size. :class:`TaskCounts` keeps, per status, the number of
tasks of each role, and the pending best-effort tasks (in total and per role), changed
by :meth:`JobInfo.add_task`/:meth:`JobInfo.delete_task` only.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyroclast.scheduler.api.task import TaskInfo
from pyroclast.scheduler.api.types import TaskStatus

__all__ = ["TaskCounts"]


def _bump(counts: dict[str, int], role: str, delta: int) -> None:
    n = counts.get(role, 0) + delta
    if n:
        counts[role] = n
    else:
        del counts[role]


class TaskCounts:
    """Per status: tasks per role; pending best-effort tasks (``best_effort``) and, per role,
    pending tasks with an empty initial request."""

    __slots__ = ("by_status", "pending_best_effort", "pending_empty")

    def __init__(self) -> None:
        self.by_status: dict[TaskStatus, dict[str, int]] = {}
        self.pending_best_effort = 0
        self.pending_empty: dict[str, int] = {}

    def _change(self, task: TaskInfo, status: TaskStatus, delta: int) -> None:
        roles = self.by_status.get(status)
        if roles is None:
            roles = self.by_status[status] = {}
        _bump(roles, task.role, delta)
        if not roles:
            del self.by_status[status]
        if status is TaskStatus.PENDING:
            if task.best_effort:
                self.pending_best_effort += delta
            if task.init_resreq.is_empty():
                _bump(self.pending_empty, task.role, delta)

    def add(self, task: TaskInfo, status: TaskStatus) -> None:
        self._change(task, status, 1)

    def remove(self, task: TaskInfo, status: TaskStatus) -> None:
        self._change(task, status, -1)

    def role_counts(self, statuses: Iterable[TaskStatus], *, best_effort_pending: bool) -> dict[str, int]:
        """Tasks per role in ``statuses``, plus pending ones with an empty request if asked
        (and pending is not among ``statuses``)."""
        wanted = set(statuses)
        counts: dict[str, int] = {}
        for status in wanted:
            for role, n in self.by_status.get(status, {}).items():
                counts[role] = counts.get(role, 0) + n
        if best_effort_pending and TaskStatus.PENDING not in wanted:
            for role, n in self.pending_empty.items():
                counts[role] = counts.get(role, 0) + n
        return counts

    def copy(self) -> TaskCounts:
        out = TaskCounts()
        out.by_status = {s: dict(roles) for s, roles in self.by_status.items()}
        out.pending_best_effort = self.pending_best_effort
        out.pending_empty = dict(self.pending_empty)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TaskCounts):
            return NotImplemented
        return (
            self.by_status == other.by_status
            and self.pending_best_effort == other.pending_best_effort
            and self.pending_empty == other.pending_empty
        )

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def recount(cls, tasks: Iterable[TaskInfo]) -> TaskCounts:
        """The counts of ``tasks`` from scratch (the oracle of the incremental counts)."""
        out = cls()
        for task in tasks:
            out.add(task, task.status)
        return out
