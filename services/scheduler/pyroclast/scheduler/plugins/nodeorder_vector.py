"""The vector form of nodeorder's batch scores over the session's node matrix.

The resource scores (least/most allocated, balanced allocation) are integer and float
array expressions over per-node request sums kept here: the real and the non-zero
(kube-scheduler's defaults for missing cpu/memory) requests of every task on a node, read
when the form is made and then kept by the session's allocation events. The label-based
scores (node affinity, taint toleration) are computed once per distinct pod preference
over all nodes (labels and taints do not change in a session), inter-pod affinity per call
by the scalar function. Each operation mirrors :func:`.nodeorder.batch_scores`, its
oracle, so the numbers are equal.
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
from pyroclast.scheduler.framework.extensions import Event, EventHandler
from pyroclast.scheduler.framework.kernel import put
from pyroclast.scheduler.framework.vector import IndexArray, NodeMatrix
from pyroclast.scheduler.framework.vector_cache import ColumnCache
from pyroclast.scheduler.framework.vector_forms import IntScores, Label
from pyroclast.scheduler.plugins import nodeorder_resources
from pyroclast.scheduler.plugins.nodeorder import (
    MAX_NODE_SCORE,
    is_best_effort,
    node_affinity_score,
    nonzero_request,
    taint_toleration_score,
)
from pyroclast.scheduler.plugins.nodeorder_norm import normalize, normalize_one
from pyroclast.scheduler.plugins.pod_affinity_score import (
    inter_pod_affinity_scores,
    topology_scores,
)

if TYPE_CHECKING:
    from pyroclast.scheduler.framework import Session
    from pyroclast.scheduler.plugins.nodeorder import NodeOrderPlugin
    from pyroclast.scheduler.plugins.nodeorder_resources import Pod

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
        self.plugin = plugin
        self._labels: dict[bytes, tuple[Ints, bool]] = {}
        # by the pod's id (the shape keeps the pod, so the id stays its own)
        self._shapes: dict[int, tuple[PodRecord, _Shape]] = {}
        # the shape computed last: a pod equal to its pod in what the shape reads shares it
        self._last_shape: _Shape | None = None
        self._contrib: dict[str, tuple[int, int, int, int, int]] = {}
        # per node: the keys of the tasks its request sums (``rows`` 6 to 10) count
        self._counted: list[set[str]] = [set() for _ in range(n)]
        for i in range(n):
            self._read(i)
        # from now on each task placed or taken off changes the sums of its node at once
        ssn.add_event_handler(EventHandler(allocate=self._on_event, deallocate=self._on_event))
        self._score_cache: ColumnCache[np.float64] = ColumnCache(matrix)
        # the resource part alone, by the shape's resource key (what the search kernel adds to)
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

    def _read(self, i: int) -> None:
        """Read node ``i``'s request sums from the tasks it holds."""
        tasks = self.matrix.nodes[i].tasks
        sums = [0] * 5
        for key, task in tasks.items():
            for k, v in enumerate(self._contribution(key, task)):
                sums[k] += v
        self._counted[i] = set(tasks)
        put(self.rows, 6, i, sums)

    def _on_event(self, event: Event) -> None:
        """Count the event's task on its node exactly while the node holds it (an evicted task
        stays there, releasing; a task taken off or rolled back does not)."""
        task = event.task
        i = self.matrix.index.get(task.node_name)
        if i is None:
            return
        key = task.key
        counted = self._counted[i]
        held = key in self.matrix.nodes[i].tasks
        if held == (key in counted):
            return
        if held:
            counted.add(key)
        else:
            counted.discard(key)
        nodeorder_resources.charge(self.rows, i, self._contribution(key, task), 1 if held else -1)

    def _sync(self) -> None:
        # (the request sums are kept by events; the matrix's log says which nodes changed)
        self.matrix.sync()

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
                lambda at: self._resource_scores(shape, at),
                lambda i: self._resource_score_at(shape, i),
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
        requests = self._requests(pod)
        weights = (w.least_requested, w.most_requested, w.balanced_resource if balanced else 0)
        return _Shape(pod, balanced, ((*requests, balanced), *labels), aff, taint, requests, weights)

    def _shape_scores(self, shape: _Shape, tops: list[int], idx: IndexArray) -> Floats:
        """Every part but inter-pod affinity on nodes ``idx``, given the label maxima ``tops``."""
        w = self.w
        balanced = shape.balanced
        if w.least_requested or w.most_requested or balanced:
            total = self._resource_scores(shape, idx)
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
        balanced = shape.balanced
        total = 0
        if w.least_requested or w.most_requested or balanced:
            total = self._resource_score_at(shape, i)
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

    def _requests(self, pod: PodRecord) -> Pod:
        """What the resource scores read of a pod: its (non-zero) requests."""
        reqs = pod.requests
        return (
            nonzero_request(pod, CPU),
            nonzero_request(pod, MEMORY),
            reqs.get(CPU, 0),
            reqs.get(MEMORY, 0),
            reqs.get(GPU, 0),
        )

    def _resource_scores(self, shape: _Shape, idx: IndexArray) -> Ints:
        """The weighted least/most allocated and balanced scores of nodes ``idx`` (element-wise)."""
        out: Ints = np.empty(len(idx), dtype=np.int64)
        nodeorder_resources.scores(self.rows, idx, out, shape.requests, shape.weights)
        return out

    def _resource_score_at(self, shape: _Shape, i: int) -> int:
        """:meth:`_resource_scores` of one node (a patch of one node costs less so)."""
        return nodeorder_resources.score_at(self.rows, i, shape.requests, shape.weights)

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

    __slots__ = ("aff", "balanced", "key", "pod", "requests", "taint", "weights")

    def __init__(
        self,
        pod: PodRecord,
        balanced: bool,
        key: tuple[object, ...],
        aff: tuple[Ints | None, bool],
        taint: tuple[Ints | None, bool],
        requests: Pod,
        weights: tuple[int, int, int],
    ) -> None:
        self.pod = pod
        self.balanced = balanced
        self.key = key
        self.aff = aff
        self.taint = taint
        # (as :mod:`.nodeorder_resources` takes them: the pod's requests, the weights)
        self.requests = requests
        self.weights = weights
