"""Backfill: place best-effort tasks (no requests) on any node that passes the predicates."""

from __future__ import annotations

from collections.abc import Sequence

from pyroclast.scheduler.actions.allocate import PREDICATE_ERROR_CACHE_KEY, node_errors
from pyroclast.scheduler.api import FitErrors, JobInfo, NodeInfo, QueueInfo, SchedulingError, TaskInfo
from pyroclast.scheduler.api.types import TaskStatus
from pyroclast.scheduler.framework import (
    Action,
    PredicateHelper,
    PriorityQueue,
    Session,
    predicate_for_allocate,
    prioritize_nodes,
    select_best_node,
)
from pyroclast.scheduler.framework.vector_search import vector_search

__all__ = ["Backfill"]


class Backfill(Action):
    """Best-effort tasks of admitted, valid jobs, in queue/job/task order, each to its best node.

    Best-effort tasks pipelined earlier are taken back first. No resource fit is checked
    here (the tasks request nothing); the predicates plugin limits pods per node. A vectorised
    session searches the nodes with the plugins' masks (:func:`.vector_search.vector_search`).
    """

    name = "backfill"

    def execute(self, ssn: Session) -> None:
        cache_enabled = ssn.conf.action_arguments(self.name).get_bool(PREDICATE_ERROR_CACHE_KEY, True)
        for task in self.pending_tasks(ssn):
            job = ssn.jobs[task.job]
            pre = ssn.pre_predicate(task)
            if pre:
                job.nodes_fit_errors[task.uid] = node_errors(ssn.node_list, pre)
                continue
            vector = vector_search(ssn, cache_enabled, resource_fit=False)
            feasible: Sequence[NodeInfo]
            if vector is not None:
                selection, fit_errors = vector.predicate_nodes(task, ssn.node_search)
                feasible = selection
            else:
                helper = PredicateHelper(cache_enabled)
                feasible, fit_errors = helper.predicate_nodes(
                    task, ssn.node_list, lambda t, n: predicate_for_allocate(ssn, t, n), ssn.node_search
                )
            if not feasible:
                job.nodes_fit_errors[task.uid] = fit_errors
                continue
            node = feasible[0]
            if len(feasible) > 1:
                if vector is not None:
                    node = vector.best_of(task, selection) or node
                else:
                    scores = prioritize_nodes(ssn, task, feasible)
                    node = ssn.best_node(task, scores) or select_best_node(scores) or node
            try:
                ssn.allocate(task, node)
            except SchedulingError as exc:
                fe = FitErrors()
                fe.set_node_error(node.name, str(exc))
                job.nodes_fit_errors[task.uid] = fe

    @staticmethod
    def pending_tasks(ssn: Session) -> list[TaskInfo]:
        queues: PriorityQueue[QueueInfo] = PriorityQueue(ssn.queue_order_fn)
        jobs: dict[str, PriorityQueue[JobInfo]] = {}
        tasks: dict[str, PriorityQueue[TaskInfo]] = {}
        task_less = ssn.task_less()
        for job in ssn.jobs.values():
            if job.is_pending():
                continue
            # (first whether the job has best-effort tasks at all: most jobs have none, and the
            # checks below have no side effects)
            pending = (
                [t for t in job.tasks_in(TaskStatus.PENDING).values() if t.best_effort]
                if job.pending_best_effort_task_num()
                else []
            )
            pipelined = [t for t in job.tasks_in(TaskStatus.PIPELINED).values() if t.best_effort]
            if not pending and not pipelined:
                continue
            vr = ssn.job_valid(job)
            if vr is not None and not vr.passed:
                continue
            queue = ssn.queues.get(job.queue)
            if queue is None:
                continue
            job_tasks = tasks[job.uid] = PriorityQueue(task_less)
            for task in pending:
                job_tasks.push(task)
            for task in pipelined:
                ssn.statement().unpipeline(task)
                job_tasks.push(task)
            if queue.uid not in jobs:
                queues.push(queue)
                jobs[queue.uid] = PriorityQueue(ssn.job_order_fn)
            jobs[queue.uid].push(job)

        out: list[TaskInfo] = []
        while not queues.empty():
            queue = queues.pop()
            job_queue = jobs[queue.uid]
            while not job_queue.empty():
                job = job_queue.pop()
                task_queue = tasks[job.uid]
                while not task_queue.empty():
                    out.append(task_queue.pop())
        return out
