"""The pods and claims a Job creates, built from its task templates."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import msgspec

from pyroclast.common.models import (
    Container,
    Job,
    ObjectMeta,
    PersistentVolumeClaim,
    Pod,
    PodSpec,
    TaskSpec,
    Volume,
    VolumeSpec,
)
from pyroclast.common.models import labels as keys
from pyroclast.common.models.core import PersistentVolumeClaimVolumeSource, VolumeMount
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.naming import RandomStr, random_str

_COPIED_ANNOTATIONS = (keys.POD_PREEMPTABLE, keys.COOLDOWN_TIME, keys.REVOCABLE_ZONE)
_COPIED_LABELS = (keys.POD_PREEMPTABLE, keys.COOLDOWN_TIME)


def _mount_into(containers: list[Container] | None, mount: VolumeMount) -> list[Container] | None:
    if containers is None:
        return None
    return [msgspec.structs.replace(c, volume_mounts=[*(c.volume_mounts or []), mount]) for c in containers]


def _job_volumes(job: Job, pod_spec: PodSpec, rand: RandomStr) -> PodSpec:
    """Adds one claim volume per distinct ``spec.volumes`` claim, mounted in every container."""
    seen: set[str] = set()
    volumes = list(pod_spec.volumes or [])
    containers = pod_spec.containers
    for vol in (job.spec.volumes if job.spec else None) or []:
        claim = vol.volume_claim_name or ""
        name = naming.volume_name(spec.name(job), rand)
        if claim in seen:
            continue
        seen.add(claim)
        volumes.append(
            Volume(name=name, persistent_volume_claim=PersistentVolumeClaimVolumeSource(claim_name=claim))
        )
        containers = _mount_into(containers, VolumeMount(mount_path=vol.mount_path, name=name))
    if not seen:
        return pod_spec
    return msgspec.structs.replace(pod_spec, volumes=volumes, containers=containers)


def build_pod(
    job: Job,
    task: TaskSpec,
    index: int,
    *,
    job_forwarding: bool = False,
    rand: RandomStr = random_str,
) -> Pod:
    """Pod ``<job>-<task>-<index>`` from the task template, labelled as Volcano labels it."""
    template = task.template
    meta = template.metadata if template and template.metadata else ObjectMeta()
    pod_spec = template.spec if template and template.spec else PodSpec()
    task_name = spec.task_name(task)
    job_name = spec.name(job)

    if not pod_spec.scheduler_name:
        pod_spec = msgspec.structs.replace(pod_spec, scheduler_name=spec.scheduler_name(job))
    if not pod_spec.priority_class_name and spec.priority_class_name(job):
        pod_spec = msgspec.structs.replace(pod_spec, priority_class_name=spec.priority_class_name(job))
    pod_spec = _job_volumes(job, pod_spec, rand)

    ts_key = task_name or keys.DEFAULT_TASK_SPEC
    idx = str(index)
    annotations = dict(meta.annotations or {})
    annotations[keys.TASK_INDEX_KEY] = idx
    annotations[keys.TASK_SPEC_KEY] = ts_key
    annotations[keys.KUBE_GROUP_NAME_ANNOTATION_KEY] = naming.podgroup_name(job)
    annotations[keys.JOB_NAME_KEY] = job_name
    annotations[keys.QUEUE_NAME_KEY] = (job.spec.queue if job.spec else None) or ""
    annotations[keys.JOB_VERSION_KEY] = str(spec.version(job))
    annotations[keys.POD_TEMPLATE_KEY] = f"{job_name}-{task_name}"
    annotations[keys.JOB_RETRY_COUNT_KEY] = str(spec.retry_count(job))
    if task.topology_policy:
        annotations[keys.NUMA_POLICY_KEY] = task.topology_policy
    job_annotations = (job.metadata.annotations if job.metadata else None) or {}
    for key in _COPIED_ANNOTATIONS:
        if key in job_annotations:
            annotations[key] = job_annotations[key]
    if keys.JDB_MIN_AVAILABLE in job_annotations:
        annotations[keys.JDB_MIN_AVAILABLE] = job_annotations[keys.JDB_MIN_AVAILABLE]
    elif keys.JDB_MAX_UNAVAILABLE in job_annotations:
        annotations[keys.JDB_MAX_UNAVAILABLE] = job_annotations[keys.JDB_MAX_UNAVAILABLE]

    pod_labels = dict(meta.labels or {})
    pod_labels[keys.TASK_INDEX_KEY] = idx
    pod_labels[keys.JOB_NAME_KEY] = job_name
    pod_labels[keys.TASK_SPEC_KEY] = ts_key
    pod_labels[keys.JOB_NAMESPACE_KEY] = spec.namespace(job)
    pod_labels[keys.QUEUE_NAME_KEY] = (job.spec.queue if job.spec else None) or ""
    job_labels = (job.metadata.labels if job.metadata else None) or {}
    for key in _COPIED_LABELS:
        if key in job_labels:
            pod_labels[key] = job_labels[key]

    if job_forwarding:
        annotations[keys.JOB_FORWARDING_KEY] = "true"
        pod_labels[keys.JOB_FORWARDING_KEY] = "true"

    if task.partition_policy is not None:
        size = task.partition_policy.partition_size
        pod_labels[keys.TASK_PARTITION_ID_KEY] = str(index // size if size > 0 else 0)

    return Pod(
        api_version="v1",
        kind="Pod",
        metadata=ObjectMeta(
            name=naming.pod_name(job_name, task_name, index),
            namespace=spec.namespace(job),
            owner_references=[naming.controller_ref(job)],
            labels=pod_labels,
            annotations=annotations,
        ),
        spec=pod_spec,
    )


@dataclass
class ClaimPlan:
    """What preparing ``spec.volumes`` needs: claims to create and the rewritten volume list."""

    volumes: list[VolumeSpec]
    create: list[PersistentVolumeClaim] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Named claims that do not exist: the job stays Pending until they do, and nothing
    else in the plan should be applied meanwhile."""
    controlled_resources: dict[str, str] = field(default_factory=dict)
    spec_changed: bool = False


def plan_volume_claims(job: Job, existing: Collection[str], rand: RandomStr = random_str) -> ClaimPlan:
    """Names every unnamed volume claim ``<job>-pvc-<random>`` and lists the claims to create."""
    controlled = dict(spec.status(job).controlled_resources or {})
    taken = set(existing)
    plan = ClaimPlan(volumes=[], controlled_resources=controlled)
    for vol in (job.spec.volumes if job.spec else None) or []:
        claim = vol.volume_claim_name or ""
        if not claim:
            claim = naming.pvc_name(spec.name(job), rand)
            while claim in taken:
                claim = naming.pvc_name(spec.name(job), rand)
            taken.add(claim)
            vol = msgspec.structs.replace(vol, volume_claim_name=claim)
            plan.spec_changed = True
            if vol.volume_claim is not None:
                plan.create.append(
                    PersistentVolumeClaim(
                        api_version="v1",
                        kind="PersistentVolumeClaim",
                        metadata=ObjectMeta(
                            name=claim,
                            namespace=spec.namespace(job),
                            owner_references=[naming.controller_ref(job)],
                        ),
                        spec=vol.volume_claim,
                    )
                )
        elif claim not in taken:
            plan.missing.append(claim)
            plan.volumes.append(vol)
            continue
        controlled["volume-pvc-" + claim] = claim
        plan.volumes.append(vol)
    return plan


def missing_claim_message(claim: str) -> str:
    return f"pvc {claim} is not found, the job will be in the Pending state until the PVC is created"
