"""Every message that travels over NATS: cache records, decisions, failures, audit events.

Wire conventions, fixed by :class:`Message`: camelCase field names, fields at their default
are omitted, unknown fields are ignored (an older reader skips what a newer writer adds).

Resource amounts (``requests``, ``allocatable``, ``capability``...) are ``dict[str, int]``
in canonical integer units: ``cpu`` in millicores, ``memory`` in bytes, every other resource
in milli-units (``nvidia.com/gpu: 1`` is ``1000``). Times are timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, TypeAlias

import msgspec

from pyroclast.common.bus.names import AuditKind, DecisionKind, join_ref
from pyroclast.common.models.core import Affinity, Taint, Toleration
from pyroclast.common.models.meta import OwnerReference
from pyroclast.common.models.scheduling import PodGroupCondition

__all__ = [
    "AuditEvent",
    "BindDecision",
    "Decision",
    "DecisionFailure",
    "EvictDecision",
    "ExplanationRecord",
    "HostPort",
    "Message",
    "NodeRecord",
    "PodGroupRecord",
    "PodGroupStatusDecision",
    "PodRecord",
    "PriorityClassRecord",
    "QueueRecord",
    "Record",
    "ResourceList",
]

ResourceList: TypeAlias = dict[str, int]
"""Resource name to amount in canonical integer units (see the module docstring)."""


class Message(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Base of every bus message (subclasses repeat ``kw_only=True``: it applies per class)."""


# --- Cache records (KV buckets) ----------------------------------------------------------


class NodeRecord(Message, kw_only=True):
    """A node as the scheduler sees it. Keyed by ``name``."""

    name: str
    uid: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    taints: list[Taint] = []
    allocatable: ResourceList = {}
    capacity: ResourceList = {}
    unschedulable: bool = False
    ready: bool = False
    resource_version: str = ""

    @property
    def ref(self) -> str:
        return self.name


class HostPort(Message, kw_only=True):
    """A host port a container asks for (``hostIP`` empty means every address)."""

    port: int
    protocol: str = "TCP"
    host_ip: str = msgspec.field(default="", name="hostIP")


class PodRecord(Message, kw_only=True):
    """A pod as the scheduler sees it. Keyed by ``namespace/name``.

    ``requests`` is what the scheduler charges for the pod: the sum over its containers,
    raised to the largest init container where that is higher, plus the pod overhead.
    ``pod_group`` is the ``scheduling.k8s.io/group-name`` annotation; ``task_name`` the
    ``volcano.sh/task-spec`` annotation; ``deleting`` is set once a deletion timestamp is.
    """

    namespace: str
    name: str
    uid: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    node_name: str = ""
    phase: str = "Pending"
    requests: ResourceList = {}
    scheduler_name: str = ""
    priority: int = 0
    priority_class_name: str = ""
    pod_group: str = ""
    task_name: str = ""
    node_selector: dict[str, str] = {}
    affinity: Affinity | None = None
    tolerations: list[Toleration] = []
    host_ports: list[HostPort] = []
    deleting: bool = False
    owner: OwnerReference | None = None
    creation_timestamp: datetime | None = None
    resource_version: str = ""

    @property
    def ref(self) -> str:
        return join_ref(self.namespace, self.name)


class PodGroupRecord(Message, kw_only=True):
    """A Volcano PodGroup. Keyed by ``namespace/name``."""

    namespace: str
    name: str
    uid: str = ""
    min_member: int = 0
    min_task_member: dict[str, int] = {}
    min_resources: ResourceList = {}
    queue: str = "default"
    priority_class_name: str = ""
    phase: str = ""
    conditions: list[PodGroupCondition] = []
    running: int = 0
    """``status.running``, as last written (the scheduler rewrites the status when it changes)."""
    succeeded: int = 0
    failed: int = 0
    creation_timestamp: datetime | None = None
    resource_version: str = ""

    @property
    def ref(self) -> str:
        return join_ref(self.namespace, self.name)


class QueueRecord(Message, kw_only=True):
    """A Volcano Queue. Keyed by ``name``."""

    name: str
    uid: str = ""
    weight: int = 1
    capability: ResourceList = {}
    deserved: ResourceList = {}
    guarantee: ResourceList = {}
    reclaimable: bool = True
    state: str = "Open"
    parent: str = ""
    priority: int = 0
    annotations: dict[str, str] = {}
    resource_version: str = ""

    @property
    def ref(self) -> str:
        return self.name


class PriorityClassRecord(Message, kw_only=True):
    """A PriorityClass. Keyed by ``name``."""

    name: str
    value: int = 0
    global_default: bool = False
    preemption_policy: str = "PreemptLowerPriority"
    resource_version: str = ""

    @property
    def ref(self) -> str:
        return self.name


class ExplanationRecord(Message, kw_only=True):
    """Why the scheduler left a job (its podgroup) unscheduled, written after a session.

    Keyed by the podgroup's ``namespace/name``. ``task_reasons`` maps a task name to its
    reason; ``node_reasons`` counts nodes per fit-error reason ("3 Insufficient cpu").
    """

    namespace: str
    name: str
    uid: str = ""
    queue: str = ""
    reason: str = ""
    message: str = ""
    task_reasons: dict[str, str] = {}
    node_reasons: dict[str, int] = {}
    session: str = ""
    time: datetime | None = None

    @property
    def ref(self) -> str:
        return join_ref(self.namespace, self.name)


Record: TypeAlias = (
    NodeRecord | PodRecord | PodGroupRecord | QueueRecord | PriorityClassRecord | ExplanationRecord
)


# --- Decisions (work-queue stream) ------------------------------------------------------


class _DecisionBase(Message, tag_field="type", kw_only=True):
    """Common fields: a unique ``id`` (also the JetStream de-duplication id), the scheduler
    session that made the decision and when."""

    kind: ClassVar[DecisionKind]

    id: str
    session: str = ""
    time: datetime | None = None


class BindDecision(_DecisionBase, tag="bind", kw_only=True):
    """Bind pod ``namespace/name`` (``uid``, as a precondition) to ``node_name``."""

    kind: ClassVar[DecisionKind] = DecisionKind.BIND

    namespace: str
    name: str
    uid: str = ""
    node_name: str
    pod_group: str = ""


class EvictDecision(_DecisionBase, tag="evict", kw_only=True):
    """Evict pod ``namespace/name`` (``uid``), e.g. to make room for ``preemptor``."""

    kind: ClassVar[DecisionKind] = DecisionKind.EVICT

    namespace: str
    name: str
    uid: str = ""
    reason: str = ""
    message: str = ""
    preemptor: str = ""


class PodGroupStatusDecision(_DecisionBase, tag="podgroup-status", kw_only=True):
    """Write the status of podgroup ``namespace/name``."""

    kind: ClassVar[DecisionKind] = DecisionKind.PODGROUP_STATUS

    namespace: str
    name: str
    uid: str = ""
    phase: str
    conditions: list[PodGroupCondition] = []
    running: int = 0
    succeeded: int = 0
    failed: int = 0


Decision: TypeAlias = BindDecision | EvictDecision | PodGroupStatusDecision


class DecisionFailure(Message, kw_only=True):
    """A decision a binder gave up on; the scheduler drops what it assumed from it.

    ``attempts`` is how many deliveries were tried; ``actor`` names the binder.
    """

    decision: Decision
    reason: str
    message: str = ""
    attempts: int = 0
    actor: str = ""
    time: datetime | None = None


# --- Audit (JSON) -----------------------------------------------------------------------


class AuditEvent(Message, kw_only=True):
    """Something worth telling a human: a verdict, a phase change, a decision, a command.

    ``namespace`` is empty for cluster-scoped objects; ``cluster`` is the cluster prefix;
    ``details`` holds JSON-compatible extras.
    """

    time: datetime
    kind: AuditKind
    action: str
    namespace: str = ""
    name: str
    uid: str = ""
    actor: str = ""
    reason: str = ""
    message: str = ""
    details: dict[str, Any] = {}
    cluster: str = ""

    @property
    def ref(self) -> str:
        return join_ref(self.namespace, self.name)
