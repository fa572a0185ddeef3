"""Vector forms of plugin functions: predicates as node masks, node scores as arrays.

A plugin's scalar functions stay what the session registers and what the scalar path
runs. A vector form computes the same thing over node indices of the session's
:class:`NodeMatrix`; it is registered per plugin name (``register_vector_predicate``,
``register_vector_node_order``, ``register_vector_batch_node_order``) with a builder
``(plugin, session, matrix) -> form``. The vectorised search uses a kind of function in
vector form only when every enabled plugin of that kind has one (scores are added in
the tiers' order, as the scalar sums do, so ties come out the same); otherwise it calls
the scalar functions on the nodes it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from pyroclast.scheduler.api import TaskInfo
from pyroclast.scheduler.conf import ExtensionPoint
from pyroclast.scheduler.framework.vector import BoolArray, IndexArray, NodeMatrix
from pyroclast.scheduler.framework.vector_errors import ErrorTable

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.registry import Plugin
    from pyroclast.scheduler.framework.session import Session

__all__ = [
    "VECTOR_BATCH_NODE_ORDER",
    "VECTOR_NODE_ORDER",
    "VECTOR_PREDICATES",
    "PredicateForm",
    "ScoreForm",
    "VectorForms",
    "register_vector_batch_node_order",
    "register_vector_node_order",
    "register_vector_predicate",
]

FloatArray = NDArray[np.float64]


class PredicateForm(Protocol):
    def mask(self, task: TaskInfo) -> BoolArray | None:
        """Nodes that pass (every node of the matrix); None to leave this task to the scalar form."""

    def codes(self, task: TaskInfo, idx: IndexArray, table: ErrorTable) -> NDArray[np.int64]:
        """Error codes (``table``) of the failing nodes ``idx``: the statuses the scalar form returns."""


class ScoreForm(Protocol):
    def scores(self, task: TaskInfo, idx: IndexArray) -> FloatArray | None:
        """The scalar function's score of each node of ``idx`` (candidates, node order); None: declined."""


# A form may also offer, for the rounds of :mod:`.vector_rounds`:
#   ``plan_key(task) -> Hashable | None``: what its verdicts or scores read of the task, such
#   that tasks of equal keys get the same ones on the same nodes, given that they depend on
#   the nodes' own state only (None: they may depend on other nodes too, e.g. placed pods'
#   affinity); a form without it keeps its tasks out of rounds.
#   ``block_scores(task, blocks, within) -> 2-D array | None``: ``scores`` of each row of
#   ``blocks`` over the nodes ``within`` marks in it (undefined elsewhere).


Builder = Callable[[Any, "Session", NodeMatrix], Any]
VECTOR_PREDICATES: dict[str, Builder] = {}
VECTOR_NODE_ORDER: dict[str, Builder] = {}
VECTOR_BATCH_NODE_ORDER: dict[str, Builder] = {}


def register_vector_predicate(plugin: str, builder: Builder) -> None:
    VECTOR_PREDICATES[plugin] = builder


def register_vector_node_order(plugin: str, builder: Builder) -> None:
    VECTOR_NODE_ORDER[plugin] = builder


def register_vector_batch_node_order(plugin: str, builder: Builder) -> None:
    VECTOR_BATCH_NODE_ORDER[plugin] = builder


def _forms(
    ssn: Session, matrix: NodeMatrix, names: list[str], registry: dict[str, Builder]
) -> list[Any] | None:
    if not all(n in registry for n in names):
        return None
    plugins: dict[str, Plugin] = ssn.plugins
    return [registry[n](plugins[n], ssn, matrix) for n in names]


class VectorForms:
    """The session's predicate and scoring functions, in vector form where possible."""

    def __init__(self, ssn: Session, matrix: NodeMatrix) -> None:
        predicates = ssn.registered_plugins("predicate", ExtensionPoint.PREDICATE)
        node_order = ssn.registered_plugins("node_order", ExtensionPoint.NODE_ORDER)
        batch = ssn.registered_plugins("batch_node_order", ExtensionPoint.NODE_ORDER)
        best = ssn.registered_plugins("best_node", ExtensionPoint.BEST_NODE)
        self.predicates: list[PredicateForm] | None = _forms(ssn, matrix, predicates, VECTOR_PREDICATES)
        self.has_predicates = bool(predicates)
        self.scoring = bool(node_order or batch or best)
        no = _forms(ssn, matrix, node_order, VECTOR_NODE_ORDER)
        bo = _forms(ssn, matrix, batch, VECTOR_BATCH_NODE_ORDER)
        self.node_order: list[ScoreForm] = no or []
        self.batch: list[ScoreForm] = bo or []
        self.scores_vectorised = self.scoring and not best and no is not None and bo is not None

    def predicate_mask(self, task: TaskInfo) -> BoolArray | None:
        """Nodes every plugin predicate passes; None when there are none or one has no vector form."""
        if not self.predicates:
            return None
        mask: BoolArray | None = None
        for form in self.predicates:
            part = form.mask(task)
            if part is None:
                return None
            mask = part if mask is None else mask & part
        return mask

    def predicate_codes(self, task: TaskInfo, idx: IndexArray, table: ErrorTable) -> NDArray[np.int64]:
        """Error codes of nodes that fail a plugin predicate: the first failing plugin's."""
        predicates = self.predicates or []
        if len(predicates) == 1 and predicates[0].mask(task) is not None:
            # The one form's mask is the predicate mask (``predicate_mask``), which nodes
            # ``idx`` fail: each fails that form, and its codes are all of theirs.
            return predicates[0].codes(task, idx, table)
        codes = np.full(len(idx), -1, dtype=np.int64)
        todo = np.ones(len(idx), dtype=np.bool_)
        for form in self.predicates or []:
            part = form.mask(task)
            if part is None:
                continue
            fails = todo & ~part[idx]
            if fails.any():
                codes[fails] = form.codes(task, idx[fails], table)
                todo &= ~fails
        return codes

    def scores(self, task: TaskInfo, idx: IndexArray) -> FloatArray | None:
        """Node order plus batch node order, summed in the scalar order; None if a form declines."""
        return self._summed(len(idx), lambda form: form.scores(task, idx))

    def _summed(
        self, shape: int | tuple[int, ...], part: Callable[[ScoreForm], FloatArray | None]
    ) -> FloatArray | None:
        """Each form's ``part``, the node orders' then the batch node orders' summed as the
        scalar sums are; None if a form declines."""
        if len(self.node_order) + len(self.batch) == 1:
            # one form: 0.0 + x is x (and the node order's sum of no function is 0.0)
            return part((self.node_order or self.batch)[0])
        sums: list[FloatArray] = []
        for forms in (self.node_order, self.batch):
            total: FloatArray = np.zeros(shape, dtype=np.float64)
            for form in forms:
                value = part(form)
                if value is None:
                    return None
                total = total + value
            sums.append(total)
        out: FloatArray = sums[0] + sums[1]
        return out

    def plan_key(self, task: TaskInfo) -> Hashable | None:
        """The forms' keys of ``task`` (see above); None when one has none."""
        keys: list[Hashable] = []
        for form in (*(self.predicates or ()), *self.node_order, *self.batch):
            key_of = getattr(form, "plan_key", None)
            key = key_of(task) if key_of is not None else None
            if key is None:
                return None
            keys.append(key)
        return tuple(keys)

    def block_scores(self, task: TaskInfo, blocks: IndexArray, within: BoolArray) -> FloatArray | None:
        """:meth:`scores` of each row of ``blocks`` (rows of candidates in node order) over the
        nodes of the row that ``within`` marks (their group: what a score is normalised over);
        the values elsewhere are undefined."""
        return self._summed(blocks.shape, lambda form: _block_scores(form, task, blocks, within))


def _block_scores(
    form: ScoreForm, task: TaskInfo, blocks: IndexArray, within: BoolArray
) -> FloatArray | None:
    by_block = getattr(form, "block_scores", None)
    if by_block is not None:
        out: FloatArray | None = by_block(task, blocks, within)
        return out
    rows: FloatArray = np.zeros(blocks.shape, dtype=np.float64)
    for i in range(len(blocks)):
        part = form.scores(task, blocks[i][within[i]])
        if part is None:
            return None
        rows[i][within[i]] = part
    return rows
