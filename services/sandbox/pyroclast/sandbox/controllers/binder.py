"""The sandbox's minimal stand-in for kube-scheduler: first node that fits.

Only pods for the default scheduler (``schedulerName`` empty or ``default-scheduler``) are
placed here; pods for ``volcano`` wait for Pyroclast's scheduler. A node fits when it is
Ready and schedulable, its taints are tolerated, the pod's nodeSelector and required node
affinity match, and the pod's requests fit in what the node's pods leave free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyroclast.sandbox.controllers.objects import condition, is_terminal, meta, name
from pyroclast.sandbox.kubelet.admission import check_fit
from pyroclast.sandbox.resources import Resources, parse_resource_list, pod_requests

DEFAULT_SCHEDULERS = ("", "default-scheduler")


@dataclass(frozen=True)
class Placement:
    node: str | None
    message: str = ""  # why no node fits, in kube-scheduler's words


def is_for_default_scheduler(pod: Mapping[str, Any]) -> bool:
    return str((pod.get("spec") or {}).get("schedulerName") or "") in DEFAULT_SCHEDULERS


def needs_binding(pod: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    return (
        is_for_default_scheduler(pod)
        and not spec.get("nodeName")
        and not is_terminal(pod)
        and not meta(pod).get("deletionTimestamp")
    )


def node_usage(pods: Sequence[Mapping[str, Any]]) -> dict[str, Resources]:
    """What the pods bound to each node request (finished pods free their share)."""
    usage: dict[str, Resources] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or is_terminal(pod):
            continue
        total = usage.setdefault(str(node), {})
        for resource, amount in pod_requests(pod).items():
            total[resource] = total.get(resource, 0) + amount
    return usage


def choose_node(
    pod: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]], usage: Mapping[str, Resources]
) -> Placement:
    """The first node (by name) that fits ``pod``, or why none does."""
    reasons: Counter[str] = Counter()
    requests = pod_requests(pod)
    for node in sorted(nodes, key=name):
        reason = _misfit(pod, requests, node, usage.get(name(node), {}))
        if reason is None:
            return Placement(node=name(node))
        reasons[reason] += 1
    detail = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    message = f"0/{len(nodes)} nodes are available" + (f": {detail}." if detail else ".")
    return Placement(node=None, message=message)


def _misfit(
    pod: Mapping[str, Any], requests: Resources, node: Mapping[str, Any], used: Resources
) -> str | None:
    spec = node.get("spec") or {}
    ready = condition(node, "Ready")
    if ready is None or ready.get("status") != "True":
        return "node(s) were not ready"
    if spec.get("unschedulable"):
        return "node(s) were unschedulable"
    if not _tolerates(pod, spec.get("taints") or []):
        return "node(s) had untolerated taint(s)"
    labels = meta(node).get("labels") or {}
    if not _matches_node_selector(pod, labels):
        return "node(s) didn't match Pod's node affinity/selector"
    allocatable = parse_resource_list((node.get("status") or {}).get("allocatable"))
    shortage = check_fit(requests, allocatable, used)
    if shortage is not None:
        resource = shortage.reason.removeprefix("OutOf")
        return "Too many pods" if resource == "pods" else f"Insufficient {resource}"
    return None


def _tolerates(pod: Mapping[str, Any], taints: Sequence[Mapping[str, Any]]) -> bool:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in taints:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerated_by(taint, t) for t in tolerations):
            return False
    return True


def _tolerated_by(taint: Mapping[str, Any], toleration: Mapping[str, Any]) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    key = toleration.get("key")
    if toleration.get("operator") == "Exists":
        return not key or key == taint.get("key")
    return bool(
        key == taint.get("key") and str(toleration.get("value") or "") == str(taint.get("value") or "")
    )


def _matches_node_selector(pod: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    spec = pod.get("spec") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    return any(_term_matches(term, labels) for term in terms)


def _term_matches(term: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for expression in term.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        value = labels.get(str(key))
        if operator == "In" and value not in values:
            return False
        if operator == "NotIn" and value in values:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
        if operator in ("Gt", "Lt"):
            try:
                number, bound = int(value or ""), int(values[0])
            except (ValueError, IndexError):
                return False
            if (operator == "Gt" and not number > bound) or (operator == "Lt" and not number < bound):
                return False
    return True


def binding(pod: Mapping[str, Any], node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name(pod), "namespace": str(meta(pod).get("namespace") or "")},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }
