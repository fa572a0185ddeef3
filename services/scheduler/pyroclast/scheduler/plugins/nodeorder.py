"""Nodeorder: score nodes with the Kubernetes scoring plugins Volcano wraps, each weighted.

Every score plugin scores each candidate node 0..100 (integers, as kube-scheduler), is
normalised over the candidates where the Kubernetes plugin normalises, then multiplied by
its weight; the batch node order sums them. Arguments and defaults (Volcano's):
``leastrequested.weight`` 1, ``mostrequested.weight`` 0, ``balancedresource.weight`` 1,
``nodeaffinity.weight`` 2, ``podaffinity.weight`` 2, ``tainttoleration.weight`` 3
(``imagelocality.weight`` and ``podtopologyspread.weight`` are read but score nothing:
the records carry no images, and Volcano's pods match no default spread constraint).
A plugin with weight 0 is left out.

Node usage is the session's: the requests of the tasks on the node, so tasks placed
earlier in the session count (Volcano's predicates event handler keeps its node infos
so). The vector form (:mod:`.nodeorder_vector`) computes the same scores over the
session's node matrix; :func:`batch_scores` is its oracle.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.resources import CPU, GPU, MEMORY
from pyroclast.scheduler.api import NodeInfo, TaskInfo
from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.framework import Plugin, Session, register_plugin
from pyroclast.scheduler.framework.vector import NodeMatrix
from pyroclast.scheduler.framework.vector_forms import register_vector_batch_node_order
from pyroclast.scheduler.plugins.affinity import (
    PREFER_NO_SCHEDULE,
    node_selector_term_matches,
    tolerations_tolerate_taint,
)
from pyroclast.scheduler.plugins.pod_affinity_score import has_pod_affinity, inter_pod_affinity_scores

__all__ = [
    "DEFAULT_MEMORY_REQUEST",
    "DEFAULT_MILLI_CPU_REQUEST",
    "MAX_NODE_SCORE",
    "NodeOrderPlugin",
    "NodeOrderWeights",
    "balanced_allocation_score",
    "default_normalize",
    "least_allocated_score",
    "most_allocated_score",
    "node_affinity_score",
    "nonzero_request",
    "taint_toleration_score",
]

MAX_NODE_SCORE = 100
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


class NodeOrderWeights:
    """The weight arguments of nodeorder, with Volcano's defaults."""

    def __init__(self, args: Arguments) -> None:
        self.node_affinity = args.get_int("nodeaffinity.weight", 2)
        self.pod_affinity = args.get_int("podaffinity.weight", 2)
        self.least_requested = args.get_int("leastrequested.weight", 1)
        self.most_requested = args.get_int("mostrequested.weight", 0)
        self.balanced_resource = args.get_int("balancedresource.weight", 1)
        self.taint_toleration = args.get_int("tainttoleration.weight", 3)
        self.image_locality = args.get_int("imagelocality.weight", 1)
        self.pod_topology_spread = args.get_int("podtopologyspread.weight", 2)


# -- requests ---------------------------------------------------------------------------------


def nonzero_request(pod: PodRecord, name: str) -> int:
    """A request with kube-scheduler's default for a missing cpu (100m) or memory (200Mi)."""
    if name in pod.requests:
        return pod.requests[name]
    if name == CPU:
        return DEFAULT_MILLI_CPU_REQUEST
    if name == MEMORY:
        return DEFAULT_MEMORY_REQUEST
    return 0


def _node_requested(node: NodeInfo, name: str, *, nonzero: bool) -> int:
    if nonzero:
        return sum(nonzero_request(t.pod, name) for t in node.tasks.values())
    return sum(t.pod.requests.get(name, 0) for t in node.tasks.values())


# -- resource scores ---------------------------------------------------------------------


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


def _fit_score(pod: PodRecord, node: NodeInfo, weights: dict[str, int], *, most: bool) -> int:
    """NodeResourcesFit's weighted mean over cpu and memory of non-zero requests."""
    total = weight_sum = 0
    for name, weight in weights.items():
        alloc = node.allocatable.get(name)
        if alloc == 0:
            continue
        req = _node_requested(node, name, nonzero=True) + nonzero_request(pod, name)
        score = most_requested_score(req, alloc) if most else least_requested_score(req, alloc)
        total += score * weight
        weight_sum += weight
    return total // weight_sum if weight_sum else 0


def least_allocated_score(pod: PodRecord, node: NodeInfo) -> int:
    """LeastAllocated with cpu and memory weighted 50/50."""
    return _fit_score(pod, node, {CPU: 50, MEMORY: 50}, most=False)


def most_allocated_score(pod: PodRecord, node: NodeInfo) -> int:
    """MostAllocated with cpu and memory weighted 1/1."""
    return _fit_score(pod, node, {CPU: 1, MEMORY: 1}, most=True)


BALANCED_RESOURCES = (CPU, MEMORY, GPU)


def is_best_effort(pod: PodRecord) -> bool:
    return all(pod.requests.get(n, 0) == 0 for n in BALANCED_RESOURCES)


def balanced_allocation_score(pod: PodRecord, node: NodeInfo) -> int:
    """1 - std of the requested/allocatable fractions of cpu, memory and GPUs (real requests)."""
    fractions: list[float] = []
    for name in BALANCED_RESOURCES:
        pod_req = pod.requests.get(name, 0)
        if name not in (CPU, MEMORY) and pod_req == 0:
            continue
        alloc = node.allocatable.get(name)
        if alloc == 0:
            continue
        req = _node_requested(node, name, nonzero=False) + pod_req
        fractions.append(min(req / alloc, 1.0))
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


def node_affinity_score(pod: PodRecord, node: NodeInfo) -> int:
    """The summed weights of the preferred node affinity terms the node matches."""
    na = pod.affinity.node_affinity if pod.affinity is not None else None
    terms = na.preferred_during_scheduling_ignored_during_execution if na is not None else None
    score = 0
    for term in terms or []:
        if not term.weight or term.preference is None:
            continue
        if node_selector_term_matches(term.preference, node.record.labels, node.name):
            score += term.weight
    return score


def taint_toleration_score(pod: PodRecord, node: NodeInfo) -> int:
    """How many PreferNoSchedule taints of the node the pod does not tolerate (lower is better)."""
    tolerations = [t for t in pod.tolerations if not t.effect or t.effect == PREFER_NO_SCHEDULE]
    return sum(
        1
        for taint in node.record.taints
        if taint.effect == PREFER_NO_SCHEDULE and not tolerations_tolerate_taint(tolerations, taint)
    )


def default_normalize(scores: list[int], *, reverse: bool = False) -> list[int]:
    """kube-scheduler's ``DefaultNormalizeScore`` to 0..100 (integer division)."""
    top = max(scores, default=0)
    if top <= 0:
        return [MAX_NODE_SCORE] * len(scores) if reverse else list(scores)
    out = [MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE - s for s in out] if reverse else out


# -- the plugin -------------------------------------------------------------------------------


def batch_scores(
    pod: PodRecord,
    nodes: Sequence[NodeInfo],
    all_nodes: Sequence[NodeInfo],
    w: NodeOrderWeights,
    affinity_nodes: Collection[str] | None = None,
) -> dict[str, float]:
    """The weighted sum of every enabled score plugin over the candidate ``nodes``."""
    totals = dict.fromkeys((n.name for n in nodes), 0.0)

    def add(scores: list[int], weight: int) -> None:
        for node, score in zip(nodes, scores, strict=True):
            totals[node.name] += float(score * weight)

    if w.least_requested:
        add([least_allocated_score(pod, n) for n in nodes], w.least_requested)
    if w.most_requested:
        add([most_allocated_score(pod, n) for n in nodes], w.most_requested)
    if w.balanced_resource and not is_best_effort(pod):
        add([balanced_allocation_score(pod, n) for n in nodes], w.balanced_resource)
    if w.node_affinity:
        add(default_normalize([node_affinity_score(pod, n) for n in nodes]), w.node_affinity)
    if w.pod_affinity:
        add(inter_pod_affinity_scores(pod, nodes, all_nodes, affinity_nodes), w.pod_affinity)
    if w.taint_toleration:
        add(
            default_normalize([taint_toleration_score(pod, n) for n in nodes], reverse=True),
            w.taint_toleration,
        )
    return totals


class NodeOrderPlugin(Plugin):
    name = "nodeorder"

    def __init__(self, arguments: Arguments | None = None) -> None:
        super().__init__(arguments)
        self.weights = NodeOrderWeights(self.arguments)
        self.affinity_nodes: set[str] = set()

    def on_session_open(self, ssn: Session) -> None:
        self.affinity_nodes = {
            n.name for n in ssn.node_list if any(has_pod_affinity(t.pod) for t in n.tasks.values())
        }

        def batch(task: TaskInfo, nodes: Sequence[NodeInfo]) -> dict[str, float]:
            return batch_scores(task.pod, nodes, ssn.node_list, self.weights, self.affinity_nodes)

        ssn.add_batch_node_order_fn(self.name, batch)


def _vector_form(plugin: NodeOrderPlugin, ssn: Session, matrix: NodeMatrix) -> object:
    from pyroclast.scheduler.plugins.nodeorder_vector import NodeOrderForm

    return NodeOrderForm(plugin, ssn, matrix)


register_plugin(NodeOrderPlugin.name, NodeOrderPlugin)
register_vector_batch_node_order(NodeOrderPlugin.name, _vector_form)
