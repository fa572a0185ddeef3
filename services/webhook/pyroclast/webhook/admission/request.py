"""What a rule sees: the operation, the decoded objects, and a read-only view of the cluster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from pyroclast.common.models import Queue


class Operation(StrEnum):
    """The admission operation of a request."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CONNECT = "CONNECT"


class ClusterView(Protocol):
    """The cluster state rules may read (the webhook service feeds it from its cache)."""

    def queue(self, name: str) -> Queue | None:
        """The queue called ``name``, or None."""

    def queues(self) -> Iterable[Queue]:
        """Every queue."""

    def namespace_annotations(self, name: str) -> Mapping[str, str] | None:
        """Annotations of namespace ``name``, or None when it is unknown."""

    def children(self, parent: str) -> Sequence[Queue]:
        """Queues whose ``spec.parent`` is ``parent``, sorted by name."""


@dataclass(frozen=True)
class StaticCluster:
    """A `ClusterView` over plain dicts, for tests and snapshots."""

    queues_by_name: Mapping[str, Queue] = field(default_factory=dict)
    namespaces: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, queues: Iterable[Queue], namespaces: Mapping[str, Mapping[str, str]] | None = None
    ) -> StaticCluster:
        by_name = {q.metadata.name: q for q in queues if q.metadata is not None and q.metadata.name}
        return cls(by_name, dict(namespaces or {}))

    def queue(self, name: str) -> Queue | None:
        return self.queues_by_name.get(name)

    def queues(self) -> Iterable[Queue]:
        return self.queues_by_name.values()

    def namespace_annotations(self, name: str) -> Mapping[str, str] | None:
        return self.namespaces.get(name)

    def children(self, parent: str) -> Sequence[Queue]:
        return children_by_parent(self.queues_by_name.values()).get(parent, ())


EMPTY_CLUSTER = StaticCluster()


@dataclass(frozen=True)
class ResourceGroup:
    """One ``resourceGroups`` entry of the admission configuration (pod mutation)."""

    resource_group: str = ""
    object_key: str = ""
    object_value: tuple[str, ...] = ()
    scheduler_name: str = ""
    tolerations: tuple[Mapping[str, Any], ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    affinity: str = ""


@dataclass(frozen=True)
class AdmissionConfig:
    """Flags of Volcano's webhook manager that change admission, with its defaults."""

    scheduler_names: tuple[str, ...] = ("volcano",)
    max_queue_depth: int = 5
    enable_root_queue_protection: bool = True
    enable_queue_allocated_pods_check: bool = False
    pod_level_resources: bool = True
    scheduling_gates_queue_admission: bool = False
    resource_groups: tuple[ResourceGroup, ...] | None = None


DEFAULT_CONFIG = AdmissionConfig()


@dataclass(frozen=True)
class AdmissionInput:
    """One admission request, decoded. ``raw`` is the object as the API server sent it."""

    operation: Operation
    obj: msgspec.Struct | None = None
    old: msgspec.Struct | None = None
    raw: Mapping[str, Any] | None = None
    name: str = ""
    namespace: str = ""
    cluster: ClusterView = EMPTY_CLUSTER
    config: AdmissionConfig = DEFAULT_CONFIG
    old_raw: Mapping[str, Any] | None = None


_RESOURCES = {
    "Job": "{batch.volcano.sh v1alpha1 jobs}",
    "CronJob": "{batch.volcano.sh v1alpha1 cronjobs}",
    "Queue": "{scheduling.volcano.sh v1beta1 queues}",
    "PodGroup": "{scheduling.volcano.sh v1beta1 podgroups}",
    "JobFlow": "{flow.volcano.sh v1alpha1 jobflows}",
    "Pod": "{ v1 pods}",
}


def wrong_object(expected: type) -> str:
    """Volcano's decoder error when a request does not carry the resource a rule serves."""
    return f"expect resource to be {_RESOURCES.get(expected.__name__, expected.__name__)}"


def children_by_parent(queues: Iterable[Queue]) -> dict[str, tuple[Queue, ...]]:
    """Queues by their ``spec.parent`` (those without one left out), each group sorted by name."""
    groups: dict[str, list[Queue]] = {}
    for queue in queues:
        if queue.spec is not None and queue.spec.parent is not None:
            groups.setdefault(queue.spec.parent, []).append(queue)
    return {parent: tuple(sorted(found, key=queue_name)) for parent, found in groups.items()}


def children_of(cluster: ClusterView, parent: str) -> list[Queue]:
    """Queues whose ``spec.parent`` is ``parent``, sorted by name."""
    return list(cluster.children(parent))


def queue_name(queue: Queue) -> str:
    """A queue's name, "" when unset."""
    return (queue.metadata.name or "") if queue.metadata else ""


def queue_state(queue: Queue) -> str:
    """A queue's ``status.state``, "" when unset."""
    return (queue.status.state or "") if queue.status else ""
