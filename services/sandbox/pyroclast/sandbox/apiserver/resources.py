"""The table of resource types the server serves: built-in kinds plus those registered by CRDs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class PrinterColumn:
    """One column of a ``Table``: for CRDs a JSONPath, for built-in kinds computed in tables.py."""

    name: str
    type: str = "string"
    json_path: str = ""
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass
class ResourceType:
    """Everything the server needs to know to serve one group/version/resource."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # For custom resources: the (structural) OpenAPI schema, printer columns and storage flag.
    schema: dict[str, Any] | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    builtin: bool = True
    served: bool = True
    storage: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Storage key: all versions of one group resource share it (some groups share another's)."""
        shared = self.extra.get("storage_key")
        return str(shared) if shared else f"{self.group or 'core'}/{self.plural}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def group_version(self) -> str:
        return self.api_version


def _rt(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short: Iterable[str] = (),
    subresources: Iterable[str] = (),
    categories: Iterable[str] = (),
    verbs: Iterable[str] = ALL_VERBS,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=tuple(short),
        verbs=tuple(verbs),
        subresources=tuple(subresources),
        categories=tuple(categories),
    )


NS_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", False, ["ns"], ["finalize", "status"], verbs=NS_VERBS),
    _rt("", "v1", "Node", "nodes", False, ["no"], ["status"]),
    _rt(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        ["po"],
        ["binding", "eviction", "log", "status", "ephemeralcontainers", "resize"],
        ["all"],
    ),
    _rt("", "v1", "Service", "services", True, ["svc"], ["status"], ["all"]),
    _rt("", "v1", "Endpoints", "endpoints", True, ["ep"]),
    _rt("", "v1", "ConfigMap", "configmaps", True, ["cm"]),
    _rt("", "v1", "Secret", "secrets", True),
    _rt("", "v1", "Event", "events", True, ["ev"]),
    ResourceType(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        True,
        ("ev",),
        storage=False,
        extra={"storage_key": "core/events"},
    ),
    _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ["pvc"], ["status"]),
    _rt("", "v1", "PersistentVolume", "persistentvolumes", False, ["pv"], ["status"]),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"]),
    _rt("", "v1", "ResourceQuota", "resourcequotas", True, ["quota"], ["status"]),
    _rt("", "v1", "LimitRange", "limitranges", True, ["limits"]),
    _rt("apps", "v1", "Deployment", "deployments", True, ["deploy"], ["scale", "status"], ["all"]),
    _rt("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"], ["scale", "status"], ["all"]),
    _rt("apps", "v1", "StatefulSet", "statefulsets", True, ["sts"], ["scale", "status"], ["all"]),
    _rt("apps", "v1", "DaemonSet", "daemonsets", True, ["ds"], ["status"], ["all"]),
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    _rt("batch", "v1", "Job", "jobs", True, [], ["status"], ["all"]),
    _rt("batch", "v1", "CronJob", "cronjobs", True, ["cj"], ["status"], ["all"]),
    _rt("coordination.k8s.io", "v1", "Lease", "leases", True),
    _rt("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ["pc"]),
    _rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ["netpol"]),
    _rt("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ["pdb"], ["status"]),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        False,
    ),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
    ),
    _rt(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        False,
        verbs=["create"],
    ),
    _rt(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        False,
        verbs=["create"],
    ),
    _rt("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False, verbs=["create"]),
    _rt(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        True,
        verbs=["create"],
    ),
    _rt("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=["create"]),
    _rt("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=["create"]),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ["crd", "crds"],
        ["status"],
    ),
)

# Group order in discovery, as kube-apiserver lists them.
GROUP_ORDER = (
    "",
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
)


class ResourceTable:
    """Lookup of served resource types by group/version/plural and by group/kind."""

    def __init__(self, types: Iterable[ResourceType] = BUILTIN_TYPES) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self.generation = 0
        for rt in types:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt
        self.generation += 1

    def remove_group_resource(self, group: str, plural: str) -> None:
        for key in [k for k in self._types if k[0] == group and k[2] == plural]:
            del self._types[key]
        self.generation += 1

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self._types.get((group, version, plural))
        return rt if rt is not None and rt.served else None

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        for rt in self._types.values():
            if rt.group == group and rt.kind == kind and rt.storage:
                return rt
        return None

    def by_key(self, key: str) -> ResourceType | None:
        for rt in self._types.values():
            if rt.key == key and rt.storage:
                return rt
        return None

    def all(self) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.served]

    def storage_types(self) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.storage]

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions) in discovery order, preferred version first."""
        found: dict[str, list[str]] = {}
        for rt in self.all():
            versions = found.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        ordered = sorted(found, key=lambda g: (order.get(g, len(order)), g))
        return [(g, sorted(found[g], key=version_priority)) for g in ordered]

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self.all() if rt.group == group and rt.version == version]


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key: GA before beta before alpha, higher numbers first (kube's version ordering)."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor)
