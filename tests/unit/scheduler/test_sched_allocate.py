"""Allocate: placement, gang all-or-nothing, ordering, pipelining and which jobs are skipped."""

from __future__ import annotations

from sched_support import conf, node, pod, podgroup, priority_class, queue, run

from pyroclast.common.bus.messages import PodGroupStatusDecision
from pyroclast.scheduler.framework import SessionResult


def _status(res: SessionResult, ref: str) -> PodGroupStatusDecision:
    return next(
        d for d in res.decisions if isinstance(d, PodGroupStatusDecision) and f"{d.namespace}/{d.name}" == ref
    )


def test_one_job_two_pods_on_one_node() -> None:
    res = run([node("n1"), queue(), podgroup("c1", "pg1", 0), pod("c1", "p1", "pg1"), pod("c1", "p2", "pg1")])
    assert res.binds() == {"c1/p1": "n1", "c1/p2": "n1"}


def test_two_jobs_on_two_nodes() -> None:
    res = run(
        [
            node("n1", cpu="1"),
            node("n2", cpu="1"),
            queue(),
            podgroup("ns", "pg1", 1, created=1),
            podgroup("ns", "pg2", 1, created=2),
            pod("ns", "a", "pg1"),
            pod("ns", "b", "pg2"),
        ]
    )
    assert sorted(res.binds().values()) == ["n1", "n2"]
    assert set(res.binds()) == {"ns/a", "ns/b"}


def test_two_jobs_on_one_node_first_created_gets_it() -> None:
    res = run(
        [
            node("n1", cpu="2"),
            queue(),
            podgroup("c1", "pg1", 0, created=1),
            podgroup("c1", "pg2", 0, created=2),
            pod("c1", "pg1-p-1", "pg1"),
            pod("c1", "pg1-p-2", "pg1"),
            pod("c1", "pg2-p-1", "pg2"),
        ]
    )
    assert res.binds() == {"c1/pg1-p-1": "n1", "c1/pg1-p-2": "n1"}


def test_gang_that_does_not_fit_stays_unplaced_with_condition() -> None:
    res = run(
        [
            node("n1", cpu="2"),
            node("n2", cpu="2"),
            queue(),
            podgroup("ns", "pg", 3),
            *(pod("ns", f"pg-t-{i}", "pg", cpu="2") for i in range(3)),
        ]
    )
    assert res.binds() == {}
    st = _status(res, "ns/pg")
    assert st.phase == "Inqueue"
    (cond,) = st.conditions
    assert (cond.type, cond.status, cond.reason, cond.transition_id) == (
        "Unschedulable",
        "True",
        "NotEnoughResources",
        "s1",
    )
    assert cond.message == (
        "1/3 tasks in gang unschedulable: pod group is not ready, 3 Pending, 3 minAvailable; "
        "Pending: 1 Unschedulable, 2 Schedulable. Origin reason is pg-t-2: "
        "0/2 nodes are unavailable: 2 Insufficient cpu."
    )
    (exp,) = res.explanations
    assert exp.reason == "NotEnoughResources"
    assert exp.node_reasons == {"Insufficient cpu": 2}
    assert exp.message.startswith("3/3 tasks in gang unschedulable: pod group is not ready")


def test_gang_places_min_available_when_replicas_exceed_room() -> None:
    recs = [
        node("n1", cpu="2"),
        queue(),
        podgroup("ns", "pg", 2),
        *(pod("ns", f"pg-t-{i}", "pg") for i in range(3)),
    ]
    res = run(recs)
    assert res.binds() == {"ns/pg-t-0": "n1", "ns/pg-t-1": "n1"}
    cond = _status(res, "ns/pg").conditions[0]
    assert cond.type == "Scheduled"
    assert cond.reason == "tasks in gang are ready to be scheduled"


def test_high_priority_queue_does_not_block_others() -> None:
    res = run(
        [
            node("n1", cpu="2"),
            queue("c1"),
            queue("c2"),
            podgroup("c1", "pg1", 0, queue="c1"),
            podgroup("c1", "pg2", 0, queue="c2"),
            pod("c1", "p1", "pg1", cpu="3"),
            pod("c1", "p2", "pg2"),
        ]
    )
    assert res.binds() == {"c1/p2": "n1"}


def test_priority_orders_jobs() -> None:
    res = run(
        [
            node("n1", cpu="1"),
            queue(),
            priority_class("high", 1000),
            podgroup("ns", "low", 1, created=1),
            podgroup("ns", "high", 1, created=2, priority_class="high"),
            pod("ns", "l", "low"),
            pod("ns", "h", "high"),
        ]
    )
    assert res.binds() == {"ns/h": "n1"}


def test_priority_orders_tasks_within_a_job() -> None:
    res = run(
        [
            node("n1", cpu="1"),
            queue(),
            podgroup("ns", "pg", 1),
            pod("ns", "lo", "pg"),
            pod("ns", "hi", "pg", priority=9),
        ]
    )
    assert res.binds() == {"ns/hi": "n1"}


def test_pipelines_onto_releasing_resources_without_binding() -> None:
    res = run(
        [
            node("n1", cpu="1"),
            queue(),
            podgroup("ns", "old", 1),
            pod("ns", "going", "old", node_name="n1", phase="Running", deleting=True),
            podgroup("ns", "new", 1),
            pod("ns", "next", "new"),
        ]
    )
    assert res.binds() == {}
    exp = next(e for e in res.explanations if e.name == "new")
    assert "once resource is released" in exp.task_reasons["next"]


def test_pending_podgroup_waits_for_enqueue_when_enqueue_is_configured() -> None:
    recs = [node("n1"), queue(), podgroup("ns", "pg", 1, phase="Pending"), pod("ns", "p", "pg")]
    assert run(recs, conf("allocate")).binds() == {"ns/p": "n1"}  # no enqueue: allocate admits it
    assert run(recs, conf("enqueue, allocate")).binds() == {"ns/p": "n1"}  # enqueue admits first
    assert run(recs, conf("allocate, enqueue")).binds() == {}  # allocate runs before enqueue


def test_invalid_job_is_skipped() -> None:
    res = run([node("n1"), queue(), podgroup("ns", "pg", 3), pod("ns", "a", "pg"), pod("ns", "b", "pg")])
    assert res.binds() == {}


def test_best_effort_tasks_are_left_to_backfill() -> None:
    recs = [node("n1"), queue(), podgroup("ns", "pg", 0), pod("ns", "be", "pg", cpu=None, memory=None)]
    assert run(recs, conf("enqueue, allocate")).binds() == {}
    assert run(recs).binds() == {"ns/be": "n1"}


def test_role_with_fit_errors_is_skipped() -> None:
    recs = [
        node("n1", cpu="1"),
        queue(),
        podgroup("ns", "pg", 1),
        pod("ns", "pg-w-0", "pg", cpu="2", role="w"),
        pod("ns", "pg-w-1", "pg", cpu="1", role="w"),
    ]
    res = run(recs)
    assert res.binds() == {}
    exp = res.explanations[0]
    assert "has already predicated failed, skip" in exp.task_reasons["pg-w-1"]


def test_allocation_respects_existing_usage() -> None:
    res = run(
        [
            node("n1", cpu="2"),
            node("n2", cpu="2"),
            queue(),
            podgroup("ns", "run", 1),
            pod("ns", "r", "run", cpu="2", node_name="n1", phase="Running"),
            podgroup("ns", "pg", 1),
            pod("ns", "p", "pg", cpu="2"),
        ]
    )
    assert res.binds() == {"ns/p": "n2"}
