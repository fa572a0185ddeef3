"""The PodGroup of a Job: name, gang sizes and minResources (Volcano's worked examples)."""

from __future__ import annotations

import msgspec
import pytest
from job_builders import job, task

from pyroclast.common.models import Container, PartitionPolicySpec, PodSpec, ResourceRequirements, TaskSpec
from pyroclast.common.models.scheduling import NetworkTopologySpec
from pyroclast.controller.job.podgroup import (
    build_podgroup,
    fill_min_resources,
    min_resources,
    min_task_member,
    pod_quota_usage,
    podgroup_update,
    render,
)


def nginx_tasks(first: str = "nginx2") -> list[TaskSpec]:
    nginx2 = task("nginx2", 2, min_available=2, cpu="200m", memory="1000m")
    nginx = task("nginx", 4, min_available=4, cpu="100m", memory="500m")
    return [nginx2, nginx] if first == "nginx2" else [nginx, nginx2]


def test_all_replicas_when_min_available_is_the_total() -> None:
    pg = build_podgroup(job(*nginx_tasks(), queue="weight"))
    assert pg.spec is not None
    assert pg.spec.min_member == 6
    assert pg.spec.min_task_member == {"nginx2": 2, "nginx": 4}
    assert pg.spec.min_resources == {
        "count/pods": "6",
        "cpu": "800m",
        "memory": "4",
        "pods": "6",
        "requests.cpu": "800m",
        "requests.memory": "4",
    }


def test_first_three_pods_in_task_order() -> None:
    pg = build_podgroup(job(*nginx_tasks(), min_available=3, queue="weight"))
    assert pg.spec is not None
    assert pg.spec.min_member == 3
    assert pg.spec.min_task_member == {"nginx2": 2, "nginx": 4}
    assert pg.spec.min_resources == {
        "count/pods": "3",
        "cpu": "500m",
        "memory": "2500m",
        "pods": "3",
        "requests.cpu": "500m",
        "requests.memory": "2500m",
    }


def test_task_order_changes_min_resources() -> None:
    pg = build_podgroup(job(*nginx_tasks("nginx"), min_available=3, queue="weight"))
    assert pg.spec is not None
    assert pg.spec.min_resources == {
        "count/pods": "3",
        "cpu": "300m",
        "memory": "1500m",
        "pods": "3",
        "requests.cpu": "300m",
        "requests.memory": "1500m",
    }


def test_single_task_three_replicas() -> None:
    pg = build_podgroup(job(task("nginx", 3, min_available=3, cpu="100m", memory="500m"), queue="weight"))
    assert pg.spec is not None
    assert pg.spec.min_resources == {
        "count/pods": "3",
        "cpu": "300m",
        "memory": "1500m",
        "pods": "3",
        "requests.cpu": "300m",
        "requests.memory": "1500m",
    }
    assert pg.spec.min_task_member == {"nginx": 3}
    assert pg.spec.queue == "weight"


def test_priority_class_orders_tasks_first() -> None:
    low = task("low", 2, min_available=2, cpu="1")
    high = task("high", 2, min_available=2, cpu="3", priority_class="hp")
    j = job(low, high, min_available=1)
    assert render(min_resources(j, {"hp": 100}))["cpu"] == "3"
    assert render(min_resources(j))["cpu"] == "1"


def test_fill_up_beyond_task_min_available() -> None:
    a = task("a", 3, min_available=1, cpu="1")
    b = task("b", 3, min_available=1, cpu="2")
    j = job(a, b, min_available=4)
    # a:1 + b:1 from minAvailable, then 2 more from a's spare replicas.
    assert render(min_resources(j))["cpu"] == "5"


def test_name_owner_metadata_and_topology() -> None:
    j = job(
        task("t", 2, min_available=2),
        priority_class_name="high",
        network_topology=NetworkTopologySpec(mode="hard", highest_tier_allowed=2),
    )
    j = msgspec.structs.replace(
        j, metadata=msgspec.structs.replace(j.metadata, labels={"l": "1"}, annotations={"a": "2"})
    )
    pg = build_podgroup(j)
    assert pg.api_version == "scheduling.volcano.sh/v1beta1"
    assert pg.kind == "PodGroup"
    assert pg.metadata is not None
    assert pg.metadata.name == "job-uid-1"
    assert pg.metadata.labels == {"l": "1"}
    assert pg.metadata.annotations == {"a": "2"}
    assert pg.metadata.owner_references[0].controller is True  # type: ignore[index]
    assert pg.spec is not None
    assert pg.spec.priority_class_name == "high"
    assert pg.spec.network_topology == NetworkTopologySpec(mode="hard", highest_tier_allowed=2)


def test_partition_policy_sub_groups_and_min_task_member() -> None:
    t = task(
        "t", 4, partition_policy=PartitionPolicySpec(total_partitions=2, partition_size=2, min_partitions=1)
    )
    assert min_task_member(t) == 2
    pg = build_podgroup(job(t))
    assert pg.spec is not None
    assert pg.spec.sub_group_policy is not None
    sg = pg.spec.sub_group_policy[0]
    assert (sg.name, sg.sub_group_size, sg.min_sub_groups) == ("t", 2, 1)
    assert sg.match_label_keys == ["volcano.sh/partition-id"]
    assert sg.label_selector is not None
    assert sg.label_selector.match_labels == {"volcano.sh/task-spec": "t"}


def test_update_only_when_something_changed() -> None:
    j = job(task("t", 2, min_available=2, cpu="1"))
    pg = build_podgroup(j)
    assert podgroup_update(pg, j) is None
    grown = job(task("t", 3, min_available=3, cpu="1"), priority_class_name="p")
    updated = podgroup_update(pg, grown)
    assert updated is not None
    assert updated.spec is not None
    assert updated.spec.min_member == 3
    assert updated.spec.min_task_member == {"t": 3}
    assert updated.spec.priority_class_name == "p"
    assert updated.spec.min_resources is not None
    assert updated.spec.min_resources["cpu"] == "3"
    assert podgroup_update(updated, grown) is None


def test_quota_usage_limits_init_containers_and_extended_resources() -> None:
    spec = PodSpec(
        containers=[
            Container(
                name="a",
                resources=ResourceRequirements(
                    requests={"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1", "hugepages-2Mi": "2Mi"},
                    limits={"cpu": "2"},
                ),
            ),
            Container(name="b", resources=ResourceRequirements(requests={"cpu": "500m"})),
        ],
        init_containers=[Container(name="i", resources=ResourceRequirements(requests={"cpu": "4"}))],
    )
    usage = render(pod_quota_usage(spec))
    assert usage == {
        "count/pods": "1",
        "cpu": "4",
        "hugepages-2Mi": "2Mi",
        "limits.cpu": "2",
        "memory": "1Gi",
        "nvidia.com/gpu": "1",
        "pods": "1",
        "requests.cpu": "4",
        "requests.hugepages-2Mi": "2Mi",
        "requests.memory": "1Gi",
        "requests.nvidia.com/gpu": "1",
    }


# Volcano's own cases: masters request 50m, workers 100m, two replicas each.
def master_worker(
    master_min: int | None, worker_min: int | None, master_first: bool = True
) -> list[TaskSpec]:
    master = task("master", 2, min_available=master_min, cpu="50m")
    worker = task("worker", 2, min_available=worker_min, cpu="100m")
    return [master, worker] if master_first else [worker, master]


def with_defaults(tasks: list[TaskSpec]) -> list[TaskSpec]:
    """Admission fills a task's missing minAvailable with its replicas."""
    return [
        t if t.min_available is not None else msgspec.structs.replace(t, min_available=t.replicas)
        for t in tasks
    ]


@pytest.mark.parametrize(
    ("job_min", "mins", "high", "cpu", "pods"),
    [
        (0, (1, 1), None, "150m", "2"),
        (0, (None, 1), "master", "200m", "3"),
        (3, (None, 1), None, "200m", "3"),
        (3, (1, None), None, "250m", "3"),
        (2, (1, 1), None, "150m", "2"),
        (3, (1, 1), "master", "200m", "3"),
        (3, (1, 1), "worker", "250m", "3"),
        (3, (0, 1), "worker", "250m", "3"),
        (4, (None, 1), "worker", "300m", "4"),
        (4, (1, 1), "worker", "300m", "4"),
        (2, (None, 1), "master", "100m", "2"),
        (2, (None, 1), "worker", "150m", "2"),
        (2, (1, None), None, "150m", "2"),
    ],
)
def test_fill_min_resources_cases(
    job_min: int, mins: tuple[int | None, int | None], high: str | None, cpu: str, pods: str
) -> None:
    tasks = with_defaults(master_worker(*mins))
    ordered = sorted(tasks, key=lambda t: t.name == high, reverse=True)
    job_min = job_min or sum(t.min_available or 0 for t in tasks)
    got = render(fill_min_resources(ordered, job_min))
    assert got == {"count/pods": pods, "cpu": cpu, "pods": pods, "requests.cpu": cpu}


@pytest.mark.parametrize(
    ("job_min", "mins", "cpu", "pods"),
    [
        (2, (1, None), "100m", "2"),
        (2, (None, 1), "100m", "2"),
        (3, (None, None), "200m", "3"),
        (3, (1, 1), "200m", "3"),
        (3, (1, None), "250m", "3"),
        (2, (1, 1), "150m", "2"),
    ],
)
def test_min_resources_cases(job_min: int, mins: tuple[int | None, int | None], cpu: str, pods: str) -> None:
    j = job(*with_defaults(master_worker(*mins)), min_available=job_min)
    assert render(min_resources(j)) == {"count/pods": pods, "cpu": cpu, "pods": pods, "requests.cpu": cpu}
