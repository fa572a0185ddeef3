"""Plugins: gang (valid/ready/pipelined/order/close), priority and conformance."""

from __future__ import annotations

import msgspec
import pytest
from sched_support import conf, node, pod, podgroup, queue, run, session, snap

from pyroclast.common.bus.messages import PodGroupStatusDecision
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.scheduler.api import JobInfo, TaskInfo, TaskStatus
from pyroclast.scheduler.plugins.conformance import evictable
from pyroclast.scheduler.plugins.gang import _skip_for_releasing, job_order, valid_job


def _job(min_member: int, *pods: object, **pg: object) -> JobInfo:
    job: JobInfo = snap([queue(), podgroup("ns", "pg", min_member, **pg), *pods]).jobs["ns/pg"]
    return job


def test_gang_valid_counts_valid_tasks() -> None:
    job = _job(
        3, pod("ns", "a", "pg"), pod("ns", "b", "pg"), pod("ns", "c", "pg", node_name="n", phase="Failed")
    )
    vr = valid_job(job)
    assert vr is not None
    assert not vr.passed
    assert (vr.reason, vr.message) == (
        "NotEnoughTasks",
        "Not enough valid tasks for gang-scheduling, valid: 2, min: 3",
    )
    assert valid_job(_job(2, pod("ns", "a", "pg"), pod("ns", "b", "pg"))) is None


def test_gang_valid_checks_roles() -> None:
    job = _job(
        2, pod("ns", "a", "pg", role="ps"), pod("ns", "b", "pg", role="ps"), min_task_member={"ps": 1, "w": 1}
    )
    vr = valid_job(job)
    assert vr is not None
    assert vr.reason == "NotEnoughPodsOfTask"


def test_gang_job_order_puts_unready_first() -> None:
    ready = _job(1, pod("ns", "a", "pg", node_name="n", phase="Running"))
    unready = _job(1, pod("ns", "a", "pg"))
    assert job_order(unready, ready) == -1
    assert job_order(ready, unready) == 1
    assert job_order(ready, ready) == 0


def _tasks(*spec: tuple[str, TaskStatus, str]) -> JobInfo:
    job = JobInfo("j")
    for uid, status, node_name in spec:
        t = TaskInfo.from_pod(pod("ns", uid, "j", node_name=node_name))
        t.status = status
        job.add_task(t)
    return job


@pytest.mark.parametrize(
    ("min_available", "spec", "expected"),
    [
        (2, [("run", TaskStatus.RUNNING, "n1"), ("rel", TaskStatus.RELEASING, "n2")], True),
        (
            2,
            [
                ("run", TaskStatus.RUNNING, "n1"),
                ("rel", TaskStatus.RELEASING, "n2"),
                ("p", TaskStatus.PENDING, ""),
            ],
            False,
        ),
        (
            2,
            [
                ("run", TaskStatus.RUNNING, "n1"),
                ("rel", TaskStatus.RELEASING, "n2"),
                ("p", TaskStatus.PIPELINED, "n3"),
            ],
            False,
        ),
        (1, [("rel", TaskStatus.RELEASING, "")], False),
        (3, [("run", TaskStatus.RUNNING, "n1"), ("rel", TaskStatus.RELEASING, "n2")], False),
    ],
)
def test_skip_unschedulable_for_releasing(
    min_available: int, spec: list[tuple[str, TaskStatus, str]], expected: bool
) -> None:
    job = _tasks(*spec)
    job.min_available = min_available
    assert _skip_for_releasing(job) is expected


def test_ready_and_pipelined_through_the_session() -> None:
    ssn = session([node("n1"), queue(), podgroup("ns", "pg", 2), pod("ns", "a", "pg"), pod("ns", "b", "pg")])
    job = ssn.jobs["ns/pg"]
    assert not ssn.job_ready(job)
    assert not ssn.job_pipelined(job)
    a, b = job.tasks.values()
    stmt = ssn.statement()
    stmt.allocate(a, ssn.nodes["n1"])
    stmt.pipeline(b, "n1")
    assert not ssn.job_ready(job)
    assert ssn.job_pipelined(job)
    assert ssn.job_starving(job) is False  # priority: 1 ready + 1 waiting == 2 tasks


def test_status_written_only_when_it_changes() -> None:
    recs = [
        node("n1"),
        queue(),
        podgroup("ns", "pg", 1),
        pod("ns", "p", "pg", node_name="n1", phase="Running"),
    ]
    first = run(recs)
    (st,) = [d for d in first.decisions if isinstance(d, PodGroupStatusDecision)]
    assert st.phase == "Running"
    assert st.running == 1
    assert st.conditions[0].type == "Scheduled"
    scheduled = PodGroupCondition(  # message omitted, as the API server returns an empty one
        type="Scheduled",
        status="True",
        reason="tasks in gang are ready to be scheduled",
        transition_id="older",
        last_transition_time="2025-01-01T00:00:00Z",
    )
    again = msgspec.structs.replace(
        podgroup("ns", "pg", 1, phase="Running", conditions=[scheduled]), running=1
    )
    second = run([recs[0], recs[1], again, recs[3]], uid="s2")
    assert [d for d in second.decisions if isinstance(d, PodGroupStatusDecision)] == []


def test_status_rewritten_when_only_the_counts_change() -> None:
    # As Volcano compares the whole status: a PodGroup whose phase and conditions stay but
    # whose running count is stale (one more pod now runs) gets its status written again.
    scheduled = PodGroupCondition(
        type="Scheduled", status="True", reason="tasks in gang are ready to be scheduled", transition_id="x"
    )
    stale = msgspec.structs.replace(
        podgroup("ns", "pg", 1, phase="Running", conditions=[scheduled]), running=1
    )
    recs = [
        node("n1"),
        queue(),
        stale,
        pod("ns", "p0", "pg", node_name="n1", phase="Running"),
        pod("ns", "p1", "pg", node_name="n1", phase="Running"),
    ]
    (st,) = [d for d in run(recs).decisions if isinstance(d, PodGroupStatusDecision)]
    assert (st.phase, st.running, st.succeeded, st.failed) == ("Running", 2, 0, 0)


def test_completed_phase() -> None:
    recs = [queue(), podgroup("ns", "pg", 1), pod("ns", "p", "pg", node_name="n1", phase="Succeeded")]
    (st,) = [d for d in run(recs).decisions if isinstance(d, PodGroupStatusDecision)]
    assert st.phase == "Completed"
    assert st.succeeded == 1


def test_priority_preemptable_and_conformance() -> None:
    ssn = session(
        [
            queue(),
            podgroup("ns", "hi", 1, priority_class="high"),
            podgroup("ns", "lo", 1),
            podgroup("kube-system", "sys", 1),
            pod("ns", "h", "hi", priority=10),
            pod("ns", "l", "lo", node_name="n1", phase="Running"),
            pod("kube-system", "s", "sys", node_name="n1", phase="Running"),
            pod("ns", "z-crit", "lo", node_name="n1", phase="Running", priority_class="system-node-critical"),
        ]
    )
    ssn.jobs["ns/hi"].priority = 100
    h = next(iter(ssn.jobs["ns/hi"].tasks.values()))
    lo = list(ssn.jobs["ns/lo"].tasks.values())
    sys_task = next(iter(ssn.jobs["kube-system/sys"].tasks.values()))
    victims = ssn.preemptable(h, [*lo, sys_task])
    assert victims is not None
    # gang keeps lo's minAvailable (2 running > 1: one may go); conformance drops critical and kube-system
    assert [v.name for v in victims] == ["l"]
    assert [t.name for t in evictable(h, [*lo, sys_task])[0]] == ["l"]


def test_a_job_over_its_queues_capability_is_explained_with_the_numbers() -> None:
    recs = [
        node("n1", cpu="8"),
        queue("small", capability={"cpu": 2000}),
        podgroup("ns", "big", 3, queue="small", phase="Pending", min_resources={"cpu": 3000}),
        *(pod("ns", f"big-{i}", "big", cpu="1") for i in range(3)),
    ]
    result = run(recs, conf(plugins=("priority", "gang", "proportion", "predicates")))
    assert not [d for d in result.decisions if not isinstance(d, PodGroupStatusDecision)]
    (why,) = result.explanations
    assert (why.name, why.reason) == ("big", "NotEnqueued")
    assert why.message == (
        "queue resource quota insufficient: queue small cpu: this job's minResources 3"
        " + allocated 0 + inqueue 0 > capability 2"
    )


def test_a_job_over_the_clusters_idle_resources_is_explained_with_the_numbers() -> None:
    recs = [
        node("n1", cpu="4"),
        queue(),
        podgroup("ns", "huge", 1, phase="Pending", min_resources={"cpu": 10000}),
        pod("ns", "huge-0", "huge", cpu="10"),
    ]
    (why,) = run(recs, conf(plugins=("priority", "gang", "overcommit", "predicates"))).explanations
    assert why.reason == "NotEnqueued"
    assert why.message.startswith(
        "resource in cluster is overused: cpu: this job's minResources 10 + inqueue 0"
    )
    assert "idle 4800m (overcommit factor 1.2)" in why.message


def test_a_cloned_job_has_every_attribute_a_new_one_has() -> None:
    # JobInfo.clone builds its copy without __init__: an attribute added there must be cloned too.
    job = JobInfo("ns/j")
    assert set(vars(job.clone())) == set(vars(job))
