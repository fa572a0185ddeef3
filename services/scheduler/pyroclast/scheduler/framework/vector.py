"""The session's node x resource matrices, kept in step with the scalar :class:`NodeInfo`\\ s.

Node ``i`` of ``ssn.node_list`` is column ``i``; the rows follow a :class:`ResourceSpace`
covering every resource of the nodes and of the session's task requests, plus a last row
of zeros that a request naming any other resource is compared with. Stored resource x
node, one resource over all nodes is a contiguous row. An event
handler marks a node dirty whenever a task is (de)allocated on it; dirty columns are
re-read from the :class:`NodeInfo` (the oracle) before the next use, so the matrices
never replicate the node arithmetic. Fit masks per request are cached and refreshed on
the nodes changed since (consecutive tasks of a gang ask for the same resources).

``PYROCLAST_SCHEDULER_VECTORISED=0`` (read once, at import) makes sessions use the
scalar reference by default; ``Session(..., vectorised=...)`` decides per session.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from pyroclast.common.resources import CPU, MEMORY, Resource, ResourceSpace
from pyroclast.scheduler.api import NodeInfo
from pyroclast.scheduler.framework.extensions import Event, EventHandler
from pyroclast.scheduler.framework.kernel import put
from pyroclast.scheduler.framework.vector_errors import ErrorTable

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.session import Session
    from pyroclast.scheduler.framework.vector_batch import CandidateRuns
    from pyroclast.scheduler.framework.vector_forms import VectorForms

__all__ = ["VECTORISED_DEFAULT", "NodeMatrix", "RequestPlan", "VectorState"]

VECTORISED_DEFAULT: bool = os.environ.get("PYROCLAST_SCHEDULER_VECTORISED", "1").strip().lower() not in (
    "0",
    "false",
    "no",
    "off",
)

#: Beyond this many changed nodes a cached mask is recomputed rather than patched.
_PATCH_LIMIT = 32

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
IndexArray = NDArray[np.intp]


class _CachedMask:
    """A fit mask of one request over one matrix, valid up to ``stamp`` in the change log."""

    __slots__ = ("mask", "stamp")

    def __init__(self) -> None:
        self.mask: BoolArray | None = None
        self.stamp = 0


@dataclass(slots=True)
class RequestPlan:
    """A request in matrix terms: the columns its ``less_equal`` checks, in ``insufficient`` order."""

    cols: IndexArray
    amounts: IntArray
    names: tuple[str, ...]
    pairs: list[tuple[int, int]]
    future: _CachedMask = field(default_factory=_CachedMask)
    idle: _CachedMask = field(default_factory=_CachedMask)


def _row(names: tuple[str, ...], res: Resource) -> list[int]:
    if not res.has_scalars():
        return [res.cpu_milli, res.memory, *[0 for _ in names]]
    return [res.cpu_milli, res.memory, *[res.get(n) for n in names]]


class NodeMatrix:
    """Idle, future-idle and allocatable amounts and task counts of every node."""

    def __init__(self, nodes: list[NodeInfo], space: ResourceSpace) -> None:
        self.nodes = nodes
        self.names = [n.name for n in nodes]
        self.index = {n.name: i for i, n in enumerate(nodes)}
        self.space = space
        cols = space.names
        if cols[:2] != (CPU, MEMORY):
            raise ValueError("the space must start with cpu and memory")
        n = len(nodes)
        # One row per column of the space, plus a last row of zeros for resources no node has.
        self.zero_row = len(cols)
        self.columns = {name: c for c, name in enumerate(cols)}
        self.idle = np.zeros((len(cols) + 1, n), dtype=np.int64)
        self.future = np.zeros((len(cols) + 1, n), dtype=np.int64)
        self.allocatable = np.zeros((len(cols) + 1, n), dtype=np.int64)
        self.ntasks = np.zeros(n, dtype=np.int64)
        self._scalar_names = cols[2:]
        #: Called with a node's index after its columns are re-read (vector forms keep sums so).
        self.watchers: list[Callable[[int], None]] = []
        for i, node in enumerate(nodes):
            self.allocatable[: self.zero_row, i] = _row(self._scalar_names, node.allocatable)
            self._refresh(i)
        self.dirty: set[int] = set()
        self.log: list[int] = []
        self._plans: dict[Resource, RequestPlan] = {}

    # -- keeping in step ----------------------------------------------------------------
    def _refresh(self, i: int) -> None:
        node = self.nodes[i]
        scalars = self._scalar_names
        idle = _row(scalars, node.idle)
        put(self.idle, 0, i, idle)
        rel, pip = node.releasing, node.pipelined
        moving = rel.cpu_milli or rel.memory or rel.has_scalars()
        if moving or pip.cpu_milli or pip.memory or pip.has_scalars():
            rows = zip(idle, _row(scalars, rel), _row(scalars, pip), strict=True)
            put(self.future, 0, i, [a + b - c for a, b, c in rows])
        else:
            put(self.future, 0, i, idle)
        self.ntasks[i] = len(node.tasks)
        for watch in self.watchers:
            watch(i)

    def mark(self, node_name: str) -> None:
        i = self.index.get(node_name)
        if i is not None:
            self.dirty.add(i)

    def sync(self) -> None:
        """Re-read the nodes changed since the last sync."""
        if not self.dirty:
            return
        for i in sorted(self.dirty):
            self._refresh(i)
            self.log.append(i)
        self.dirty.clear()

    # -- requests -----------------------------------------------------------------------
    def plan(self, request: Resource) -> RequestPlan:
        """The columns ``request.less_equal(node, ZERO)`` checks: cpu, memory, then its scalars."""
        plan = self._plans.get(request)
        if plan is None:
            names = (CPU, MEMORY, *request.scalars)
            cols = np.array([self.columns.get(n, self.zero_row) for n in names], dtype=np.intp)
            amounts = np.array([request.get(n) for n in names], dtype=np.int64)
            pairs = [(int(c), int(a)) for c, a in zip(cols, amounts, strict=True)]
            plan = RequestPlan(cols, amounts, names, pairs)
            self._plans[request] = plan
        return plan

    def _mask(self, plan: RequestPlan, matrix: IntArray, cached: _CachedMask) -> BoolArray:
        self.sync()
        stamp = len(self.log)
        mask = cached.mask
        pairs = plan.pairs
        if mask is None or stamp - cached.stamp > _PATCH_LIMIT:
            mask = matrix[pairs[0][0]] >= pairs[0][1]
            for c, a in pairs[1:]:
                mask &= matrix[c] >= a
            cached.mask = mask
        elif stamp != cached.stamp:
            item = matrix.item  # (Python ints: no numpy scalar per element)
            for i in set(self.log[cached.stamp :]):
                fits = True
                for c, a in pairs:
                    if item(c, i) < a:
                        fits = False
                        break
                mask[i] = fits
        cached.stamp = stamp
        return mask

    def fit_mask(self, request: Resource) -> BoolArray:
        """Nodes whose future idle fits ``request`` (``resource_fit``); do not modify it."""
        plan = self.plan(request)
        return self._mask(plan, self.future, plan.future)

    def idle_mask(self, request: Resource) -> BoolArray:
        """Nodes whose idle fits ``request`` (allocate rather than pipeline); do not modify it."""
        plan = self.plan(request)
        return self._mask(plan, self.idle, plan.idle)

    def first_shortfall(self, request: Resource, idx: IndexArray) -> IndexArray:
        """For nodes ``idx`` that do not fit, the position (in ``plan.names``) of the first shortfall."""
        plan = self.plan(request)
        short = self.future[plan.cols[:, None], idx[None, :]] < plan.amounts[:, None]
        out: IndexArray = short.argmax(axis=0)
        return out


def covering_space(ssn: Session) -> ResourceSpace:
    """cpu, memory and every scalar of the nodes and of the session's tasks."""
    seen: set[str] = set()
    for node in ssn.node_list:
        for res in (node.allocatable, node.idle, node.releasing, node.pipelined):
            if res.has_scalars():
                seen.update(res.scalar_names())
    for job in ssn.jobs.values():
        for task in job.tasks.values():
            for res in (task.resreq, task.init_resreq):
                if res.has_scalars():
                    seen.update(res.scalar_names())
    return ResourceSpace((CPU, MEMORY, *sorted(seen - {CPU, MEMORY})))


class VectorState:
    """A session's vector side: the matrix, built on first use and kept in step by events."""

    def __init__(self, ssn: Session) -> None:
        self.ssn = ssn
        self._matrix: NodeMatrix | None = None
        self.forms: VectorForms | None = None
        #: candidate runs of the session's searches (:mod:`.vector_batch`), built on first use
        self.runs: CandidateRuns | None = None
        #: the error codes of the session's searches, and the codes of resource shortfalls by request
        self.table = ErrorTable()
        self.luts: dict[Resource, NDArray[np.int64]] = {}
        #: room for the node indices a search lists (:mod:`.kernel`), made with the matrix
        self._failing: IndexArray | None = None
        ssn.add_event_handler(EventHandler(allocate=self._changed, deallocate=self._changed))

    def _changed(self, event: Event) -> None:
        if self._matrix is not None:
            self._matrix.mark(event.task.node_name)

    @property
    def failing(self) -> IndexArray:
        if self._failing is None:
            self._failing = np.empty(len(self.matrix.nodes), dtype=np.intp)
        return self._failing

    @property
    def matrix(self) -> NodeMatrix:
        if self._matrix is None:
            self._matrix = NodeMatrix(self.ssn.node_list, covering_space(self.ssn))
        return self._matrix
