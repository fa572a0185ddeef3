"""Queue status figures: allocated resources (as the scheduler writes them) and a property."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyroclast.common.models import (
    Container,
    ObjectMeta,
    Pod,
    PodGroup,
    PodGroupSpec,
    PodSpec,
    PodStatus,
    Queue,
    QueueSpec,
    QueueStatus,
    ResourceRequirements,
)
from pyroclast.controller.queue import QueueWorld, count_podgroups, queue_allocated, reconcile_queue


def pod(
    name: str, group: str, phase: str, node: str | None = "n1", cpu: str = "500m", deleting: bool = False
) -> Pod:
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace="ns",
            annotations={"scheduling.k8s.io/group-name": group},
            deletion_timestamp="2026-01-01T00:00:00Z" if deleting else None,
        ),
        spec=PodSpec(
            node_name=node,
            containers=[
                Container(name="c", resources=ResourceRequirements(requests={"cpu": cpu, "memory": "1Gi"}))
            ],
        ),
        status=PodStatus(phase=phase),
    )


def queues() -> dict[str, Queue]:
    return {
        "root": Queue(metadata=ObjectMeta(name="root"), spec=QueueSpec()),
        "eng": Queue(metadata=ObjectMeta(name="eng"), spec=QueueSpec(parent="root")),
        "dev": Queue(metadata=ObjectMeta(name="dev"), spec=QueueSpec(parent="eng")),
        "default": Queue(metadata=ObjectMeta(name="default"), spec=QueueSpec()),
    }


def test_queue_allocated_sums_bound_and_running_pods_up_the_hierarchy() -> None:
    pgs = [
        PodGroup(metadata=ObjectMeta(name="g1", namespace="ns"), spec=PodGroupSpec(queue="dev")),
        PodGroup(metadata=ObjectMeta(name="g2", namespace="ns"), spec=PodGroupSpec()),
    ]
    pods = [
        pod("a", "g1", "Running"),
        pod("b", "g1", "Pending"),  # bound: has a node
        pod("c", "g1", "Pending", node=None),  # not yet placed
        pod("d", "g1", "Running", deleting=True),  # releasing
        pod("e", "g1", "Succeeded"),
        pod("f", "g2", "Running", cpu="2"),  # no queue named: default
    ]
    alloc = queue_allocated(queues(), pgs, pods)
    assert alloc["dev"] == {"cpu": "1", "memory": "2Gi", "pods": "2"}
    assert alloc["eng"] == alloc["dev"]
    assert alloc["default"] == {"cpu": "2", "memory": "1Gi", "pods": "1"}
    assert alloc["root"] == {"cpu": "3", "memory": "3Gi", "pods": "3"}


def test_queue_allocated_lists_cpu_and_memory_even_when_idle() -> None:
    assert queue_allocated(queues(), [], [])["eng"] == {"cpu": "0", "memory": "0"}


PHASES = st.sampled_from(["", "Open", "Closed", "Closing", "Unknown"])
ACTIONS = st.sampled_from(["SyncQueue", "OpenQueue", "CloseQueue"])


@given(state=PHASES, action=ACTIONS, n=st.integers(0, 3))
def test_queue_only_open_action_opens_a_shut_queue(state: str, action: str, n: int) -> None:
    q = Queue(
        metadata=ObjectMeta(name="q"), spec=QueueSpec(parent="root"), status=QueueStatus(state=state or None)
    )
    root = Queue(metadata=ObjectMeta(name="root"), status=QueueStatus(state="Open"))
    pgs = {
        f"ns/p{i}": PodGroup(metadata=ObjectMeta(name=f"p{i}"), spec=PodGroupSpec(queue="q"))
        for i in range(n)
    }
    plan = reconcile_queue(q, QueueWorld(queues={"q": q, "root": root}, podgroups=pgs), action)
    if state in ("Closed", "Closing") and action != "OpenQueue":
        assert plan.state != "Open"
    if plan.state == "Closed":
        assert n == 0 or state == "Closed"
    assert count_podgroups(pgs.values()).pending == 0
