"""Volcano's ``validatejob.volcano.sh`` rules for ``batch.volcano.sh/v1alpha1`` Jobs."""

from __future__ import annotations

from typing import Any

import msgspec

from pyroclast.common.models import Job, JobSpec
from pyroclast.common.quantity import QuantityError, parse_quantity
from pyroclast.webhook.admission import job_checks as checks
from pyroclast.webhook.admission import k8s
from pyroclast.webhook.admission.podtemplate import validate_pod_template
from pyroclast.webhook.admission.request import (
    AdmissionInput,
    Operation,
    children_of,
    queue_state,
    wrong_object,
)
from pyroclast.webhook.admission.verdict import ALLOW, Verdict

KNOWN_PLUGINS = frozenset({"ssh", "env", "svc", "tensorflow", "mpi", "pytorch", "hcclrank", "ray"})
"""Job plugins Volcano's controller registers."""

UPDATE_FORBIDDEN = (
    "job updates may not change fields other than `minAvailable`, `tasks[*].replicas under spec` "
    "and `PriorityClassName`"
)


def queue_not_found(name: str) -> str:
    """The lister's NotFound text for a queue."""
    return f"queue.scheduling.volcano.sh {k8s.go_quote(name)} not found"


def _task_template_error(job: Job, index: int, namespace: str, pod_level: bool) -> str:
    task = (job.spec.tasks or [])[index] if job.spec else None
    if task is None:
        return ""
    errs = validate_pod_template(
        task.name or "", checks.job_namespace(job) or namespace, task.template, pod_level_resources=pod_level
    )
    if errs:
        return f"spec.task[{index}]." + "".join(e + ". " for e in errs)
    return checks.topology_policy_error(task, index)


def _queue_errors(request: AdmissionInput, queue_name: str) -> str:
    queue = request.cluster.queue(queue_name)
    if queue is None:
        return f" unable to find job queue: {queue_not_found(queue_name)};"
    out = ""
    state = queue_state(queue)
    if state != "Open":
        out += f" can only submit job to queue with state `Open`, queue `{queue_name}` status is `{state}`;"
    if queue_name == "root":
        out += " can not submit job to root queue;"
    elif children := children_of(request.cluster, queue_name):
        out += f" can only submit job to leaf queue, queue `{queue_name}` has {len(children)} child queues;"
    return out


def validate_job_create(request: AdmissionInput) -> Verdict:
    """All of Volcano's checks of a new Job, messages concatenated as Volcano does."""
    job = request.obj
    if not isinstance(job, Job):
        return Verdict.deny(wrong_object(Job))
    spec = job.spec or JobSpec()
    tasks = spec.tasks or []
    name = checks.job_name(job)
    if not tasks:
        return Verdict.deny("No task specified in job spec")
    if spec.plugins is not None and "mpi" in spec.plugins:
        master = checks.mpi_master(spec.plugins["mpi"])
        if all((t.name or "") != master for t in tasks):
            return Verdict.deny("The specified mpi master task was not found")

    out = checks.network_topology_error(spec.network_topology)
    seen: set[str] = set()
    total_replicas = 0
    for index, task in enumerate(tasks):
        task_name, replicas = task.name or "", task.replicas or 0
        if task.min_available is not None and task.min_available > replicas:
            out += f" 'minAvailable' is greater than 'replicas' in task: {task_name}, job: {name};"
        total_replicas += replicas
        if task_name in seen:
            out += f" duplicated task name {task_name};"
            break
        seen.add(task_name)
        if err := checks.policy_errors(task.policies, "spec.tasks.policies"):
            out += err + checks.POLICY_HINT
        pod_name = f"{name}-{task_name}-{index}"
        if msgs := k8s.is_qualified_name(pod_name):
            out += f"create pod with name {pod_name} validate failed {k8s.go_list(msgs)};"
        out += _task_template_error(job, index, request.namespace, request.config.pod_level_resources)
        out += checks.partition_error(task, name)

    if msgs := k8s.is_qualified_name(name):
        out += f"create job with name {name} validate failed {k8s.go_list(msgs)}"
    if total_replicas < (spec.min_available or 0):
        out += " job 'minAvailable' should not be greater than total replicas in tasks;"
    if err := checks.policy_errors(spec.policies, "spec.policies"):
        out += err + checks.POLICY_HINT
    for plugin in sorted(spec.plugins or {}):
        if plugin not in KNOWN_PLUGINS:
            out += f" unable to find job plugin: {plugin};"
    out += checks.volume_errors(spec.volumes)
    out += _queue_errors(request, spec.queue or "")
    if any(t.depends_on is not None for t in tasks) and not checks.is_dag(tasks):
        out += " job has dependencies between tasks, but doesn't form a directed acyclic graph(DAG);"
    return Verdict.deny(out.strip()) if out else ALLOW


def _normalized(value: Any) -> Any:
    """Builtins compared as Go's semantic equality sees them: zero values and empties are absent."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ("limits", "requests", "capacity", "minResources") and isinstance(item, dict):
                item = {k: _quantity(v) for k, v in item.items()}
            norm = _normalized(item)
            if norm not in (None, "", 0, False, [], {}):
                out[key] = norm
        return out
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _quantity(value: Any) -> Any:
    try:
        return str(parse_quantity(value).canonical())
    except (QuantityError, TypeError, ValueError):
        return value


def _comparable(spec: JobSpec, other: JobSpec) -> Any:
    """``spec`` with the fields an update may change taken from ``other``."""
    tasks = [
        msgspec.structs.replace(t, replicas=o.replicas, min_available=o.min_available)
        for t, o in zip(spec.tasks or [], other.tasks or [], strict=False)
    ]
    volumes = [
        msgspec.structs.replace(v, volume_claim_name=None) if v.volume_claim is not None else v
        for v in spec.volumes or []
    ]
    replaced = msgspec.structs.replace(
        spec,
        min_available=other.min_available,
        priority_class_name=other.priority_class_name,
        tasks=tasks if spec.tasks is not None else None,
        volumes=volumes if spec.volumes is not None else None,
    )
    return _normalized(msgspec.to_builtins(replaced))


def validate_job_update(request: AdmissionInput) -> Verdict:
    """Volcano's ``validateJobUpdate``: scaling is allowed, other spec changes are not."""
    new, old = request.obj, request.old
    if not isinstance(new, Job) or not isinstance(old, Job):
        return Verdict.deny(wrong_object(Job))
    spec, old_spec = new.spec or JobSpec(), old.spec or JobSpec()
    total = 0
    for task in spec.tasks or []:
        name, replicas = task.name or "", task.replicas or 0
        if replicas < 0:
            return Verdict.deny(f"'replicas' must be >= 0 in task: {name}")
        if task.min_available is not None:
            if task.min_available < 0:
                return Verdict.deny(f"'minAvailable' must be >= 0 in task: {name}")
            if task.min_available > replicas:
                return Verdict.deny(f"'minAvailable' must be <= 'replicas' in task: {name}")
        if msg := checks.partition_error(task, checks.job_name(new)):
            return Verdict.deny(msg)
        total += replicas
    if (spec.min_available or 0) > total:
        return Verdict.deny("job 'minAvailable' must not be greater than total replicas")
    if (spec.min_available or 0) < 0:
        return Verdict.deny("job 'minAvailable' must be >= 0")
    if msg := checks.network_topology_error(spec.network_topology):
        return Verdict.deny(msg)
    if len(old_spec.tasks or []) != len(spec.tasks or []):
        return Verdict.deny("job updates may not add or remove tasks")
    if _comparable(spec, old_spec) != _comparable(old_spec, old_spec):
        return Verdict.deny(UPDATE_FORBIDDEN)
    return ALLOW


def validate_job(request: AdmissionInput) -> Verdict:
    """``/jobs/validate``: CREATE and UPDATE."""
    if request.operation == Operation.CREATE:
        return validate_job_create(request)
    if request.operation == Operation.UPDATE:
        return validate_job_update(request)
    return Verdict.deny("expect operation to be 'CREATE' or 'UPDATE'")
