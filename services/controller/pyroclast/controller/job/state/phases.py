"""What each job phase does with each action (Volcano's per-phase state objects)."""

from __future__ import annotations

from collections.abc import Callable

from pyroclast.common.models import Action, JobPhase, PodPhase
from pyroclast.controller.job import spec
from pyroclast.controller.job.state.ops import kill_job, kill_target, sync_job
from pyroclast.controller.job.state.plan import (
    RETAIN_NONE,
    RETAIN_SOFT,
    Draft,
    JobContext,
    Plan,
    StateAction,
    Target,
    TargetType,
)

_TARGET_TYPES = {
    Action.RESTART_TASK: TargetType.TASK,
    Action.RESTART_POD: TargetType.POD,
    Action.RESTART_PARTITION: TargetType.PARTITION,
}
RESTART_TARGETS = frozenset(_TARGET_TYPES)
FINISHED = frozenset({JobPhase.COMPLETED, JobPhase.FAILED, JobPhase.TERMINATED})


def _move_to(phase: JobPhase, *, retry: bool = False) -> Callable[[Draft], bool]:
    def update(draft: Draft) -> bool:
        draft.phase = phase.value
        if retry:
            draft.retry_count += 1
        return True

    return update


def _when_drained(phase: JobPhase) -> Callable[[Draft], bool]:
    """Moves to ``phase`` once no pod is pending, running or terminating."""

    def update(draft: Draft) -> bool:
        if draft.terminating or draft.pending or draft.running:
            return False
        draft.phase = phase.value
        return True

    return update


def _pending_sync(ctx: JobContext) -> Callable[[Draft], bool]:
    def update(draft: Draft) -> bool:
        if spec.min_available(ctx.job) <= draft.running + draft.succeeded + draft.failed:
            draft.phase = JobPhase.RUNNING.value
            return True
        return False

    return update


def _running_sync(ctx: JobContext) -> Callable[[Draft], bool]:
    job = ctx.job

    def update(draft: Draft) -> bool:
        replicas = spec.total_tasks(job)
        if replicas == 0:
            return False
        min_success = spec.min_success(job)
        if min_success is not None and draft.succeeded >= min_success:
            draft.phase = JobPhase.COMPLETED.value
            return True
        min_available = spec.min_available(job)
        if draft.succeeded + draft.failed == replicas:
            if min_available >= spec.total_task_min_available(job):
                for task in spec.tasks(job):
                    if task.min_available is None:
                        continue
                    counts = draft.task_status_count.get(spec.task_name(task))
                    if counts is not None and counts.get(PodPhase.SUCCEEDED.value, 0) < task.min_available:
                        draft.phase = JobPhase.FAILED.value
                        return True
            if min_success is not None and draft.succeeded < min_success:
                draft.phase = JobPhase.FAILED.value
            elif draft.succeeded >= min_available:
                draft.phase = JobPhase.COMPLETED.value
            else:
                draft.phase = JobPhase.FAILED.value
            return True
        if draft.pending > replicas - min_available:
            draft.phase = JobPhase.PENDING.value
            return True
        return False

    return update


def _restarting_update(ctx: JobContext) -> Callable[[Draft], bool]:
    def update(draft: Draft) -> bool:
        if draft.retry_count >= spec.max_retry(ctx.job):
            draft.phase = JobPhase.FAILED.value
            return True
        if spec.total_tasks(ctx.job) - draft.terminating >= draft.min_available:
            draft.phase = JobPhase.PENDING.value
            return True
        return False

    return update


def _target(act: StateAction) -> Target:
    return act.target or Target(type=_TARGET_TYPES[Action(act.action)])


def _pending_or_running(ctx: JobContext, act: StateAction, running: bool) -> Plan:
    action = act.action
    if action == Action.RESTART_JOB:
        return kill_job(ctx, RETAIN_NONE, _move_to(JobPhase.RESTARTING, retry=True))
    if action in RESTART_TARGETS:
        return kill_target(ctx, _target(act), _move_to(JobPhase.RESTARTING, retry=True))
    if action == Action.ABORT_JOB:
        return kill_job(ctx, RETAIN_SOFT, _move_to(JobPhase.ABORTING))
    if action == Action.COMPLETE_JOB:
        return kill_job(ctx, RETAIN_SOFT, _move_to(JobPhase.COMPLETING))
    if action == Action.TERMINATE_JOB:
        return kill_job(ctx, RETAIN_SOFT, _move_to(JobPhase.TERMINATING))
    return sync_job(ctx, _running_sync(ctx) if running else _pending_sync(ctx))


def execute(ctx: JobContext, act: StateAction) -> Plan:
    """Runs ``act`` on the job in its current phase (an unknown or empty phase acts as Pending)."""
    phase = spec.phase(ctx.job)
    action = act.action
    if phase == JobPhase.RUNNING:
        return _pending_or_running(ctx, act, running=True)
    if phase == JobPhase.RESTARTING:
        update = _restarting_update(ctx)
        if action == Action.SYNC_JOB:
            return sync_job(ctx, update)
        if action in RESTART_TARGETS:
            return kill_target(ctx, _target(act), update)
        return kill_job(ctx, RETAIN_NONE, update)
    if phase in FINISHED:
        return kill_job(ctx, RETAIN_SOFT, None)
    if phase == JobPhase.TERMINATING:
        return kill_job(ctx, RETAIN_SOFT, _when_drained(JobPhase.TERMINATED))
    if phase == JobPhase.COMPLETING:
        return kill_job(ctx, RETAIN_SOFT, _when_drained(JobPhase.COMPLETED))
    if phase in (JobPhase.ABORTING, JobPhase.ABORTED):
        if action == Action.RESUME_JOB:
            return kill_job(ctx, RETAIN_SOFT, _move_to(JobPhase.RESTARTING, retry=True))
        if phase == JobPhase.ABORTING:
            return kill_job(ctx, RETAIN_SOFT, _when_drained(JobPhase.ABORTED))
        return kill_job(ctx, RETAIN_SOFT, None)
    return _pending_or_running(ctx, act, running=False)
