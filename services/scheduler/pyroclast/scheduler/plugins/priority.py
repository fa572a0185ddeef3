"""Priority: order jobs and tasks by priority; only lower priority may be preempted."""

from __future__ import annotations

from pyroclast.scheduler.api import JobInfo, TaskInfo
from pyroclast.scheduler.framework import PERMIT, Plugin, Session

__all__ = ["PriorityPlugin"]


class PriorityPlugin(Plugin):
    name = "priority"

    def on_session_open(self, ssn: Session) -> None:
        def task_order(lv: TaskInfo, rv: TaskInfo) -> int:
            if lv.priority == rv.priority:
                return 0
            return -1 if lv.priority > rv.priority else 1

        def job_order(lv: JobInfo, rv: JobInfo) -> int:
            if lv.priority > rv.priority:
                return -1
            if lv.priority < rv.priority:
                return 1
            return 0

        def preemptable(preemptor: TaskInfo, preemptees: list[TaskInfo]) -> tuple[list[TaskInfo], int]:
            preemptor_job = ssn.jobs.get(preemptor.job)
            if preemptor_job is None:
                return [], PERMIT
            victims: list[TaskInfo] = []
            for preemptee in preemptees:
                preemptee_job = ssn.jobs.get(preemptee.job)
                if preemptee_job is None:
                    continue
                if preemptee_job.uid != preemptor_job.uid:
                    if preemptee_job.priority < preemptor_job.priority:
                        victims.append(preemptee)
                elif preemptee.priority < preemptor.priority:
                    victims.append(preemptee)
            return victims, PERMIT

        def job_starving(job: JobInfo) -> bool:
            return job.ready_task_num() + job.waiting_task_num() < len(job.tasks)

        ssn.add_task_order_fn(self.name, task_order)
        ssn.add_job_order_fn(self.name, job_order)
        ssn.add_preemptable_fn(self.name, preemptable)
        ssn.add_job_starving_fn(self.name, job_starving)
