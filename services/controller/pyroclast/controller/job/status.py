"""Job status bookkeeping: pod counts by phase, per-task counts, conditions, running time."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyroclast.common.models import JobCondition, Pod, PodPhase, TaskState
from pyroclast.common.models.labels import TASK_SPEC_KEY
from pyroclast.controller.job.timeutil import format_duration, parse_time

_PHASES = (PodPhase.PENDING, PodPhase.RUNNING, PodPhase.SUCCEEDED, PodPhase.FAILED)


def pod_phase(pod: Pod) -> str:
    return (pod.status.phase if pod.status else None) or ""


def is_terminating(pod: Pod) -> bool:
    return bool(pod.metadata and pod.metadata.deletion_timestamp)


@dataclass
class Counts:
    """Pods of a job by phase, plus the per-task breakdown written to ``taskStatusCount``."""

    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    terminating: int = 0
    unknown: int = 0
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, pod: Pod) -> None:
        """Counts a live pod under its phase (anything unrecognised is Unknown)."""
        phase = pod_phase(pod)
        name = {"Pending": "pending", "Running": "running", "Succeeded": "succeeded", "Failed": "failed"}.get(
            phase, "unknown"
        )
        setattr(self, name, getattr(self, name) + 1)
        annotations = (pod.metadata.annotations if pod.metadata else None) or {}
        task = annotations.get(TASK_SPEC_KEY)
        if task is None:
            return
        key = phase if phase in _PHASES else PodPhase.UNKNOWN.value
        per_task = self.tasks.setdefault(task, {})
        per_task[key] = per_task.get(key, 0) + 1

    def task_status_count(self) -> dict[str, TaskState] | None:
        if not self.tasks:
            return None
        return {t: TaskState(phase=dict(p)) for t, p in self.tasks.items()}


def append_condition(conditions: list[JobCondition] | None, phase: str, when: str) -> list[JobCondition]:
    """Adds a condition for ``phase``, replacing any earlier one for the same phase."""
    kept = [c for c in conditions or [] if c.status != phase]
    return [*kept, JobCondition(status=phase, last_transition_time=when)]


def running_duration(last_transition: str | None, created: str | None) -> str | None:
    """Time from creation to the last phase change, as a Go duration string."""
    if not last_transition or not created:
        return None
    return format_duration(parse_time(last_transition) - parse_time(created))
