"""Enqueue (Pending -> Inqueue, honouring enqueueable votes) and backfill (best-effort pods)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sched_support import amounts, conf, node, pod, podgroup, priority_class, queue, run, session

from pyroclast.common.bus.messages import PodGroupStatusDecision
from pyroclast.scheduler.actions.backfill import Backfill
from pyroclast.scheduler.api import JobInfo, SnapshotRecord
from pyroclast.scheduler.framework import PERMIT, REJECT, Plugin, Session, SessionResult
from pyroclast.scheduler.framework.registry import PLUGINS


def _phases(res: SessionResult) -> dict[str, str]:
    return {d.name: d.phase for d in res.decisions if isinstance(d, PodGroupStatusDecision)}


def _voter(vote: int, enqueued: list[str]) -> type[Plugin]:
    class Voter(Plugin):
        name = "voter"

        def on_session_open(self, ssn: Session) -> None:
            ssn.add_job_enqueueable_fn(self.name, lambda job: vote)
            ssn.add_job_enqueued_fn(self.name, lambda job: enqueued.append(job.name))

    return Voter


@pytest.fixture
def voter(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[str]]:
    def install(vote: int) -> list[str]:
        enqueued: list[str] = []
        monkeypatch.setitem(PLUGINS, "voter", _voter(vote, enqueued))
        return enqueued

    return install


def test_pending_moves_to_inqueue() -> None:
    res = run(
        [
            queue("c1"),
            queue("c2"),
            podgroup("c1", "pg1", 1, queue="c1", phase="Pending"),
            podgroup("c1", "pg2", 1, queue="c2", phase="Pending"),
            pod("c1", "p1", "pg1"),
            pod("c1", "p2", "pg2"),
        ],
        conf("enqueue"),
    )
    assert _phases(res) == {"pg1": "Inqueue", "pg2": "Inqueue"}


def test_inqueue_and_running_are_left_alone() -> None:
    res = run(
        [queue(), podgroup("c1", "pg1", 2), pod("c1", "p1", "pg1"), pod("c1", "p2", "pg1")],
        conf("enqueue", plugins=("priority",)),
    )
    assert _phases(res) == {}


def test_missing_queue_means_no_job() -> None:
    res = run([queue("c2"), podgroup("c1", "pg1", 0, queue="c1", phase="Pending")], conf("enqueue"))
    assert res.decisions == []


def test_rejecting_voter_keeps_job_with_min_resources_pending(voter: Callable[[int], list[str]]) -> None:
    enqueued = voter(REJECT)
    recs = [
        queue(),
        podgroup("ns", "big", 1, phase="Pending", min_resources=amounts(cpu="1")),
        podgroup("ns", "free", 1, phase="Pending"),
        pod("ns", "a", "big"),
        pod("ns", "b", "free"),
    ]
    res = run(recs, conf("enqueue", plugins=("gang", "voter")))
    assert _phases(res) == {"big": "Pending", "free": "Inqueue"}  # big: gang's condition is new
    assert enqueued == ["free"]


def test_permitting_voter_admits_and_is_told(voter: Callable[[int], list[str]]) -> None:
    enqueued = voter(PERMIT)
    recs = [
        queue(),
        podgroup("ns", "big", 1, phase="Pending", min_resources=amounts(cpu="1")),
        pod("ns", "a", "big"),
    ]
    res = run(recs, conf("enqueue", plugins=("voter",)))
    assert _phases(res) == {"big": "Inqueue"}
    assert enqueued == ["big"]


def test_backfill_places_best_effort_pods() -> None:
    res = run(
        [
            node("n1"),
            queue(),
            podgroup("ns", "pg", 1),
            pod("ns", "be1", "pg", cpu=None, memory=None),
            pod("ns", "be2", "pg", cpu=None, memory=None),
        ],
        conf("backfill"),
    )
    assert res.binds() == {"ns/be1": "n1", "ns/be2": "n1"}


def test_backfill_skips_pending_podgroups_and_requesting_pods() -> None:
    res = run(
        [
            node("n1"),
            queue(),
            podgroup("ns", "waiting", 1, phase="Pending"),
            pod("ns", "be", "waiting", cpu=None, memory=None),
            podgroup("ns", "pg", 1),
            pod("ns", "req", "pg"),
        ],
        conf("backfill"),
    )
    assert res.binds() == {}


def test_backfill_binds_only_once_the_gang_is_ready() -> None:
    recs = [
        node("n1"),
        queue(),
        podgroup("ns", "pg", 2),
        pod("ns", "be1", "pg", cpu=None, memory=None),
        pod("ns", "be2", "pg", cpu=None, memory=None),
    ]
    res = run(recs, conf("backfill"))
    assert set(res.binds()) == {"ns/be1", "ns/be2"}


def test_job_counts_best_effort_pending_as_ready() -> None:
    job = JobInfo("x")
    assert job.is_ready()  # min 0


def test_backfill_picks_best_effort_tasks_by_job_then_task_priority() -> None:
    recs: list[SnapshotRecord] = [
        node("node1"),
        queue("q1"),
        priority_class("job-priority-1", 1),
        priority_class("job-priority-2", 2),
        podgroup("default", "pg1", 1, queue="q1", priority_class="job-priority-1"),
        podgroup("default", "pg2", 1, queue="q1", priority_class="job-priority-2"),
    ]
    pipelined: list[str] = []
    for group in ("pg1", "pg2"):
        for i in (1, 2, 3, 4):
            for kind, cpu in (("besteffort", None), ("unbesteffort", "500m")):
                name = f"{group}-{kind}-task-{i}"
                recs.append(pod("default", name, group, cpu, None, priority=i))
                if i in (2, 4):
                    pipelined.append(name)
    ssn = session(recs, conf("backfill", plugins=("priority",)))
    stmt = ssn.statement()
    for job in ssn.jobs.values():
        for task in list(job.tasks.values()):
            if task.name in pipelined:
                stmt.pipeline(task, "node1")
    picked = [t.name for t in Backfill.pending_tasks(ssn)]
    assert picked == [
        "pg2-besteffort-task-4",
        "pg2-besteffort-task-3",
        "pg2-besteffort-task-2",
        "pg2-besteffort-task-1",
        "pg1-besteffort-task-4",
        "pg1-besteffort-task-3",
        "pg1-besteffort-task-2",
        "pg1-besteffort-task-1",
    ]
    assert ssn.nodes["node1"].pipelined.cpu_milli == 2000  # the requesting ones stay pipelined
