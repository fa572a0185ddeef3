"""Hierarchical queue checks: parents, depth, and resources against ancestors and siblings.

Amounts follow Volcano's ``api.Resource``: cpu in millicores, memory in bytes, ``pods`` in
units, other scalar resources in milli-units, all printed as Volcano prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyroclast.common.models import Queue
from pyroclast.common.quantity import Format, QuantityError, format_quantity, parse_quantity
from pyroclast.common.resources import is_scalar_resource_name
from pyroclast.webhook.admission.request import AdmissionInput, children_of, queue_name

_INT64_MAX = 2**63 - 1


def _int64(value: int) -> float:
    """``value`` held to int64's range, as Volcano's ``MilliValue``/``Value`` results are."""
    return float(max(-_INT64_MAX - 1, min(value, _INT64_MAX)))


@dataclass
class Amounts:
    """Volcano's ``api.Resource`` as floats."""

    cpu: float = 0.0
    memory: float = 0.0
    scalars: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: Mapping[str, object] | None) -> Amounts:
        out = cls()
        for name, raw in (resources or {}).items():
            try:
                q = parse_quantity(raw)  # type: ignore[arg-type]
            except (QuantityError, TypeError, ValueError):
                continue
            if name == "cpu":
                out.cpu += _int64(q.milli_value())
            elif name == "memory":
                out.memory += _int64(q.value())
            elif name == "pods":
                out.scalars[name] = out.scalars.get(name, 0.0) + _int64(q.value())
            elif name == "ephemeral-storage" or (
                not name.startswith("count/") and is_scalar_resource_name(name)
            ):
                out.scalars[name] = out.scalars.get(name, 0.0) + _int64(q.milli_value())
        return out

    def add(self, other: Amounts) -> None:
        self.cpu += other.cpu
        self.memory += other.memory
        for name, value in other.scalars.items():
            self.scalars[name] = self.scalars.get(name, 0.0) + value

    def get(self, name: str) -> float:
        if name == "cpu":
            return self.cpu
        if name == "memory":
            return self.memory
        return self.scalars.get(name, 0.0)

    def names(self) -> list[str]:
        out = [n for n, v in (("cpu", self.cpu), ("memory", self.memory)) if v >= 0.1]
        return out + sorted(n for n, v in self.scalars.items() if v >= 0.1)

    def less_partly(self, other: Amounts) -> bool:
        """Volcano's ``LessPartly`` with missing dimensions read as zero."""
        if self.cpu < other.cpu or self.memory < other.memory:
            return True
        if any(n not in self.scalars for n in other.scalars):
            return True
        return any(v < other.scalars.get(n, 0.0) for n, v in self.scalars.items())

    def __str__(self) -> str:
        text = f"cpu {self.cpu:.2f}, memory {self.memory:.2f}"
        return text + "".join(f", {n} {self.scalars[n]:.2f}" for n in sorted(self.scalars))


def format_amount(name: str, value: float) -> str:
    """Volcano's ``formatResourceWithType``."""
    if name == "cpu":
        return format_quantity(int(value), Format.DECIMAL_SI, scale=-3)
    if name == "memory":
        return format_quantity(int(value), Format.BINARY_SI)
    return f"{value:.2f}"


def _capability(queue: Queue) -> Mapping[str, object] | None:
    return queue.spec.capability if queue.spec else None


def _guarantee(queue: Queue) -> Amounts:
    g = queue.spec.guarantee if queue.spec else None
    return Amounts.of(g.resource if g else None)


def _deserved(queue: Queue) -> Amounts:
    return Amounts.of(queue.spec.deserved if queue.spec else None)


def _parent(queue: Queue) -> str:
    return (queue.spec.parent or "") if queue.spec else ""


def allocated_pods(queue: Queue) -> int:
    """The ``pods`` the scheduler has allocated to a queue (its status)."""
    allocated = (queue.status.allocated or {}) if queue.status else {}
    try:
        return parse_quantity(allocated["pods"]).value() if "pods" in allocated else 0
    except (QuantityError, TypeError, ValueError):
        return 0


def _not_found(name: str) -> str:
    return f'queue.scheduling.volcano.sh "{name}" not found'


def parent_error(request: AdmissionInput, queue: Queue) -> str:
    """Volcano's ``validateHierarchicalQueue``: self parent, depth, parent with pods."""
    name, parent = queue_name(queue), _parent(queue)
    if parent in ("", "root"):
        return ""
    if parent == name:
        return f"queue {name} cannot use itself as parent"
    depth, current = 1, parent
    while current not in ("", "root"):
        depth += 1
        if depth > request.config.max_queue_depth:
            return f"queue {name} exceeds the maximum allowed depth of {request.config.max_queue_depth}"
        found = request.cluster.queue(current)
        if found is None:
            return f"failed to get parent queue {current} of queue {name}: {_not_found(current)}"
        current = _parent(found)
    parent_queue = request.cluster.queue(parent)
    if parent_queue is None:
        return f"failed to get parent queue of queue {name}: {_not_found(parent)}"
    if not children_of(request.cluster, parent) and (pods := allocated_pods(parent_queue)):
        return (
            f"queue {parent} cannot be the parent queue of queue {name} because it has allocated Pods: {pods}"
        )
    return ""


def _ancestor_capability(request: AdmissionInput, queue: Queue, resource: str) -> float | None:
    current, hops = _parent(queue), 0
    while current not in ("", "root") and hops < 10_000:
        hops += 1
        found = request.cluster.queue(current)
        if found is None:
            return None
        if (cap := _capability(found)) is not None and (value := Amounts.of(cap).get(resource)) > 0:
            return value
        current = _parent(found)
    return None


def _subtree_max_capability(request: AdmissionInput, queue: Queue, resource: str, seen: set[str]) -> float:
    if (cap := _capability(queue)) is not None and (value := Amounts.of(cap).get(resource)) > 0:
        return value
    name = queue_name(queue)
    if name in seen:
        return 0.0
    seen.add(name)
    return max(
        (_subtree_max_capability(request, c, resource, seen) for c in children_of(request.cluster, name)),
        default=0.0,
    )


def _sum_error(prefix: str, parent: Queue, members: list[Queue]) -> str:
    limits = {"guarantee": _guarantee(parent), "deserved": _deserved(parent)}
    totals = {"guarantee": Amounts(), "deserved": Amounts()}
    for member in members:
        for kind, amounts in (("guarantee", _guarantee(member)), ("deserved", _deserved(member))):
            totals[kind].add(amounts)
            if limits[kind].less_partly(totals[kind]):
                return (
                    f"{prefix} {queue_name(parent)} validation failed: "
                    f"sum of children's {kind} ({totals[kind]}) "
                    f"exceeds parent's {kind} limit ({limits[kind]})"
                )
    return ""


def resource_error(request: AdmissionInput, queue: Queue) -> str:
    """Volcano's ``validateHierarchicalQueueResources``."""
    name, parent = queue_name(queue), _parent(queue)
    if parent not in ("", "root"):
        parent_queue = request.cluster.queue(parent)
        if parent_queue is None:
            return f"parent queue {parent} not found: {_not_found(parent)}"
        if (cap := _capability(queue)) is not None:
            mine = Amounts.of(cap)
            for resource in mine.names():
                limit = _ancestor_capability(request, queue, resource)
                if limit is not None and mine.get(resource) > limit:
                    return (
                        f"queue {name} capability[{resource}]={format_amount(resource, mine.get(resource))} "
                        f"exceeds its ancestor's capability={format_amount(resource, limit)}"
                    )
        siblings = [q for q in children_of(request.cluster, parent) if queue_name(q) != name]
        if err := _sum_error("parent queue", parent_queue, [*siblings, queue]):
            return err
    children = children_of(request.cluster, name)
    if not children:
        return ""
    if (cap := _capability(queue)) is not None:
        mine = Amounts.of(cap)
        for resource in mine.names():
            most = max((_subtree_max_capability(request, c, resource, {name}) for c in children), default=0.0)
            if mine.get(resource) < most:
                return (
                    f"queue {name} capability[{resource}]={format_amount(resource, mine.get(resource))} "
                    f"is smaller than its descendants' max capability={format_amount(resource, most)}"
                )
    return _sum_error("queue", queue, children)
