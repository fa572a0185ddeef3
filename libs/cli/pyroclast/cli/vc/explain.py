"""Why a job is not running, in plain words with numbers.

:func:`analyse` places the job's waiting pods on the nodes' free resources (largest free
first) to count how many fit and why the others do not; :func:`summary` joins that with the
scheduler's :class:`ExplanationRecord` (when there is one) and the queue's capability into
one line such as ``gang needs 4 pods, 2 fit: 2 nodes lack cpu (need 4, best node has 3);
queue q1 at capability cpu 8/8 used, gang needs 1``. Amounts are canonical integers (cpu in millicores,
memory in bytes, other resources in milli-units).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pyroclast.common.resources import format_amount

NODE_SELECTOR_REASON = "node(s) didn't match Pod's node affinity/selector"
INSUFFICIENT = re.compile(r"^Insufficient (?P<resource>\S+)$")
RESOURCE_ORDER = ("cpu", "memory")


@dataclass
class PodNeed:
    """A pod of the job still to be placed."""

    task: str
    requests: dict[str, int]
    selector: dict[str, str] = field(default_factory=dict)


@dataclass
class NodeFree:
    """A node and what is left on it."""

    name: str
    labels: dict[str, str]
    free: dict[str, int]
    schedulable: bool = True


@dataclass
class QueueFacts:
    name: str
    state: str = "Open"
    capability: dict[str, int] = field(default_factory=dict)
    allocated: dict[str, int] = field(default_factory=dict)


@dataclass
class Analysis:
    """The outcome of placing the waiting pods."""

    needed: int
    fit: int
    lacking: Counter[str] = field(default_factory=Counter)
    """Nodes per first resource they lack (for the first pod that did not fit)."""
    selector_mismatch: int = 0
    unschedulable_nodes: int = 0
    need: dict[str, int] = field(default_factory=dict)
    """Requests of the first pod that did not fit."""
    best_free: dict[str, int] = field(default_factory=dict)
    """The most of each resource left on a node the pod may use."""
    selector: dict[str, str] = field(default_factory=dict)
    nodes: int = 0


def amount(resource: str, value: int) -> str:
    return format_amount(resource, value)


def _order(resources: set[str]) -> list[str]:
    return [r for r in RESOURCE_ORDER if r in resources] + sorted(resources - set(RESOURCE_ORDER))


def _fits(requests: dict[str, int], free: dict[str, int]) -> bool:
    return all(free.get(r, 0) >= v for r, v in requests.items() if v > 0)


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def analyse(pods: list[PodNeed], nodes: list[NodeFree], needed: int, already: int = 0) -> Analysis:
    """Place ``pods`` greedily; ``already`` pods of the gang are placed or running."""
    free = {node.name: dict(node.free) for node in nodes}
    result = Analysis(needed=needed, fit=already, nodes=len(nodes))
    failed: PodNeed | None = None
    for pod in pods:
        eligible = [n for n in nodes if n.schedulable and _matches(pod.selector, n.labels)]
        fitting = [n for n in eligible if _fits(pod.requests, free[n.name])]
        if fitting:
            best = max(
                fitting, key=lambda n: tuple(free[n.name].get(r, 0) for r in _order(set(pod.requests)))
            )
            for resource, value in pod.requests.items():
                free[best.name][resource] = free[best.name].get(resource, 0) - value
            result.fit += 1
        elif failed is None:
            failed = pod
    if failed is None:
        return result
    result.need = {r: v for r, v in failed.requests.items() if v > 0}
    result.selector = dict(failed.selector)
    for node in nodes:
        if not node.schedulable:
            result.unschedulable_nodes += 1
        elif not _matches(failed.selector, node.labels):
            result.selector_mismatch += 1
        else:
            short = [r for r in _order(set(result.need)) if free[node.name].get(r, 0) < result.need[r]]
            if short:
                result.lacking[short[0]] += 1
            for resource in result.need:
                result.best_free[resource] = max(
                    result.best_free.get(resource, 0), free[node.name].get(resource, 0)
                )
    return result


def node_phrases(analysis: Analysis, node_reasons: dict[str, int] | None = None) -> list[str]:
    """``2 nodes lack cpu (need 4, best node has 3)``, ``3 nodes don't match the node selector ...``."""
    lacking = Counter(analysis.lacking)
    mismatch = analysis.selector_mismatch
    others: list[str] = []
    if node_reasons:
        lacking = Counter()
        mismatch = 0
        for reason, count in node_reasons.items():
            if m := INSUFFICIENT.match(reason):
                lacking[m["resource"]] = max(lacking[m["resource"]], count)
            elif reason == NODE_SELECTOR_REASON:
                mismatch = max(mismatch, count)
            else:
                others.append(f"{count} {reason}")
    phrases = []
    for resource in _order(set(lacking)):
        count = lacking[resource]
        text = f"{count} node{'s' if count != 1 else ''} lack{'s' if count == 1 else ''} {resource}"
        if resource in analysis.need:
            best = analysis.best_free.get(resource, 0)
            text += (
                f" (need {amount(resource, analysis.need[resource])}, best node has {amount(resource, best)})"
            )
        phrases.append(text)
    if mismatch:
        verb = "doesn't" if mismatch == 1 else "don't"
        selector = ",".join(f"{k}={v}" for k, v in sorted(analysis.selector.items()))
        text = f"{mismatch} node{'s' if mismatch != 1 else ''} {verb} match the node selector"
        phrases.append(f"{text} {selector}" if selector else text)
    if analysis.unschedulable_nodes and not node_reasons:
        count = analysis.unschedulable_nodes
        phrases.append(f"{count} node{' is' if count == 1 else 's are'} cordoned")
    return phrases + others


def queue_phrase(queue: QueueFacts | None, request: dict[str, int]) -> str:
    """``queue q1 at capability cpu 8/8 used, gang needs 1`` when the job's request does not fit
    what the queue's capability leaves."""
    if queue is None:
        return ""
    if queue.state and queue.state != "Open":
        return f"queue {queue.name} is {queue.state} and admits no new jobs"
    full = []
    for resource in _order(set(queue.capability)):
        cap = queue.capability[resource]
        used = queue.allocated.get(resource, 0)
        if used + request.get(resource, 0) > cap:
            need = amount(resource, request.get(resource, 0))
            full.append(
                f"{resource} {amount(resource, used)}/{amount(resource, cap)} used, gang needs {need}"
            )
    if not full:
        return ""
    return f"queue {queue.name} at capability {' and '.join(full)}"


def summary(
    analysis: Analysis,
    *,
    node_reasons: dict[str, int] | None = None,
    queue: QueueFacts | None = None,
    request: dict[str, int] | None = None,
) -> str:
    """The one-line reason."""
    parts = []
    queue_text = queue_phrase(queue, request or {})
    nodes = node_phrases(analysis, node_reasons)
    pods = f"gang needs {analysis.needed} pod{'s' if analysis.needed != 1 else ''}"
    if analysis.fit < analysis.needed:
        if analysis.nodes == 0:
            nodes = ["there are no nodes"]
        parts.append(f"{pods}, {analysis.fit} fit" + (": " + ", ".join(nodes) if nodes else ""))
    elif nodes:  # the API server's view has room, the scheduler's (with reservations) had not
        parts.append(f"{pods}; the scheduler found " + ", ".join(nodes))
    if queue_text:
        parts.append(queue_text)
    return "; ".join(parts)
