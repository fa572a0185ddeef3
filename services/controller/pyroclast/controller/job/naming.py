"""Names Volcano gives to the objects a Job owns, and the keys it reads back from pods."""

from __future__ import annotations

import random
from collections.abc import Callable

from pyroclast.common.models import Job, OwnerReference, Pod, TaskSpec
from pyroclast.common.models.batch import BATCH_API_VERSION
from pyroclast.common.models.labels import DEFAULT_TASK_SPEC, TASK_SPEC_KEY
from pyroclast.controller.job import spec

JOB_KIND = "Job"
OUT_OF_SYNC_KEY = "volcano.sh/controller-out-of-sync"
"""Pod annotation marking a pod the controller is about to delete; its events are ignored."""

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

RandomStr = Callable[[int], str]
"""Returns a random string of the given length over ``[0-9a-z]``."""


def random_str(length: int) -> str:
    """A random ``[0-9a-z]`` string, as Volcano's ``GenRandomStr``."""
    return "".join(random.choice(_ALPHABET) for _ in range(length))


def pod_name(job_name: str, task_name: str, index: int) -> str:
    return f"{job_name}-{task_name}-{index}"


def podgroup_name(job: Job) -> str:
    """The PodGroup of a job is ``<job>-<uid>``."""
    return f"{spec.name(job)}-{spec.uid(job)}"


def legacy_podgroup_name(job: Job) -> str:
    """Jobs created before Volcano 1.5 own a PodGroup named after the job."""
    return spec.name(job)


def pvc_name(job_name: str, rand: RandomStr = random_str) -> str:
    """A generated claim name ``<job>-pvc-<12 random chars>``."""
    return f"{job_name}-pvc-{rand(12)}"


def volume_name(job_name: str, rand: RandomStr = random_str) -> str:
    """Name of a job volume inside a pod: ``<job>-<12 random chars>``."""
    return f"{job_name}-{rand(12)}"


def plugin_object_name(job: Job, plugin: str) -> str:
    """``<job>-<plugin>``: the svc ConfigMap and the ssh Secret."""
    return f"{spec.name(job)}-{plugin}"


def pod_index(pod: Pod) -> str:
    """The replica index: the last ``-`` field of the pod name ("" when the name has fewer than 3)."""
    parts = ((pod.metadata.name if pod.metadata else None) or "").split("-")
    return parts[-1] if len(parts) >= 3 else ""


def task_key(pod: Pod) -> str:
    """The task a pod belongs to (its task-spec annotation, ``default`` if missing)."""
    annotations = (pod.metadata.annotations if pod.metadata else None) or {}
    return annotations.get(TASK_SPEC_KEY) or DEFAULT_TASK_SPEC


def hostname_and_subdomain(task: TaskSpec, job_name: str, index: int) -> tuple[str, str]:
    pod_spec = task.template.spec if task.template else None
    host = (pod_spec.hostname if pod_spec else None) or pod_name(job_name, spec.task_name(task), index)
    sub = (pod_spec.subdomain if pod_spec else None) or job_name
    return host, sub


def domain_name(task: TaskSpec, job_name: str, index: int) -> str:
    """``<hostname>.<subdomain>`` of one replica."""
    host, sub = hostname_and_subdomain(task, job_name, index)
    return f"{host}.{sub}"


def fixed_hostname(task: TaskSpec) -> bool:
    """A template with an explicit hostname stands for one host only."""
    return bool(task.template and task.template.spec and task.template.spec.hostname)


def task_hosts(task: TaskSpec, job_name: str) -> list[str]:
    """Domain names of a task's replicas (just one when the template fixes the hostname)."""
    hosts: list[str] = []
    for i in range(spec.replicas(task)):
        hosts.append(domain_name(task, job_name, i))
        if fixed_hostname(task):
            break
    return hosts


def controller_ref(job: Job) -> OwnerReference:
    """The owner reference every object created for the job carries."""
    return OwnerReference(
        api_version=BATCH_API_VERSION,
        kind=JOB_KIND,
        name=spec.name(job),
        uid=spec.uid(job),
        controller=True,
        block_owner_deletion=True,
    )


def controlled_by_job(pod: Pod) -> OwnerReference | None:
    """The pod's controller reference when it is a Volcano Job, else None."""
    for ref in (pod.metadata.owner_references if pod.metadata else None) or []:
        if ref.controller:
            if ref.api_version == BATCH_API_VERSION and ref.kind == JOB_KIND:
                return ref
            return None
    return None


def is_out_of_sync(pod: Pod) -> bool:
    annotations = (pod.metadata.annotations if pod.metadata else None) or {}
    return OUT_OF_SYNC_KEY in annotations
