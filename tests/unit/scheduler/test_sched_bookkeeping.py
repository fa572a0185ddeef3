"""Incremental bookkeeping of jobs and tasks equals a recount after random operations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sched_support import node, pod, podgroup, queue

from pyroclast.scheduler.api import JobInfo, TaskInfo, TaskStatus, snapshot
from pyroclast.scheduler.api.job_counts import TaskCounts
from pyroclast.scheduler.api.task import pod_index

READY = (TaskStatus.BOUND, TaskStatus.BINDING, TaskStatus.RUNNING, TaskStatus.ALLOCATED, TaskStatus.SUCCEEDED)
STATUSES = list(TaskStatus)


def naive_roles(
    job: JobInfo, statuses: tuple[TaskStatus, ...], *, best_effort_pending: bool
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in job.tasks.values():
        if t.status in statuses or (
            best_effort_pending and t.status is TaskStatus.PENDING and t.init_resreq.is_empty()
        ):
            counts[t.role] = counts.get(t.role, 0) + 1
    return counts


def check(job: JobInfo) -> None:
    assert job.counts == TaskCounts.recount(job.tasks.values())
    pending = [t for t in job.tasks.values() if t.status is TaskStatus.PENDING]
    assert job.pending_best_effort_task_num() == sum(1 for t in pending if t.best_effort)
    assert job.allocated_roles() == naive_roles(job, READY, best_effort_pending=True)
    with_pipelined = (*READY, TaskStatus.PIPELINED)
    assert job._role_counts(with_pipelined, best_effort_pending=False) == naive_roles(
        job, with_pipelined, best_effort_pending=False
    )
    pending_too = (*READY, TaskStatus.PENDING)
    assert job._role_counts(pending_too, best_effort_pending=True) == naive_roles(
        job, pending_too, best_effort_pending=False
    )


@settings(max_examples=60, deadline=None)
@given(
    tasks=st.lists(st.tuples(st.sampled_from(["", "ps", "worker"]), st.booleans()), min_size=1, max_size=8),
    ops=st.lists(
        st.tuples(
            st.sampled_from(["status", "delete", "add", "clone"]),
            st.integers(0, 7),
            st.sampled_from(STATUSES),
        ),
        max_size=30,
    ),
)
def test_job_counts_equal_a_recount(
    tasks: list[tuple[str, bool]], ops: list[tuple[str, int, TaskStatus]]
) -> None:
    recs = [node("n1"), queue(), podgroup("ns", "pg", 2, min_task_member={"ps": 1})]
    for i, (role, best_effort) in enumerate(tasks):
        cpu, mem = (None, None) if best_effort else ("1", "1Gi")
        recs.append(pod("ns", f"pg-t-{i}", "pg", cpu, mem, role=role))
    job = snapshot(recs).jobs["ns/pg"]
    known = list(job.tasks.values())
    check(job)
    for op, i, status in ops:
        task = known[i % len(known)]
        if op == "status":
            job.update_task_status(task, status)
        elif op == "delete":
            job.delete_task(task)
        elif op == "add" and task.uid not in job.tasks:
            job.add_task(task)
        elif op == "clone":
            job = job.clone()
            known = list(job.tasks.values()) or known
        check(job)


def test_task_clone_copies_every_slot() -> None:
    task = TaskInfo.from_pod(pod("ns", "a-b-3", "pg", role="worker"))
    task.last_transaction = (TaskStatus.ALLOCATED, "n1", True)
    copy = task.clone()
    assert copy is not task
    for slot in TaskInfo.__slots__:
        assert getattr(copy, slot) == getattr(task, slot), slot


def test_pod_index_is_read_once_from_the_name() -> None:
    assert pod_index("job-worker-12") == 12
    assert pod_index("job-12") is None
    assert pod_index("a-b-c") is None
    assert TaskInfo.from_pod(pod("ns", "job-ps-4", "pg")).pod_index == 4
