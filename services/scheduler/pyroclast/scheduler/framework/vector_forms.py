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

from collections.abc import Callable
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
    "NO_SCORES",
    "VECTOR_BATCH_NODE_ORDER",
    "VECTOR_NODE_ORDER",
    "VECTOR_PREDICATES",
    "IntScores",
    "KernelScores",
    "Label",
    "PredicateForm",
    "ScoreForm",
    "VectorForms",
    "register_vector_batch_node_order",
    "register_vector_node_order",
    "register_vector_predicate",
]

FloatArray = NDArray[np.float64]
#: A score part of :func:`.kernel.search` normalised over the group: raw values over every
#: node, weight, reverse.
Label = tuple[NDArray[np.int64], int, bool]


class PredicateForm(Protocol):
    def mask(self, task: TaskInfo) -> BoolArray | None:
        """Nodes that pass (every node of the matrix); None to leave this task to the scalar form."""

    def codes(self, task: TaskInfo, idx: IndexArray, table: ErrorTable) -> NDArray[np.int64]:
        """Error codes (``table``) of the failing nodes ``idx``: the statuses the scalar form returns."""


class ScoreForm(Protocol):
    def scores(self, task: TaskInfo, idx: IndexArray) -> FloatArray | None:
        """The scalar function's score of each node of ``idx`` (candidates, node order); None: declined."""


# A score form may also offer ``kernel_parts(task)`` (see ``VectorForms.kernel_scores``),
# for the fused search of :func:`.kernel.search`.


class IntScores:
    """An integer score for :func:`.kernel.search`: ``values`` (over every node; None: zeros)
    plus ``base``, plus each label normalised over the group and weighted."""

    __slots__ = ("base", "labels", "values")

    def __init__(self, values: NDArray[np.int64] | None, base: int, labels: tuple[Label, ...]) -> None:
        self.values = values
        self.base = base
        self.labels = labels


#: (fvals, ivals, base, labels) as :func:`.kernel.search` takes them
KernelScores = tuple[FloatArray | None, NDArray[np.int64] | None, int, tuple[Label, ...]]
NO_SCORES: KernelScores = (None, None, 0, ())


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
        # each side's forms' ``kernel_parts`` (None for a form without one), looked up once
        self._parts: tuple[list[Callable[[TaskInfo], Any] | None], ...] = tuple(
            [getattr(form, "kernel_parts", None) for form in forms] for forms in (self.node_order, self.batch)
        )

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

    def kernel_scores(self, task: TaskInfo) -> KernelScores | None:
        """The scores of ``task`` as :func:`.kernel.search` takes them (``fvals``, ``ivals``,
        ``base``, ``labels``); None when a form gives no kernel parts, or when the parts
        cannot be summed there as :meth:`scores` sums them.

        A form's ``kernel_parts(task)`` gives either a float array over every node (its
        score, element-wise) or :class:`IntScores` (an integer score made of element-wise
        values and labels normalised over the group, then taken as a float). The kernel adds
        one float array to one such integer score: so the float forms are summed here over
        every node, in :meth:`scores`' order, and an integer score must be alone on its side.
        """
        if not self.scoring:
            return NO_SCORES
        if not self.scores_vectorised:
            return None
        ints: IntScores | None = None
        sums: list[FloatArray | None] = []
        for side in self._parts:
            total: FloatArray | None = None
            for parts_of in side:
                part = parts_of(task) if parts_of is not None else None
                if part is None:
                    return None
                if isinstance(part, IntScores):
                    if ints is not None or len(side) != 1:
                        return None
                    ints = part
                else:
                    # (0.0 + x is x: the first term needs no addition)
                    total = part if total is None else total + part
            sums.append(total)
        first, second = sums
        fvals = first if second is None else second if first is None else first + second
        if ints is None:
            return fvals, None, 0, ()
        return fvals, ints.values, ints.base, ints.labels
