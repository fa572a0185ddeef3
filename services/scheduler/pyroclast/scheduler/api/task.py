"""TaskInfo: one pod as the scheduler tracks it (Volcano's ``api.TaskInfo``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.resources import CPU, MEMORY, PODS, Resource
from pyroclast.scheduler.api.types import TaskStatus

__all__ = [
    "TASK_PRIORITY_ANNOTATION",
    "TASK_SPEC_KEY",
    "TaskInfo",
    "aware_time",
    "pod_index",
    "pod_resource",
    "resource_of",
    "task_status",
]

TASK_SPEC_KEY = "volcano.sh/task-spec"
TASK_PRIORITY_ANNOTATION = "volcano.sh/task-priority"
PREEMPTABLE_KEY = "volcano.sh/preemptable"
_EPOCH = datetime.min.replace(tzinfo=UTC)


def task_status(pod: PodRecord) -> TaskStatus:
    """Volcano's ``getTaskStatus``: the status a pod starts a session with."""
    phase = pod.phase
    if phase == "Running":
        return TaskStatus.RELEASING if pod.deleting else TaskStatus.RUNNING
    if phase == "Pending":
        if pod.deleting:
            return TaskStatus.RELEASING
        return TaskStatus.BOUND if pod.node_name else TaskStatus.PENDING
    if phase == "Succeeded":
        return TaskStatus.SUCCEEDED
    if phase == "Failed":
        return TaskStatus.FAILED
    return TaskStatus.UNKNOWN


def resource_of(amounts: Mapping[str, int]) -> Resource:
    """A ``dict[str, int]`` of canonical amounts as a Resource."""
    scalars = {k: v for k, v in amounts.items() if k not in (CPU, MEMORY)}
    return Resource(amounts.get(CPU, 0), amounts.get(MEMORY, 0), scalars)


def pod_resource(requests: Mapping[str, int]) -> Resource:
    """A pod's request as a Resource, plus one ``pods`` (Volcano adds it to every pod)."""
    scalars = {k: v for k, v in requests.items() if k not in (CPU, MEMORY)}
    scalars[PODS] = scalars.get(PODS, 0) + 1000
    return Resource(requests.get(CPU, 0), requests.get(MEMORY, 0), scalars)


def aware_time(when: datetime | None) -> datetime:
    if when is None:
        return _EPOCH
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _parse_bool(value: str) -> bool | None:
    v = value.strip()
    if v in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if v in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    return None


def _task_role(pod: PodRecord) -> str:
    return pod.task_name or pod.annotations.get(TASK_SPEC_KEY) or pod.labels.get(TASK_SPEC_KEY, "")


def _priority(pod: PodRecord) -> int:
    raw = pod.annotations.get(TASK_PRIORITY_ANNOTATION)
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            pass
    return pod.priority


def pod_index(name: str) -> int | None:
    """The ``<n>`` of a pod named ``a-b-<n>`` (the default task order's first key), else None."""
    parts = name.split("-")
    if len(parts) < 3:
        return None
    try:
        return int(parts[-1])
    except ValueError:
        return None


class TaskInfo:
    """A pod in a session: identity, request, status and the node it is (to be) on."""

    __slots__ = (
        "best_effort",
        "creation_timestamp",
        "eviction_occurred",
        "init_resreq",
        "job",
        "key",
        "last_transaction",
        "name",
        "namespace",
        "node_name",
        "pod",
        "pod_index",
        "preemptable",
        "priority",
        "priority_class_name",
        "resreq",
        "role",
        "status",
        "uid",
    )

    uid: str
    job: str
    name: str
    namespace: str
    #: ``namespace/name``: how a node indexes its tasks (Volcano's ``PodKey``)
    key: str
    role: str
    resreq: Resource
    init_resreq: Resource
    priority: int
    priority_class_name: str
    best_effort: bool
    preemptable: bool
    node_name: str
    status: TaskStatus
    creation_timestamp: datetime
    eviction_occurred: bool
    last_transaction: tuple[TaskStatus, str, bool] | None
    pod: PodRecord
    pod_index: int | None

    @classmethod
    def from_pod(cls, pod: PodRecord) -> TaskInfo:
        t = cls()
        t.pod = pod
        t.uid = pod.uid or pod.ref
        t.job = f"{pod.namespace}/{pod.pod_group}" if pod.pod_group else ""
        t.name = pod.name
        t.pod_index = pod_index(pod.name)
        t.namespace = pod.namespace
        t.key = f"{pod.namespace}/{pod.name}"
        t.role = _task_role(pod)
        t.resreq = pod_resource(pod.requests)
        t.init_resreq = t.resreq
        t.priority = _priority(pod)
        t.priority_class_name = pod.priority_class_name
        t.best_effort = t.init_resreq.is_empty()
        flag = pod.annotations.get(PREEMPTABLE_KEY, pod.labels.get(PREEMPTABLE_KEY))
        t.preemptable = bool(flag is not None and _parse_bool(flag))
        t.node_name = pod.node_name
        t.status = task_status(pod)
        t.creation_timestamp = aware_time(pod.creation_timestamp)
        t.eviction_occurred = False
        t.last_transaction = None
        return t

    def clone(self) -> TaskInfo:
        t = TaskInfo()
        t.best_effort = self.best_effort
        t.creation_timestamp = self.creation_timestamp
        t.eviction_occurred = self.eviction_occurred
        t.init_resreq = self.init_resreq
        t.job = self.job
        t.key = self.key
        t.last_transaction = self.last_transaction
        t.name = self.name
        t.namespace = self.namespace
        t.node_name = self.node_name
        t.pod = self.pod
        t.pod_index = self.pod_index
        t.preemptable = self.preemptable
        t.priority = self.priority
        t.priority_class_name = self.priority_class_name
        t.resreq = self.resreq
        t.role = self.role
        t.status = self.status
        t.uid = self.uid
        return t

    def __repr__(self) -> str:
        return f"TaskInfo({self.key}, {self.status}, node={self.node_name!r})"
