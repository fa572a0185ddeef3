"""A job turn of allocate over a vectorised session: its task loop with the search and the choice fused.

The loop is allocate's (:meth:`.actions.allocate.Allocate.allocate_tasks`), step by
step: the queue's allocatable check, the role's cached failure, the pre-predicates, the
node search, the best node, the placement in the turn's statement, the job's readiness.
What it fuses is the search and the choice of the common case (every resource fit and
plugin predicate a node mask, every score a vector form): :func:`choose` lists the
candidates in rotated node order exactly as :meth:`.VectorSearch.predicate_nodes` does
(the same window, the same processed count, the same error records) and picks among them
as :meth:`.VectorSearch.best_node` does (idle room first, then future-idle room; the first
node of the best score), on the candidates' index array directly, without building the
intermediate selection or settling and syncing twice. Any other case goes through the
two generic calls, so the decisions are the same either way; the property tests compare
them with the scalar reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pyroclast.scheduler.api import (
    FitErrors,
    JobInfo,
    NodeInfo,
    QueueInfo,
    SchedulingError,
    TaskInfo,
)
from pyroclast.scheduler.framework.nodes import NodeSearch
from pyroclast.scheduler.framework.pqueue import PriorityQueue
from pyroclast.scheduler.framework.statement import Statement
from pyroclast.scheduler.framework.vector import IndexArray
from pyroclast.scheduler.framework.vector_errors import CodedFitErrors, GroupCache
from pyroclast.scheduler.framework.vector_search import VectorSearch

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.session import Session

__all__ = ["choose", "run_turn"]


def run_turn(
    ssn: Session,
    vector: VectorSearch,
    job: JobInfo,
    queue: QueueInfo,
    tasks: PriorityQueue[TaskInfo],
    stmt: Statement,
) -> None:
    """Try the job's tasks in order until it is ready (allocate's loop, vectorised)."""
    from pyroclast.scheduler.actions.allocate import node_errors

    nodes = ssn.node_list
    search = ssn.node_search
    allocatable, pre_predicate, job_ready = ssn.allocatable, ssn.pre_predicate, ssn.job_ready
    allocate, pipeline = stmt.allocate, stmt.pipeline
    while not tasks.empty():
        task = tasks.pop()
        if not allocatable(queue, task):
            continue
        if job.task_has_fit_errors(task):
            fe = FitErrors()
            fe.set_error(f"Task {task.name} with role spec {task.role} has already predicated failed, skip")
            job.nodes_fit_errors[task.uid] = fe
            continue
        pre = pre_predicate(task)
        if pre:
            job.nodes_fit_errors[task.uid] = node_errors(nodes, pre)
            if job.need_continue_allocating():
                continue
            break
        best, errors = choose(vector, task, search)
        if errors is not None:
            job.nodes_fit_errors[task.uid] = errors
            if job.need_continue_allocating():
                continue
            break
        if best is None:
            continue
        # (Allocate.place)
        request = task.init_resreq
        try:
            if request.less_equal(best.idle):
                allocate(task, best)
            elif request.less_equal(best.future_idle()):
                pipeline(task, best.name)
        except SchedulingError:
            continue
        if job_ready(job):
            break


def choose(
    vector: VectorSearch, task: TaskInfo, search: NodeSearch
) -> tuple[NodeInfo | None, FitErrors | None]:
    """``predicate_nodes`` then ``best_node``: (the best node or None, None) when some node is
    feasible, (None, the errors of every node) when none is."""
    forms = vector.forms
    mat = vector.matrix
    total = len(mat.nodes)
    if not (vector.resource_fit and forms.scores_vectorised and total):
        return _generic(vector, task, search)
    vector._settle()
    request = task.init_resreq
    fit = mat.fit_mask(request)
    pmask = forms.predicate_mask(task)
    if pmask is None and forms.has_predicates:
        return _generic(vector, task, search)
    wanted = search.num_to_find(total)
    start = search.next_index % total
    use_cache = vector.cache_enabled and bool(task.role)
    group = f"{task.job}/{task.role}"
    entry = vector._cache.get(group) if use_cache else None
    ok = entry.ok if entry is not None else None
    nz = vector.runs.candidates(fit, pmask, ok, vector._ok_version)
    k = int(nz.searchsorted(start))  # (the methods: no Python-level numpy wrapper)
    tail = nz[k : k + wanted + 1]
    head = nz[: min(wanted + 1 - len(tail), k)]
    stop = -1
    if len(tail) + len(head) > wanted:
        if len(head):
            stop, head = int(head[-1]), head[:-1]
        else:
            stop, tail = int(tail[-1]), tail[:-1]
    found: IndexArray = np.concatenate((head, tail)) if len(head) else tail
    processed = (stop - start) % total + 1 if stop >= 0 else total
    search.next_index = (start + processed) % total
    nfound = len(found)
    passed = nfound + (stop >= 0)
    if (use_cache and processed > passed) or not nfound:
        end = start + processed
        slices = [(start, end)] if end <= total else [(start, total), (0, end - total)]
        if entry is None:
            entry = GroupCache(total)
            if vector._record(task, entry, slices, fit, pmask, {}) and use_cache:
                vector._cache[group] = entry
        elif sum(int(np.count_nonzero(entry.ok[a:b])) for a, b in slices) > passed:
            vector._record(task, entry, slices, fit, pmask, {})
    if not nfound:
        assert entry is not None
        vector._resolve(entry, np.flatnonzero(entry.pending))
        order = np.concatenate((np.arange(start, total), np.arange(0, start)))
        return None, CodedFitErrors(vector.table, mat.names, order, entry.codes[order], entry.task[order])
    # best_node: the pending errors are settled and the matrix synced above
    idle_ok = mat.idle_mask(request)[found]
    if idle_ok.all():
        return _best(vector, task, found), None
    for part in (found[idle_ok], found[~idle_ok]):
        if len(part):
            best = _best(vector, task, part)
            if best is not None:
                return best, None
    return None, None


def _best(vector: VectorSearch, task: TaskInfo, group: IndexArray) -> NodeInfo | None:
    nodes = vector.matrix.nodes
    if len(group) == 1:
        return nodes[int(group[0])]
    scores = vector.forms.scores(task, group)
    if scores is None:
        return vector._best_of(task, group)
    return nodes[int(group[int(scores.argmax())])]


def _generic(
    vector: VectorSearch, task: TaskInfo, search: NodeSearch
) -> tuple[NodeInfo | None, FitErrors | None]:
    selection, errors = vector.predicate_nodes(task, search)
    if not len(selection):
        return None, errors
    return vector.best_node(task, selection), None
