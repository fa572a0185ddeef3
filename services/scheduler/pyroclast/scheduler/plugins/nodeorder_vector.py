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
    default_normalize,
    is_best_effort,
    node_affinity_score,
    nonzero_request,
    taint_toleration_score,
)
from pyroclast.scheduler.plugins.pod_affinity_score import inter_pod_affinity_scores

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
        self.requested = np.zeros((3, n), dtype=np.int64)  # cpu, memory, gpu
        self.nonzero = np.zeros((2, n), dtype=np.int64)  # cpu, memory with defaults
        self.alloc = np.array(
            [[node.allocatable.get(r) for node in matrix.nodes] for r in _RES], dtype=np.int64
        ).reshape(3, n)
        self.plugin = plugin
        self._labels: dict[bytes, Ints] = {}
        for i in range(n):
            self._refresh(i)
        self.stamp = len(matrix.log)

    def _refresh(self, i: int) -> None:
        pods = [t.pod for t in self.matrix.nodes[i].tasks.values()]
        for r, name in enumerate(_RES):
            self.requested[r, i] = sum(p.requests.get(name, 0) for p in pods)
        for r, name in enumerate((CPU, MEMORY)):
            self.nonzero[r, i] = sum(nonzero_request(p, name) for p in pods)

    def _sync(self) -> None:
        m = self.matrix
        m.sync()
        if self.stamp != len(m.log):
            for i in set(m.log[self.stamp :]):
                self._refresh(i)
            self.stamp = len(m.log)

    # -- resource scores ------------------------------------------------------------------
    def _fit(self, pod: PodRecord, idx: IndexArray, weights: tuple[int, int], *, most: bool) -> Ints:
        total = np.zeros(len(idx), dtype=np.int64)
        weight_sum = np.zeros(len(idx), dtype=np.int64)
        for r, (name, weight) in enumerate(zip((CPU, MEMORY), weights, strict=True)):
            alloc = self.alloc[r, idx]
            req = self.nonzero[r, idx] + nonzero_request(pod, name)
            counted = alloc != 0
            safe = np.where(counted, alloc, 1)
            if most:
                score = np.minimum(req, alloc) * MAX_NODE_SCORE // safe
            else:
                score = np.where(req > alloc, 0, (alloc - req) * MAX_NODE_SCORE // safe)
            total += np.where(counted, score * weight, 0)
            weight_sum += np.where(counted, weight, 0)
        out: Ints = np.where(weight_sum > 0, total // np.where(weight_sum > 0, weight_sum, 1), 0)
        return out

    def _balanced(self, pod: PodRecord, idx: IndexArray) -> Ints:
        fracs: list[Floats] = []
        valid: list[NDArray[np.bool_]] = []
        for r, name in enumerate(_RES):
            pod_req = pod.requests.get(name, 0)
            alloc = self.alloc[r, idx]
            ok = alloc != 0
            if name == GPU and pod_req == 0:
                ok = np.zeros(len(idx), dtype=np.bool_)
            req = self.requested[r, idx] + pod_req
            fracs.append(np.minimum(req / np.where(ok, alloc, 1), 1.0))
            valid.append(ok)
        count = valid[0].astype(np.int64) + valid[1] + valid[2]
        std = np.zeros(len(idx), dtype=np.float64)
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
        self._sync()
        pod, w = task.pod, self.w
        total: Floats = np.zeros(len(idx), dtype=np.float64)

        def add(scores: Ints | list[int], weight: int) -> None:
            nonlocal total
            total = total + (np.asarray(scores, dtype=np.int64) * weight).astype(np.float64)

        if w.least_requested:
            add(self._fit(pod, idx, (50, 50), most=False), w.least_requested)
        if w.most_requested:
            add(self._fit(pod, idx, (1, 1), most=True), w.most_requested)
        if w.balanced_resource and not is_best_effort(pod):
            add(self._balanced(pod, idx), w.balanced_resource)
        if w.node_affinity:
            raw = self._label_scores("aff", pod, node_affinity_score)[idx]
            add(default_normalize(raw.tolist()), w.node_affinity)
        if w.pod_affinity:
            nodes = [self.matrix.nodes[i] for i in idx.tolist()]
            add(
                inter_pod_affinity_scores(pod, nodes, self.ssn.node_list, self.plugin.affinity_nodes),
                w.pod_affinity,
            )
        if w.taint_toleration:
            raw = self._label_scores("taint", pod, taint_toleration_score)[idx]
            add(default_normalize(raw.tolist(), reverse=True), w.taint_toleration)
        return total

    def _label_scores(self, kind: str, pod: PodRecord, fn: Callable[[PodRecord, NodeInfo], int]) -> Ints:
        """A raw label-based score over all nodes; nodes' labels and taints are fixed in a
        session, so it depends only on the pod's preferences (node affinity, tolerations)."""
        if kind == "aff":
            na = pod.affinity.node_affinity if pod.affinity is not None else None
            key = b"aff" + msgspec.json.encode(na)
        else:
            key = b"taint" + msgspec.json.encode(pod.tolerations)
        cached = self._labels.get(key)
        if cached is None:
            cached = np.array([fn(pod, n) for n in self.matrix.nodes], dtype=np.int64)
            self._labels[key] = cached
        return cached
