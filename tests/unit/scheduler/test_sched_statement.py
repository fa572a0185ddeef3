"""Statement: operations change the view at once; commit makes decisions, discard undoes."""

from __future__ import annotations

import pytest
from sched_support import node, pod, podgroup, queue, session

from pyroclast.common.bus.messages import BindDecision, EvictDecision
from pyroclast.scheduler.api import NodeInfo, SchedulingError, TaskInfo, TaskStatus
from pyroclast.scheduler.framework import EventHandler, Session

RECORDS = [
    node("n1", cpu="2"),
    node("n2", cpu="2"),
    queue(),
    podgroup("ns", "pg", 2),
    pod("ns", "a", "pg"),
    pod("ns", "b", "pg"),
    pod("ns", "r", "pg", node_name="n2", phase="Running"),
]


def _task(ssn: Session, name: str) -> TaskInfo:
    return ssn.jobs["ns/pg"].tasks[f"uid-ns-{name}"]


def _n(ssn: Session, name: str) -> NodeInfo:
    return ssn.nodes[name]


def test_allocate_then_commit_binds_and_marks_binding() -> None:
    ssn = session(RECORDS)
    stmt = ssn.statement()
    stmt.allocate(_task(ssn, "a"), _n(ssn, "n1"))
    stmt.allocate(_task(ssn, "b"), _n(ssn, "n1"))
    assert _n(ssn, "n1").idle.cpu_milli == 0
    assert ssn.jobs["ns/pg"].count(TaskStatus.ALLOCATED) == 2
    assert ssn.decisions == []
    stmt.commit()
    binds = [d for d in ssn.decisions if isinstance(d, BindDecision)]
    assert [(d.name, d.node_name, d.pod_group) for d in binds] == [("a", "n1", "pg"), ("b", "n1", "pg")]
    assert ssn.jobs["ns/pg"].count(TaskStatus.BINDING) == 2
    assert stmt.operations == []


def test_discard_restores_view_and_remembers_attempt() -> None:
    ssn = session(RECORDS)
    before = _n(ssn, "n1").idle
    stmt = ssn.statement()
    a = _task(ssn, "a")
    stmt.allocate(a, _n(ssn, "n1"))
    stmt.pipeline(_task(ssn, "b"), "n2")
    assert _n(ssn, "n2").pipelined.cpu_milli == 1000
    stmt.discard()
    assert _n(ssn, "n1").idle == before
    assert _n(ssn, "n2").pipelined.cpu_milli == 0
    assert ssn.jobs["ns/pg"].count(TaskStatus.PENDING) == 2
    assert a.node_name == ""
    assert a.last_transaction == (TaskStatus.ALLOCATED, "n1", False)
    assert ssn.decisions == []
    reason, msg, _ = ssn.jobs["ns/pg"].task_scheduling_reason(a.uid)
    assert reason == "Schedulable"
    assert "can possibly be assigned to n1" in msg


def test_evict_commit_and_discard() -> None:
    ssn = session(RECORDS)
    r = _task(ssn, "r")
    stmt = ssn.statement()
    stmt.evict(r, "preempted")
    assert r.status is TaskStatus.RELEASING
    assert _n(ssn, "n2").releasing.cpu_milli == 1000
    stmt.discard()
    assert r.status in (TaskStatus.RUNNING,)
    assert _n(ssn, "n2").releasing.cpu_milli == 0
    stmt.evict(r, "preempted")
    stmt.commit()
    (ev,) = ssn.decisions
    assert isinstance(ev, EvictDecision)
    assert (ev.name, ev.reason) == ("r", "preempted")


def test_failed_allocation_rolls_back() -> None:
    ssn = session(RECORDS)
    stmt = ssn.statement()
    ghost = NodeInfo(node("ghost"))
    with pytest.raises(SchedulingError, match="failed to find node ghost"):
        stmt.allocate(_task(ssn, "a"), ghost)
    assert _task(ssn, "a").status is TaskStatus.PENDING
    assert _task(ssn, "a").node_name == ""
    assert stmt.operations == []


def test_event_handlers_see_allocations_and_can_refuse() -> None:
    ssn = session(RECORDS)
    seen: list[tuple[str, str]] = []

    def on_alloc(ev: object) -> None:
        seen.append(("alloc", ev.task.name))  # type: ignore[attr-defined]
        if ev.task.name == "b":  # type: ignore[attr-defined]
            ev.err = "refused"  # type: ignore[attr-defined]

    ssn.add_event_handler(
        EventHandler(allocate=on_alloc, deallocate=lambda ev: seen.append(("dealloc", ev.task.name)))
    )
    stmt = ssn.statement()
    stmt.allocate(_task(ssn, "a"), _n(ssn, "n1"))
    with pytest.raises(SchedulingError, match="refused"):
        stmt.allocate(_task(ssn, "b"), _n(ssn, "n1"))
    assert _n(ssn, "n1").idle.cpu_milli == 1000
    stmt.discard()
    assert seen == [("alloc", "a"), ("alloc", "b"), ("dealloc", "b"), ("dealloc", "a")]
