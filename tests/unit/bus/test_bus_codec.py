"""Every bus message survives its codec, with the agreed wire shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from pyroclast.common.bus import codec
from pyroclast.common.bus.messages import (
    AuditEvent,
    BindDecision,
    Decision,
    DecisionFailure,
    EvictDecision,
    ExplanationRecord,
    HostPort,
    NodeRecord,
    PodGroupRecord,
    PodGroupStatusDecision,
    PodRecord,
    PriorityClassRecord,
    QueueRecord,
)
from pyroclast.common.bus.names import AuditKind, DecisionKind
from pyroclast.common.models.core import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Taint,
    Toleration,
)
from pyroclast.common.models.meta import OwnerReference
from pyroclast.common.models.scheduling import PodGroupCondition

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
CONDITION = PodGroupCondition(
    type="Unschedulable", status="True", transition_id="t-1", reason="NotEnoughResources", message="2/4"
)

NODE = NodeRecord(
    name="node-1.example",
    uid="u-node",
    labels={"kubernetes.io/hostname": "node-1"},
    annotations={"a": "b"},
    taints=[Taint(key="gpu", value="true", effect="NoSchedule")],
    allocatable={"cpu": 3900, "memory": 15 * 2**30, "pods": 110_000, "nvidia.com/gpu": 4000},
    capacity={"cpu": 4000, "memory": 16 * 2**30, "pods": 110_000, "nvidia.com/gpu": 4000},
    unschedulable=True,
    ready=True,
    resource_version="42",
)
POD = PodRecord(
    namespace="team-a",
    name="train-worker-0",
    uid="u-pod",
    labels={"app": "train"},
    annotations={"scheduling.k8s.io/group-name": "train"},
    node_name="node-1.example",
    phase="Running",
    requests={"cpu": 1500, "memory": 2**31},
    scheduler_name="volcano",
    priority=1000,
    priority_class_name="high",
    pod_group="train",
    task_name="worker",
    node_selector={"zone": "a"},
    affinity=Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(
                node_selector_terms=[
                    NodeSelectorTerm(
                        match_expressions=[NodeSelectorRequirement(key="zone", operator="In", values=["a"])]
                    )
                ]
            )
        )
    ),
    tolerations=[Toleration(key="gpu", operator="Exists", effect="NoSchedule")],
    host_ports=[HostPort(port=8080), HostPort(port=53, protocol="UDP", host_ip="10.0.0.1")],
    deleting=True,
    owner=OwnerReference(api_version="batch.volcano.sh/v1alpha1", kind="Job", name="train", uid="u-job"),
    creation_timestamp=NOW,
    resource_version="7",
)
PODGROUP = PodGroupRecord(
    namespace="team-a",
    name="train",
    uid="u-pg",
    min_member=4,
    min_task_member={"worker": 3, "ps": 1},
    min_resources={"cpu": 6000},
    queue="research",
    priority_class_name="high",
    phase="Inqueue",
    conditions=[CONDITION],
    creation_timestamp=NOW,
    resource_version="9",
)
QUEUE = QueueRecord(
    name="research",
    uid="u-q",
    weight=3,
    capability={"cpu": 100_000},
    deserved={"cpu": 50_000},
    guarantee={"cpu": 10_000},
    reclaimable=False,
    state="Closed",
    parent="root",
    priority=5,
    annotations={"x": "y"},
    resource_version="11",
)
PRIORITY_CLASS = PriorityClassRecord(
    name="high", value=1000, global_default=True, preemption_policy="Never", resource_version="1"
)
EXPLANATION = ExplanationRecord(
    namespace="team-a",
    name="train",
    uid="u-pg",
    queue="research",
    reason="Unschedulable",
    message="3/4 tasks in gang unschedulable",
    task_reasons={"worker": "Insufficient cpu"},
    node_reasons={"Insufficient cpu": 3, "node(s) had untolerated taint": 1},
    session="s-1",
    time=NOW,
)
BIND = BindDecision(
    id="d-1",
    session="s-1",
    time=NOW,
    namespace="team-a",
    name="train-worker-0",
    uid="u-pod",
    node_name="node-1.example",
    pod_group="train",
)
EVICT = EvictDecision(
    id="d-2",
    session="s-1",
    time=NOW,
    namespace="team-b",
    name="batch-0",
    uid="u-2",
    reason="Preempted",
    message="by team-a/train",
    preemptor="team-a/train-worker-0",
)
PG_STATUS = PodGroupStatusDecision(
    id="d-3",
    session="s-1",
    time=NOW,
    namespace="team-a",
    name="train",
    uid="u-pg",
    phase="Running",
    conditions=[CONDITION],
    running=4,
    succeeded=1,
    failed=2,
)
FAILURE = DecisionFailure(
    decision=BIND, reason="NodeGone", message="node-1 not found", attempts=3, actor="binder-1", time=NOW
)
AUDIT = AuditEvent(
    time=NOW,
    kind=AuditKind.JOB,
    action="PhaseChanged",
    namespace="team-a",
    name="train",
    uid="u-job",
    actor="controller",
    reason="Running",
    message="Pending -> Running",
    details={"from": "Pending", "to": "Running", "tasks": [1, 2], "nested": {"ok": True}},
    cluster="pyroclast",
)

RECORDS: list[Any] = [NODE, POD, PODGROUP, QUEUE, PRIORITY_CLASS, EXPLANATION]
DECISIONS: list[Decision] = [BIND, EVICT, PG_STATUS]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_record_round_trip(record: Any) -> None:
    data = codec.encode(record)
    assert codec.decode(data, type(record)) == record


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_minimal_record_round_trip(record: Any) -> None:
    required = {f: getattr(record, f) for f in ("namespace", "name") if hasattr(record, f)}
    minimal = type(record)(**required)
    data = codec.encode(minimal)
    assert codec.decode(data, type(record)) == minimal
    assert set(msgspec.msgpack.decode(data)) == set(required)  # defaults are not sent


@pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: type(d).__name__)
def test_decision_round_trip_through_the_union(decision: Decision) -> None:
    data = codec.encode(decision)
    decoded = codec.decode_decision(data)
    assert type(decoded) is type(decision)
    assert decoded == decision
    assert msgspec.msgpack.decode(data)["type"] == decision.kind.value


def test_decision_kinds_match_their_tags() -> None:
    assert BIND.kind is DecisionKind.BIND
    assert EVICT.kind is DecisionKind.EVICT
    assert PG_STATUS.kind is DecisionKind.PODGROUP_STATUS


def test_failure_round_trip_keeps_the_decision() -> None:
    decoded = codec.decode_failure(codec.encode(FAILURE))
    assert decoded == FAILURE
    assert isinstance(decoded.decision, BindDecision)


def test_audit_event_is_readable_json() -> None:
    data = codec.encode_audit(AUDIT)
    as_json = json.loads(data)
    assert as_json["kind"] == "job"
    assert as_json["time"] == "2026-01-02T03:04:05.678000Z"
    assert as_json["details"]["nested"] == {"ok": True}
    assert codec.decode_audit(data) == AUDIT


def test_wire_names_are_camel_case() -> None:
    pod = msgspec.msgpack.decode(codec.encode(POD))
    assert {"nodeName", "schedulerName", "priorityClassName", "podGroup", "taskName", "hostPorts"} <= set(pod)
    assert {"creationTimestamp", "resourceVersion", "nodeSelector"} <= set(pod)
    assert pod["hostPorts"][1] == {"port": 53, "protocol": "UDP", "hostIP": "10.0.0.1"}
    assert "requiredDuringSchedulingIgnoredDuringExecution" in pod["affinity"]["nodeAffinity"]
    pg = msgspec.msgpack.decode(codec.encode(PODGROUP))
    assert {"minMember", "minTaskMember", "minResources"} <= set(pg)
    assert pg["conditions"][0]["transitionID"] == "t-1"
    queue = msgspec.msgpack.decode(codec.encode(QUEUE))
    assert queue["reclaimable"] is False
    pc = msgspec.msgpack.decode(codec.encode(PRIORITY_CLASS))
    assert {"globalDefault", "preemptionPolicy"} <= set(pc)


def test_unknown_fields_are_ignored() -> None:
    data = msgspec.msgpack.encode({"name": "n1", "ready": True, "addedLater": [1, 2]})
    assert codec.decode(data, NodeRecord) == NodeRecord(name="n1", ready=True)


def test_garbage_raises_decode_error() -> None:
    with pytest.raises(codec.DecodeError):
        codec.decode_decision(msgspec.msgpack.encode({"type": "reboot", "id": "x"}))
    with pytest.raises(codec.DecodeError):
        codec.decode(b"\xc1", PodRecord)
    with pytest.raises(codec.DecodeError):
        codec.decode_audit(b"{}")


def test_refs() -> None:
    assert POD.ref == "team-a/train-worker-0"
    assert NODE.ref == "node-1.example"
    assert QUEUE.ref == "research"
    assert AUDIT.ref == "team-a/train"
