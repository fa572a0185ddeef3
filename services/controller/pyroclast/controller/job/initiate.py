"""Setting a job up before its pods are synced: first status, plugin objects, claims, PodGroup."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from pyroclast.common.models import (
    Job,
    JobEvent,
    JobPhase,
    JobState,
    ObjectMeta,
    PersistentVolumeClaim,
    PodGroup,
)
from pyroclast.common.models.labels import JOB_FORWARDING_KEY
from pyroclast.common.models.scheduling import Queue
from pyroclast.controller.job import plugins, spec
from pyroclast.controller.job.naming import RandomStr, random_str
from pyroclast.controller.job.podgroup import build_podgroup, podgroup_update
from pyroclast.controller.job.pods import missing_claim_message, plan_volume_claims
from pyroclast.controller.job.status import append_condition
from pyroclast.controller.job.timeutil import format_time


@dataclass
class Preparation:
    """What to do before syncing: write ``job`` (status, and spec when ``spec_changed``),
    create ``objects`` and ``claims``, create or update the PodGroup. On ``error`` the
    controller records an event with ``reason`` and retries later."""

    job: Job
    status_changed: bool = False
    spec_changed: bool = False
    objects: plugins.JobObjects = field(default_factory=plugins.JobObjects)
    claims: list[PersistentVolumeClaim] = field(default_factory=list)
    podgroup_create: PodGroup | None = None
    podgroup_update: PodGroup | None = None
    error: str | None = None
    reason: str | None = None


def is_initiated(job: Job) -> bool:
    """A job past Pending has been set up; a Pending one is set up again on every sync."""
    return spec.phase(job) not in ("", JobPhase.PENDING)


def job_forwarding(queue: Queue | None) -> bool:
    """Jobs in a queue that extends to other clusters are marked for forwarding."""
    return bool(queue and queue.spec and queue.spec.extend_clusters)


def mark_forwarding(job: Job, queue: Queue | None) -> Job | None:
    """The job annotated ``volcano.sh/job-forwarding: "true"`` when its queue forwards and
    the annotation is missing, else None."""
    meta = job.metadata or ObjectMeta()
    annotations = dict(meta.annotations or {})
    if not job_forwarding(queue) or annotations.get(JOB_FORWARDING_KEY) == "true":
        return None
    annotations[JOB_FORWARDING_KEY] = "true"
    return msgspec.structs.replace(job, metadata=msgspec.structs.replace(meta, annotations=annotations))


def queue_error(job: Job, queue: Queue | None) -> str | None:
    """A job whose queue does not exist is not synced."""
    if queue is None:
        return f"queue {spec.queue(job)} not found"
    return None


def initial_status(job: Job, now: datetime) -> Job:
    """A job without a phase starts Pending."""
    if spec.phase(job):
        return job
    when = format_time(now)
    st = spec.status(job)
    status = msgspec.structs.replace(
        st,
        state=msgspec.structs.replace(
            st.state or JobState(), phase=JobPhase.PENDING.value, last_transition_time=when
        ),
        min_available=spec.min_available(job) or None,
        conditions=append_condition(st.conditions, JobPhase.PENDING.value, when),
    )
    return msgspec.structs.replace(job, status=status)


def _with_controlled(job: Job, controlled: dict[str, str]) -> Job:
    status = msgspec.structs.replace(spec.status(job), controlled_resources=controlled or None)
    return msgspec.structs.replace(job, status=status)


def prepare(
    job: Job,
    now: datetime,
    *,
    podgroup: PodGroup | None,
    existing_claims: Collection[str] = (),
    priorities: Mapping[str, int] | None = None,
    rand: RandomStr = random_str,
    podgroup_current: bool = False,
) -> Preparation:
    """Initiates a Pending job (or one without phase), or refreshes a running one.

    ``podgroup_current``: the caller knows ``podgroup`` is already up to date with this
    job's spec (its minResources are not computed again)."""
    prep = Preparation(job=job)
    try:
        if is_initiated(job):
            prep.objects = plugins.on_job_update(job)
        else:
            prep.job = initial_status(job, now)
            prep.status_changed = prep.job is not job
            prep.objects, controlled = plugins.on_job_add(prep.job)
            prep.job = _with_controlled(prep.job, controlled)
    except plugins.PluginError as err:
        prep.error, prep.reason = str(err), JobEvent.PLUGIN_ERROR.value
        return prep
    if not is_initiated(job):
        claims = plan_volume_claims(prep.job, existing_claims, rand)
        if claims.missing:
            prep.error, prep.reason = missing_claim_message(claims.missing[0]), JobEvent.PVC_ERROR.value
            return prep
        prep.claims = claims.create
        prep.spec_changed = claims.spec_changed
        job_spec = msgspec.structs.replace(prep.job.spec, volumes=claims.volumes) if prep.job.spec else None
        if claims.volumes and job_spec is not None:
            prep.job = msgspec.structs.replace(prep.job, spec=job_spec)
        prep.job = _with_controlled(prep.job, claims.controlled_resources)
    if podgroup is None:
        prep.podgroup_create = build_podgroup(prep.job, priorities)
    elif not podgroup_current:
        prep.podgroup_update = podgroup_update(podgroup, prep.job, priorities)
    return prep
