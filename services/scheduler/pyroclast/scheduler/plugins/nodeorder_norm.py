"""Element-wise pieces of nodeorder's vector form: kube-scheduler's score normalisation
over an array and for one element, and the weighted mean of the cpu and memory scores.
Each equals :mod:`.nodeorder`'s scalar arithmetic."""

from __future__ import annotations

import numpy as np

from pyroclast.scheduler.framework.vector import IntArray
from pyroclast.scheduler.plugins.nodeorder import MAX_NODE_SCORE

__all__ = ["normalize", "normalize_one", "weighted2"]


def weighted2(p0: int, p1: int, a0: int, a1: int, w0: int, w1: int) -> int:
    """The weighted mean of the cpu and memory scores ``p0``, ``p1`` over the resources the
    node has (allocatable ``a0``, ``a1`` non-zero), as ``_fit`` takes it over arrays."""
    total = weight_sum = 0
    if a0 != 0:
        total += p0 * w0
        weight_sum += w0
    if a1 != 0:
        total += p1 * w1
        weight_sum += w1
    return total // weight_sum if weight_sum > 0 else 0


def normalize(scores: IntArray, *, reverse: bool = False, top: int | None = None) -> IntArray:
    """:func:`.nodeorder.default_normalize` over an array (``top``: its maximum, if known)."""
    if top is None:
        top = int(scores.max()) if len(scores) else 0
    if top <= 0:
        return np.full(len(scores), MAX_NODE_SCORE, dtype=np.int64) if reverse else scores
    out: IntArray = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - out if reverse else out


def normalize_one(score: int, top: int, *, reverse: bool) -> int:
    """One element of :func:`normalize` of an array whose maximum is ``top``."""
    if top <= 0:
        return MAX_NODE_SCORE if reverse else score
    out = MAX_NODE_SCORE * score // top
    return MAX_NODE_SCORE - out if reverse else out
