"""Fit errors of a vectorised node search, kept as codes and turned into objects only when read.

A search that finds no node records an error for every node; with thousands of nodes
building a :class:`FitError` per node and task is the slow part, while a session mostly
reads the errors as a reason histogram. :class:`CodedFitErrors` holds the failing nodes
(in the order they were checked) and an error code per node; ``nodes`` is built on first
access, ``reason_histogram`` and ``message`` come from the code counts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pyroclast.scheduler.api import FitError, FitErrors, Status, TaskInfo

__all__ = ["CodedFitErrors", "ErrorTable", "GroupCache"]


class ErrorTable:
    """Interned status tuples (an error code stands for one) and the tasks errors were made for."""

    def __init__(self) -> None:
        self.statuses: list[tuple[Status, ...]] = []
        self._codes: dict[tuple[Status, ...], int] = {}
        self.tasks: list[TaskInfo] = []
        self._task_index: dict[str, int] = {}

    def code(self, namespace: str, name: str, statuses: tuple[Status, ...]) -> int:
        """The code of a predicate's failing ``statuses`` for a task (the search records which task)."""
        del namespace, name
        return self.status_code(statuses)

    @property
    def keys(self) -> list[tuple[str, str, tuple[Status, ...]]]:
        """``("", "", statuses)`` per code (older form; the task is kept per node, not per code)."""
        return [("", "", st) for st in self.statuses]

    def status_code(self, statuses: tuple[Status, ...]) -> int:
        code = self._codes.get(statuses)
        if code is None:
            code = self._codes[statuses] = len(self.statuses)
            self.statuses.append(statuses)
        return code

    def index_of(self, task: TaskInfo) -> int:
        """The task's index: its own when it has one, else the one :meth:`task_index` would give it."""
        return self._task_index.get(task.uid, len(self.tasks))

    def task_index(self, task: TaskInfo) -> int:
        i = self._task_index.get(task.uid)
        if i is None:
            i = self._task_index[task.uid] = len(self.tasks)
            self.tasks.append(task)
        return i

    def error(self, code: int, task: int, node_name: str) -> FitError:
        t = self.tasks[task]
        return FitError(t.namespace, t.name, node_name, list(self.statuses[code]))


class GroupCache:
    """Per node: the error code (-1: none), the task it failed for, whether it may be used.

    ``pending`` marks resource failures whose code is not computed yet: it is computed from
    the node's row before the row next changes (the row still holds the state it failed in).
    """

    __slots__ = ("codes", "ok", "pending", "task")

    def __init__(self, n: int) -> None:
        self.codes = np.empty(n, dtype=np.int64)
        self.codes.fill(-1)
        self.task = np.empty(n, dtype=np.int64)
        self.task.fill(-1)
        self.ok = np.empty(n, dtype=np.bool_)
        self.ok.fill(True)
        self.pending = np.zeros(n, dtype=np.bool_)


class CodedFitErrors(FitErrors):
    """:class:`FitErrors` of nodes ``order`` (indices into ``names``) with error ``codes`` and tasks."""

    def __init__(
        self,
        table: ErrorTable,
        names: list[str],
        order: NDArray[np.intp],
        codes: NDArray[np.int64],
        tasks: NDArray[np.int64],
    ) -> None:
        self._table = table
        self._names = names
        self._order = order
        self._codes = codes
        self._tasks = tasks
        self._built: dict[str, FitError] | None = None
        self.err = ""
        self.hyper_node = ""

    @property
    def nodes(self) -> dict[str, FitError]:
        if self._built is None:
            names, table = self._names, self._table
            rows = zip(self._order.tolist(), self._codes.tolist(), self._tasks.tolist(), strict=True)
            self._built = {names[i]: table.error(c, t, names[i]) for i, c, t in rows}
        return self._built

    @nodes.setter
    def nodes(self, value: dict[str, FitError]) -> None:
        self._built = value

    def reason_histogram(self) -> dict[str, int]:
        if self._built is not None:
            return super().reason_histogram()
        uniq, first, counts = np.unique(self._codes, return_index=True, return_counts=True)
        reasons: dict[str, int] = {}
        for pos in np.argsort(first, kind="stable").tolist():
            statuses = self._table.statuses[int(uniq[pos])]
            n = int(counts[pos])
            for st in statuses:
                if st.reason:
                    reasons[st.reason] = reasons.get(st.reason, 0) + n
        return reasons

    def message(self) -> str:
        count = len(self._order) if self._built is None else len(self._built)
        err = self.err or f"0/{count} nodes are unavailable"
        if not count:
            return err
        parts = sorted(f"{v} {k}" for k, v in self.reason_histogram().items())
        msg = f"{err}: {', '.join(parts)}."
        if self.hyper_node:
            msg = f"In hyperNode {self.hyper_node}: {msg}"
        return msg
