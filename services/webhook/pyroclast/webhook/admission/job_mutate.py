"""Volcano's ``mutatejob.volcano.sh`` defaults for new Jobs, as JSON patch operations."""

from __future__ import annotations

from typing import Any

import msgspec

from pyroclast.common.models import Job, JobSpec, TaskSpec
from pyroclast.webhook.admission.gomarshal import go_task
from pyroclast.webhook.admission.request import AdmissionInput, Operation, wrong_object
from pyroclast.webhook.admission.verdict import PatchOp, Verdict, spec_parent

DEFAULT_QUEUE = "default"
DEFAULT_MAX_RETRY = 3
DEFAULT_TASK_PREFIX = "default"
# Plugins that need the svc plugin, which Volcano adds when missing.
SVC_DEPENDENT_PLUGINS = ("tensorflow", "mpi", "pytorch", "ray")


def _raw_tasks(request: AdmissionInput, typed: list[TaskSpec]) -> list[Any]:
    """The tasks as sent (the typed ones encoded when the raw object is not at hand).

    Each task dict is a shallow copy: `_task_patch` sets top-level keys on it and copies
    whatever it changes deeper down, so the request's object is never modified.
    """
    raw = request.raw or {}
    spec = raw.get("spec") if isinstance(raw, dict) else None
    tasks = spec.get("tasks") if isinstance(spec, dict) else None
    if isinstance(tasks, list) and len(tasks) == len(typed):
        return [dict(t) if isinstance(t, dict) else t for t in tasks]
    return [msgspec.to_builtins(t) for t in typed]


def _task_patch(request: AdmissionInput, spec: JobSpec) -> PatchOp | None:
    tasks = spec.tasks or []
    raw = _raw_tasks(request, tasks)
    patched = False
    for index, (task, out) in enumerate(zip(tasks, raw, strict=True)):
        if not isinstance(out, dict):
            return None
        if not task.name:
            patched = True
            out["name"] = f"{DEFAULT_TASK_PREFIX}{index}"
        pod_spec = task.template.spec if task.template else None
        if pod_spec is not None and pod_spec.host_network and not pod_spec.dns_policy:
            patched = True
            template = out.get("template", {})
            if isinstance(template, dict):
                template = out["template"] = dict(template)
                pod = template.get("spec", {})
                if isinstance(pod, dict):
                    template["spec"] = {**pod, "dnsPolicy": "ClusterFirstWithHostNet"}
        if task.min_available is None:
            patched = True
            out["minAvailable"] = _task_min_available(task)
        if not task.max_retry:
            patched = True
            out["maxRetry"] = DEFAULT_MAX_RETRY
    if not patched:
        return None
    return {"op": "replace", "path": "/spec/tasks", "value": [go_task(t) for t in raw]}


def _task_min_available(task: TaskSpec) -> int:
    """A task's minAvailable after defaulting."""
    if task.min_available is not None:
        return task.min_available
    policy = task.partition_policy
    if policy is not None and (policy.min_partitions or 0) > 0:
        return (policy.min_partitions or 0) * policy.partition_size
    return task.replicas or 0


def _plugins_patch(spec: JobSpec) -> PatchOp | None:
    if spec.plugins is None:
        return None
    plugins: dict[str, Any] = dict(spec.plugins)
    if any(name in plugins for name in SVC_DEPENDENT_PLUGINS):
        plugins.setdefault("svc", [])
    if "mpi" in plugins:
        plugins.setdefault("ssh", [])
    return {"op": "replace", "path": "/spec/plugins", "value": {k: plugins[k] for k in sorted(plugins)}}


def mutate_job(request: AdmissionInput) -> Verdict:
    """``/jobs/mutate``: queue, schedulerName, maxRetry, task defaults, minAvailable, plugins."""
    if request.operation != Operation.CREATE:
        return Verdict.deny("expect operation to be 'CREATE' ")
    job = request.obj
    if not isinstance(job, Job):
        return Verdict.deny(wrong_object(Job))
    spec = job.spec or JobSpec()
    patch: list[PatchOp] = spec_parent(request.raw)
    if not spec.queue:
        patch.append({"op": "add", "path": "/spec/queue", "value": DEFAULT_QUEUE})
    if not spec.scheduler_name:
        names = request.config.scheduler_names
        patch.append({"op": "add", "path": "/spec/schedulerName", "value": names[0] if names else "volcano"})
    if not spec.max_retry:
        patch.append({"op": "add", "path": "/spec/maxRetry", "value": DEFAULT_MAX_RETRY})
    if op := _task_patch(request, spec):
        patch.append(op)
    if not spec.min_available:
        total = sum(_task_min_available(t) for t in spec.tasks or [])
        patch.append({"op": "add", "path": "/spec/minAvailable", "value": total})
    if op := _plugins_patch(spec):
        patch.append(op)
    return Verdict.allow(patch)
