"""Every (phase, action) pair of Volcano's job state machine: operation, pods killed, next phase."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from job_builders import context, job, pod, task

from pyroclast.common.models import Action, JobPhase
from pyroclast.controller.job.state import Operation, StateAction, Target, TargetType, execute

ALL = ("job-t-0", "job-t-1", "job-t-2")
LIVE = ("job-t-0",)
NONE_KILLED: tuple[str, ...] = ()

ACTIONS = [
    Action.SYNC_JOB,
    Action.ENQUEUE_JOB,
    Action.RESUME_JOB,
    Action.RESTART_JOB,
    Action.RESTART_TASK,
    Action.RESTART_POD,
    Action.RESTART_PARTITION,
    Action.ABORT_JOB,
    Action.TERMINATE_JOB,
    Action.COMPLETE_JOB,
]


class Row(NamedTuple):
    op: Operation
    killed: tuple[str, ...]
    phase: str | None  # None: phase unchanged
    retry: int = 0
    version: int = 0


def kill(killed: tuple[str, ...], phase: str | None = None, retry: int = 0) -> Row:
    return Row(Operation.KILL_JOB, killed, phase, retry, 1)


def target(killed: tuple[str, ...], phase: str | None = None, retry: int = 0) -> Row:
    return Row(Operation.KILL_TARGET, killed, phase, retry, 0)


NOOP = Row(Operation.NONE, NONE_KILLED, None)
RESTART = JobPhase.RESTARTING

# Job: one task of 3 replicas (minAvailable 3); pods: 0 Running, 1 Succeeded, 2 Failed.
# RestartTask targets task t, RestartPod pod t-0; the task has no partitions.
PENDING_OR_RUNNING: dict[str, Row] = {
    Action.RESTART_JOB: kill(ALL, RESTART, 1),
    Action.RESTART_TASK: target(ALL, RESTART, 1),
    Action.RESTART_POD: target(LIVE, RESTART, 1),
    Action.RESTART_PARTITION: NOOP,
    Action.ABORT_JOB: kill(LIVE, JobPhase.ABORTING),
    Action.COMPLETE_JOB: kill(LIVE, JobPhase.COMPLETING),
    Action.TERMINATE_JOB: kill(LIVE, JobPhase.TERMINATING),
}

TABLE: dict[str, tuple[dict[str, Row], Row]] = {
    JobPhase.PENDING: (PENDING_OR_RUNNING, Row(Operation.SYNC, NONE_KILLED, JobPhase.RUNNING)),
    "": (PENDING_OR_RUNNING, Row(Operation.SYNC, NONE_KILLED, JobPhase.RUNNING)),
    JobPhase.RUNNING: (PENDING_OR_RUNNING, Row(Operation.SYNC, NONE_KILLED, None)),
    JobPhase.RESTARTING: (
        {
            Action.SYNC_JOB: Row(Operation.SYNC, NONE_KILLED, JobPhase.PENDING),
            Action.RESTART_TASK: target(ALL),
            Action.RESTART_POD: target(LIVE),
            Action.RESTART_PARTITION: NOOP,
        },
        kill(ALL),
    ),
    JobPhase.COMPLETED: ({}, kill(LIVE)),
    JobPhase.FAILED: ({}, kill(LIVE)),
    JobPhase.TERMINATED: ({}, kill(LIVE)),
    JobPhase.TERMINATING: ({}, kill(LIVE)),
    JobPhase.COMPLETING: ({}, kill(LIVE)),
    JobPhase.ABORTING: ({Action.RESUME_JOB: kill(LIVE, RESTART, 1)}, kill(LIVE)),
    JobPhase.ABORTED: ({Action.RESUME_JOB: kill(LIVE, RESTART, 1)}, kill(LIVE)),
}

CASES = [(phase, action) for phase in TABLE for action in ACTIONS]


def _target(action: str) -> Target | None:
    if action == Action.RESTART_TASK:
        return Target(TargetType.TASK, task="t")
    if action == Action.RESTART_POD:
        return Target(TargetType.POD, task="t", pod="job-t-0")
    if action == Action.RESTART_PARTITION:
        return Target(TargetType.PARTITION, task="t", partition="0")
    return None


@pytest.mark.parametrize(("phase", "action"), CASES, ids=[f"{p or 'none'}-{a}" for p, a in CASES])
def test_phase_action(phase: str, action: str) -> None:
    specific, default = TABLE[phase]
    want = specific.get(action, default)
    j = job(task("t", 3, min_available=3), phase=phase or None, status={"min_available": 3, "version": 5})
    pods = [pod(j, "t", 0, "Running"), pod(j, "t", 1, "Succeeded"), pod(j, "t", 2, "Failed")]
    plan = execute(context(j, pods), StateAction(action, _target(action)))

    assert plan.operation == want.op
    assert tuple(plan.delete_pods) == want.killed
    if want.op is Operation.NONE:
        assert plan.status is None
        return
    assert plan.status is not None
    new_status = plan.status.status
    assert new_status is not None
    assert new_status.state is not None
    assert new_status.state.phase == (want.phase or phase or None)
    assert (new_status.retry_count or 0) == want.retry
    assert (new_status.version or 0) == 5 + want.version
    assert plan.delete_podgroup == (want.op is Operation.KILL_JOB)
    if want.op is not Operation.SYNC:
        assert plan.mark_out_of_sync == list(want.killed)
        assert (new_status.terminating or 0) == len(want.killed)
        if want.op is Operation.KILL_JOB:  # kept pods stay counted; targeted kills count none
            kept = {"t-0": "running", "t-1": "succeeded", "t-2": "failed"}
            for pod_name, field in kept.items():
                expected = None if f"{j.metadata.name}-{pod_name}" in want.killed else 1
                assert getattr(new_status, field) == expected, field
        else:
            assert new_status.running is None
            assert new_status.succeeded is None


def test_table_covers_every_phase() -> None:
    assert {p.value for p in JobPhase} <= set(TABLE)
    assert len(CASES) == 110
