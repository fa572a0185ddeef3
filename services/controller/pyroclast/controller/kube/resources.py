"""The API resources the controller reads and writes: paths, kinds and typed (de)coding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from pyroclast.common.models import (
    Command,
    ConfigMap,
    Event,
    Job,
    Lease,
    Node,
    PersistentVolumeClaim,
    Pod,
    PodGroup,
    PriorityClass,
    Queue,
    ReplicaSet,
    Secret,
    Service,
)
from pyroclast.common.models.core import StatefulSet
from pyroclast.common.models.flow import JobFlow, JobTemplate
from pyroclast.common.models.meta import ListMeta
from pyroclast.controller.job.plugins.netpol import NetworkPolicy

T = TypeVar("T", bound=msgspec.Struct)


class _RawList(msgspec.Struct):
    metadata: ListMeta | None = None
    items: list[msgspec.Raw] | None = None


_LIST = msgspec.json.Decoder(_RawList)


@dataclass(frozen=True)
class ResourceType(Generic[T]):
    """One resource: ``/api[s]/<group>/<version>/[namespaces/<ns>/]<plural>``."""

    group: str
    version: str
    plural: str
    kind: str
    model: type[T]
    namespaced: bool = True
    _decoder: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_decoder", msgspec.json.Decoder(self.model))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            root += f"/namespaces/{namespace}"
        root += f"/{self.plural}"
        if name:
            root += f"/{name}"
        if subresource:
            root += f"/{subresource}"
        return root

    def decode(self, raw: bytes | msgspec.Raw) -> T:
        result: T = self._decoder.decode(raw)
        return result

    def encode(self, obj: T) -> bytes:
        """JSON of ``obj`` with its apiVersion and kind filled in."""
        data = msgspec.to_builtins(obj)
        data["apiVersion"] = self.api_version
        data["kind"] = self.kind
        return msgspec.json.encode(data)

    def decode_list(self, raw: bytes) -> tuple[str, list[T], list[str]]:
        """The list's resourceVersion, its decodable items and the errors of the others."""
        version, items, errors, _ = self.decode_page(raw)
        return version, items, errors

    def decode_page(self, raw: bytes) -> tuple[str, list[T], list[str], str]:
        """As `decode_list`, plus the token of the next page ("" on the last one)."""
        decoded = _LIST.decode(raw)
        items: list[T] = []
        errors: list[str] = []
        for item in decoded.items or []:
            try:
                items.append(self.decode(item))
            except msgspec.ValidationError as err:
                errors.append(str(err))
        meta = decoded.metadata
        version = (meta.resource_version if meta else None) or ""
        return version, items, errors, (meta.continue_ if meta else None) or ""


PODS = ResourceType("", "v1", "pods", "Pod", Pod)
NODES = ResourceType("", "v1", "nodes", "Node", Node, namespaced=False)
EVENTS = ResourceType("", "v1", "events", "Event", Event)
PVCS = ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", PersistentVolumeClaim)
SERVICES = ResourceType("", "v1", "services", "Service", Service)
CONFIGMAPS = ResourceType("", "v1", "configmaps", "ConfigMap", ConfigMap)
SECRETS = ResourceType("", "v1", "secrets", "Secret", Secret)
NETWORK_POLICIES = ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", NetworkPolicy)
PRIORITY_CLASSES = ResourceType(
    "scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", PriorityClass, namespaced=False
)
LEASES = ResourceType("coordination.k8s.io", "v1", "leases", "Lease", Lease)
JOBS = ResourceType("batch.volcano.sh", "v1alpha1", "jobs", "Job", Job)
PODGROUPS = ResourceType("scheduling.volcano.sh", "v1beta1", "podgroups", "PodGroup", PodGroup)
QUEUES = ResourceType("scheduling.volcano.sh", "v1beta1", "queues", "Queue", Queue, namespaced=False)
COMMANDS = ResourceType("bus.volcano.sh", "v1alpha1", "commands", "Command", Command)
REPLICASETS = ResourceType("apps", "v1", "replicasets", "ReplicaSet", ReplicaSet)
STATEFULSETS = ResourceType("apps", "v1", "statefulsets", "StatefulSet", StatefulSet)
JOBFLOWS = ResourceType("flow.volcano.sh", "v1alpha1", "jobflows", "JobFlow", JobFlow)
JOBTEMPLATES = ResourceType("flow.volcano.sh", "v1alpha1", "jobtemplates", "JobTemplate", JobTemplate)

BY_KIND: dict[str, ResourceType[Any]] = {
    rt.kind: rt for rt in (SERVICES, CONFIGMAPS, SECRETS, NETWORK_POLICIES, PVCS, PODS, PODGROUPS)
}
"""Resource types of the objects job plugins create and delete, by kind."""
