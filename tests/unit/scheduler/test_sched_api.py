"""The data model: task status, requests, jobs, nodes and the snapshot."""

from __future__ import annotations

import pytest
from sched_support import GI, node, pod, podgroup, priority_class, queue, snap

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import (
    FitError,
    FitErrors,
    NodeInfo,
    SchedulingError,
    Status,
    StatusCode,
    TaskInfo,
    TaskStatus,
    pod_resource,
    task_status,
)


@pytest.mark.parametrize(
    ("phase", "node_name", "deleting", "status"),
    [
        ("Pending", "", False, TaskStatus.PENDING),
        ("Pending", "n1", False, TaskStatus.BOUND),
        ("Pending", "", True, TaskStatus.RELEASING),
        ("Running", "n1", False, TaskStatus.RUNNING),
        ("Running", "n1", True, TaskStatus.RELEASING),
        ("Succeeded", "n1", False, TaskStatus.SUCCEEDED),
        ("Failed", "n1", False, TaskStatus.FAILED),
        ("Unknown", "n1", False, TaskStatus.UNKNOWN),
        ("Weird", "", False, TaskStatus.UNKNOWN),
    ],
)
def test_task_status_follows_volcano(phase: str, node_name: str, deleting: bool, status: TaskStatus) -> None:
    rec = PodRecord(namespace="ns", name="p", phase=phase, node_name=node_name, deleting=deleting)
    assert task_status(rec) is status


def test_pod_resource_adds_one_pod_and_best_effort_ignores_it() -> None:
    r = pod_resource({"cpu": 500, "memory": GI, "nvidia.com/gpu": 1000})
    assert r == Resource(500, GI, {"nvidia.com/gpu": 1000, "pods": 1000})
    task = TaskInfo.from_pod(pod("ns", "be", "pg", cpu=None, memory=None))
    assert task.best_effort
    assert task.resreq.get("pods") == 1000


def test_task_fields() -> None:
    rec = pod("ns", "p", "pg", role="worker", priority=5)
    rec = PodRecord(
        **{
            **{f: getattr(rec, f) for f in rec.__struct_fields__},
            "annotations": {"volcano.sh/task-priority": "9"},
        }
    )
    t = TaskInfo.from_pod(rec)
    assert (t.job, t.role, t.priority, t.uid, t.key) == ("ns/pg", "worker", 9, "uid-ns-p", "ns/p")


def test_snapshot_charges_nodes_and_builds_jobs() -> None:
    s = snap(
        [
            node("n1", cpu="4"),
            node("n2"),
            queue(),
            podgroup("ns", "pg1", 2, priority_class="high"),
            podgroup("ns", "pg2", 1, queue="missing"),
            priority_class("high", 100),
            priority_class("base", 7, default=True),
            pod("ns", "run", "pg1", node_name="n1", phase="Running"),
            pod("ns", "rel", "pg1", node_name="n1", phase="Running", deleting=True),
            pod("ns", "done", "pg1", node_name="n1", phase="Succeeded"),
            pod("ns", "wait", "pg1"),
            pod("ns", "other", "", node_name="n2", phase="Running", scheduler="default-scheduler"),
            pod("ns", "foreign", "", scheduler="default-scheduler"),
            pod("ns", "p2", "pg2"),
        ]
    )
    n1 = s.nodes["n1"]
    assert n1.used.cpu_milli == 2000
    assert n1.idle.cpu_milli == 2000
    assert n1.releasing.cpu_milli == 1000
    assert n1.future_idle().cpu_milli == 3000
    assert set(n1.tasks) == {"ns/run", "ns/rel"}
    assert s.nodes["n2"].idle.cpu_milli == 1000  # assigned pods of other schedulers still count
    assert list(s.jobs) == ["ns/pg1"]  # pg2's queue does not exist
    job = s.jobs["ns/pg1"]
    assert job.priority == 100
    assert job.count(TaskStatus.RUNNING) == 1
    assert job.count(TaskStatus.RELEASING) == 1
    assert job.count(TaskStatus.SUCCEEDED) == 1
    assert job.count(TaskStatus.PENDING) == 1
    assert job.ready_task_num() == 2
    assert job.is_ready()


def test_default_priority_class_applies() -> None:
    s = snap([queue(), podgroup("ns", "pg"), priority_class("base", 7, default=True)])
    assert s.jobs["ns/pg"].priority == 7


def test_clone_is_independent() -> None:
    s = snap([node("n1"), queue(), podgroup("ns", "pg"), pod("ns", "p", "pg")])
    c = s.clone()
    task = next(iter(c.jobs["ns/pg"].tasks.values()))
    c.jobs["ns/pg"].update_task_status(task, TaskStatus.ALLOCATED)
    c.nodes["n1"].add_task(task)
    assert s.jobs["ns/pg"].count(TaskStatus.PENDING) == 1
    assert s.nodes["n1"].tasks == {}
    assert next(iter(s.jobs["ns/pg"].tasks.values())).status is TaskStatus.PENDING


def test_job_counts_and_role_checks() -> None:
    s = snap(
        [
            queue(),
            podgroup("ns", "pg", 3, min_task_member={"ps": 1, "worker": 2}),
            pod("ns", "ps-0", "pg", role="ps"),
            pod("ns", "w-0", "pg", role="worker"),
            pod("ns", "w-1", "pg", role="worker", node_name="n", phase="Running"),
        ]
    )
    job = s.jobs["ns/pg"]
    assert job.valid_task_num() == 3
    assert job.check_task_valid()
    assert not job.check_task_ready()
    for t in list(job.tasks_in(TaskStatus.PENDING).values()):
        job.update_task_status(t, TaskStatus.PIPELINED)
    assert job.check_task_pipelined()
    assert job.is_pipelined()
    assert not job.is_ready()


def test_fit_error_message_shape() -> None:
    s = snap([queue(), podgroup("ns", "pg", 3), *(pod("ns", f"p-{i}", "pg") for i in range(4))])
    job = s.jobs["ns/pg"]
    fe = FitErrors()
    t = job.tasks["uid-ns-p-0"]
    fe.set_node_error(
        "n1", FitError.of(t, NodeInfo(node("n1")), Status(StatusCode.UNSCHEDULABLE, "Insufficient cpu"))
    )
    job.nodes_fit_errors[t.uid] = fe
    assert job.fit_error() == (
        "pod group is not ready, 3 minAvailable, 4 Pending; Pending: 4 Unschedulable. "
        "Origin reason is p-0: 0/1 nodes are unavailable: 1 Insufficient cpu."
    )


def test_node_add_remove_and_binding_guard() -> None:
    n = NodeInfo(node("n1", cpu="2"))
    t = TaskInfo.from_pod(pod("ns", "a", "pg", cpu="1"))
    t.status = TaskStatus.PIPELINED
    n.add_task(t)
    assert n.pipelined.cpu_milli == 1000
    assert n.idle.cpu_milli == 2000
    assert n.future_idle().cpu_milli == 1000
    with pytest.raises(SchedulingError, match="already on node"):
        n.add_task(t)
    n.remove_task(t)
    assert n.pipelined.cpu_milli == 0
    assert not n.tasks
    big = TaskInfo.from_pod(pod("ns", "big", "pg", cpu="3"))
    big.status = TaskStatus.BINDING
    with pytest.raises(SchedulingError, match="not enough"):
        n.add_task(big)
    assert n.idle.cpu_milli == 2000
    other = TaskInfo.from_pod(pod("ns", "o", "pg", node_name="n9", phase="Running"))
    with pytest.raises(SchedulingError, match="different node"):
        n.add_task(other)
