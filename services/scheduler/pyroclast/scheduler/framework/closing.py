"""End of a session: each job's podgroup status, and explanations for jobs left waiting.

A podgroup status is written (a :class:`PodGroupStatusDecision`) when its phase or
conditions changed, conditions compared without their time and transition id, as
Volcano's job updater does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyroclast.common.bus.messages import ExplanationRecord, PodGroupStatusDecision
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.scheduler.api import JobInfo, TaskStatus

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.session import Session

__all__ = ["job_updates", "pod_group_phase"]

_UNSCHEDULABLE_PHASES = frozenset({"Unknown", "Pending", "Inqueue"})
_EXPLAINED_STATUSES = (TaskStatus.ALLOCATED, TaskStatus.PENDING, TaskStatus.PIPELINED)


def pod_group_phase(job: JobInfo, unschedulable: bool) -> str:
    """Volcano's ``getPodGroupPhase``."""
    if job.count(TaskStatus.RUNNING) and unschedulable:
        return "Unknown"
    scheduled = job.scheduled_task_num() + job.releasing_scheduled_task_num()
    if scheduled >= job.min_available:
        return "Completed" if scheduled == job.completed_task_num() else "Running"
    if job.phase != "Inqueue":
        return "Pending"
    return job.phase


def _unschedulable_now(ssn: Session, job: JobInfo) -> bool:
    return any(
        c.type == "Unschedulable" and c.status == "True" and c.transition_id == ssn.uid
        for c in job.conditions
    )


def _key(c: PodGroupCondition) -> tuple[str, str, str, str]:
    # An empty field comes back from the API server omitted (None here); Go reads it as "".
    return (c.type or "", c.status or "", c.reason or "", c.message or "")


def _same_conditions(new: list[PodGroupCondition], old: list[PodGroupCondition]) -> bool:
    """Equal but for transition time and id, as Volcano's ``isPodGroupConditionsUpdated``."""
    return len(new) == len(old) and all(_key(n) == _key(o) for n, o in zip(new, old, strict=True))


def _explain(ssn: Session, job: JobInfo) -> ExplanationRecord:
    fit = job.fit_error()
    base = fit or "all nodes are unavailable"
    task_reasons: dict[str, str] = {}
    node_reasons: dict[str, int] = {}
    for status in _EXPLAINED_STATUSES:
        for task in job.tasks_in(status).values():
            reason, msg, _ = job.task_scheduling_reason(task.uid)
            task_reasons[task.name] = f"{reason}: {msg or base}"
            fe = job.nodes_fit_errors.get(task.uid)
            if fe is not None:
                for r, n in fe.reason_histogram().items():
                    node_reasons[r] = max(node_reasons.get(r, 0), n)
    cond = next((c for c in job.conditions if c.type == "Unschedulable" and c.transition_id == ssn.uid), None)
    return ExplanationRecord(
        namespace=job.namespace,
        name=job.name,
        uid=job.pg_uid,
        queue=job.queue,
        reason=(cond.reason if cond is not None and cond.reason else "Unschedulable"),
        message=f"{job.count(TaskStatus.PENDING)}/{len(job.tasks)} tasks in gang unschedulable: {fit}",
        task_reasons=task_reasons,
        node_reasons=node_reasons,
        session=ssn.uid,
        time=ssn.now,
    )


def _explain_not_enqueued(ssn: Session, job: JobInfo) -> ExplanationRecord:
    """A job the enqueue action left Pending: which vote refused it, with the numbers."""
    return ExplanationRecord(
        namespace=job.namespace,
        name=job.name,
        uid=job.pg_uid,
        queue=job.queue,
        reason="NotEnqueued",
        message=job.enqueue_error,
        session=ssn.uid,
        time=ssn.now,
    )


def job_updates(ssn: Session) -> tuple[list[PodGroupStatusDecision], list[ExplanationRecord]]:
    """The status writes and explanations of every job, in job order."""
    statuses: list[PodGroupStatusDecision] = []
    explanations: list[ExplanationRecord] = []
    for uid, job in ssn.jobs.items():
        job.phase = pod_group_phase(job, _unschedulable_now(ssn, job))
        counts = (
            job.count(TaskStatus.RUNNING),
            job.count(TaskStatus.SUCCEEDED),
            job.count(TaskStatus.FAILED),
        )
        old = ssn.old_status.get(uid)
        if (
            old is None
            or old.phase != job.phase
            or (old.running, old.succeeded, old.failed) != counts
            or not _same_conditions(job.conditions, old.conditions)
        ):
            statuses.append(
                PodGroupStatusDecision(
                    id=f"{ssn.uid}/podgroup-status/{uid}",
                    session=ssn.uid,
                    time=ssn.now,
                    namespace=job.namespace,
                    name=job.name,
                    uid=job.pg_uid,
                    phase=job.phase,
                    conditions=list(job.conditions),
                    running=counts[0],
                    succeeded=counts[1],
                    failed=counts[2],
                )
            )
        if job.phase == "Pending" and job.enqueue_error:
            explanations.append(_explain_not_enqueued(ssn, job))
        elif job.phase in _UNSCHEDULABLE_PHASES and job.tasks:
            explanations.append(_explain(ssn, job))
    return statuses, explanations
