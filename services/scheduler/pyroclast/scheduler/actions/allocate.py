"""Allocate: place pending tasks, gang by gang (Volcano's ``allocate``, jobs without topology).

Queues take turns in queue order; each turn takes the queue's first job in job order and
tries its pending tasks in task order inside a :class:`Statement`. A task goes to the best
node among those that pass the resource fit and the plugins' predicates, preferring nodes
whose idle resources fit it (allocate) over nodes that fit only once releasing resources
are freed (pipeline). The statement is committed when the job is ready, kept uncommitted
when it is only pipelined, and discarded otherwise. A committed job with tasks left goes
back to its queue. A vectorised session searches and picks each task's node with
:func:`~pyroclast.scheduler.framework.vector_gang.choose` over
:class:`~pyroclast.scheduler.framework.vector_search.VectorSearch` (same decisions).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from pyroclast.scheduler.api import (
    FitError,
    FitErrors,
    JobInfo,
    NodeInfo,
    QueueInfo,
    SchedulingError,
    TaskInfo,
)
from pyroclast.scheduler.api.types import TaskStatus
from pyroclast.scheduler.framework import (
    Action,
    PredicateHelper,
    PriorityQueue,
    Session,
    Statement,
    predicate_for_allocate,
    prioritize_nodes,
    resource_fit,
    select_best_node,
)
from pyroclast.scheduler.framework.vector_gang import choose as choose_node
from pyroclast.scheduler.framework.vector_search import vector_search

__all__ = ["PREDICATE_ERROR_CACHE_KEY", "Allocate", "node_errors"]

PREDICATE_ERROR_CACHE_KEY = "predicateErrorCacheEnable"

#: a task's node search and choice: (the best node or None, None), or (None, every node's errors)
Chooser = Callable[[TaskInfo], tuple[NodeInfo | None, FitErrors | None]]


def node_errors(nodes: list[NodeInfo], err: FitError | str) -> FitErrors:
    """The same pre-predicate error recorded against every node."""
    fe = FitErrors()
    for node in nodes:
        if isinstance(err, FitError):
            fe.set_node_error(
                node.name, FitError(err.task_namespace, err.task_name, node.name, list(err.statuses))
            )
        else:
            fe.set_node_error(node.name, err)
    return fe


class Allocate(Action):
    name = "allocate"

    def __init__(self) -> None:
        self.cache_enabled = True

    def execute(self, ssn: Session) -> None:
        self.cache_enabled = ssn.conf.action_arguments(self.name).get_bool(PREDICATE_ERROR_CACHE_KEY, True)
        queues: PriorityQueue[QueueInfo] = PriorityQueue(ssn.queue_order_fn)
        jobs_by_queue: dict[str, PriorityQueue[JobInfo]] = {}
        tasks_by_job: dict[str, PriorityQueue[TaskInfo]] = {}
        task_less, job_less = ssn.task_less(), ssn.job_less()
        for job in ssn.jobs.values():
            if job.is_pending():
                if ssn.enqueue_enabled:
                    continue
                job.phase = "Inqueue"
            vr = ssn.job_valid(job)
            if vr is not None and not vr.passed:
                continue
            if job.queue not in ssn.queues:
                continue
            tasks: PriorityQueue[TaskInfo] = PriorityQueue(task_less)
            for task in job.tasks_in(TaskStatus.PENDING).values():
                if not task.init_resreq.is_empty():  # best-effort tasks are backfill's
                    tasks.push(task)
            if tasks.empty():
                continue
            if job.queue not in jobs_by_queue:
                jobs_by_queue[job.queue] = PriorityQueue(job_less)
                queues.push(ssn.queues[job.queue])
            jobs_by_queue[job.queue].push(job)
            tasks_by_job[job.uid] = tasks

        while not queues.empty():
            queue = queues.pop()
            if ssn.overused(queue):
                continue
            jobs = jobs_by_queue.get(queue.uid)
            if jobs is None or jobs.empty():
                continue
            job = jobs.pop()
            tasks = tasks_by_job[job.uid]
            stmt = self.allocate_tasks(ssn, job, queue, tasks)
            if stmt is not None and ssn.job_ready(job):
                stmt.commit()
                if not tasks.empty():
                    jobs.push(job)
            queues.push(queue)

    def allocate_tasks(
        self, ssn: Session, job: JobInfo, queue: QueueInfo, tasks: PriorityQueue[TaskInfo]
    ) -> Statement | None:
        """Try the job's tasks until it is ready; the statement, or None when discarded."""
        nodes = ssn.node_list
        if not nodes:
            return None
        stmt = ssn.statement()
        choose: Chooser
        vector = vector_search(ssn, self.cache_enabled)
        if vector is not None:
            choose = partial(choose_node, vector, search=ssn.node_search)
        else:
            helper = PredicateHelper(self.cache_enabled)

            def predicate(task: TaskInfo, node: NodeInfo) -> FitError | None:
                return resource_fit(task, node) or predicate_for_allocate(ssn, task, node)

            def choose(task: TaskInfo) -> tuple[NodeInfo | None, FitErrors | None]:
                feasible, fit_errors = helper.predicate_nodes(task, nodes, predicate, ssn.node_search)
                if not feasible:
                    return None, fit_errors
                return self.best_node(ssn, task, list(feasible)), None

        self.run_tasks(ssn, job, queue, tasks, stmt, choose)
        if ssn.job_ready(job) or ssn.job_pipelined(job):
            return stmt
        stmt.discard()
        return None

    def run_tasks(
        self,
        ssn: Session,
        job: JobInfo,
        queue: QueueInfo,
        tasks: PriorityQueue[TaskInfo],
        stmt: Statement,
        choose: Chooser,
    ) -> None:
        """Try the job's tasks in order until it is ready: the queue's allocatable check, the
        role's cached failure, the pre-predicates, ``choose`` (the node search and the best
        node: (the node or None, None) when some node is feasible, (None, every node's errors)
        when none is), the placement in ``stmt``, the job's readiness."""
        nodes = ssn.node_list
        allocatable, pre_predicate, job_ready = ssn.allocatable, ssn.pre_predicate, ssn.job_ready
        place = self.place
        while not tasks.empty():
            task = tasks.pop()
            if not allocatable(queue, task):
                continue
            if job.task_has_fit_errors(task):
                fe = FitErrors()
                fe.set_error(
                    f"Task {task.name} with role spec {task.role} has already predicated failed, skip"
                )
                job.nodes_fit_errors[task.uid] = fe
                continue
            pre = pre_predicate(task)
            if pre:
                job.nodes_fit_errors[task.uid] = node_errors(nodes, pre)
                if job.need_continue_allocating():
                    continue
                break
            best, errors = choose(task)
            if errors is not None:
                job.nodes_fit_errors[task.uid] = errors
                if job.need_continue_allocating():
                    continue
                break
            if best is None:
                continue
            try:
                place(stmt, task, best)
            except SchedulingError:
                continue
            if job_ready(job):
                break

    @staticmethod
    def best_node(ssn: Session, task: TaskInfo, feasible: list[NodeInfo]) -> NodeInfo | None:
        """Nodes with idle room first, then nodes with future-idle room; the best score in each."""
        idle = [n for n in feasible if task.init_resreq.less_equal(n.idle)]
        future = [n for n in feasible if n not in idle and task.init_resreq.less_equal(n.future_idle())]
        for group in (idle, future):
            if len(group) == 1:
                return group[0]
            if group:
                scores = prioritize_nodes(ssn, task, group)
                best = ssn.best_node(task, scores) or select_best_node(scores)
                if best is not None:
                    return best
        return None

    @staticmethod
    def place(stmt: Statement, task: TaskInfo, node: NodeInfo) -> None:
        if task.init_resreq.less_equal(node.idle):
            stmt.allocate(task, node)
        elif task.init_resreq.less_equal(node.future_idle()):
            stmt.pipeline(task, node.name)
