"""Filtering and scoring nodes for a task (Volcano's ``predicate_helper.go``/``scheduler_helper.go``).

Scalar and in node order. Like Volcano, a search stops once it has found enough feasible
nodes (:class:`NodeSearch`; every node up to 100 nodes) and the next search starts where
the last one stopped. Where Volcano checks nodes in parallel and breaks score ties at
random, this checks them in turn and takes the first best-scored node in node order, so a
session is deterministic. The vectorised path (:mod:`.vector_search`, over the matrices
of :mod:`.vector`) makes the same decisions with masks and arrays; this module stays its
oracle (``Session(..., vectorised=False)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pyroclast.scheduler.api import FitError, FitErrors, NodeInfo, Status, StatusCode, TaskInfo
from pyroclast.scheduler.api.types import insufficient_resource_reason

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.session import Session

__all__ = [
    "NodeSearch",
    "PredicateHelper",
    "predicate_for_allocate",
    "prioritize_nodes",
    "resource_fit",
    "select_best_node",
]

NodePredicate = Callable[[TaskInfo, NodeInfo], FitError | None]


@dataclass
class NodeSearch:
    """How many feasible nodes a search looks for, and where the next one starts.

    Volcano's ``--minimum-feasible-nodes`` (100), ``--minimum-percentage-nodes-to-find``
    (5) and ``--percentage-nodes-to-find`` (0: adaptive); ``next_index`` is its
    ``lastProcessedNodeIndex``, which outlives a session: keep one per scheduler.
    """

    min_nodes_to_find: int = 100
    min_percentage_to_find: int = 5
    percentage_to_find: int = 0
    next_index: int = 0

    def num_to_find(self, num_nodes: int) -> int:
        """Volcano's ``CalculateNumOfFeasibleNodesToFind``."""
        if num_nodes <= self.min_nodes_to_find or self.percentage_to_find >= 100:
            return num_nodes
        percentage = self.percentage_to_find
        if percentage <= 0:
            percentage = max(50 - num_nodes // 125, self.min_percentage_to_find)
        return max(num_nodes * percentage // 100, self.min_nodes_to_find)


def resource_fit(task: TaskInfo, node: NodeInfo) -> FitError | None:
    """The task's request fits the node's future-idle resources (allocate's own predicate)."""
    future_idle = node.future_idle()
    if task.init_resreq.less_equal(future_idle):
        return None
    missing = task.init_resreq.insufficient(future_idle)
    return FitError.of(task, node, Status(StatusCode.UNSCHEDULABLE, insufficient_resource_reason(missing)))


def predicate_for_allocate(ssn: Session, task: TaskInfo, node: NodeInfo) -> FitError | None:
    """The plugins' predicates; a fit error counts only with a failing code.

    Volcano's ``PredicateForAllocateAction``.
    """
    err = ssn.predicate(task, node)
    if err is None:
        return None
    if err.has_code(
        StatusCode.UNSCHEDULABLE,
        StatusCode.UNSCHEDULABLE_AND_UNRESOLVABLE,
        StatusCode.ERROR,
        StatusCode.SKIP,
        StatusCode.WAIT,
    ):
        return err
    return None


class PredicateHelper:
    """Runs a predicate over nodes, remembering failures per job role (the predicate error cache)."""

    def __init__(self, cache_enabled: bool = True) -> None:
        self.cache_enabled = cache_enabled
        self._cache: dict[str, dict[str, FitError]] = {}

    def predicate_nodes(
        self, task: TaskInfo, nodes: Sequence[NodeInfo], fn: NodePredicate, search: NodeSearch | None = None
    ) -> tuple[list[NodeInfo], FitErrors]:
        """Feasible nodes (in node order) and the fit errors of the others checked.

        Without ``search`` every node is checked; with it, the search starts at
        ``search.next_index`` and stops once enough feasible nodes are found.
        """
        errors = FitErrors()
        total = len(nodes)
        if total == 0:
            return [], errors
        wanted = search.num_to_find(total) if search is not None else total
        start = search.next_index % total if search is not None else 0
        use_cache = self.cache_enabled and bool(task.role)
        group = f"{task.job}/{task.role}"
        failed_before = group in self._cache
        node_errors = self._cache.get(group, {})
        found: list[tuple[int, NodeInfo]] = []
        processed = 0
        for offset in range(total):
            index = (start + offset) % total
            node = nodes[index]
            processed += 1
            if use_cache and failed_before:
                cached = node_errors.get(node.name)
                if cached is not None:
                    errors.set_node_error(node.name, replace(cached))
                    continue
            err = fn(task, node)
            if err is not None:
                node_errors[node.name] = err
                self._cache[group] = node_errors
                errors.set_node_error(node.name, err)
                continue
            if len(found) == wanted:
                break
            found.append((index, node))
        if search is not None:
            search.next_index = (start + processed) % total
        found.sort(key=lambda pair: pair[0])
        return [node for _, node in found], errors


def prioritize_nodes(ssn: Session, task: TaskInfo, nodes: Sequence[NodeInfo]) -> dict[float, list[NodeInfo]]:
    """Score each node (node order plus batch node order); nodes grouped by score, in node order.

    A vectorised session computes the same scores with the plugins' vector forms when they have them.
    """
    if ssn.vector is not None:
        from pyroclast.scheduler.framework.vector_search import vector_scores

        grouped = vector_scores(ssn, task, nodes)
        if grouped is not None:
            return grouped
    batch = ssn.batch_node_order(task, nodes)
    scores: dict[float, list[NodeInfo]] = {}
    for node in nodes:
        score = ssn.node_order(task, node) + batch.get(node.name, 0.0)
        scores.setdefault(score, []).append(node)
    return scores


def select_best_node(scores: dict[float, list[NodeInfo]]) -> NodeInfo | None:
    """The first node of the highest score (Volcano picks one of them at random)."""
    if not scores:
        return None
    return scores[max(scores)][0]
