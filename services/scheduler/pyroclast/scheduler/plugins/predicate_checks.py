"""The node filters the predicates plugin runs, as pure functions returning a failing Status.

Each mirrors the Kubernetes filter plugin Volcano wraps (NodeUnschedulable, NodeAffinity,
TaintToleration, NodePorts, InterPodAffinity) plus Volcano's own pod-count check, with
the same reason texts and status codes. Vectorisation: the label, taint and pod-count
checks depend only on (task, node) and become boolean masks over the node axis (labels
and taints interned as columns of a node x key matrix); the scalar functions here are
the oracle those masks are tested against.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from pyroclast.common.bus.messages import NodeRecord, PodRecord
from pyroclast.common.models.core import PodAffinityTerm, Taint
from pyroclast.common.resources import PODS
from pyroclast.scheduler.api import NodeInfo, Status, StatusCode
from pyroclast.scheduler.plugins.affinity import (
    NO_EXECUTE,
    NO_SCHEDULE,
    TAINT_NODE_UNSCHEDULABLE,
    find_untolerated_taint,
    node_selector_terms_match,
    term_matches_pod,
    tolerations_tolerate_taint,
)

__all__ = [
    "ERR_AFFINITY_RULES",
    "ERR_ANTI_AFFINITY_RULES",
    "ERR_EXISTING_ANTI_AFFINITY",
    "ERR_NODE_AFFINITY",
    "ERR_NODE_PORTS",
    "ERR_POD_NUMBER_EXCEEDED",
    "ERR_UNSCHEDULABLE",
    "InterPodState",
    "check_inter_pod_affinity",
    "check_node_affinity",
    "check_node_ports",
    "check_node_unschedulable",
    "check_pod_count",
    "check_taint_toleration",
    "inter_pod_state",
    "required_affinity_terms",
    "required_anti_affinity_terms",
]

ERR_POD_NUMBER_EXCEEDED = "node(s) pod number exceeded"
ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports"
ERR_AFFINITY_RULES = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY_RULES = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

_DO_NOT_SCHEDULE = frozenset({NO_SCHEDULE, NO_EXECUTE})
_UNRESOLVABLE = StatusCode.UNSCHEDULABLE_AND_UNRESOLVABLE


def max_task_num(node: NodeInfo) -> int:
    """Allocatable ``pods`` as a count (Volcano's ``MaxTaskNum``)."""
    return node.allocatable.get(PODS) // 1000


def check_pod_count(node: NodeInfo) -> Status | None:
    """Volcano's own check: the node already holds ``allocatable pods`` tasks."""
    if max_task_num(node) <= len(node.tasks):
        return Status(StatusCode.UNSCHEDULABLE, ERR_POD_NUMBER_EXCEEDED, "predicates")
    return None


def check_node_unschedulable(pod: PodRecord, node: NodeRecord) -> Status | None:
    """A cordoned node, unless the pod tolerates ``node.kubernetes.io/unschedulable:NoSchedule``."""
    if not node.unschedulable:
        return None
    taint = Taint(key=TAINT_NODE_UNSCHEDULABLE, effect=NO_SCHEDULE)
    if tolerations_tolerate_taint(pod.tolerations, taint):
        return None
    return Status(_UNRESOLVABLE, ERR_UNSCHEDULABLE)


def node_affinity_matches(pod: PodRecord, node: NodeRecord) -> bool:
    """``nodeSelector`` labels and the required node affinity terms both hold."""
    labels = node.labels
    if any(labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    na = pod.affinity.node_affinity if pod.affinity is not None else None
    required = na.required_during_scheduling_ignored_during_execution if na is not None else None
    if required is None:
        return True
    return node_selector_terms_match(required.node_selector_terms or [], labels, node.name)


def check_node_affinity(pod: PodRecord, node: NodeRecord) -> Status | None:
    if node_affinity_matches(pod, node):
        return None
    return Status(_UNRESOLVABLE, ERR_NODE_AFFINITY)


def check_taint_toleration(pod: PodRecord, node: NodeRecord) -> Status | None:
    """The first NoSchedule/NoExecute taint the pod does not tolerate (PreferNoSchedule is scoring's)."""
    taint = find_untolerated_taint(node.taints, pod.tolerations, _DO_NOT_SCHEDULE)
    if taint is None:
        return None
    return Status(_UNRESOLVABLE, f"node(s) had untolerated taint {{{taint.key or ''}: {taint.value or ''}}}")


def _port_key(protocol: str, host_ip: str, port: int) -> tuple[str, str, int]:
    return (protocol or "TCP", host_ip or "0.0.0.0", port)


def check_node_ports(pod: PodRecord, existing: Iterable[PodRecord]) -> Status | None:
    """A wanted host port already used on the node (same protocol and port; IPs equal or a wildcard)."""
    wanted = [_port_key(p.protocol, p.host_ip, p.port) for p in pod.host_ports if p.port > 0]
    if not wanted:
        return None
    used = {
        _port_key(p.protocol, p.host_ip, p.port) for other in existing for p in other.host_ports if p.port > 0
    }
    for proto, ip, port in wanted:
        for uproto, uip, uport in used:
            if uproto == proto and uport == port and (ip == "0.0.0.0" or uip == "0.0.0.0" or ip == uip):
                return Status(StatusCode.UNSCHEDULABLE, ERR_NODE_PORTS)
    return None


# -- inter-pod affinity --------------------------------------------------------------------


def required_affinity_terms(pod: PodRecord) -> list[PodAffinityTerm]:
    pa = pod.affinity.pod_affinity if pod.affinity is not None else None
    return list(pa.required_during_scheduling_ignored_during_execution or []) if pa is not None else []


def required_anti_affinity_terms(pod: PodRecord) -> list[PodAffinityTerm]:
    pa = pod.affinity.pod_anti_affinity if pod.affinity is not None else None
    return list(pa.required_during_scheduling_ignored_during_execution or []) if pa is not None else []


TopologyPair = tuple[str, str]


@dataclass
class InterPodState:
    """Kubernetes' InterPodAffinity pre-filter state for one incoming pod."""

    affinity_terms: list[PodAffinityTerm] = field(default_factory=list)
    anti_affinity_terms: list[PodAffinityTerm] = field(default_factory=list)
    affinity_counts: dict[TopologyPair, int] = field(default_factory=dict)
    anti_affinity_counts: dict[TopologyPair, int] = field(default_factory=dict)
    existing_anti_affinity_counts: dict[TopologyPair, int] = field(default_factory=dict)
    matches_own_terms: bool = False


def _bump(counts: dict[TopologyPair, int], key: str, labels: Mapping[str, str]) -> None:
    if key in labels:
        pair = (key, labels[key])
        counts[pair] = counts.get(pair, 0) + 1


def inter_pod_state(
    pod: PodRecord,
    placed: Iterable[tuple[NodeRecord, Iterable[PodRecord]]],
    anti_nodes: Collection[str] | None = None,
) -> InterPodState:
    """Count, per topology pair, the placed pods the incoming pod's terms select, and the
    placed pods whose required anti-affinity selects the incoming pod.

    ``anti_nodes`` limits the latter to the nodes that held pods with required
    anti-affinity when the session opened: Volcano's snapshot lists those nodes once per
    session, so such pods placed during the session elsewhere are not seen.
    """
    st = InterPodState(required_affinity_terms(pod), required_anti_affinity_terms(pod))
    for node, pods in placed:
        labels = node.labels
        existing = anti_nodes is None or node.name in anti_nodes
        for other in pods:
            for term in st.affinity_terms:
                if term_matches_pod(term, pod.namespace, other.namespace, other.labels):
                    _bump(st.affinity_counts, term.topology_key or "", labels)
            for term in st.anti_affinity_terms:
                if term_matches_pod(term, pod.namespace, other.namespace, other.labels):
                    _bump(st.anti_affinity_counts, term.topology_key or "", labels)
            for term in required_anti_affinity_terms(other) if existing else ():
                if term_matches_pod(term, other.namespace, pod.namespace, pod.labels):
                    _bump(st.existing_anti_affinity_counts, term.topology_key or "", labels)
    st.matches_own_terms = all(
        term_matches_pod(t, pod.namespace, pod.namespace, pod.labels) for t in st.affinity_terms
    )
    return st


def _satisfies_affinity(st: InterPodState, labels: Mapping[str, str]) -> bool:
    pods_exist = True
    for term in st.affinity_terms:
        key = term.topology_key or ""
        if key not in labels:
            return False
        if st.affinity_counts.get((key, labels[key]), 0) <= 0:
            pods_exist = False
    if pods_exist:
        return True
    # The first pod of a group with affinity to itself may go anywhere with the topology.
    return not st.affinity_counts and st.matches_own_terms


def _satisfies_anti_affinity(st: InterPodState, labels: Mapping[str, str]) -> bool:
    for term in st.anti_affinity_terms:
        key = term.topology_key or ""
        if key in labels and st.anti_affinity_counts.get((key, labels[key]), 0) > 0:
            return False
    return True


def _satisfies_existing_anti_affinity(st: InterPodState, labels: Mapping[str, str]) -> bool:
    return not any(st.existing_anti_affinity_counts.get(pair, 0) > 0 for pair in labels.items())


def check_inter_pod_affinity(st: InterPodState, node: NodeRecord) -> Status | None:
    """Required pod affinity, then anti-affinity, then existing pods' anti-affinity."""
    labels = node.labels
    if not _satisfies_affinity(st, labels):
        return Status(_UNRESOLVABLE, ERR_AFFINITY_RULES)
    if not _satisfies_anti_affinity(st, labels):
        return Status(StatusCode.UNSCHEDULABLE, ERR_ANTI_AFFINITY_RULES)
    if not _satisfies_existing_anti_affinity(st, labels):
        return Status(StatusCode.UNSCHEDULABLE, ERR_EXISTING_ANTI_AFFINITY)
    return None
