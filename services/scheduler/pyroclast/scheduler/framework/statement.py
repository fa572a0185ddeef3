"""Statement: a transaction of allocate, pipeline and evict operations on a session.

Operations change the session's view at once; ``commit`` turns them into decisions
(binds, evictions) and ``discard`` undoes them in reverse order. Allocate uses this to
place a gang all-or-nothing: the statement is committed only when the job is ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from pyroclast.scheduler.api import NodeInfo, SchedulingError, TaskInfo, TaskStatus
from pyroclast.scheduler.framework.extensions import Event

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.session import Session

__all__ = ["Operation", "OperationKind", "Statement"]


class OperationKind(Enum):
    EVICT = "evict"
    PIPELINE = "pipeline"
    ALLOCATE = "allocate"


@dataclass(frozen=True, slots=True)
class Operation:
    kind: OperationKind
    task: TaskInfo
    reason: str = ""

    # (written out: the compiled core compiles it, not so the one dataclass would generate)
    def __init__(self, kind: OperationKind, task: TaskInfo, reason: str = "") -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "task", task)
        object.__setattr__(self, "reason", reason)


class Statement:
    """Pending operations of one job's placement attempt."""

    def __init__(self, ssn: Session) -> None:
        self.ssn = ssn
        self.operations: list[Operation] = []

    # -- helpers ----------------------------------------------------------------
    def _notify(self, task: TaskInfo, *, allocate: bool) -> list[str]:
        errors: list[str] = []
        for eh in self.ssn.event_handlers:
            fn = eh.allocate if allocate else eh.deallocate
            if fn is not None:
                event = Event(task)
                fn(event)
                if event.err:
                    errors.append(event.err)
        return errors

    def _set_status(self, task: TaskInfo, status: TaskStatus) -> None:
        job = self.ssn.jobs.get(task.job)
        if job is not None:
            job.update_task_status(task, status)
        else:
            task.status = status

    def _place(self, task: TaskInfo, node_name: str, status: TaskStatus, kind: OperationKind) -> None:
        errors: list[str] = []
        self._set_status(task, status)
        node = self.ssn.nodes.get(node_name)
        task.node_name = node_name
        added = False
        if node is None:
            errors.append(f"failed to find node {node_name}")
        else:
            try:
                node.add_task(task)
                added = True
            except SchedulingError as exc:
                errors.append(str(exc))
        errors += self._notify(task, allocate=True)
        if errors:
            self._set_status(task, TaskStatus.PENDING)
            if added and node is not None:
                node.remove_task(task)
            self._notify(task, allocate=False)
            task.node_name = ""
            raise SchedulingError(
                f"task {task.key} {kind.value} to node {node_name} failed ({'; '.join(errors)}); rolled back"
            )
        self.operations.append(Operation(kind, task))

    def _unplace(self, task: TaskInfo) -> None:
        self._set_status(task, TaskStatus.PENDING)
        node = self.ssn.nodes.get(task.node_name)
        if node is not None:
            node.remove_task(task)
        self._notify(task, allocate=False)
        task.node_name = ""

    # -- operations -------------------------------------------------------------
    def allocate(self, task: TaskInfo, node: NodeInfo) -> None:
        """Give ``task`` idle resources of ``node``; raises :class:`SchedulingError` (rolled back)."""
        self._place(task, node.name, TaskStatus.ALLOCATED, OperationKind.ALLOCATE)

    def pipeline(self, task: TaskInfo, node_name: str, eviction_occurred: bool = False) -> None:
        """Reserve resources ``node_name`` is releasing for ``task``."""
        task.eviction_occurred = eviction_occurred
        self._place(task, node_name, TaskStatus.PIPELINED, OperationKind.PIPELINE)

    def unpipeline(self, task: TaskInfo) -> None:
        self._unplace(task)

    def evict(self, task: TaskInfo, reason: str) -> None:
        """Mark ``task`` releasing; an :class:`EvictDecision` is made on commit."""
        self._set_status(task, TaskStatus.RELEASING)
        node = self.ssn.nodes.get(task.node_name)
        if node is not None:
            node.update_task(task)
        self._notify(task, allocate=False)
        self.operations.append(Operation(OperationKind.EVICT, task, reason))

    def _unevict(self, task: TaskInfo) -> None:
        self._set_status(task, TaskStatus.RUNNING)
        node = self.ssn.nodes.get(task.node_name)
        if node is not None:
            node.update_task(task)
        self._notify(task, allocate=True)

    # -- outcome ----------------------------------------------------------------
    def commit(self) -> None:
        """Turn the operations into decisions: a bind per allocation, an eviction per evict."""
        for op in self.operations:
            op.task.last_transaction = None
            if op.kind is OperationKind.EVICT:
                self.ssn.record_eviction(op.task, op.reason)
            elif op.kind is OperationKind.ALLOCATE:
                self.ssn.dispatch(op.task)
        self.operations = []

    def discard(self) -> None:
        """Undo the operations, newest first, remembering each task's attempted placement."""
        for op in reversed(self.operations):
            task = op.task
            task.last_transaction = (task.status, task.node_name, task.eviction_occurred)
            if op.kind is OperationKind.EVICT:
                self._unevict(task)
            else:
                self._unplace(task)
        self.operations = []

    def merge(self, *others: Statement) -> None:
        for other in others:
            self.operations += other.operations
            other.operations = []
