"""The three pod operations every phase is built from: sync, kill the job, kill a target."""

from __future__ import annotations

import msgspec

from pyroclast.common.models import Job, JobState, JobStatus, Pod, PodPhase, PodStatus, TaskState
from pyroclast.common.models.labels import TASK_PARTITION_ID_KEY
from pyroclast.controller.job import dependson, naming, plugins, spec
from pyroclast.controller.job.pods import build_pod
from pyroclast.controller.job.state.plan import (
    RETAIN_NONE,
    RETAIN_SOFT,
    Draft,
    JobContext,
    Operation,
    Plan,
    Target,
    TargetType,
    UpdateFn,
)
from pyroclast.controller.job.status import (
    Counts,
    append_condition,
    is_terminating,
    pod_phase,
    running_duration,
)
from pyroclast.controller.job.timeutil import format_time


def draft_of(job: Job) -> Draft:
    """The current status as a draft (counts as last written)."""
    st = spec.status(job)
    return Draft(
        phase=spec.phase(job),
        retry_count=st.retry_count or 0,
        min_available=st.min_available or 0,
        pending=st.pending or 0,
        running=st.running or 0,
        succeeded=st.succeeded or 0,
        failed=st.failed or 0,
        terminating=st.terminating or 0,
        unknown=st.unknown or 0,
        task_status_count={k: dict(v.phase or {}) for k, v in (st.task_status_count or {}).items()},
    )


def _draft_from_counts(job: Job, counts: Counts, min_available: int) -> Draft:
    return Draft(
        phase=spec.phase(job),
        retry_count=spec.retry_count(job),
        min_available=min_available,
        pending=counts.pending,
        running=counts.running,
        succeeded=counts.succeeded,
        failed=counts.failed,
        terminating=counts.terminating,
        unknown=counts.unknown,
        task_status_count=counts.tasks,
    )


def apply_draft(base: JobStatus, draft: Draft, **extra: object) -> JobStatus:
    """``base`` with the draft's phase, retry count and counts (zeros left out, as on the wire)."""
    state = base.state or JobState()
    return msgspec.structs.replace(
        base,
        state=msgspec.structs.replace(state, phase=draft.phase or None),
        retry_count=draft.retry_count or None,
        min_available=draft.min_available or None,
        pending=draft.pending or None,
        running=draft.running or None,
        succeeded=draft.succeeded or None,
        failed=draft.failed or None,
        terminating=draft.terminating or None,
        unknown=draft.unknown or None,
        task_status_count={k: TaskState(phase=dict(v)) for k, v in draft.task_status_count.items()} or None,
        **extra,
    )


def _transition(status: JobStatus, ctx: JobContext) -> JobStatus:
    """Stamps a status change: new transition time and a condition for the phase."""
    when = format_time(ctx.now)
    state = msgspec.structs.replace(status.state or JobState(), last_transition_time=when)
    phase = state.phase or ""
    return msgspec.structs.replace(
        status, state=state, conditions=append_condition(status.conditions, phase, when)
    )


def _with_status(job: Job, status: JobStatus) -> Job:
    return msgspec.structs.replace(job, status=status)


def sync_job(ctx: JobContext, update: UpdateFn | None) -> Plan:
    """Creates missing pods and deletes surplus or out-of-sync ones, then recounts the status.

    Until the PodGroup has left Pending no pod is touched; only ``update`` runs on the
    current status.
    """
    job = ctx.job
    if spec.is_deleting(job):
        return Plan(Operation.NONE)
    old = spec.status(job)
    old_phase = spec.phase(job)
    if ctx.podgroup_phase in (None, "", "Pending"):
        draft = draft_of(job)
        if update is not None:
            update(draft)
        new = apply_draft(old, draft)
        if new == apply_draft(old, draft_of(job)):
            return Plan(Operation.SYNC)
        new = _transition(new, ctx)
        return Plan(Operation.SYNC, status=_with_status(job, new), phase_changed=draft.phase != old_phase)

    counts = Counts()
    plan = Plan(Operation.SYNC)
    blocked = dependson.blocked_tasks(job, ctx.all_pods())
    for task in spec.tasks(job):
        name = spec.task_name(task)
        existing = dict(ctx.pods.get(name, {}))
        missing: list[Pod] = []
        for index in range(spec.replicas(task)):
            pod_name = naming.pod_name(spec.name(job), name, index)
            pod = existing.pop(pod_name, None)
            if pod is None:
                new_pod = build_pod(job, task, index, job_forwarding=ctx.job_forwarding, rand=ctx.rand)
                try:
                    missing.append(plugins.on_pod_create(new_pod, job))
                except plugins.PluginError as err:
                    return Plan(Operation.SYNC, error=str(err))
                continue
            if is_terminating(pod):
                counts.terminating += 1
                continue
            if naming.is_out_of_sync(pod):
                plan.delete_pods.append(pod_name)
            counts.add(pod)
        plan.delete_pods.extend(existing)
        if name in blocked:
            plan.deferred_pods.extend(p.metadata.name or "" for p in missing if p.metadata)
            continue
        plan.create_pods.extend(missing)
        for created in missing:
            counts.add(msgspec.structs.replace(created, status=PodStatus(phase=PodPhase.PENDING.value)))
    counts.terminating += len(plan.delete_pods)

    draft = _draft_from_counts(job, counts, spec.min_available(job))
    if update is not None:
        update(draft)
    base = msgspec.structs.replace(old, running_duration=None)
    new = apply_draft(base, draft, version=spec.version(job) or None)
    if new != apply_draft(old, draft_of(job)):
        plan.status = _with_status(job, _transition(new, ctx))
        plan.phase_changed = draft.phase != old_phase
    return plan


def _select_targets(ctx: JobContext, target: Target) -> dict[str, Pod] | None:
    task_pods = dict(ctx.pods.get(target.task, {}))
    if target.type == TargetType.TASK:
        return task_pods
    if target.type == TargetType.POD:
        return {target.pod: task_pods[target.pod]} if target.pod in task_pods else {}
    task = spec.find_task(ctx.job, target.task)
    if task is None or task.partition_policy is None:
        return None
    chosen = {
        n: p
        for n, p in task_pods.items()
        if ((p.metadata.labels if p.metadata else None) or {}).get(TASK_PARTITION_ID_KEY) == target.partition
    }
    return chosen or None


def kill_pods(
    ctx: JobContext, retain: frozenset[str] | None, target: Target | None, update: UpdateFn | None
) -> Plan:
    """Deletes the target's pods, or every pod of the job whose phase is not retained.

    A whole-job kill bumps ``status.version``, keeps finished pods on the last retry (and
    counts the pods it keeps, as Volcano releases before 1.12 did, so a finished job goes on
    showing its succeeded and failed totals), and deletes the PodGroup; every kill runs the
    plugins' delete hooks.
    """
    job = ctx.job
    if spec.is_deleting(job):
        return Plan(Operation.NONE)
    counts = Counts()
    version = spec.version(job)
    if target is not None:
        selected = _select_targets(ctx, target)
        if selected is None:
            return Plan(Operation.NONE)
        to_kill = selected
    else:
        version += 1
        last_retry = spec.retry_count(job) >= spec.max_retry(job) - 1
        keep = RETAIN_SOFT if last_retry else (retain or RETAIN_NONE)
        to_kill = {}
        for name, pod in ctx.all_pods().items():
            if is_terminating(pod):
                counts.terminating += 1
            elif pod_phase(pod) not in keep:
                to_kill[name] = pod
            else:  # a kept (finished) pod stays in the counts, so a finished job keeps its totals
                counts.add(pod)
    plan = Plan(Operation.KILL_TARGET if target is not None else Operation.KILL_JOB)
    plan.mark_out_of_sync = sorted(to_kill)
    plan.delete_pods = sorted(n for n, p in to_kill.items() if not is_terminating(p))
    counts.terminating += len(to_kill)

    old = spec.status(job)
    draft = _draft_from_counts(job, counts, old.min_available or 0)
    changed = update(draft) if update is not None else False
    status = apply_draft(old, draft, version=version or None)
    if changed:
        status = _transition(status, ctx)
    created = job.metadata.creation_timestamp if job.metadata else None
    last = status.state.last_transition_time if status.state else None
    status = msgspec.structs.replace(status, running_duration=running_duration(last, created))
    try:
        refs, controlled = plugins.on_job_delete(_with_status(job, status))
    except plugins.PluginError as err:
        plan.error = str(err)
        return plan
    plan.delete_objects = refs
    status = msgspec.structs.replace(status, controlled_resources=controlled or None)
    plan.status = _with_status(job, status)
    plan.phase_changed = changed
    plan.delete_podgroup = target is None
    return plan


def kill_job(ctx: JobContext, retain: frozenset[str], update: UpdateFn | None) -> Plan:
    return kill_pods(ctx, retain, None, update)


def kill_target(ctx: JobContext, target: Target, update: UpdateFn | None) -> Plan:
    return kill_pods(ctx, None, target, update)
