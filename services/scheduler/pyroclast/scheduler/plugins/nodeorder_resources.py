"""nodeorder's resource scores of nodes: least requested, most requested and balanced
allocation, each weighted, summed.

``rows`` is the vector form's 11 x node matrix: allocatable cpu, memory, gpu; the same with
1 for 0 (safe divisors); the requests of the tasks on the node (cpu, memory, gpu); their
non-zero requests (cpu, memory: kube-scheduler's defaults for missing ones). ``pod`` is the
task's (non-zero cpu, non-zero memory, cpu, memory, gpu) requests and ``weights`` the
(least requested, most requested, balanced allocation) weights, 0 for a score not counted.
:func:`scores` computes many nodes with array operations, :func:`score_at` one with Python
numbers; both do :func:`.nodeorder.batch_scores`' arithmetic. :func:`charge` adds a task's
requests to its node's sums, or takes them off. The native build replaces
this module with ``nodeorder_resources.c`` (a test compares the two).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["charge", "score_at", "scores"]

MAX_NODE_SCORE = 100

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Pod = tuple[int, int, int, int, int]
Weights = tuple[int, int, int]


def scores(rows: Ints, idx: NDArray[np.intp], out: Ints, pod: Pod, weights: Weights) -> None:
    """Write the score of node ``idx[j]`` to ``out[j]``."""
    least, most, balanced = weights
    cols = rows.take(idx, axis=1)
    alloc, safe, requested, nonzero = cols[0:3], cols[3:6], cols[6:9], cols[9:11]
    total: Ints = np.zeros(len(idx), dtype=np.int64)
    if least or most:
        req = nonzero + np.array([[pod[0]], [pod[1]]], dtype=np.int64)
        if least:
            free = np.where(req > alloc[:2], 0, (alloc[:2] - req) * MAX_NODE_SCORE // safe[:2])
            total += _weighted(free, alloc, 50) * least
        if most:
            used = np.minimum(req, alloc[:2]) * MAX_NODE_SCORE // safe[:2]
            total += _weighted(used, alloc, 1) * most
    if balanced:
        total += _balanced(alloc, safe, requested, pod) * balanced
    out[:] = total


def _weighted(score: Ints, alloc: Ints, weight: int) -> Ints:
    """The mean of the cpu and memory scores, each of weight ``weight``, over those the node has."""
    counted = alloc[:2] != 0
    total = np.where(counted[0], score[0] * weight, 0) + np.where(counted[1], score[1] * weight, 0)
    weight_sum = np.where(counted[0], weight, 0) + np.where(counted[1], weight, 0)
    out: Ints = np.where(weight_sum > 0, total // np.where(weight_sum > 0, weight_sum, 1), 0)
    return out


def _balanced(alloc: Ints, safe: Ints, requested: Ints, pod: Pod) -> Ints:
    pod_req = np.array([[pod[2]], [pod[3]], [pod[4]]], dtype=np.int64)
    fracs = np.minimum((requested + pod_req) / safe, 1.0)
    valid = alloc != 0
    if pod[4] == 0:
        valid[2] = False
    count = valid[0].astype(np.int64) + valid[1] + valid[2]
    std: Floats = np.zeros(alloc.shape[1], dtype=np.float64)
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


def score_at(rows: Ints, i: int, pod: Pod, weights: Weights) -> int:
    """The score of node ``i``, operation by operation as :func:`scores` does it."""
    least, most, balanced = weights
    a_cpu, a_mem, a_gpu, s_cpu, s_mem, s_gpu, r_cpu, r_mem, r_gpu, nz_cpu, nz_mem = rows[:, i].tolist()
    total = 0
    if least or most:
        q0 = nz_cpu + pod[0]
        q1 = nz_mem + pod[1]
        if least:
            p0 = 0 if q0 > a_cpu else (a_cpu - q0) * MAX_NODE_SCORE // s_cpu
            p1 = 0 if q1 > a_mem else (a_mem - q1) * MAX_NODE_SCORE // s_mem
            total += _weighted_at(p0, p1, a_cpu, a_mem, 50) * least
        if most:
            p0 = min(q0, a_cpu) * MAX_NODE_SCORE // s_cpu
            p1 = min(q1, a_mem) * MAX_NODE_SCORE // s_mem
            total += _weighted_at(p0, p1, a_cpu, a_mem, 1) * most
    if balanced:
        pod_gpu = pod[4]
        f0 = min(float(r_cpu + pod[2]) / float(s_cpu), 1.0)
        f1 = min(float(r_mem + pod[3]) / float(s_mem), 1.0)
        f2 = min(float(r_gpu + pod_gpu) / float(s_gpu), 1.0)
        valid = (a_cpu != 0, a_mem != 0, a_gpu != 0 and pod_gpu != 0)
        picked = [f for f, v in zip((f0, f1, f2), valid, strict=True) if v]
        std = 0.0
        if len(picked) == 2:
            std = abs((picked[0] - picked[1]) / 2)
        elif len(picked) == 3:
            mean = (f0 + f1 + f2) / 3
            sq = (f0 - mean) * (f0 - mean)
            sq = sq + (f1 - mean) * (f1 - mean)
            sq = sq + (f2 - mean) * (f2 - mean)
            std = math.sqrt(sq / 3)
        total += math.trunc((1 - std) * MAX_NODE_SCORE) * balanced
    return total


def _weighted_at(p0: int, p1: int, a0: int, a1: int, weight: int) -> int:
    total = weight_sum = 0
    if a0 != 0:
        total += p0 * weight
        weight_sum += weight
    if a1 != 0:
        total += p1 * weight
        weight_sum += weight
    return total // weight_sum if weight_sum > 0 else 0


def charge(rows: Ints, i: int, requests: Pod, sign: int) -> None:
    """Add ``sign`` times a task's (cpu, memory, gpu, non-zero cpu, non-zero memory) requests
    to node ``i``'s request sums (``rows`` 6 to 10)."""
    if not 0 <= i < rows.shape[1]:
        raise IndexError("a node index is out of the rows")
    rows[6:11, i] += np.array(requests, dtype=np.int64) * sign
