"""A task's node search and choice in allocate over a vectorised session, fused.

Allocate's task loop (:meth:`.actions.allocate.Allocate.run_tasks`) asks :func:`choose`
for each task's node. In the common case (the resource fit and every plugin predicate a
node mask, every score a vector form the kernel can sum) the whole search is one call of
:func:`.kernel.search` (:meth:`.VectorSearch.walk`): the same window as
:meth:`.VectorSearch.predicate_nodes`, the same processed count and error records, the same
choice as :meth:`.VectorSearch.best_node`. Any other case goes through those two generic
calls, so the decisions are the same either way; the property tests compare them with the
scalar reference.
"""

from __future__ import annotations

from pyroclast.scheduler.api import FitErrors, NodeInfo, TaskInfo
from pyroclast.scheduler.framework.nodes import NodeSearch
from pyroclast.scheduler.framework.vector_search import VectorSearch

__all__ = ["choose"]


def choose(
    vector: VectorSearch, task: TaskInfo, search: NodeSearch
) -> tuple[NodeInfo | None, FitErrors | None]:
    """``predicate_nodes`` then ``best_node``: (the best node or None, None) when some node is
    feasible, (None, the errors of every node) when none is."""
    forms = vector.forms
    if vector.resource_fit and len(vector.matrix.nodes):
        vector.settle()
        pmask = forms.predicate_mask(task)
        if pmask is not None or not forms.has_predicates:
            scores = forms.kernel_scores(task)
            if scores is not None:
                return vector.walk(task, search, pmask, scores)
    selection, errors = vector.predicate_nodes(task, search)
    if not len(selection):
        return None, errors
    return vector.best_node(task, selection), None
