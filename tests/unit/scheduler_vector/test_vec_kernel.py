"""One node search (:mod:`.framework.kernel`, the reference the native build equals): the
window in rotated node order, the stop, the failures recorded, the best node."""

from __future__ import annotations

from typing import Any

import numpy as np

from pyroclast.scheduler.framework.kernel import search

N = 10


def _args(**over: Any) -> dict[str, Any]:
    future = np.full((2, N), 4, dtype=np.int64)
    args: dict[str, Any] = {
        "start": 0,
        "wanted": 3,
        "future": future,
        "idle": future.copy(),
        "cols": np.array([0, 1], dtype=np.intp),
        "amounts": np.array([2, 2], dtype=np.int64),
        "pmask": None,
        "ok": None,
        "record": False,
        "task": None,
        "pending": None,
        "t": 5,
        "failing": np.full(N, -1, dtype=np.intp),
        "scoring": True,
        "fvals": None,
        "ivals": None,
        "base": 0,
        "labels": (),
    }
    args.update(over)
    return args


def _search(args: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return search(**args)


def test_window_wraps_and_stops_on_the_next_candidate() -> None:
    # candidates 7, 8, 9, 0 from 7; the next one, 1, is where the search stops
    count, stop, best, short, failed = _search(_args(start=7, wanted=4))
    assert (count, stop, short, failed) == (4, 1, 0, 0)
    # equal scores: the first in node order, 0, though the walk met it last
    assert best == 0


def test_fewer_candidates_than_wanted_walk_every_node() -> None:
    pmask = np.zeros(N, dtype=np.bool_)
    pmask[[2, 6]] = True
    count, stop, best, _, _ = _search(_args(start=4, wanted=3, pmask=pmask))
    assert (count, stop, best) == (2, -1, 2)


def test_failures_met_are_recorded_until_the_stop() -> None:
    future = np.full((2, N), 4, dtype=np.int64)
    future[1, 3] = 1  # node 3 is short of the second resource
    future[0, 8] = 0  # node 8 too, but the walk stops before it
    pmask = np.ones(N, dtype=np.bool_)
    pmask[[4, 1]] = False  # nodes 4 and 1 fail a predicate
    ok = np.ones(N, dtype=np.bool_)
    ok[5] = False  # node 5 failed earlier: skipped, not recorded again
    task = np.full(N, -1, dtype=np.int64)
    pending = np.zeros(N, dtype=np.bool_)
    args = _args(start=2, wanted=3, future=future, idle=future.copy(), pmask=pmask, ok=ok, record=True,
                 task=task, pending=pending)  # fmt: skip
    count, stop, best, short, failed = _search(args)
    # walked: 2 taken, 3 short, 4 failing, 5 skipped, 6 and 7 taken, 8 short, 9 the stop
    assert (count, stop) == (3, 9)
    assert (short, failed) == (2, 1)
    assert args["failing"][:failed].tolist() == [4]
    assert np.flatnonzero(~ok).tolist() == [3, 4, 5, 8]
    assert np.flatnonzero(pending).tolist() == [3, 8]
    assert task[[3, 4, 8]].tolist() == [5, 5, 5]
    assert task[5] == -1
    assert pmask[1] == np.False_
    assert ok[1]
    assert best == 2


def test_idle_nodes_first_then_the_highest_score() -> None:
    idle = np.full((2, N), 4, dtype=np.int64)
    idle[0, [0, 1]] = 0  # nodes 0 and 1 fit only their future idle
    ivals = np.arange(N, dtype=np.int64)[::-1].copy()  # node 0 scores highest
    count, _, best, _, _ = _search(_args(wanted=4, idle=idle, ivals=ivals))
    assert (count, best) == (4, 2)  # the best of the idle group 2, 3
    _, _, best, _, _ = _search(_args(wanted=4, idle=idle, ivals=ivals, scoring=False))
    assert best == 2  # no scoring: the first idle node
    idle[0, :] = 0
    _, _, best, _, _ = _search(_args(wanted=4, idle=idle, ivals=ivals))
    assert best == 0  # none idle: the whole window competes


def test_scores_add_floats_to_normalised_labels() -> None:
    raw = np.zeros(N, dtype=np.int64)
    raw[[1, 2]] = [5, 10]
    fvals = np.zeros(N, dtype=np.float64)
    fvals[0] = 60.0
    # affinity-like label (weight 1): node 2 gets 100, node 1 50, node 0 0 + 60 from fvals
    _, _, best, _, _ = _search(_args(wanted=3, fvals=fvals, labels=((raw, 1, False),)))
    assert best == 2
    # reversed (taint-like): node 0 gets 100 + 60
    _, _, best, _, _ = _search(_args(wanted=3, fvals=fvals, labels=((raw, 1, True),)))
    assert best == 0
    # all-zero raw values: 0 each, or 100 each reversed; base adds to every node alike
    zero = np.zeros(N, dtype=np.int64)
    _, _, best, _, _ = _search(_args(wanted=3, base=7, labels=((zero, 2, True),)))
    assert best == 0
