"""The kubelet's admission check: does a pod bound to this node fit on it?

A kubelet re-checks what the scheduler decided, against what the pods it already admitted
use. A pod that does not fit is rejected: its phase becomes ``Failed`` with the reason
``OutOf<resource>`` and the kubelet's message, and it never starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyroclast.sandbox.resources import CPU, GPU, MEMORY, PODS, Resources, pod_requests

# The order in which the kubelet reports a shortage (the first one found is the reason).
_CHECK_ORDER = (PODS, CPU, MEMORY, GPU)


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str


def check_fit(
    requests: Mapping[str, int], allocatable: Mapping[str, int], used: Mapping[str, int]
) -> Rejection | None:
    """The first resource ``requests`` lacks on a node, as the kubelet words it; ``None`` if it fits."""
    names = [*_CHECK_ORDER, *sorted(set(requests) - set(_CHECK_ORDER))]
    for name in names:
        wanted = requests.get(name, 0)
        if wanted <= 0:
            continue
        capacity = allocatable.get(name, 0)
        in_use = used.get(name, 0)
        if in_use + wanted > capacity:
            return Rejection(
                reason=f"OutOf{name}",
                message=(
                    f"Pod Node didn't have enough resource: {name}, requested: {wanted}, "
                    f"used: {in_use}, capacity: {capacity}"
                ),
            )
    return None


def check_node_selector(pod: Mapping[str, Any], node_labels: Mapping[str, str]) -> Rejection | None:
    """The kubelet rejects a pod whose nodeSelector the node's labels do not satisfy."""
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    for key, value in selector.items():
        if node_labels.get(key) != value:
            return Rejection(reason="NodeAffinity", message="Pod Predicate NodeAffinity failed")
    return None


def admit(
    pod: Mapping[str, Any],
    allocatable: Mapping[str, int],
    used: Mapping[str, int],
    node_labels: Mapping[str, str],
) -> Rejection | None:
    """Whether the kubelet admits ``pod``; ``used`` is what the already-admitted pods request."""
    return check_node_selector(pod, node_labels) or check_fit(pod_requests(pod), allocatable, used)


def used_by(pods: list[Mapping[str, Any]]) -> Resources:
    """What a set of pods requests in total."""
    total: Resources = {}
    for pod in pods:
        for name, amount in pod_requests(pod).items():
            total[name] = total.get(name, 0) + amount
    return total
