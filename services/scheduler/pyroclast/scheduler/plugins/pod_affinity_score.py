"""Preferred inter-pod affinity scoring (Kubernetes' InterPodAffinity score, as Volcano runs it).

Topology scores are summed per ``(topologyKey, value)`` from every placed pod: the
incoming pod's preferred (anti-)affinity terms that select it (+/- weight), and its own
preferred (anti-)affinity terms that select the incoming pod (+/- weight). Volcano builds
the plugin with empty arguments, so ``hardPodAffinityWeight`` is 0 and existing pods'
required affinity terms add nothing. Scores are min-max normalised to 0..100.
Vectorisation: the topology scores become a vector over topology values, gathered per
candidate node by its label's index.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.models.core import WeightedPodAffinityTerm
from pyroclast.scheduler.api import NodeInfo
from pyroclast.scheduler.plugins.affinity import term_matches_pod

__all__ = ["has_pod_affinity", "inter_pod_affinity_scores", "preferred_terms", "topology_scores"]

MAX_NODE_SCORE = 100


def preferred_terms(pod: PodRecord) -> tuple[list[WeightedPodAffinityTerm], list[WeightedPodAffinityTerm]]:
    """The pod's own preferred pod affinity and anti-affinity terms."""
    aff = pod.affinity
    if aff is None:
        return [], []
    pa, paa = aff.pod_affinity, aff.pod_anti_affinity
    return (
        list(pa.preferred_during_scheduling_ignored_during_execution or []) if pa is not None else [],
        list(paa.preferred_during_scheduling_ignored_during_execution or []) if paa is not None else [],
    )


def has_pod_affinity(pod: PodRecord) -> bool:
    """Kubernetes' ``PodsWithAffinity`` membership: any pod (anti-)affinity at all."""
    aff = pod.affinity
    return aff is not None and (aff.pod_affinity is not None or aff.pod_anti_affinity is not None)


def topology_scores(
    pod: PodRecord, all_nodes: Sequence[NodeInfo], affinity_nodes: Collection[str] | None = None
) -> dict[tuple[str, str], int]:
    """The summed weights per topology pair; empty when no term applies (the plugin skips).

    Without preferred terms of its own, only pods with pod (anti-)affinity on
    ``affinity_nodes`` are read: Volcano's snapshot lists the nodes holding such pods once,
    when the session opens.
    """
    own_aff, own_anti = preferred_terms(pod)
    constrained = bool(own_aff or own_anti)
    scores: dict[tuple[str, str], int] = {}
    if not constrained and affinity_nodes is not None and not affinity_nodes:
        return scores

    def add(
        term: WeightedPodAffinityTerm, owner_ns: str, target: PodRecord, labels: dict[str, str], sign: int
    ) -> None:
        t = term.pod_affinity_term
        if t is None:
            return
        if not term_matches_pod(t, owner_ns, target.namespace, target.labels):
            return
        key = t.topology_key or ""
        if key in labels:
            pair = (key, labels[key])
            scores[pair] = scores.get(pair, 0) + (term.weight or 0) * sign

    for node in all_nodes:
        labels = node.record.labels
        if not labels:
            continue
        if not constrained and affinity_nodes is not None and node.name not in affinity_nodes:
            continue
        for task in node.tasks.values():
            other = task.pod
            if not constrained and not has_pod_affinity(other):
                continue
            for term in own_aff:
                add(term, pod.namespace, other, labels, 1)
            for term in own_anti:
                add(term, pod.namespace, other, labels, -1)
            ex_aff, ex_anti = preferred_terms(other)
            for term in ex_aff:
                add(term, other.namespace, pod, labels, 1)
            for term in ex_anti:
                add(term, other.namespace, pod, labels, -1)
    return scores


def inter_pod_affinity_scores(
    pod: PodRecord,
    nodes: Sequence[NodeInfo],
    all_nodes: Sequence[NodeInfo],
    affinity_nodes: Collection[str] | None = None,
) -> list[int]:
    """Normalised scores of ``nodes`` (candidates) from pods placed on ``all_nodes``."""
    topo = topology_scores(pod, all_nodes, affinity_nodes)
    if not topo:
        return [0] * len(nodes)
    raw = []
    for node in nodes:
        labels = node.record.labels
        raw.append(sum(v for (key, value), v in topo.items() if labels.get(key) == value))
    lo, hi = min(raw, default=0), max(raw, default=0)
    diff = hi - lo
    if diff <= 0:
        return [0] * len(nodes)
    return [int(MAX_NODE_SCORE * ((s - lo) / diff)) for s in raw]
