"""Element-wise pieces of nodeorder's vector form: kube-scheduler's score normalisation
over an array and for one element. Each equals :mod:`.nodeorder`'s scalar arithmetic."""

from __future__ import annotations

import numpy as np

from pyroclast.scheduler.framework.vector import IntArray
from pyroclast.scheduler.plugins.nodeorder import MAX_NODE_SCORE

__all__ = ["normalize", "normalize_one"]


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
