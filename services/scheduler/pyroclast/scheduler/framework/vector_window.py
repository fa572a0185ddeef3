"""A search's window: the first ``wanted`` candidates in rotated node order, and its stop."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["take_window"]

IndexArray = NDArray[np.intp]


def take_window(nz: IndexArray, k: int, wanted: int) -> tuple[IndexArray, int]:
    """The first ``wanted`` candidates ``nz`` (ascending) in rotated order from position ``k``
    (in node order), and the next one, where the search stops (-1 when there is none)."""
    tail = nz[k : k + wanted + 1]
    head = nz[: min(wanted + 1 - len(tail), k)]
    stop = -1
    if len(tail) + len(head) > wanted:
        if len(head):
            stop, head = int(head[-1]), head[:-1]
        else:
            stop, tail = int(tail[-1]), tail[:-1]
    return (np.concatenate((head, tail)) if len(head) else tail), stop
