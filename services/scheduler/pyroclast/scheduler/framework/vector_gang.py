"""A task's node search and choice in allocate over a vectorised session, fused.

Allocate's task loop (:meth:`.actions.allocate.Allocate.run_tasks`) asks :func:`choose`
for each task's node. What it fuses is the search and the choice of the common case
(every resource fit and plugin predicate a node mask, every score a vector form): it
lists the candidates in rotated node order with the steps of
:meth:`.VectorSearch.predicate_nodes` (the same window, the same processed count, the same
error records) and picks among them with :meth:`.VectorSearch.best_among`, as
:meth:`.VectorSearch.best_node` does, on the candidates' index array directly, without
building the intermediate selection or settling and syncing twice. Any other case goes
through the two generic calls, so the decisions are the same either way; the property
tests compare them with the scalar reference.
"""

from __future__ import annotations

from pyroclast.scheduler.api import FitErrors, NodeInfo, TaskInfo
from pyroclast.scheduler.framework.nodes import NodeSearch
from pyroclast.scheduler.framework.vector_rounds import next_in_round, start_round, take_step
from pyroclast.scheduler.framework.vector_search import VectorSearch, take_window

__all__ = ["choose"]


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
    taken = next_in_round(vector, task, search)
    if taken is not None:
        return taken
    vector.settle()
    request = task.init_resreq
    fit = mat.fit_mask(request)
    pmask = forms.predicate_mask(task)
    if pmask is None and forms.has_predicates:
        return _generic(vector, task, search)
    wanted = search.num_to_find(total)
    start = search.next_index % total
    use_cache, group, entry = vector.role_entry(task)
    nz = vector.candidates(fit, pmask, entry)
    k = int(nz.searchsorted(start))  # (the methods: no Python-level numpy wrapper)
    found, stop = take_window(nz, k, wanted)
    if stop >= 0:
        rnd = vector.round = start_round(vector, task, search, nz, k, wanted, fit, pmask)
        if rnd is not None:
            return take_step(vector, rnd, task, search)
    entry = vector.visit(task, search, start, found, stop, use_cache, group, entry, fit, pmask, {})
    if not len(found):
        return None, vector.no_fit_errors(entry, start)
    # best_node: the pending errors are settled and the matrix synced above
    return vector.best_among(task, found), None


def _generic(
    vector: VectorSearch, task: TaskInfo, search: NodeSearch
) -> tuple[NodeInfo | None, FitErrors | None]:
    selection, errors = vector.predicate_nodes(task, search)
    if not len(selection):
        return None, errors
    return vector.best_node(task, selection), None
