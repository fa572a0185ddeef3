"""The node search and node choice of allocate over the session's matrices.

Same decisions as :class:`.nodes.PredicateHelper` plus ``Allocate.best_node``: the search
starts at ``NodeSearch.next_index``, takes the first ``num_to_find`` feasible nodes in
rotated node order, and the node where it stops counts as processed; a node that failed
for an earlier task of the same job role (the error cache, per job turn) is skipped.
The resource fit is one mask per request; the plugins' predicates run where the
resource fit passes, in search order, until enough nodes are found (a plugin with a
vector form, :mod:`.vector_forms`, gives a mask instead). Errors are kept as codes
(:mod:`.vector_errors`). The best node: idle room first, then future-idle room; with no
scoring function configured the first node in node order, else the scores (vector forms
where the plugins have them, the scalar functions otherwise) and the first best.

Consecutive searches for tasks of one shape (a gang's replicas) are batched: their
candidate nodes are kept between searches and patched on the nodes that changed
(:mod:`.vector_batch`), and the plugins' vector forms keep their per-node values over all
nodes the same way (:mod:`.vector_cache`), so a placement costs work on its node only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

import numpy as np
from numpy.typing import NDArray

from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import FitErrors, NodeInfo, Status, StatusCode, TaskInfo
from pyroclast.scheduler.api.types import insufficient_resource_reason
from pyroclast.scheduler.framework import kernel
from pyroclast.scheduler.framework.nodes import NodeSearch, predicate_for_allocate, select_best_node
from pyroclast.scheduler.framework.vector import IndexArray, NodeMatrix
from pyroclast.scheduler.framework.vector_batch import CandidateRuns
from pyroclast.scheduler.framework.vector_errors import CodedFitErrors, ErrorTable, GroupCache
from pyroclast.scheduler.framework.vector_forms import KernelScores, VectorForms
from pyroclast.scheduler.framework.vector_window import take_window

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.session import Session

__all__ = ["NodeSelection", "VectorSearch", "vector_scores", "vector_search"]

_EMPTY = np.zeros(0, dtype=np.intp)
#: ``mask.any()`` without the Python-level wrapper of the method
_any = np.logical_or.reduce


class NodeSelection(Sequence[NodeInfo]):
    """Nodes given by matrix indices (ascending), readable as a sequence of NodeInfo."""

    __slots__ = ("indices", "nodes")

    def __init__(self, nodes: list[NodeInfo], indices: IndexArray) -> None:
        self.nodes = nodes
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, i: int) -> NodeInfo: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[NodeInfo]: ...
    def __getitem__(self, i: int | slice) -> NodeInfo | Sequence[NodeInfo]:
        if isinstance(i, slice):
            return [self.nodes[j] for j in self.indices[i].tolist()]
        return self.nodes[int(self.indices[i])]

    def __iter__(self) -> Iterator[NodeInfo]:
        nodes = self.nodes
        return (nodes[j] for j in self.indices.tolist())


_RESOURCE_STATUSES: dict[str, tuple[Status, ...]] = {}


def _resource_statuses(name: str) -> tuple[Status, ...]:
    st = _RESOURCE_STATUSES.get(name)
    if st is None:
        st = (Status(StatusCode.UNSCHEDULABLE, insufficient_resource_reason([name])),)
        _RESOURCE_STATUSES[name] = st
    return st


class VectorSearch:
    """One job turn's node searches (the predicate error cache lives as long as this)."""

    def __init__(
        self,
        ssn: Session,
        matrix: NodeMatrix,
        forms: VectorForms,
        cache_enabled: bool = True,
        *,
        resource_fit: bool = True,
        runs: CandidateRuns | None = None,
        table: ErrorTable | None = None,
        luts: dict[Resource, NDArray[np.int64]] | None = None,
        failing: IndexArray | None = None,
    ) -> None:
        self.ssn = ssn
        self.matrix = matrix
        self.forms = forms
        self.cache_enabled = cache_enabled
        # Off for backfill, whose tasks request nothing and whose predicate is the plugins' only.
        self.resource_fit = resource_fit
        # (the table and the resource luts of its codes may be the session's, shared by its searches)
        self.table = table if table is not None else ErrorTable()
        self._cache: dict[str, GroupCache] = {}
        self._luts: dict[Resource, NDArray[np.int64]] = luts if luts is not None and table is not None else {}
        self._pending = False  # whether any cached error may still be pending
        self._ok_version = 0  # bumped whenever a group's ``ok`` changes
        self.runs = runs if runs is not None else CandidateRuns(matrix)
        # where the kernel lists a walk's predicate failures
        self._failing = failing if failing is not None else np.empty(len(matrix.nodes), dtype=np.intp)

    # -- the search ---------------------------------------------------------------------
    def predicate_nodes(self, task: TaskInfo, search: NodeSearch) -> tuple[NodeSelection, FitErrors]:
        """Feasible nodes (node order) and, when there are none, the errors of every node."""
        mat = self.matrix
        total = len(mat.nodes)
        if total == 0:
            return NodeSelection(mat.nodes, _EMPTY), FitErrors()
        self.settle()
        wanted = search.num_to_find(total)
        start = search.next_index % total
        use_cache, group, entry = self.role_entry(task)
        fit = mat.fit_mask(task.init_resreq) if self.resource_fit else np.ones(total, dtype=np.bool_)
        pmask = self.forms.predicate_mask(task)
        ok = entry.ok if entry is not None else None
        if self.resource_fit and (pmask is not None or not self.forms.has_predicates):
            nz = self.candidates(fit, pmask, entry)
        else:
            cand = fit if ok is None else fit & ok
            if pmask is not None:
                cand = cand & pmask
            nz = cand.nonzero()[0]
        k = int(nz.searchsorted(start))
        plugin_fail: dict[int, int] = {}
        if pmask is None and self.forms.has_predicates:
            passing = self._scalar_predicates(task, nz, k, wanted, plugin_fail)
            stop = int(passing[wanted]) if len(passing) > wanted else -1
            found = np.sort(passing[:wanted])
        else:
            found, stop = take_window(nz, k, wanted)
        entry = self.visit(task, search, start, found, stop, use_cache, group, entry, fit, pmask, plugin_fail)
        if len(found):
            return NodeSelection(mat.nodes, found), FitErrors()
        return NodeSelection(mat.nodes, _EMPTY), self.no_fit_errors(entry, start)

    def walk(
        self, task: TaskInfo, search: NodeSearch, pmask: NDArray[np.bool_] | None, scores: KernelScores
    ) -> tuple[NodeInfo | None, FitErrors | None]:
        """:meth:`predicate_nodes` then :meth:`best_node` in one :func:`.kernel.search`, for a
        search whose predicates are all in ``pmask`` and whose scores are ``scores``
        (:meth:`.VectorForms.kernel_scores`); pending errors settled."""
        mat = self.matrix
        mat.sync()
        total = len(mat.nodes)
        wanted = search.num_to_find(total)
        start = search.next_index % total
        use_cache, group, entry = self.role_entry(task)
        if use_cache and entry is None:
            entry = self._cache[group] = GroupCache(total)
        plan = mat.plan(task.init_resreq)
        t = self.table.index_of(task)
        failing = self._failing
        fvals, ivals, base, labels = scores
        ok, task_of, pending = (
            (entry.ok, entry.task, entry.pending) if entry is not None else (None, None, None)
        )
        count, stop, best, short, failed = kernel.search(
            start, wanted, mat.future, mat.idle, plan.cols, plan.amounts, pmask, ok, use_cache,
            task_of, pending, t, failing, self.forms.scoring, fvals, ivals, base, labels,
        )  # fmt: skip
        if not count and not use_cache:
            # no node is feasible: every node's error is wanted, and no cache entry took them
            entry = GroupCache(total)
            _, _, _, short, failed = kernel.search(
                start, wanted, mat.future, mat.idle, plan.cols, plan.amounts, pmask, entry.ok, True,
                entry.task, entry.pending, t, failing, False, None, None, 0, (),
            )  # fmt: skip
        search.next_index = (stop + 1) % total if stop >= 0 else start
        if short or failed:
            assert entry is not None
            self._ok_version += 1
            self.table.task_index(task)  # (its index is ``t``)
            if short:
                self._pending = True
            if failed:
                idx = failing[:failed].copy()
                entry.codes[idx] = self.forms.predicate_codes(task, idx, self.table)
        if not count:
            assert entry is not None
            return None, self.no_fit_errors(entry, start)
        return mat.nodes[best], None

    def role_entry(self, task: TaskInfo) -> tuple[bool, str, GroupCache | None]:
        """Whether the task's role caches errors, the role's key, and its cache entry."""
        use_cache = self.cache_enabled and bool(task.role)
        group = f"{task.job}/{task.role}"
        return use_cache, group, self._cache.get(group) if use_cache else None

    def candidates(
        self, fit: NDArray[np.bool_], pmask: NDArray[np.bool_] | None, entry: GroupCache | None
    ) -> IndexArray:
        """Nodes (ascending) that fit, pass ``pmask`` and are not cached as failing in ``entry``."""
        return self.runs.candidates(fit, pmask, entry.ok if entry is not None else None, self._ok_version)

    def visit(
        self,
        task: TaskInfo,
        search: NodeSearch,
        start: int,
        found: IndexArray,
        stop: int,
        use_cache: bool,
        group: str,
        entry: GroupCache | None,
        fit: NDArray[np.bool_],
        pmask: NDArray[np.bool_] | None,
        plugin_fail: dict[int, int],
    ) -> GroupCache | None:
        """Move the search past the range visited from ``start`` (up to ``stop``, the node
        where it stopped, or all nodes when -1) and record the errors of its failed nodes
        in ``entry`` (the role's cache entry, made when none and some node failed)."""
        total = len(self.matrix.nodes)
        processed = (stop - start) % total + 1 if stop >= 0 else total
        search.next_index = (start + processed) % total
        passed = len(found) + (stop >= 0)
        if (use_cache and processed > passed) or not len(found):
            # Some node of the visited range failed (or was skipped as cached): record errors.
            end = start + processed
            slices = [(start, end)] if end <= total else [(start, total), (0, end - total)]
            if entry is None:
                entry = GroupCache(total)
                if self._record(task, entry, slices, fit, pmask, plugin_fail) and use_cache:
                    self._cache[group] = entry
            elif plugin_fail or sum(int(np.count_nonzero(entry.ok[a:b])) for a, b in slices) > passed:
                # (else every node of the range that failed is cached already: nothing to record)
                self._record(task, entry, slices, fit, pmask, plugin_fail)
        return entry

    def no_fit_errors(self, entry: GroupCache | None, start: int) -> CodedFitErrors:
        """The errors of every node, in search order from ``start``, when none is feasible
        (``entry``: as :meth:`visit` left it, which then holds every node's error)."""
        assert entry is not None
        self._resolve(entry, entry.pending.nonzero()[0])
        total = len(self.matrix.nodes)
        order = np.concatenate((np.arange(start, total), np.arange(0, start)))
        return CodedFitErrors(self.table, self.matrix.names, order, entry.codes[order], entry.task[order])

    def _scalar_predicates(
        self, task: TaskInfo, nz: IndexArray, k: int, wanted: int, plugin_fail: dict[int, int]
    ) -> IndexArray:
        """Run the plugins' predicates over resource-fitting nodes in search order."""
        ssn, nodes, table = self.ssn, self.matrix.nodes, self.table
        passing: list[int] = []
        for i in (*nz[k:].tolist(), *nz[:k].tolist()):
            err = predicate_for_allocate(ssn, task, nodes[i])
            if err is None:
                passing.append(i)
                if len(passing) > wanted:
                    break
            else:
                plugin_fail[i] = table.status_code(tuple(err.statuses))
        return np.array(passing, dtype=np.intp)

    def _record(
        self,
        task: TaskInfo,
        entry: GroupCache,
        slices: list[tuple[int, int]],
        fit: NDArray[np.bool_],
        pmask: NDArray[np.bool_] | None,
        plugin_fail: dict[int, int],
    ) -> bool:
        """Mark the nodes of ``slices`` that failed (and are not cached yet) with their error.

        Resource failures are left pending (:meth:`_resolve`); plugin failures get their code now.
        """
        recorded = False
        t = self.table.task_index(task)
        for a, b in slices:
            ok = entry.ok[a:b]
            f = fit[a:b]
            # (on booleans ``x > y`` is ``x & ~y``)
            short = np.greater(ok, f)
            failing = np.greater(f & ok, pmask[a:b]) if pmask is not None else None
            if _any(short):
                self._ok_version += 1
                np.putmask(entry.task[a:b], short, t)
                pending = entry.pending[a:b]
                np.logical_or(pending, short, out=pending)
                self._pending = True
                np.logical_and(ok, f, out=ok)  # (ok & ~short)
                recorded = True
            if failing is not None and _any(failing):
                self._ok_version += 1
                idx = failing.nonzero()[0] + a
                entry.codes[idx] = self.forms.predicate_codes(task, idx, self.table)
                entry.task[idx] = t
                entry.ok[idx] = False
                recorded = True
        if plugin_fail:
            self._ok_version += 1
            idx = np.fromiter(plugin_fail.keys(), dtype=np.intp, count=len(plugin_fail))
            entry.codes[idx] = np.fromiter(plugin_fail.values(), dtype=np.int64, count=len(plugin_fail))
            entry.task[idx] = t
            entry.ok[idx] = False
            recorded = True
        return recorded

    def _lut(self, request: Resource) -> NDArray[np.int64]:
        """Error codes of "Insufficient <name>" for each column ``request`` checks."""
        lut = self._luts.get(request)
        if lut is None:
            names = self.matrix.plan(request).names
            lut = np.array([self.table.status_code(_resource_statuses(n)) for n in names], dtype=np.int64)
            self._luts[request] = lut
        return lut

    def _resolve(self, entry: GroupCache, idx: IndexArray) -> None:
        """Compute the pending codes of nodes ``idx`` from their (not yet refreshed) rows."""
        pend = idx[entry.pending[idx]]
        if not len(pend):
            return
        tasks = entry.task[pend]
        for t in set(tasks.tolist()):  # (disjoint nodes per task: any order)
            sel = pend[tasks == t]
            request = self.table.tasks[t].init_resreq
            entry.codes[sel] = self._lut(request)[self.matrix.first_shortfall(request, sel)]
        entry.pending[pend] = False

    def settle(self) -> None:
        """Resolve pending errors on nodes that changed since the last sync, before it re-reads them."""
        dirty = self.matrix.dirty
        if dirty and self._pending:
            idx = np.fromiter(dirty, dtype=np.intp, count=len(dirty))
            for entry in self._cache.values():
                self._resolve(entry, idx)

    # -- the choice ---------------------------------------------------------------------
    def best_node(self, task: TaskInfo, feasible: NodeSelection) -> NodeInfo | None:
        """Nodes with idle room first, then the others (future-idle room); the best of a group."""
        self.settle()
        return self.best_among(task, feasible.indices)

    def best_among(self, task: TaskInfo, idx: IndexArray) -> NodeInfo | None:
        """:meth:`best_node` over the feasible nodes ``idx`` once the pending errors are settled."""
        nodes = self.matrix.nodes
        idle_ok = self.matrix.idle_mask(task.init_resreq)[idx]
        if not self.forms.scoring:
            if not len(idx):
                return None
            return nodes[int(idx[int(idle_ok.argmax())])]
        groups = (idx,) if idle_ok.all() else (idx[idle_ok], idx[~idle_ok])
        for group in groups:
            if len(group) == 1:
                return nodes[int(group[0])]
            if len(group):
                best = self._best_of(task, group)
                if best is not None:
                    return best
        return None

    def best_of(self, task: TaskInfo, feasible: NodeSelection) -> NodeInfo | None:
        """``best_node(prioritize_nodes(...))`` over ``feasible``: the first node of the best
        score, from the vector forms when they score, else from the scalar functions; None
        only when ``feasible`` is empty."""
        idx = feasible.indices
        if not len(idx):
            return None
        if self.forms.scoring and self.forms.scores_vectorised:
            self.matrix.sync()
        return self._best_of(task, idx)

    def _best_of(self, task: TaskInfo, group: IndexArray) -> NodeInfo | None:
        nodes = self.matrix.nodes
        forms = self.forms
        if not forms.scoring:
            return nodes[int(group[0])]
        if forms.scores_vectorised:
            scores = forms.scores(task, group)
            if scores is not None:
                return nodes[int(group[int(scores.argmax())])]
        candidates = [nodes[i] for i in group.tolist()]
        batch = self.ssn.batch_node_order(task, candidates)
        by_score: dict[float, list[NodeInfo]] = {}
        for node in candidates:
            by_score.setdefault(self.ssn.node_order(task, node) + batch.get(node.name, 0.0), []).append(node)
        return self.ssn.best_node(task, by_score) or select_best_node(by_score)


def _forms(ssn: Session) -> VectorForms | None:
    state = ssn.vector
    if state is None:
        return None
    if state.forms is None:
        state.forms = VectorForms(ssn, state.matrix)
    return state.forms


def vector_search(ssn: Session, cache_enabled: bool, *, resource_fit: bool = True) -> VectorSearch | None:
    """A search for one job turn, or None when the session runs the scalar reference.

    Without ``resource_fit`` only the plugins' predicates filter (backfill's search).
    """
    forms = _forms(ssn)
    state = ssn.vector
    if forms is None or state is None:
        return None
    if state.runs is None:
        state.runs = CandidateRuns(state.matrix)
    return VectorSearch(
        ssn,
        state.matrix,
        forms,
        cache_enabled,
        resource_fit=resource_fit,
        runs=state.runs,
        table=state.table,
        luts=state.luts,
        failing=state.failing,
    )


def vector_scores(
    ssn: Session, task: TaskInfo, nodes: Sequence[NodeInfo]
) -> dict[float, list[NodeInfo]] | None:
    """``prioritize_nodes`` from the vector forms; None when the scalar functions must run."""
    forms = _forms(ssn)
    if forms is None or ssn.vector is None:
        return None
    if not forms.scoring:
        return {0.0: list(nodes)} if nodes else {}
    if not forms.scores_vectorised:
        return None
    mat = ssn.vector.matrix
    mat.sync()
    idx = np.fromiter((mat.index[n.name] for n in nodes), dtype=np.intp, count=len(nodes))
    scores = forms.scores(task, idx)
    if scores is None:
        return None
    grouped: dict[float, list[NodeInfo]] = {}
    for node, score in zip(nodes, scores.tolist(), strict=True):
        grouped.setdefault(score, []).append(node)
    return grouped
