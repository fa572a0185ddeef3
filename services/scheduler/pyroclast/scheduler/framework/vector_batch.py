"""Consecutive node searches for tasks of one shape (the replicas of a gang), batched.

The tasks of a gang role usually ask for the same resources and pass the same predicate
masks, and between two of them only the node the first one went to changes. A
:class:`CandidateRuns` keeps, per shape, the candidate mask ``fit & ok & predicates``
over every node and its sorted indices; the next search of that shape patches the nodes
the matrix re-read since (one, mostly) instead of combining the masks and listing their
nodes again. The masks it is built from are the matrix's and the forms' own (patched the
same way), held here so that their identity keys the run: a mask rebuilt whole, another
shape, or a change of the error cache (``ok``) starts a new run. The candidates are the
same indices :meth:`VectorSearch.predicate_nodes` would list, so the search's decisions
do not change. The runs live as long as the session's matrix (:class:`.vector.VectorState`),
so a job turn starts from the runs of earlier turns: a run without an error cache depends on
the masks only; one with an error cache is keyed by that turn's ``ok`` array, which the run
holds (its id is not reused while the run lives).
"""

from __future__ import annotations

import numpy as np

from pyroclast.scheduler.framework.vector import BoolArray, IndexArray, NodeMatrix

__all__ = ["CandidateRuns"]

#: Runs kept (shapes searched lately); beyond, the oldest are dropped.
_MAX_RUNS = 32


class _Run:
    __slots__ = ("cand", "fit", "nz", "ok", "ok_version", "pmask", "stamp")

    def __init__(
        self,
        fit: BoolArray,
        pmask: BoolArray | None,
        ok: BoolArray | None,
        ok_version: int,
        stamp: int,
    ) -> None:
        self.fit = fit
        self.pmask = pmask
        self.ok = ok
        self.ok_version = ok_version
        self.stamp = stamp
        cand = fit if ok is None else fit & ok
        cand = cand & pmask if pmask is not None else cand.copy()
        self.cand: BoolArray = cand
        self.nz: IndexArray = cand.nonzero()[0]


class CandidateRuns:
    """Candidate node indices of the shapes searched in one job turn, kept between searches."""

    def __init__(self, matrix: NodeMatrix) -> None:
        self.matrix = matrix
        self._runs: dict[tuple[int, int, int], _Run] = {}

    def candidates(
        self, fit: BoolArray, pmask: BoolArray | None, ok: BoolArray | None, ok_version: int
    ) -> IndexArray:
        """``flatnonzero(fit & ok & pmask)``, the masks being up to date with the matrix's log.

        The array returned is never modified afterwards (a patch makes a new one).
        """
        key = (id(fit), id(pmask), id(ok))
        stamp = len(self.matrix.log)
        run = self._runs.get(key)
        if run is None or (ok is not None and run.ok_version != ok_version):
            if run is None and len(self._runs) >= _MAX_RUNS:
                del self._runs[next(iter(self._runs))]
            # (the run holds the masks, so ids of live runs are not reused)
            run = self._runs[key] = _Run(fit, pmask, ok, ok_version, stamp)
            return run.nz
        if run.stamp != stamp:
            self._patch(run, self.matrix.log[run.stamp :])
            run.stamp = stamp
        return run.nz

    @staticmethod
    def _patch(run: _Run, changed: list[int]) -> None:
        fit, pmask, ok, cand = run.fit, run.pmask, run.ok, run.cand
        for i in set(changed):
            now = bool(fit[i]) and (pmask is None or bool(pmask[i])) and (ok is None or bool(ok[i]))
            if now != bool(cand[i]):
                cand[i] = now
                pos = int(run.nz.searchsorted(i))
                run.nz = np.insert(run.nz, pos, i) if now else np.delete(run.nz, pos)
