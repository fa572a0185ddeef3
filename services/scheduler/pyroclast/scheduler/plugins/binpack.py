"""Binpack: prefer nodes whose resources the task would fill the most (Volcano's ``binpack``).

For each resource the task requests that has a weight, the score is
``(used + request) * weight / allocatable``; the sum is divided by the weights summed,
times ``100 * binpack.weight``. A resource that would overflow the node makes the whole
score 0. Arguments: ``binpack.weight`` (1; 0 disables), ``binpack.cpu`` (1),
``binpack.memory`` (1), ``binpack.resources`` (comma-separated extra resources) and
``binpack.resources.<name>`` (1). :class:`BinpackForm` is the vector form over the
session's node matrix (used = allocatable - idle), registered for the vectorised search;
:func:`binpack_score` is its oracle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pyroclast.common.resources import CPU, MEMORY, Resource
from pyroclast.scheduler.api import NodeInfo, TaskInfo
from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.framework import Plugin, Session, register_plugin
from pyroclast.scheduler.framework.vector import IndexArray, NodeMatrix
from pyroclast.scheduler.framework.vector_cache import ColumnCache
from pyroclast.scheduler.framework.vector_forms import register_vector_node_order

__all__ = [
    "BINPACK_CPU",
    "BINPACK_MEMORY",
    "BINPACK_RESOURCES",
    "BINPACK_WEIGHT",
    "BinpackForm",
    "BinpackPlugin",
    "BinpackWeights",
    "binpack_score",
    "resource_binpack_score",
]

BINPACK_WEIGHT = "binpack.weight"
BINPACK_CPU = "binpack.cpu"
BINPACK_MEMORY = "binpack.memory"
BINPACK_RESOURCES = "binpack.resources"
MAX_NODE_SCORE = 100


@dataclass
class BinpackWeights:
    weight: int = 1
    resources: dict[str, int] = field(default_factory=lambda: {CPU: 1, MEMORY: 1})

    @classmethod
    def from_arguments(cls, args: Arguments) -> BinpackWeights:
        """Parse as Volcano does: negative per-resource weights fall back to 1."""
        weight = args.get_int(BINPACK_WEIGHT, 1)
        cpu = args.get_int(BINPACK_CPU, 1)
        memory = args.get_int(BINPACK_MEMORY, 1)
        resources: dict[str, int] = {}
        for raw in args.get_str(BINPACK_RESOURCES, "").split(","):
            name = raw.strip()
            if not name:
                continue
            w = args.get_int(f"{BINPACK_RESOURCES}.{name}", 1)
            resources[name] = w if w >= 0 else 1
        resources[CPU] = cpu if cpu >= 0 else 1
        resources[MEMORY] = memory if memory >= 0 else 1
        return cls(weight=weight, resources=resources)


def resource_binpack_score(requested: int, capacity: int, used: int, weight: int) -> float | None:
    """``(used + requested) * weight / capacity``; None when it would not fit."""
    if capacity == 0 or weight == 0:
        return 0.0
    final = requested + used
    if final > capacity:
        return None
    return final * weight / capacity


def binpack_score(request: Resource, allocatable: Resource, used: Resource, weights: BinpackWeights) -> float:
    score = 0.0
    weight_sum = 0
    for name in request.names():
        req = request.get(name)
        w = weights.resources.get(name)
        if w is None:
            continue
        s = resource_binpack_score(req, allocatable.get(name), used.get(name), w)
        if s is None:
            return 0.0
        score += s
        weight_sum += w
    if weight_sum > 0:
        score /= weight_sum
    return score * float(MAX_NODE_SCORE * weights.weight)


class BinpackPlugin(Plugin):
    name = "binpack"

    def __init__(self, arguments: Arguments | None = None) -> None:
        super().__init__(arguments)
        self.weights = BinpackWeights.from_arguments(self.arguments)

    def on_session_open(self, ssn: Session) -> None:
        if self.weights.weight == 0:
            return

        def node_order(task: TaskInfo, node: NodeInfo) -> float:
            return binpack_score(task.resreq, node.allocatable, node.used, self.weights)

        ssn.add_node_order_fn(self.name, node_order)


class BinpackForm:
    """:func:`binpack_score` of a task over matrix nodes, with the same float operations."""

    def __init__(self, plugin: BinpackPlugin, ssn: Session, matrix: NodeMatrix) -> None:
        del ssn
        self.weights = plugin.weights
        self.matrix = matrix
        self._cache: ColumnCache[np.float64] = ColumnCache(matrix)

    def scores(self, task: TaskInfo, idx: IndexArray) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self._values(task.resreq)[idx]
        return out

    def _values(self, request: Resource) -> NDArray[np.float64]:
        """The scores of ``request`` over every node (kept, patched on the nodes that change)."""
        self.matrix.sync()
        return self._cache.get(
            request, lambda at: self._scores(request, at), lambda i: self._score_at(request, i)
        )

    def kernel_parts(self, task: TaskInfo) -> NDArray[np.float64]:
        """The scores over every node (element-wise), for :func:`.kernel.search`."""
        return self._values(task.resreq)

    def _scores(self, request: Resource, idx: IndexArray) -> NDArray[np.float64]:
        """Element-wise over nodes ``idx``: a node's score reads its own columns only."""
        m = self.matrix
        score: NDArray[np.float64] = np.zeros(len(idx), dtype=np.float64)
        overflow = np.zeros(len(idx), dtype=np.bool_)
        weight_sum = 0
        for name in request.names():
            w = self.weights.resources.get(name)
            if w is None:
                continue
            weight_sum += w
            if w == 0:
                continue
            try:
                col = m.space.index(name)
            except KeyError:
                continue  # no node has it: capacity 0 scores 0
            capacity = m.allocatable[col, idx]
            final = capacity - m.idle[col, idx] + request.get(name)
            counted = capacity != 0
            overflow |= counted & (final > capacity)
            part = np.where(counted, final * w / np.where(counted, capacity, 1), 0.0)
            score = score + np.where(counted & (final <= capacity), part, 0.0)
        if weight_sum > 0:
            score = score / weight_sum
        score = score * float(MAX_NODE_SCORE * self.weights.weight)
        score[overflow] = 0.0
        return score

    def _score_at(self, request: Resource, i: int) -> float:
        """:meth:`_scores` of node ``i`` in Python numbers, with the same float operations."""
        m = self.matrix
        score = 0.0
        overflow = False
        weight_sum = 0
        for name in request.names():
            w = self.weights.resources.get(name)
            if w is None:
                continue
            weight_sum += w
            if w == 0:
                continue
            try:
                col = m.space.index(name)
            except KeyError:
                continue
            capacity = int(m.allocatable[col, i])
            final = capacity - int(m.idle[col, i]) + request.get(name)
            counted = capacity != 0
            overflow = overflow or (counted and final > capacity)
            part = float(final * w) / float(capacity) if counted else 0.0
            score = score + (part if counted and final <= capacity else 0.0)
        if weight_sum > 0:
            score = score / float(weight_sum)
        score = score * float(MAX_NODE_SCORE * self.weights.weight)
        return 0.0 if overflow else score


register_plugin(BinpackPlugin.name, BinpackPlugin)
register_vector_node_order(BinpackPlugin.name, BinpackForm)
