"""Gang: a job runs only with ``minAvailable`` tasks placed together.

Job valid: enough valid tasks (per role and in total); ready and pipelined: enough tasks
placed (or waiting on releasing resources); order: jobs not yet ready first. On close,
each job with tasks gets ``Unschedulable`` (reason ``NotEnoughResources``) or
``Scheduled``, with Volcano's message ``<n>/<tasks> tasks in gang unschedulable: ...``.
"""

from __future__ import annotations

from datetime import UTC

from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.scheduler.api import JobInfo, TaskInfo, TaskStatus, ValidateResult, allocated_status
from pyroclast.scheduler.framework import PERMIT, REJECT, Plugin, Session

__all__ = [
    "NOT_ENOUGH_PODS_OF_TASK_REASON",
    "NOT_ENOUGH_PODS_REASON",
    "NOT_ENOUGH_RESOURCES_REASON",
    "GangPlugin",
]

NOT_ENOUGH_PODS_REASON = "NotEnoughTasks"
NOT_ENOUGH_PODS_OF_TASK_REASON = "NotEnoughPodsOfTask"
NOT_ENOUGH_RESOURCES_REASON = "NotEnoughResources"
SCHEDULED_REASON = "tasks in gang are ready to be scheduled"


def valid_job(job: JobInfo) -> ValidateResult | None:
    if not job.check_task_valid():
        return ValidateResult(
            False, NOT_ENOUGH_PODS_OF_TASK_REASON, "Not enough valid pods of each task for gang-scheduling"
        )
    valid = job.valid_task_num()
    if valid < job.min_available:
        return ValidateResult(
            False,
            NOT_ENOUGH_PODS_REASON,
            f"Not enough valid tasks for gang-scheduling, valid: {valid}, min: {job.min_available}",
        )
    return None


def gang_victims(ssn: Session, preemptees: list[TaskInfo]) -> list[TaskInfo]:
    """Preemptees whose job keeps at least ``minAvailable`` ready tasks without them."""
    occupied: dict[str, int] = {}
    victims: list[TaskInfo] = []
    for preemptee in preemptees:
        job = ssn.jobs.get(preemptee.job)
        if job is None:
            continue
        left = occupied.setdefault(job.uid, job.ready_task_num())
        if left > job.min_available:
            occupied[job.uid] = left - 1
            victims.append(preemptee)
    return victims


def job_order(lv: JobInfo, rv: JobInfo) -> int:
    """Jobs not ready come first."""
    l_ready, r_ready = lv.is_ready(), rv.is_ready()
    if l_ready == r_ready:
        return 0
    return 1 if l_ready else -1


def _skip_for_releasing(job: JobInfo) -> bool:
    """Enough tasks are scheduled counting releasing ones still on nodes, and none wait."""
    releasing = job.releasing_scheduled_task_num()
    if releasing == 0 or job.count(TaskStatus.PENDING) or job.count(TaskStatus.PIPELINED):
        return False
    return job.scheduled_task_num() + releasing >= job.min_available


class GangPlugin(Plugin):
    name = "gang"

    def on_session_open(self, ssn: Session) -> None:
        def preemptable(preemptor: TaskInfo, preemptees: list[TaskInfo]) -> tuple[list[TaskInfo], int]:
            del preemptor
            return gang_victims(ssn, preemptees), PERMIT

        ssn.add_job_valid_fn(self.name, valid_job)
        ssn.add_reclaimable_fn(self.name, preemptable)
        ssn.add_preemptable_fn(self.name, preemptable)
        ssn.add_job_order_fn(self.name, job_order)
        # (both are pure counts: the cheap one first, it fails for most of a gang's placements)
        ssn.add_job_ready_fn(self.name, lambda job: job.is_ready() and job.check_task_ready())
        ssn.add_job_pipelined_fn(
            self.name, lambda job: PERMIT if job.check_task_pipelined() and job.is_pipelined() else REJECT
        )
        ssn.add_job_starving_fn(self.name, lambda job: job.is_starving())

    def on_session_close(self, ssn: Session) -> None:
        when = ssn.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for job in ssn.jobs.values():
            if not job.tasks:
                continue
            if job.is_ready():
                cond = PodGroupCondition(
                    type="Scheduled",
                    status="True",
                    last_transition_time=when,
                    transition_id=ssn.uid,
                    reason=SCHEDULED_REASON,
                    message="",
                )
            else:
                if _skip_for_releasing(job):
                    continue
                schedulable = job.ready_task_num()
                for task in job.tasks_in(TaskStatus.PENDING).values():
                    status = task.last_transaction[0] if task.last_transaction else task.status
                    if allocated_status(status):
                        schedulable += 1
                unready = job.min_available - schedulable
                cond = PodGroupCondition(
                    type="Unschedulable",
                    status="True",
                    last_transition_time=when,
                    transition_id=ssn.uid,
                    reason=NOT_ENOUGH_RESOURCES_REASON,
                    message=f"{unready}/{len(job.tasks)} tasks in gang unschedulable: {job.fit_error()}",
                )
            ssn.update_pod_group_condition(job, cond)
