"""One node search of allocate, whole: the window of candidates, the failures met, the best node.

:func:`search` is what :func:`.vector_gang.choose` runs for a task in the common case (every
predicate a node mask, every score a vector form). From ``start`` it walks the nodes in
rotated order; a node is a candidate when its future idle fits the request (rows ``cols``
of ``future`` at least ``amounts``), ``pmask`` passes it and the role's error cache ``ok``
does not mark it failed. It takes the first ``wanted`` candidates and stops on the next
one (``stop``; -1 when the walk comes back to ``start`` first). With ``record``, each node
walked that newly fails is written to the error cache: ``ok`` cleared and ``task`` set to
``t``; a resource failure is marked ``pending`` (its code is computed later), a predicate
failure is listed in ``failing`` (walk order) for its code. The best node is chosen among
the candidates taken whose idle fits (all of them when none does): with no ``scoring`` the
first in node order; else the first of the highest score, where a node's score is
``fvals[i] + float(ivals[i] + base + sum of its labels)``, each label ``(raw, weight,
reverse)`` adding ``weight`` times kube-scheduler's normalisation of ``raw[i]`` by the
maximum of ``raw`` over that group (see :mod:`.plugins.nodeorder_norm`).

It returns ``(count, stop, best, shortfalls, failures)``: the number of candidates taken,
the stop, the best node (-1 when none was taken), and how many resource and predicate
failures were recorded. :func:`put` writes a node's values into its column of such a
matrix. This module is the reference; the native build replaces it with ``kernel.c``, which
does the same in one pass over the walked nodes (a test compares the two on random inputs,
side effects included).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pyroclast.scheduler.framework.vector_window import take_window

__all__ = ["put", "search"]

MAX_NODE_SCORE = 100

#: A score part normalised over the group: raw values over all nodes, weight, reverse.
_Label = tuple[NDArray[np.int64], int, bool]


def search(
    start: int,
    wanted: int,
    future: NDArray[np.int64],
    idle: NDArray[np.int64],
    cols: NDArray[np.intp],
    amounts: NDArray[np.int64],
    pmask: NDArray[np.bool_] | None,
    ok: NDArray[np.bool_] | None,
    record: bool,
    task: NDArray[np.int64] | None,
    pending: NDArray[np.bool_] | None,
    t: int,
    failing: NDArray[np.intp],
    scoring: bool,
    fvals: NDArray[np.float64] | None,
    ivals: NDArray[np.int64] | None,
    base: int,
    labels: tuple[_Label, ...],
) -> tuple[int, int, int, int, int]:
    """See the module's docstring; ``record`` needs ``ok``, ``task`` and ``pending``."""
    total = future.shape[1]
    fit: NDArray[np.bool_] = np.logical_and.reduce(future[cols] >= amounts[:, None], axis=0)
    cand = fit if ok is None else fit & ok
    if pmask is not None:
        cand = cand & pmask
    nz = cand.nonzero()[0]
    found, stop = take_window(nz, int(nz.searchsorted(start)), wanted)
    shortfalls = failures = 0
    if record:
        if ok is None or task is None or pending is None:
            raise ValueError("recording needs ok, task, pending and room for every node in failing")
        processed = (stop - start) % total + 1 if stop >= 0 else total
        walked = (np.arange(start, start + processed)) % total
        short = walked[ok[walked] & ~fit[walked]]
        bad = walked[ok[walked] & fit[walked] & ~pmask[walked]] if pmask is not None else walked[:0]
        shortfalls, failures = len(short), len(bad)
        failing[:failures] = bad
        for idx in (short, bad):
            ok[idx] = False
            task[idx] = t
        pending[short] = True
    return (
        len(found),
        stop,
        _best(found, idle, cols, amounts, scoring, fvals, ivals, base, labels),
        shortfalls,
        failures,
    )


def _best(
    found: NDArray[np.intp],
    idle: NDArray[np.int64],
    cols: NDArray[np.intp],
    amounts: NDArray[np.int64],
    scoring: bool,
    fvals: NDArray[np.float64] | None,
    ivals: NDArray[np.int64] | None,
    base: int,
    labels: tuple[_Label, ...],
) -> int:
    if not len(found):
        return -1
    idle_ok = (idle[cols][:, found] >= amounts[:, None]).all(axis=0)
    if not scoring:
        return int(found[int(idle_ok.argmax())])
    group = found[idle_ok] if idle_ok.any() else found
    total = ivals[group] + base if ivals is not None else np.full(len(group), base, dtype=np.int64)
    for raw, weight, reverse in labels:
        values = raw[group]
        top = int(values.max())
        if top > 0:
            norm = MAX_NODE_SCORE * values // top
            norm = MAX_NODE_SCORE - norm if reverse else norm
        else:
            norm = np.full(len(group), MAX_NODE_SCORE, dtype=np.int64) if reverse else values
        total = total + norm * weight
    scores = total.astype(np.float64)
    if fvals is not None:
        scores = fvals[group] + scores
    return int(group[int(scores.argmax())])


def put(array: NDArray[np.int64], row: int, column: int, values: Sequence[int]) -> None:
    """``array[row : row + len(values), column] = values`` (a matrix's column of a node)."""
    if row < 0 or column < 0 or column >= array.shape[1] or row + len(values) > array.shape[0]:
        raise IndexError("the values do not fit in the array there")
    array[row : row + len(values), column] = values
