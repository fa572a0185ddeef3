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

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec
import numpy as np
from numpy.typing import NDArray

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.resources import CPU, GPU, MEMORY
from pyroclast.scheduler.api import NodeInfo, TaskInfo
from pyroclast.scheduler.framework.vector import IndexArray, NodeMatrix
from pyroclast.scheduler.framework.vector_cache import ColumnCache
from pyroclast.scheduler.framework.vector_forms import IntScores, Label
from pyroclast.scheduler.plugins.nodeorder import (
    MAX_NODE_SCORE,
    is_best_effort,
    node_affinity_score,
    nonzero_request,
    taint_toleration_score,
)
from pyroclast.scheduler.plugins.nodeorder_norm import normalize, normalize_one, weighted2
from pyroclast.scheduler.plugins.pod_affinity_score import (
    inter_pod_affinity_scores,
    topology_scores,
)

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
        # by the pod's id (the shape keeps the pod, so the id stays its own)
        self._shapes: dict[int, tuple[PodRecord, _Shape]] = {}
        # the shape computed last: a pod equal to its pod in what the shape reads shares it
        self._last_shape: _Shape | None = None
        self._contrib: dict[str, tuple[int, int, int, int, int]] = {}
        # per node: the keys of the tasks its sums count, and the sums (requests, non-zero requests)
        self._counted: list[set[str]] = [set() for _ in range(n)]
        self._sums: list[list[int]] = [[0] * 5 for _ in range(n)]
        # per node, its allocatable and safe-divisor rows as Python ints (fixed in a session)
        self._static: list[list[int]] = self.rows[0:6].T.tolist()
        for i in range(n):
            self._refresh(i)
        self.stamp = len(matrix.log)
        self._score_cache: ColumnCache[np.float64] = ColumnCache(matrix)
        # the resource part alone, by the shape's resource key (the rows of a round)
        self._resource_cache: ColumnCache[np.int64] = ColumnCache(matrix)

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
        """Re-read node ``i``'s request sums: add the tasks new on it, take off the ones gone
        (the sums are integers, so the order of the additions does not matter)."""
        tasks = self.matrix.nodes[i].tasks
        counted = self._counted[i]
        keys = tasks.keys()
        added = keys - counted
        # keys = (counted - removed) | added, disjointly: the count of removed keys follows
        gone = len(counted) + len(added) - len(keys)
        if not added and not gone:
            return
        contrib = self._contrib
        sums = self._sums[i]
        for key in added:
            found = contrib.get(key)
            c0, c1, c2, c3, c4 = found if found is not None else self._contribution(key, tasks[key])
            sums[0] += c0
            sums[1] += c1
            sums[2] += c2
            sums[3] += c3
            sums[4] += c4
        if gone:
            removed = counted - keys
            for key in removed:
                for k, v in enumerate(contrib[key]):
                    sums[k] -= v
            counted -= removed
        counted |= added
        self.rows[6:11, i] = sums

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
        """Weighted integer scores summed exactly (as the scalar float sums of integers are).

        Given the candidates' maxima of the label scores (their normalisation), every part
        is element-wise: the sum is kept over all nodes per shape and maxima
        (:class:`ColumnCache`, patched on the nodes that changed) and gathered at ``idx``.
        """
        self._sync()
        pod, w = task.pod, self.w
        shape = self._shape_of(pod)
        tops: list[int] = []
        for raw, zero in (shape.aff, shape.taint):
            if raw is not None and not zero:
                tops.append(int(raw[idx].max()) if len(idx) else 0)
        key = (shape.key, *tops)
        full = self._score_cache.get(
            key,
            lambda at: self._shape_scores(shape, tops, at),
            lambda i: self._shape_score_at(shape, tops, i),
        )
        out: Floats = full[idx]
        if w.pod_affinity and topology_scores(pod, self.ssn.node_list, self.plugin.affinity_nodes):
            nodes = [self.matrix.nodes[i] for i in idx.tolist()]
            scores = inter_pod_affinity_scores(pod, nodes, self.ssn.node_list, self.plugin.affinity_nodes)
            out = out + (np.array(scores, dtype=np.int64) * w.pod_affinity).astype(np.float64)
        return out

    def kernel_parts(self, task: TaskInfo) -> IntScores | None:
        """:meth:`scores` as :func:`.kernel.search` takes it: the resource scores over every node
        (kept per shape, patched on the nodes that changed), plus the label scores to
        normalise over the group; None when inter-pod affinity scores."""
        self._sync()
        pod, w = task.pod, self.w
        if w.pod_affinity and topology_scores(pod, self.ssn.node_list, self.plugin.affinity_nodes):
            return None
        shape = self._shape_of(pod)
        balanced = shape.balanced
        resource: Ints | None = None
        if w.least_requested or w.most_requested or balanced:
            resource = self._resource_cache.get(
                shape.key[0],
                lambda at: self._resource_scores(pod, at, balanced),
                lambda i: self._resource_score_at(pod, i, balanced),
            )
        base = 0
        labels: list[Label] = []
        raw, zero = shape.aff
        if raw is not None and not zero:  # (all zero: normalised to zero)
            labels.append((raw, w.node_affinity, False))
        raw, zero = shape.taint
        if raw is not None:
            if zero:  # all zero: normalised to the maximum
                base += MAX_NODE_SCORE * w.taint_toleration
            else:
                labels.append((raw, w.taint_toleration, True))
        return IntScores(resource, base, tuple(labels))

    def _shape_of(self, pod: PodRecord) -> _Shape:
        """The pod's shape: kept by pod, shared with the last pod that reads the same."""
        known = self._shapes.get(id(pod))
        if known is not None and known[0] is pod:
            return known[1]
        last = self._last_shape
        if last is not None and _same_shape(last.pod, pod):
            shape = last
        else:
            shape = self._last_shape = self._shape(pod)
        self._shapes[id(pod)] = (pod, shape)
        return shape

    def _shape(self, pod: PodRecord) -> _Shape:
        w = self.w
        balanced = bool(w.balanced_resource) and not is_best_effort(pod)
        aff = self._label_scores("aff", pod, node_affinity_score) if w.node_affinity else (None, True)
        taint = (
            self._label_scores("taint", pod, taint_toleration_score) if w.taint_toleration else (None, True)
        )
        labels = _label_keys(pod) if w.node_affinity or w.taint_toleration else (b"", b"")
        return _Shape(pod, balanced, (self._shape_key(pod, balanced), *labels), aff, taint)

    def _shape_scores(self, shape: _Shape, tops: list[int], idx: IndexArray) -> Floats:
        """Every part but inter-pod affinity on nodes ``idx``, given the label maxima ``tops``."""
        w = self.w
        pod, balanced = shape.pod, shape.balanced
        if w.least_requested or w.most_requested or balanced:
            total = self._resource_scores(pod, idx, balanced)
        else:
            total = np.zeros(len(idx), dtype=np.int64)
        it = iter(tops)
        raw, zero = shape.aff
        if raw is not None and not zero:  # (all zero: normalised to zero)
            total += normalize(raw[idx], top=next(it)) * w.node_affinity
        raw, zero = shape.taint
        if raw is not None:
            if zero:  # all zero: normalised to the maximum
                total += MAX_NODE_SCORE * w.taint_toleration
            else:
                total += normalize(raw[idx], reverse=True, top=next(it)) * w.taint_toleration
        out: Floats = total.astype(np.float64)
        return out

    def _shape_score_at(self, shape: _Shape, tops: list[int], i: int) -> float:
        """:meth:`_shape_scores` of one node in Python numbers."""
        w = self.w
        pod, balanced = shape.pod, shape.balanced
        total = 0
        if w.least_requested or w.most_requested or balanced:
            total = self._resource_score_at(pod, i, balanced)
        it = iter(tops)
        raw, zero = shape.aff
        if raw is not None and not zero:
            total += normalize_one(int(raw[i]), next(it), reverse=False) * w.node_affinity
        raw, zero = shape.taint
        if raw is not None:
            if zero:
                total += MAX_NODE_SCORE * w.taint_toleration
            else:
                total += normalize_one(int(raw[i]), next(it), reverse=True) * w.taint_toleration
        return float(total)

    def _shape_key(self, pod: PodRecord, balanced: bool) -> tuple[int, ...]:
        """What the resource scores read of a pod: its (non-zero) requests."""
        reqs = pod.requests
        return (
            nonzero_request(pod, CPU),
            nonzero_request(pod, MEMORY),
            *(reqs.get(name, 0) for name in _RES),
            balanced,
        )

    def _resource_scores(self, pod: PodRecord, idx: IndexArray, balanced: bool) -> Ints:
        """The weighted least/most allocated and balanced scores of nodes ``idx`` (element-wise)."""
        w = self.w
        cols = _Columns(self, idx)
        total: Ints = np.zeros(len(idx), dtype=np.int64)
        if w.least_requested:
            total += self._fit(pod, cols, (50, 50), most=False) * w.least_requested
        if w.most_requested:
            total += self._fit(pod, cols, (1, 1), most=True) * w.most_requested
        if balanced:
            total += self._balanced(pod, cols) * w.balanced_resource
        return total

    def _resource_score_at(self, pod: PodRecord, i: int, balanced: bool) -> int:
        """:meth:`_resource_scores` of one node in Python numbers, operation by operation
        (a patch of one node costs less so than an array expression)."""
        w = self.w
        # (the node's column of ``rows``: its fixed part, then the sums ``_refresh`` wrote)
        col = self._static[i] + self._sums[i]
        a_cpu, a_mem, a_gpu, s_cpu, s_mem, s_gpu, r_cpu, r_mem, r_gpu, nz_cpu, nz_mem = col
        total = 0
        if w.least_requested or w.most_requested:
            q0 = nz_cpu + nonzero_request(pod, CPU)
            q1 = nz_mem + nonzero_request(pod, MEMORY)
            if w.least_requested:
                p0 = 0 if q0 > a_cpu else (a_cpu - q0) * MAX_NODE_SCORE // s_cpu
                p1 = 0 if q1 > a_mem else (a_mem - q1) * MAX_NODE_SCORE // s_mem
                total += weighted2(p0, p1, a_cpu, a_mem, 50, 50) * w.least_requested
            if w.most_requested:
                p0 = min(q0, a_cpu) * MAX_NODE_SCORE // s_cpu
                p1 = min(q1, a_mem) * MAX_NODE_SCORE // s_mem
                total += weighted2(p0, p1, a_cpu, a_mem, 1, 1) * w.most_requested
        if balanced:
            reqs = pod.requests
            pod_gpu = reqs.get(GPU, 0)
            f0 = min(float(r_cpu + reqs.get(CPU, 0)) / float(s_cpu), 1.0)
            f1 = min(float(r_mem + reqs.get(MEMORY, 0)) / float(s_mem), 1.0)
            v0, v1, v2 = a_cpu != 0, a_mem != 0, a_gpu != 0 and pod_gpu != 0
            std = 0.0
            if v0 and v1 and not v2:  # (the common case: the two fractions picked)
                std = abs((f0 - f1) / 2)
            else:
                f2 = min(float(r_gpu + pod_gpu) / float(s_gpu), 1.0)
                fracs = (f0, f1, f2)
                picked = [f for f, v in zip(fracs, (v0, v1, v2), strict=True) if v]
                if len(picked) == 2:
                    std = abs((picked[0] - picked[1]) / 2)
                elif len(picked) == 3:
                    mean = (fracs[0] + fracs[1] + fracs[2]) / 3
                    sq = (fracs[0] - mean) * (fracs[0] - mean)
                    sq = sq + (fracs[1] - mean) * (fracs[1] - mean)
                    sq = sq + (fracs[2] - mean) * (fracs[2] - mean)
                    std = math.sqrt(sq / 3)
            total += math.trunc((1 - std) * MAX_NODE_SCORE) * w.balanced_resource
        return total

    def _label_scores(
        self, kind: str, pod: PodRecord, fn: Callable[[PodRecord, NodeInfo], int]
    ) -> tuple[Ints, bool]:
        """A raw label-based score over all nodes and whether it is zero everywhere; nodes'
        labels and taints are fixed in a session, so it depends only on the pod's preferences
        (node affinity, tolerations)."""
        key = _label_keys(pod)[0 if kind == "aff" else 1]
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
        # (every node, in order: the rows themselves; the scores read them, never write them)
        rows = form.rows if idx is form._score_cache.all else form.rows.take(idx, axis=1)
        self.alloc = rows[0:3]
        self.safe = rows[3:6]
        self.requested = rows[6:9]
        self.nonzero = rows[9:11]


_NO_AFFINITY = b"aff" + msgspec.json.encode(None)
_NO_TOLERATIONS = b"taint" + msgspec.json.encode([])


def _label_keys(pod: PodRecord) -> tuple[bytes, bytes]:
    """The keys of a pod's node-affinity and toleration preferences (what label scores read)."""
    na = pod.affinity.node_affinity if pod.affinity is not None else None
    aff = _NO_AFFINITY if na is None else b"aff" + msgspec.json.encode(na)
    taint = _NO_TOLERATIONS if not pod.tolerations else b"taint" + msgspec.json.encode(pod.tolerations)
    return aff, taint


def _same_shape(a: PodRecord, b: PodRecord) -> bool:
    """Whether the scores read the same of ``a`` and ``b``: requests, node affinity and
    tolerations (what :meth:`NodeOrderForm._shape` reads; struct equality compares fields)."""
    if a.requests != b.requests or a.tolerations != b.tolerations:
        return False
    na = a.affinity.node_affinity if a.affinity is not None else None
    nb = b.affinity.node_affinity if b.affinity is not None else None
    return na == nb


class _Shape:
    """What the scores read of a pod: its resource key, whether balanced allocation counts,
    and its raw label scores (None: weight 0) with whether they are zero everywhere."""

    __slots__ = ("aff", "balanced", "key", "pod", "taint")

    def __init__(
        self,
        pod: PodRecord,
        balanced: bool,
        key: tuple[object, ...],
        aff: tuple[Ints | None, bool],
        taint: tuple[Ints | None, bool],
    ) -> None:
        self.pod = pod
        self.balanced = balanced
        self.key = key
        self.aff = aff
        self.taint = taint
