"""Inputs and outputs of the job state machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pyroclast.common.models import Job, Pod
from pyroclast.controller.job.naming import RandomStr, random_str
from pyroclast.controller.job.plugins.base import ObjectRef

RETAIN_NONE: frozenset[str] = frozenset()
"""Kill every pod."""
RETAIN_SOFT: frozenset[str] = frozenset({"Succeeded", "Failed"})
"""Keep pods that already finished."""


class TargetType(StrEnum):
    TASK = "task"
    POD = "pod"
    PARTITION = "partition"


@dataclass(frozen=True)
class Target:
    """The part of a job a RestartTask/RestartPod/RestartPartition action acts on."""

    type: TargetType
    task: str = ""
    pod: str = ""
    partition: str = ""


@dataclass(frozen=True)
class StateAction:
    action: str
    target: Target | None = None


@dataclass
class JobContext:
    """A job with the pods it owns and its PodGroup's phase.

    ``pods`` maps task name (the pod's task-spec annotation) to pod name to pod, as the
    controller's cache groups them; pods being deleted are included.
    """

    job: Job
    pods: Mapping[str, Mapping[str, Pod]]
    now: datetime
    podgroup_phase: str | None = None
    """Phase of the job's PodGroup; pods are only created once it has left Pending."""
    job_forwarding: bool = False
    rand: RandomStr = random_str

    def all_pods(self) -> dict[str, Pod]:
        return {name: pod for pods in self.pods.values() for name, pod in pods.items()}


@dataclass
class Draft:
    """The mutable part of a job status that phase rules read and change."""

    phase: str
    retry_count: int
    min_available: int
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    terminating: int = 0
    unknown: int = 0
    task_status_count: dict[str, dict[str, int]] = field(default_factory=dict)


UpdateFn = Callable[[Draft], bool]
"""Changes the draft status; True when the phase changed."""


class Operation(StrEnum):
    NONE = "none"
    SYNC = "sync"
    KILL_JOB = "kill_job"
    KILL_TARGET = "kill_target"


@dataclass
class Plan:
    """What executing one action on a job amounts to; applied by the controller in this order:
    create pods, mark ``out_of_sync`` pods, delete pods, delete plugin objects, write
    ``status``, delete the PodGroup."""

    operation: Operation
    status: Job | None = None
    """The job with its new status, or None when the status does not change."""
    create_pods: list[Pod] = field(default_factory=list)
    deferred_pods: list[str] = field(default_factory=list)
    """Pods not created yet because the tasks they depend on are not ready."""
    mark_out_of_sync: list[str] = field(default_factory=list)
    delete_pods: list[str] = field(default_factory=list)
    delete_objects: list[ObjectRef] = field(default_factory=list)
    delete_podgroup: bool = False
    phase_changed: bool = False
    error: str | None = None
    """A plugin failed: the pod operations still apply, nothing else does; retry later."""

    @property
    def new_phase(self) -> str | None:
        """Phase in the new status; None when the status is not written."""
        if self.status is None or self.status.status is None or self.status.status.state is None:
            return None
        return self.status.status.state.phase
