"""The scheduler's data model: tasks, jobs, nodes, queues and the cluster snapshot."""

from pyroclast.scheduler.api.job import JobInfo
from pyroclast.scheduler.api.node import NodeInfo, SchedulingError
from pyroclast.scheduler.api.queue import QueueInfo
from pyroclast.scheduler.api.snapshot import (
    DEFAULT_SCHEDULER_NAMES,
    ClusterSnapshot,
    SnapshotRecord,
    snapshot,
)
from pyroclast.scheduler.api.task import TaskInfo, pod_resource, resource_of, task_status
from pyroclast.scheduler.api.types import (
    FitError,
    FitErrors,
    Status,
    StatusCode,
    TaskStatus,
    ValidateResult,
    allocated_status,
    completed_status,
    scheduled_status,
)

__all__ = [
    "DEFAULT_SCHEDULER_NAMES",
    "ClusterSnapshot",
    "FitError",
    "FitErrors",
    "JobInfo",
    "NodeInfo",
    "QueueInfo",
    "SchedulingError",
    "SnapshotRecord",
    "Status",
    "StatusCode",
    "TaskInfo",
    "TaskStatus",
    "ValidateResult",
    "allocated_status",
    "completed_status",
    "pod_resource",
    "resource_of",
    "scheduled_status",
    "snapshot",
    "task_status",
]
