"""Projection of pods, nodes, podgroups, queues and priority classes into cache records."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from pyroclast.common.models import Node, Pod, PodGroup, PriorityClass, Queue
from pyroclast.controller.project import (
    pod_requests,
    project_node,
    project_pod,
    project_podgroup,
    project_priority_class,
    project_queue,
)

GI = 2**30
MI = 2**20

S = TypeVar("S", bound=msgspec.Struct)


def make(cls: type[S], data: dict[str, Any]) -> S:
    return msgspec.convert(data, cls)


def container(name: str, requests: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    resources = {"requests": requests} if requests else {}
    return {"name": name, "image": "x", "resources": resources, **extra}


def pod_with(spec: dict[str, Any]) -> Pod:
    return make(Pod, {"metadata": {"name": "p", "namespace": "ns"}, "spec": spec})


def test_requests_sum_containers_in_canonical_units() -> None:
    pod = pod_with(
        {
            "containers": [
                container("a", {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": 1}),
                container("b", {"cpu": 1, "memory": "512Mi"}),
            ]
        }
    )
    assert pod_requests(pod) == {"cpu": 1500, "memory": GI + 512 * MI, "nvidia.com/gpu": 1000}


def test_init_containers_raise_requests_to_their_peak() -> None:
    pod = pod_with(
        {
            "initContainers": [
                container("i1", {"cpu": "2", "memory": "64Mi"}),
                container("i2", {"cpu": "100m"}),
            ],
            "containers": [container("a", {"cpu": "500m", "memory": "1Gi"})],
        }
    )
    assert pod_requests(pod) == {"cpu": 2000, "memory": GI}


def test_sidecars_add_to_containers_and_overhead_is_added() -> None:
    pod = pod_with(
        {
            "initContainers": [
                container("sidecar", {"cpu": "200m"}, restartPolicy="Always"),
                container("setup", {"cpu": "1"}),
            ],
            "containers": [container("a", {"cpu": "500m"})],
            "overhead": {"cpu": "50m", "memory": "10Mi"},
        }
    )
    # setup runs next to the sidecar: 1200m; containers with the sidecar: 700m.
    assert pod_requests(pod) == {"cpu": 1250, "memory": 10 * MI}


def test_limits_stand_for_missing_requests() -> None:
    pod = pod_with(
        {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}
    )
    assert pod_requests(pod) == {"cpu": 1000, "memory": GI}


def test_pod_record_fields() -> None:
    pod = make(
        Pod,
        {
            "metadata": {
                "name": "job-t-0",
                "namespace": "ns",
                "uid": "u1",
                "resourceVersion": "42",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "deletionTimestamp": "2026-01-01T00:01:00Z",
                "annotations": {"scheduling.k8s.io/group-name": "job-u", "volcano.sh/task-spec": "t"},
                "ownerReferences": [
                    {
                        "apiVersion": "batch.volcano.sh/v1alpha1",
                        "kind": "Job",
                        "name": "job",
                        "uid": "j",
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "nodeName": "n1",
                "schedulerName": "volcano",
                "priority": 7,
                "containers": [container("a", {"cpu": "1"}, ports=[{"containerPort": 80, "hostPort": 8080}])],
            },
            "status": {"phase": "Running"},
        },
    )
    record = project_pod(pod)
    assert (record.namespace, record.name, record.uid, record.node_name, record.phase) == (
        "ns",
        "job-t-0",
        "u1",
        "n1",
        "Running",
    )
    assert (record.pod_group, record.task_name, record.priority, record.deleting) == ("job-u", "t", 7, True)
    assert record.owner is not None
    assert record.owner.kind == "Job"
    assert record.host_ports[0].port == 8080
    assert record.creation_timestamp is not None
    assert record.creation_timestamp.year == 2026
    assert record.resource_version == "42"
    assert project_pod(pod_with({"containers": []})).phase == "Pending"


def test_node_record_ready_from_condition() -> None:
    data = {
        "metadata": {"name": "n1", "labels": {"zone": "a"}},
        "spec": {"unschedulable": True, "taints": [{"key": "k", "effect": "NoSchedule"}]},
        "status": {
            "allocatable": {"cpu": "3900m", "memory": "15Gi", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
        },
    }
    record = project_node(make(Node, data))
    assert record.ready
    assert record.unschedulable
    assert record.allocatable == {"cpu": 3900, "memory": 15 * GI, "pods": 110_000}
    assert record.taints[0].key == "k"
    data["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]  # type: ignore[index]
    assert not project_node(make(Node, data)).ready


def test_podgroup_queue_and_priority_class_records() -> None:
    pg = make(
        PodGroup,
        {
            "metadata": {"name": "pg", "namespace": "ns"},
            "spec": {"minMember": 3, "minResources": {"cpu": "3"}, "minTaskMember": {"t": 2}},
            "status": {"phase": "Inqueue"},
        },
    )
    record = project_podgroup(pg)
    assert (record.min_member, record.queue, record.phase) == (3, "default", "Inqueue")
    assert record.min_resources == {"cpu": 3000}
    assert record.min_task_member == {"t": 2}

    queue = make(
        Queue,
        {
            "metadata": {"name": "q"},
            "spec": {"weight": 4, "capability": {"cpu": "10"}, "guarantee": {"resource": {"memory": "1Gi"}}},
            "status": {"state": "Closed"},
        },
    )
    qr = project_queue(queue)
    assert (qr.weight, qr.capability, qr.guarantee, qr.state, qr.reclaimable) == (
        4,
        {"cpu": 10000},
        {"memory": GI},
        "Closed",
        True,
    )
    assert project_queue(make(Queue, {"metadata": {"name": "d"}})).state == "Open"

    pc = project_priority_class(
        make(PriorityClass, {"metadata": {"name": "high"}, "value": 1000, "globalDefault": True})
    )
    assert (pc.name, pc.value, pc.global_default, pc.preemption_policy) == (
        "high",
        1000,
        True,
        "PreemptLowerPriority",
    )
