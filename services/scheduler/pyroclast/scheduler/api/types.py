"""Task statuses, validation results and fit errors (Volcano's ``api/types.go``, ``unschedule_info.go``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyroclast.scheduler.api.node import NodeInfo
    from pyroclast.scheduler.api.task import TaskInfo

__all__ = [
    "ALL_NODES_UNAVAILABLE",
    "POD_REASON_SCHEDULABLE",
    "POD_REASON_UNSCHEDULABLE",
    "FitError",
    "FitErrors",
    "Status",
    "StatusCode",
    "TaskStatus",
    "ValidateResult",
    "allocated_status",
    "completed_status",
    "insufficient_resource_reason",
    "preemptable_status",
    "scheduled_status",
]

POD_REASON_UNSCHEDULABLE = "Unschedulable"
POD_REASON_SCHEDULABLE = "Schedulable"
ALL_NODES_UNAVAILABLE = "all nodes are unavailable"


class TaskStatus(StrEnum):
    """Where a task (pod) stands in the scheduler; the value is Volcano's ``String()``."""

    PENDING = "Pending"
    ALLOCATED = "Allocated"
    PIPELINED = "Pipelined"
    BINDING = "Binding"
    BOUND = "Bound"
    RUNNING = "Running"
    RELEASING = "Releasing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


_ALLOCATED = frozenset({TaskStatus.BOUND, TaskStatus.BINDING, TaskStatus.RUNNING, TaskStatus.ALLOCATED})
_COMPLETED = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED})
_SCHEDULED = frozenset({TaskStatus.RUNNING, TaskStatus.BOUND, TaskStatus.FAILED, TaskStatus.SUCCEEDED})
_PREEMPTABLE = frozenset({TaskStatus.BOUND, TaskStatus.RUNNING})


def allocated_status(status: TaskStatus) -> bool:
    """Bound, Binding, Running or Allocated (Volcano's ``AllocatedStatus``)."""
    return status in _ALLOCATED


def completed_status(status: TaskStatus) -> bool:
    return status in _COMPLETED


def scheduled_status(status: TaskStatus) -> bool:
    """Running, Bound, Failed or Succeeded."""
    return status in _SCHEDULED


def preemptable_status(status: TaskStatus) -> bool:
    return status in _PREEMPTABLE


@dataclass(frozen=True, slots=True)
class ValidateResult:
    """A job-valid verdict; ``None`` from a plugin means pass."""

    passed: bool
    reason: str = ""
    message: str = ""


class StatusCode(IntEnum):
    """Plugin status codes (kube-scheduler's, as Volcano copies them)."""

    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5


@dataclass(frozen=True, slots=True)
class Status:
    code: StatusCode
    reason: str = ""
    plugin: str = ""

    # (written out: the compiled core compiles these, not so the ones dataclass would generate)
    def __init__(self, code: StatusCode, reason: str = "", plugin: str = "") -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "plugin", plugin)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return self.code == other.code and self.reason == other.reason and self.plugin == other.plugin

    def __hash__(self) -> int:
        return hash((self.code, self.reason, self.plugin))


def insufficient_resource_reason(names: list[str]) -> str:
    """``Insufficient <first name>`` (Volcano's ``WrapInsufficientResourceReason``)."""
    return f"Insufficient {names[0]}" if names else ""


@dataclass(slots=True)
class FitError:
    """Why one task does not fit one node: a list of statuses."""

    task_namespace: str
    task_name: str
    node_name: str
    statuses: list[Status] = field(default_factory=list)

    @classmethod
    def of(cls, task: TaskInfo, node: NodeInfo, *statuses: Status) -> FitError:
        return cls(task.namespace, task.name, node.name, list(statuses))

    @classmethod
    def error(cls, task: TaskInfo, node: NodeInfo, *messages: str) -> FitError:
        """A fit error whose statuses all have code ``ERROR`` (Volcano's ``NewFitError``)."""
        return cls.of(task, node, *(Status(StatusCode.ERROR, m) for m in messages))

    def reasons(self) -> list[str]:
        return [s.reason for s in self.statuses if s.reason]

    def has_code(self, *codes: StatusCode) -> bool:
        return any(s.code in codes for s in self.statuses)

    def __str__(self) -> str:
        return (
            f"task {self.task_namespace}/{self.task_name} on node {self.node_name} "
            f"fit failed: {', '.join(self.reasons())}"
        )


class FitErrors:
    """Fit errors of one task over the nodes tried (Volcano's ``FitErrors``)."""

    __slots__ = ("err", "hyper_node", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[str, FitError] = {}
        self.err = ""
        self.hyper_node = ""

    def set_error(self, err: str) -> None:
        self.err = err

    def set_node_error(self, node_name: str, err: FitError | str) -> None:
        if isinstance(err, str):
            fe = FitError("", "", node_name, [Status(StatusCode.ERROR, err)])
        else:
            err.node_name = node_name
            fe = err
        self.nodes[node_name] = fe

    def unresolvable_nodes(self) -> set[str]:
        return {n for n, fe in self.nodes.items() if fe.has_code(StatusCode.UNSCHEDULABLE_AND_UNRESOLVABLE)}

    def reason_histogram(self) -> dict[str, int]:
        """How many nodes gave each reason."""
        reasons: dict[str, int] = {}
        for fe in self.nodes.values():
            for reason in fe.reasons():
                reasons[reason] = reasons.get(reason, 0) + 1
        return reasons

    def message(self) -> str:
        """Volcano's ``FitErrors.Error()``: ``0/3 nodes are unavailable: 3 Insufficient cpu.``"""
        err = self.err or f"0/{len(self.nodes)} nodes are unavailable"
        if not self.nodes:
            return err
        parts = sorted(f"{v} {k}" for k, v in self.reason_histogram().items())
        msg = f"{err}: {', '.join(parts)}."
        if self.hyper_node:
            msg = f"In hyperNode {self.hyper_node}: {msg}"
        return msg

    def __str__(self) -> str:
        return self.message()
