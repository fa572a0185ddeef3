"""Per-node values of a task shape over every matrix node, kept and patched as nodes change.

A node score that depends only on the task's shape and the node's own state (least/most
allocated, balanced allocation, binpack) is computed once over all nodes for a shape,
then, at each later use, recomputed only on the nodes the matrix re-read since (a task
placed on one node changes that node's column only). The value of a node is computed by
the same element-wise expression either way, so a cached value equals a fresh one. Beyond
a share of changed nodes the whole array is recomputed. Callers sync the matrix (and
whatever rows their expression reads) before :meth:`ColumnCache.get`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from pyroclast.scheduler.framework.vector import IndexArray, NodeMatrix

__all__ = ["ColumnCache"]

#: Up to this many changed nodes are patched one by one with the scalar function.
_SCALAR_PATCH = 8

S = TypeVar("S", bound=np.generic)


class _Entry(Generic[S]):
    __slots__ = ("stamp", "values")

    def __init__(self, values: NDArray[S], stamp: int) -> None:
        self.values = values
        self.stamp = stamp


class ColumnCache(Generic[S]):
    """Arrays over all nodes, one per key, valid up to a stamp of the matrix's change log."""

    def __init__(self, matrix: NodeMatrix, *, max_entries: int = 256) -> None:
        self.matrix = matrix
        self.all: IndexArray = np.arange(len(matrix.nodes), dtype=np.intp)
        self._entries: dict[Hashable, _Entry[S]] = {}
        self._max_entries = max_entries
        # patch up to this many changed nodes; recompute everything beyond
        self._patch_limit = max(16, len(matrix.nodes) // 8)

    def get(
        self,
        key: Hashable,
        compute: Callable[[IndexArray], NDArray[S]],
        compute_at: Callable[[int], float] | None = None,
    ) -> NDArray[S]:
        """The values of ``key`` over all nodes (read-only for the caller).

        ``compute_at`` (optional) gives one node's value with Python numbers, equal to
        ``compute``'s: a patch of a few nodes uses it (no array overhead).
        """
        log = self.matrix.log
        stamp = len(log)
        entry = self._entries.get(key)
        if entry is None or stamp - entry.stamp > self._patch_limit:
            values = compute(self.all)
            if entry is None:
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
                entry = self._entries[key] = _Entry(values, stamp)
            else:
                entry.values, entry.stamp = values, stamp
            return values
        if entry.stamp != stamp:
            changed = log[entry.stamp :]
            if compute_at is not None and len(changed) <= _SCALAR_PATCH:
                values = entry.values
                for i in set(changed):
                    values[i] = compute_at(i)
                entry.stamp = stamp
                return values
            uniq = set(changed)  # (in any order: the values are element-wise)
            idx = np.fromiter(uniq, dtype=np.intp, count=len(uniq))
            entry.values[idx] = compute(idx)
            entry.stamp = stamp
        return entry.values
