"""``scheduling.volcano.sh/v1beta1``: PodGroup and Queue."""

from __future__ import annotations

from typing import Annotated

import msgspec

from pyroclast.common.models.enums import DequeueStrategy, NetworkTopologyMode, PodGroupPhase, QueueState
from pyroclast.common.models.meta import LabelSelector, ListMeta, ObjectMeta
from pyroclast.common.models.wire import DNS_SUBDOMAIN, Model, NonNegative, Quantity, Time, one_of, openapi

SCHEDULING_API_VERSION = "scheduling.volcano.sh/v1beta1"


class NetworkTopologySpec(Model, kw_only=True):
    """Limits on how far apart in the network a group's pods may be placed."""

    mode: Annotated[str | None, one_of(NetworkTopologyMode), openapi(default="hard")] = None
    highest_tier_allowed: NonNegative = None
    highest_tier_name: Annotated[str | None, openapi(maxLength=253)] = None


# --- PodGroup ---------------------------------------------------------------------------


class SubGroupPolicySpec(Model, kw_only=True):
    """Splits a podgroup's pods into sub-groups that are placed together."""

    name: Annotated[str | None, openapi(maxLength=253)] = None
    network_topology: NetworkTopologySpec | None = None
    sub_group_size: Annotated[int | None, openapi(minimum=1, default=1)] = None
    min_sub_groups: Annotated[int | None, openapi(minimum=0, default=0)] = None
    label_selector: LabelSelector | None = None
    match_label_keys: Annotated[list[str] | None, openapi(**{"x-kubernetes-list-type": "atomic"})] = None


class PodGroupSpec(Model, kw_only=True):
    min_member: NonNegative = None
    min_task_member: dict[str, int] | None = None
    queue: Annotated[str | None, openapi(default="default", **DNS_SUBDOMAIN)] = None
    priority_class_name: Annotated[str | None, openapi(maxLength=253)] = None
    min_resources: dict[str, Quantity] | None = None
    network_topology: NetworkTopologySpec | None = None
    sub_group_policy: list[SubGroupPolicySpec] | None = None


class PodGroupCondition(Model, kw_only=True):
    type: str | None = None
    status: str | None = None
    transition_id: str | None = msgspec.field(default=None, name="transitionID")
    last_transition_time: Time | None = None
    reason: str | None = None
    message: str | None = None


class PodGroupStatus(Model, kw_only=True):
    phase: Annotated[str | None, one_of(PodGroupPhase)] = None
    conditions: list[PodGroupCondition] | None = None
    running: NonNegative = None
    succeeded: NonNegative = None
    failed: NonNegative = None


class PodGroup(Model, kw_only=True):
    """A gang of pods the scheduler admits and places as one unit."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: PodGroupSpec | None = None
    status: PodGroupStatus | None = None


class PodGroupList(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    items: list[PodGroup] | None = None


# --- Queue ------------------------------------------------------------------------------


class Guarantee(Model, kw_only=True):
    """Resources reserved for a queue whatever the load elsewhere."""

    resource: dict[str, Quantity] | None = None


class Reservation(Model, kw_only=True):
    nodes: list[str] | None = None
    resource: dict[str, Quantity] | None = None


class Cluster(Model, kw_only=True):
    """A member cluster a queue may spill over to."""

    name: str | None = None
    weight: int | None = None
    capacity: dict[str, Quantity] | None = None


class NodeGroupAffinity(Model, kw_only=True):
    required_during_scheduling_ignored_during_execution: list[str] | None = None
    preferred_during_scheduling_ignored_during_execution: list[str] | None = None


class NodeGroupAntiAffinity(Model, kw_only=True):
    required_during_scheduling_ignored_during_execution: list[str] | None = None
    preferred_during_scheduling_ignored_during_execution: list[str] | None = None


class QueueAffinity(Model, kw_only=True):
    """Node groups a queue's pods should, or must not, land on (Volcano's ``Affinity``)."""

    node_group_affinity: NodeGroupAffinity | None = None
    node_group_anti_affinity: NodeGroupAntiAffinity | None = None


class QueueSpec(Model, kw_only=True):
    weight: Annotated[int | None, openapi(minimum=1, maximum=65535, default=1)] = None
    capability: dict[str, Quantity] | None = None
    reclaimable: bool | None = None
    extend_clusters: list[Cluster] | None = None
    guarantee: Guarantee | None = None
    affinity: QueueAffinity | None = None
    type: Annotated[str | None, openapi(maxLength=253)] = None
    parent: Annotated[str | None, openapi(**DNS_SUBDOMAIN)] = None
    deserved: dict[str, Quantity] | None = None
    priority: NonNegative = None
    dequeue_strategy: Annotated[str | None, one_of(DequeueStrategy), openapi(default="traverse")] = None


class QueueStatus(Model, kw_only=True):
    state: Annotated[str | None, one_of(QueueState)] = None
    unknown: NonNegative = None
    pending: NonNegative = None
    running: NonNegative = None
    inqueue: NonNegative = None
    completed: NonNegative = None
    reservation: Reservation | None = None
    allocated: dict[str, Quantity] | None = None


class Queue(Model, kw_only=True):
    """A share of the cluster that podgroups are admitted against."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: QueueSpec | None = None
    status: QueueStatus | None = None


class QueueList(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    items: list[Queue] | None = None
