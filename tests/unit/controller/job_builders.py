"""Small builders for Volcano Jobs and their pods used by the job controller tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec

from pyroclast.common.models import (
    Container,
    Job,
    JobSpec,
    JobState,
    JobStatus,
    ObjectMeta,
    Pod,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    ResourceRequirements,
    TaskSpec,
)
from pyroclast.common.models.core import ContainerState, ContainerStateTerminated, ContainerStatus
from pyroclast.controller.job.pods import build_pod
from pyroclast.controller.job.state import JobContext

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CREATED = "2026-01-02T03:00:00Z"


def fixed_rand(length: int) -> str:
    return "r" * length


def task(
    name: str,
    replicas: int = 1,
    *,
    min_available: int | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    priority_class: str | None = None,
    **fields: Any,
) -> TaskSpec:
    requests: dict[str, str | int | float] = {
        k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None
    }
    container = Container(
        name=name,
        image="busybox",
        resources=ResourceRequirements(requests=requests) if requests else None,
    )
    template = PodTemplateSpec(
        spec=PodSpec(containers=[container], restart_policy="OnFailure", priority_class_name=priority_class)
    )
    return TaskSpec(name=name, replicas=replicas, min_available=min_available, template=template, **fields)


def job(
    *tasks: TaskSpec,
    name: str = "job",
    namespace: str = "ns",
    uid: str = "uid-1",
    phase: str | None = None,
    status: dict[str, Any] | None = None,
    **fields: Any,
) -> Job:
    fields.setdefault("min_available", sum(t.replicas or 0 for t in tasks))
    fields.setdefault("queue", "default")
    fields.setdefault("scheduler_name", "volcano")
    fields.setdefault("max_retry", 3)
    st = JobStatus(state=JobState(phase=phase), **(status or {})) if phase or status else None
    return Job(
        api_version="batch.volcano.sh/v1alpha1",
        kind="Job",
        metadata=ObjectMeta(name=name, namespace=namespace, uid=uid, creation_timestamp=CREATED),
        spec=JobSpec(tasks=list(tasks), **fields),
        status=st,
    )


def with_status(j: Job, **changes: Any) -> Job:
    st = j.status or JobStatus(state=JobState())
    return msgspec.structs.replace(j, status=msgspec.structs.replace(st, **changes))


def pod(
    j: Job,
    task_name: str,
    index: int,
    phase: str = "Running",
    *,
    deleting: bool = False,
    exit_code: int | None = None,
    ready: bool | None = None,
    restarts: int = 0,
    annotations: dict[str, str] | None = None,
) -> Pod:
    t = next(t for t in j.spec.tasks or [] if t.name == task_name)  # type: ignore[union-attr]
    p = build_pod(j, t, index, rand=fixed_rand)
    meta = p.metadata or ObjectMeta()
    meta = msgspec.structs.replace(
        meta,
        uid=f"{meta.name}-uid",
        resource_version="1",
        deletion_timestamp="2026-01-02T03:04:00Z" if deleting else None,
        annotations={**(meta.annotations or {}), **(annotations or {})},
    )
    statuses = None
    if exit_code is not None or ready is not None or restarts:
        term = ContainerStateTerminated(exit_code=exit_code) if exit_code is not None else None
        statuses = [
            ContainerStatus(
                name=task_name,
                ready=ready if ready is not None else False,
                restart_count=restarts,
                state=ContainerState(terminated=term),
            )
        ]
    return msgspec.structs.replace(
        p, metadata=meta, status=PodStatus(phase=phase, container_statuses=statuses)
    )


def by_task(pods: Iterable[Pod]) -> dict[str, dict[str, Pod]]:
    out: dict[str, dict[str, Pod]] = {}
    for p in pods:
        ann = (p.metadata.annotations if p.metadata else None) or {}
        out.setdefault(ann["volcano.sh/task-spec"], {})[p.metadata.name] = p  # type: ignore[union-attr,index]
    return out


def context(j: Job, pods: Iterable[Pod] = (), pg: str | None = "Running", **kw: Any) -> JobContext:
    return JobContext(job=j, pods=by_task(pods), now=NOW, podgroup_phase=pg, rand=fixed_rand, **kw)
