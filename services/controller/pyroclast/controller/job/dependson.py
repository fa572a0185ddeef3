"""``dependsOn``: whether a task's pods may be created yet."""

from __future__ import annotations

from collections.abc import Mapping

from pyroclast.common.models import Iteration, Job, Pod, TaskSpec
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.status import pod_phase


def _ready(pod: Pod) -> bool:
    """Succeeded, or Running with every container ready."""
    phase = pod_phase(pod)
    if phase == "Succeeded":
        return True
    if phase != "Running":
        return False
    statuses = (pod.status.container_statuses if pod.status else None) or []
    return all(s.ready for s in statuses)


def task_ready(job: Job, task_name: str, pods: Mapping[str, Pod]) -> bool:
    """A dependency is ready once ``minAvailable`` of its replicas are ready.

    A task without ``minAvailable`` counts as ready at once; ``pods`` maps pod names to pods.
    """
    task = spec.find_task(job, task_name)
    if task is None:
        return False
    count = 0
    for index in range(spec.replicas(task)):
        pod = pods.get(naming.pod_name(spec.name(job), task_name, index))
        if pod is not None and _ready(pod):
            count += 1
    return task.min_available is None or count >= task.min_available


def may_create(job: Job, task: TaskSpec, pods: Mapping[str, Pod]) -> bool:
    """Whether the task's dependencies allow creating its pods now."""
    depends = task.depends_on
    if depends is None:
        return True
    names = depends.name or []
    if len(names) > 1 and depends.iteration == Iteration.ANY:
        return any(task_ready(job, name, pods) for name in names)
    return all(task_ready(job, name, pods) for name in names)


def blocked_tasks(job: Job, pods: Mapping[str, Pod]) -> set[str]:
    """Names of the tasks whose missing pods must wait for their dependencies."""
    return {spec.task_name(t) for t in spec.tasks(job) if not may_create(job, t, pods)}
