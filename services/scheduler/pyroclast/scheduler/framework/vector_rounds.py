"""Rounds: the node choices of several consecutive searches of one task shape, made at once.

A search takes the first ``wanted`` candidates (nodes that fit and pass the predicates) in
rotated node order from ``NodeSearch.next_index``, stops on the next one, and the search
after it starts right behind that node. So consecutive searches of one shape (a gang's
replicas) walk the candidates in disjoint windows of ``wanted + 1``; and a placement
changes its own node only, which lies in its own window. Until the walk comes back to
where it began, the window of search ``i`` and every node in it are therefore what they
were when the first search began, and so is its choice: the first search of a shape
computes the windows and choices of up to ``candidates // (wanted + 1)`` searches in one
pass (scores of all windows in one array, the best per row), and the following searches
of that shape take theirs, after checking that the task has the same shape, that the
search starts where the round expects it, and that no node outside the earlier windows
changed. Each search still records its errors and moves the search position as a lone
search would; so the decisions are the same, which the property tests check against the
scalar reference.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import numpy as np

from pyroclast.scheduler.api import FitErrors, NodeInfo, TaskInfo
from pyroclast.scheduler.api.types import TaskStatus
from pyroclast.scheduler.framework.nodes import NodeSearch
from pyroclast.scheduler.framework.vector import BoolArray, IndexArray

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.vector_search import VectorSearch

__all__ = ["MIN_SEARCHES", "Round", "next_in_round", "start_round", "take_step"]

#: A round for fewer searches costs more than the searches it saves.
MIN_SEARCHES = 3


class Round:
    """The windows and node choices of the searches of one shape, from a first one on."""

    __slots__ = ("blocks", "choices", "fit", "key", "pmask", "stamp", "starts", "step", "stops")

    def __init__(
        self,
        key: Hashable,
        starts: list[int],
        blocks: IndexArray,
        stops: list[int],
        choices: list[int],
        fit: BoolArray,
        pmask: BoolArray | None,
        stamp: int,
    ) -> None:
        self.key = key
        self.starts = starts
        self.blocks = blocks
        self.stops = stops
        self.choices = choices
        # (as they were at the first search: each window's nodes are still so at its search)
        self.fit = fit
        self.pmask = pmask
        self.stamp = stamp  # the matrix's change log length at the first search
        self.step = 0


def _round_key(vector: VectorSearch, task: TaskInfo) -> Hashable | None:
    """What a task's choice depends on besides the nodes; None: it cannot be taken in a round."""
    forms = vector.forms.plan_key(task)
    if forms is None:
        return None
    use_cache, group, _ = vector.role_entry(task)
    return (task.init_resreq, use_cache, group, forms)


def start_round(
    vector: VectorSearch,
    task: TaskInfo,
    search: NodeSearch,
    nz: IndexArray,
    k: int,
    wanted: int,
    fit: BoolArray,
    pmask: BoolArray | None,
) -> Round | None:
    """A round over the candidates ``nz`` (ascending, up to date) from position ``k``, when
    at least :data:`MIN_SEARCHES` searches fit in it, the job is likely to make that many before it is
    ready, and the task's shape allows; its first step not taken yet."""
    size = wanted + 1
    count = len(nz) // size
    if count < MIN_SEARCHES:  # (the cheap bound first: most first searches stop here)
        return None
    count = min(count, _searches_left(vector, task))
    if count < MIN_SEARCHES:
        return None
    key = _round_key(vector, task)
    if key is None:
        return None
    mat = vector.matrix
    total = len(mat.nodes)
    rot = nz[k : k + count * size]
    wrap = len(rot)  # (where the walk passes the last node, if it does)
    if wrap < count * size:
        rot = np.concatenate((rot, nz[: count * size - wrap]))
    span = rot.reshape(count, size)
    blocks: IndexArray = span[:, :wanted]
    row, col = divmod(wrap, size)
    if row < count and 0 < col < wanted:
        blocks[row].sort()  # the one window across the last node (``rot`` is a new array then)
    stops: list[int] = span[:, wanted].tolist()
    # best_among's groups: the nodes whose idle fits, else (none does) those whose future idle does
    idle = mat.idle_mask(task.init_resreq)[blocks]
    group = idle | ~idle.any(axis=1, keepdims=True)
    scores = vector.forms.block_scores(task, blocks, group)
    if scores is None:
        return None
    best = np.where(group, scores, -np.inf).argmax(axis=1)
    choices: list[int] = blocks[np.arange(count), best].tolist()
    starts = [search.next_index % total] + [(s + 1) % total for s in stops[:-1]]
    return Round(key, starts, blocks, stops, choices, fit, pmask, len(mat.log))


def _searches_left(vector: VectorSearch, task: TaskInfo) -> int:
    """How many more searches the job's turn is likely to make: its pending tasks, and no more
    than it needs to be ready (a ready job's turn places one task); a bound, not a promise."""
    job = vector.ssn.jobs.get(task.job)
    if job is None:
        return 0
    short = job.min_available - job.ready_task_num() - job.pending_best_effort_task_num()
    return min(job.count(TaskStatus.PENDING), max(short, 1))


def take_step(
    vector: VectorSearch, rnd: Round, task: TaskInfo, search: NodeSearch
) -> tuple[NodeInfo | None, FitErrors | None]:
    """The round's next search for ``task``: its errors recorded, the position moved, its node."""
    i = rnd.step
    rnd.step = i + 1
    start = rnd.starts[i]
    use_cache, group, entry = vector.role_entry(task)
    vector.visit(
        task, search, start, rnd.blocks[i], rnd.stops[i], use_cache, group, entry, rnd.fit, rnd.pmask, {}
    )
    return vector.matrix.nodes[rnd.choices[i]], None


def next_in_round(
    vector: VectorSearch, task: TaskInfo, search: NodeSearch
) -> tuple[NodeInfo | None, FitErrors | None] | None:
    """The search of ``task`` from the job turn's round, or None when it must search itself."""
    rnd = vector.round
    if rnd is None:
        return None
    i = rnd.step
    mat = vector.matrix
    ok = (
        i < len(rnd.choices)
        and search.next_index == rnd.starts[i]
        and _round_key(vector, task) == rnd.key
        and _only_chosen_changed(rnd, mat.dirty, mat.log, i)
    )
    if not ok:
        vector.round = None
        return None
    vector.settle()
    return take_step(vector, rnd, task, search)


def _only_chosen_changed(rnd: Round, dirty: set[int], log: list[int], step: int) -> bool:
    """Whether every node changed since the round began is one chosen by its first ``step`` searches."""
    changed = dirty.union(log[rnd.stamp :])
    return not changed or changed <= set(rnd.choices[:step])
