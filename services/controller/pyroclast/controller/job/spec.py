"""Read a Job's fields with the values Volcano's controller sees.

An absent optional field reads as Go's zero value, except where the CRD schema supplies a
default that the API server fills in before the controller sees the object (``queue``,
``maxRetry``).
"""

from __future__ import annotations

from pyroclast.common.models import Job, JobStatus, TaskSpec
from pyroclast.common.models.labels import DEFAULT_QUEUE

DEFAULT_MAX_RETRY = 3
"""``spec.maxRetry`` when the manifest leaves it out."""
DEFAULT_SCHEDULER = "volcano"
"""Scheduler of a job's pods when neither the job nor the template names one."""


def name(job: Job) -> str:
    return (job.metadata.name if job.metadata else None) or ""


def namespace(job: Job) -> str:
    return (job.metadata.namespace if job.metadata else None) or ""


def uid(job: Job) -> str:
    return (job.metadata.uid if job.metadata else None) or ""


def tasks(job: Job) -> list[TaskSpec]:
    return list(job.spec.tasks or []) if job.spec else []


def task_name(task: TaskSpec) -> str:
    return task.name or ""


def replicas(task: TaskSpec) -> int:
    return task.replicas or 0


def min_available(job: Job) -> int:
    return (job.spec.min_available if job.spec else None) or 0


def min_success(job: Job) -> int | None:
    return job.spec.min_success if job.spec else None


def max_retry(job: Job) -> int:
    value = job.spec.max_retry if job.spec else None
    return DEFAULT_MAX_RETRY if value is None else value


def queue(job: Job) -> str:
    return (job.spec.queue if job.spec else None) or DEFAULT_QUEUE


def scheduler_name(job: Job) -> str:
    """The job's scheduler; admission fills in ``volcano`` for a job that names none."""
    return (job.spec.scheduler_name if job.spec else None) or DEFAULT_SCHEDULER


def priority_class_name(job: Job) -> str:
    return (job.spec.priority_class_name if job.spec else None) or ""


def status(job: Job) -> JobStatus:
    return job.status or JobStatus()


def phase(job: Job) -> str:
    state = status(job).state
    return (state.phase if state else None) or ""


def version(job: Job) -> int:
    return status(job).version or 0


def retry_count(job: Job) -> int:
    return status(job).retry_count or 0


def total_tasks(job: Job) -> int:
    """Sum of the tasks' replicas."""
    return sum(replicas(t) for t in tasks(job))


def total_task_min_available(job: Job) -> int:
    """Sum of the tasks' ``minAvailable``, a task without one counting its replicas."""
    return sum(t.min_available if t.min_available is not None else replicas(t) for t in tasks(job))


def find_task(job: Job, task: str) -> TaskSpec | None:
    return next((t for t in tasks(job) if task_name(t) == task), None)


def task_position(job: Job, task: str) -> int:
    """Index of the task named ``task`` in ``spec.tasks``, -1 when there is none."""
    return next((i for i, t in enumerate(tasks(job)) if task_name(t) == task), -1)


def is_deleting(job: Job) -> bool:
    return bool(job.metadata and job.metadata.deletion_timestamp)
