"""The vector form of nodeorder's batch scores over the session's node matrix.

The resource scores (least/most allocated, balanced allocation) are integer and float
array expressions over per-node request sums kept here: the real and the non-zero
(kube-scheduler's defaults for missing cpu/memory) requests of every task on a node,
re-read for the nodes the matrix re-synced. The label-based scores (node affinity, taint
toleration) are computed once per distinct pod preference over all nodes (labels and
taints do not change in a session), inter-pod affinity per call by the scalar function. Each
operation mirrors :func:`.nodeorder.batch_scores`, its oracle, so the numbers are equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec
import numpy as np
from numpy.typing import NDArray

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.resources import CPU, GPU, MEMORY
from pyroclast.scheduler.api import NodeInfo, TaskInfo
from pyroclast.scheduler.framework.vector import IndexArray, NodeMatrix
from pyroclast.scheduler.plugins.nodeorder import (
    MAX_NODE_SCORE,
    is_best_effort,
    node_affinity_score,
    nonzero_request,
    taint_toleration_score,
)
from pyroclast.scheduler.plugins.pod_affinity_score import inter_pod_affinity_scores, topology_scores

if TYPE_CHECKING:
    from pyroclast.scheduler.framework import Session
    from pyroclast.scheduler.plugins.nodeorder import NodeOrderPlugin

__all__ = ["NodeOrderForm"]

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
_RES = (CPU, MEMORY, GPU)


class NodeOrderForm:
    """``batch_scores`` of a task over matrix nodes."""

    def __init__(self, plugin: NodeOrderPlugin, ssn: Session, matrix: NodeMatrix) -> None:
        self.w = plugin.weights
        self.ssn = ssn
        self.matrix = matrix
        n = len(matrix.nodes)
        # One matrix, so that the candidates' columns are gathered at once: allocatable
        # (cpu, memory, gpu), the same with 1 for 0 (a safe divisor), the requests
        # (cpu, memory, gpu) and the non-zero requests (cpu, memory with defaults).
        self.rows = np.zeros((11, n), dtype=np.int64)
        self.alloc = self.rows[0:3]
        self.safe = self.rows[3:6]
        self.requested = self.rows[6:9]
        self.nonzero = self.rows[9:11]
        self.alloc[:] = np.array(
            [[node.allocatable.get(r) for node in matrix.nodes] for r in _RES], dtype=np.int64
        ).reshape(3, n)
        self.safe[:] = np.where(self.alloc != 0, self.alloc, 1)
        # cpu and memory allocatable on every node: the per-node masks of the scores are all true
        self.all_counted = bool((self.alloc[:2] != 0).all())
        self.plugin = plugin
        self._labels: dict[bytes, tuple[Ints, bool]] = {}
        self._contrib: dict[str, tuple[int, int, int, int, int]] = {}
        for i in range(n):
            self._refresh(i)
        self.stamp = len(matrix.log)

    def _contribution(self, key: str, task: TaskInfo) -> tuple[int, int, int, int, int]:
        """A task's cpu, memory, gpu requests and its non-zero cpu and memory requests."""
        c = self._contrib.get(key)
        if c is None:
            pod = task.pod
            req = pod.requests
            c = (
                req.get(CPU, 0),
                req.get(MEMORY, 0),
                req.get(GPU, 0),
                nonzero_request(pod, CPU),
                nonzero_request(pod, MEMORY),
            )
            self._contrib[key] = c
        return c

    def _refresh(self, i: int) -> None:
        cpu = mem = gpu = nz_cpu = nz_mem = 0
        contrib = self._contrib
        for key, t in self.matrix.nodes[i].tasks.items():
            found = contrib.get(key)
            a, b, c, d, e = found if found is not None else self._contribution(key, t)
            cpu += a
            mem += b
            gpu += c
            nz_cpu += d
            nz_mem += e
        self.requested[:, i] = (cpu, mem, gpu)
        self.nonzero[:, i] = (nz_cpu, nz_mem)

    def _sync(self) -> None:
        m = self.matrix
        m.sync()
        if self.stamp != len(m.log):
            for i in set(m.log[self.stamp :]):
                self._refresh(i)
            self.stamp = len(m.log)

    # -- resource scores ------------------------------------------------------------------
    def _fit(self, pod: PodRecord, cols: _Columns, weights: tuple[int, int], *, most: bool) -> Ints:
        alloc, safe = cols.alloc[:2], cols.safe[:2]
        req = cols.nonzero + np.array([[nonzero_request(pod, CPU)], [nonzero_request(pod, MEMORY)]])
        if most:
            score = np.minimum(req, alloc) * MAX_NODE_SCORE // safe
        else:
            score = np.where(req > alloc, 0, (alloc - req) * MAX_NODE_SCORE // safe)
        w0, w1 = weights
        if self.all_counted:
            total = score[0] * w0 + score[1] * w1
            out: Ints = total // (w0 + w1) if w0 + w1 > 0 else np.zeros(cols.size, dtype=np.int64)
            return out
        counted = alloc != 0
        total = np.where(counted[0], score[0] * w0, 0) + np.where(counted[1], score[1] * w1, 0)
        weight_sum = np.where(counted[0], w0, 0) + np.where(counted[1], w1, 0)
        out = np.where(weight_sum > 0, total // np.where(weight_sum > 0, weight_sum, 1), 0)
        return out

    def _balanced(self, pod: PodRecord, cols: _Columns) -> Ints:
        reqs = pod.requests
        pod_req = np.array([[reqs.get(name, 0)] for name in _RES], dtype=np.int64)
        fracs = np.minimum((cols.requested + pod_req) / cols.safe, 1.0)
        if self.all_counted and pod_req[2, 0] == 0:
            # cpu and memory only, on every node
            std: Floats = np.abs((fracs[0] - fracs[1]) / 2)
        else:
            valid = cols.alloc != 0
            if pod_req[2, 0] == 0:
                valid[2] = False
            count = valid[0].astype(np.int64) + valid[1] + valid[2]
            std = np.zeros(cols.size, dtype=np.float64)
            two = count == 2
            if two.any():
                # the first two valid fractions, in resource order
                f0 = np.where(valid[0], fracs[0], fracs[1])
                f1 = np.where(valid[0] & valid[1], fracs[1], fracs[2])
                std = np.where(two, np.abs((f0 - f1) / 2), std)
            three = count == 3
            if three.any():
                mean = (fracs[0] + fracs[1] + fracs[2]) / 3
                sq = (fracs[0] - mean) * (fracs[0] - mean)
                sq = sq + (fracs[1] - mean) * (fracs[1] - mean)
                sq = sq + (fracs[2] - mean) * (fracs[2] - mean)
                std = np.where(three, np.sqrt(sq / 3), std)
        out: Ints = np.trunc((1 - std) * MAX_NODE_SCORE).astype(np.int64)
        return out

    def scores(self, task: TaskInfo, idx: IndexArray) -> Floats:
        """Weighted integer scores summed exactly (as the scalar float sums of integers are)."""
        self._sync()
        pod, w = task.pod, self.w
        total: Ints = np.zeros(len(idx), dtype=np.int64)
        if w.least_requested or w.most_requested or (w.balanced_resource and not is_best_effort(pod)):
            cols = _Columns(self, idx)
            if w.least_requested:
                total += self._fit(pod, cols, (50, 50), most=False) * w.least_requested
            if w.most_requested:
                total += self._fit(pod, cols, (1, 1), most=True) * w.most_requested
            if w.balanced_resource and not is_best_effort(pod):
                total += self._balanced(pod, cols) * w.balanced_resource
        if w.node_affinity:
            raw, zero = self._label_scores("aff", pod, node_affinity_score)
            if not zero:  # all zero: normalised to zero
                total += normalize(raw[idx]) * w.node_affinity
        if w.pod_affinity and topology_scores(pod, self.ssn.node_list, self.plugin.affinity_nodes):
            nodes = [self.matrix.nodes[i] for i in idx.tolist()]
            scores = inter_pod_affinity_scores(pod, nodes, self.ssn.node_list, self.plugin.affinity_nodes)
            total += np.array(scores, dtype=np.int64) * w.pod_affinity
        if w.taint_toleration:
            raw, zero = self._label_scores("taint", pod, taint_toleration_score)
            if zero:  # all zero: normalised to the maximum
                total += MAX_NODE_SCORE * w.taint_toleration
            else:
                total += normalize(raw[idx], reverse=True) * w.taint_toleration
        out: Floats = total.astype(np.float64)
        return out

    def _label_scores(
        self, kind: str, pod: PodRecord, fn: Callable[[PodRecord, NodeInfo], int]
    ) -> tuple[Ints, bool]:
        """A raw label-based score over all nodes and whether it is zero everywhere; nodes'
        labels and taints are fixed in a session, so it depends only on the pod's preferences
        (node affinity, tolerations)."""
        if kind == "aff":
            na = pod.affinity.node_affinity if pod.affinity is not None else None
            key = b"aff" + msgspec.json.encode(na)
        else:
            key = b"taint" + msgspec.json.encode(pod.tolerations)
        cached = self._labels.get(key)
        if cached is None:
            raw = np.array([fn(pod, n) for n in self.matrix.nodes], dtype=np.int64)
            cached = self._labels[key] = (raw, not raw.any())
        return cached


class _Columns:
    """The candidates' columns of the form's request and allocatable rows, gathered once."""

    __slots__ = ("alloc", "nonzero", "requested", "safe", "size")

    def __init__(self, form: NodeOrderForm, idx: IndexArray) -> None:
        self.size = len(idx)
        rows = form.rows.take(idx, axis=1)
        self.alloc = rows[0:3]
        self.safe = rows[3:6]
        self.requested = rows[6:9]
        self.nonzero = rows[9:11]


def normalize(scores: Ints, *, reverse: bool = False) -> Ints:
    """:func:`.nodeorder.default_normalize` over an array."""
    top = int(scores.max()) if len(scores) else 0
    if top <= 0:
        return np.full(len(scores), MAX_NODE_SCORE, dtype=np.int64) if reverse else scores
    out: Ints = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - out if reverse else out
