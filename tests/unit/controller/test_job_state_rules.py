"""Status-driven transitions of the job state machine and the details of sync and kill."""

from __future__ import annotations

import msgspec
import pytest
from job_builders import NOW, context, job, pod, task, with_status

from pyroclast.common.models import Action, DependsOn, Job, JobCondition, PartitionPolicySpec, Pod
from pyroclast.controller.job.state import Operation, Plan, StateAction, Target, TargetType, execute

SYNC = StateAction(Action.SYNC_JOB)
WHEN = "2026-01-02T03:04:05Z"


def phase_after(plan: Plan) -> str | None:
    return plan.new_phase


def run_sync(j: Job, pods: list[Pod], pg: str | None = "Running") -> Plan:
    return execute(context(j, pods, pg=pg), SYNC)


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (["Succeeded", "Succeeded", "Succeeded"], "Completed"),
        (["Succeeded", "Failed", "Failed"], "Failed"),
        (["Failed", "Failed", "Failed"], "Failed"),
        (["Running", "Succeeded", "Failed"], "Running"),
        (["Pending", "Running", "Running"], "Pending"),
    ],
)
def test_running_outcomes(phases: list[str], expected: str) -> None:
    j = job(task("t", 3), phase="Running")
    plan = run_sync(j, [pod(j, "t", i, ph) for i, ph in enumerate(phases)])
    assert phase_after(plan) == expected


def test_running_completed_when_succeeded_reach_min_available() -> None:
    j = job(task("t", 3), min_available=2, phase="Running")
    plan = run_sync(j, [pod(j, "t", 0, "Succeeded"), pod(j, "t", 1, "Succeeded"), pod(j, "t", 2, "Failed")])
    assert phase_after(plan) == "Completed"


def test_min_success_completes_early() -> None:
    j = job(task("t", 3), min_success=2, phase="Running")
    plan = run_sync(j, [pod(j, "t", 0, "Succeeded"), pod(j, "t", 1, "Succeeded"), pod(j, "t", 2, "Running")])
    assert phase_after(plan) == "Completed"


def test_min_success_missed_fails() -> None:
    j = job(task("t", 3), min_success=3, min_available=1, phase="Running")
    plan = run_sync(j, [pod(j, "t", 0, "Succeeded"), pod(j, "t", 1, "Succeeded"), pod(j, "t", 2, "Failed")])
    assert phase_after(plan) == "Failed"


def test_task_min_available_not_succeeded_fails() -> None:
    j = job(task("a", 2, min_available=2), task("b", 1, min_available=1), min_available=3, phase="Running")
    pods = [pod(j, "a", 0, "Succeeded"), pod(j, "a", 1, "Failed"), pod(j, "b", 0, "Succeeded")]
    assert phase_after(run_sync(j, pods)) == "Failed"


def test_zero_replicas_keeps_phase() -> None:
    j = job(task("t", 0), min_available=0, phase="Running", status={"running": 1})
    plan = run_sync(j, [])
    assert phase_after(plan) == "Running"


def test_pending_to_running_at_min_available() -> None:
    j = job(task("t", 3), min_available=2, phase="Pending")
    assert (
        phase_after(run_sync(j, [pod(j, "t", 0), pod(j, "t", 1, "Succeeded"), pod(j, "t", 2, "Pending")]))
        == "Running"
    )
    plan = run_sync(j, [pod(j, "t", 0), pod(j, "t", 1, "Pending"), pod(j, "t", 2, "Pending")])
    assert plan.status is not None
    assert phase_after(plan) == "Pending"


def test_restarting_fails_after_max_retry() -> None:
    j = job(task("t", 2), phase="Restarting", max_retry=3, status={"retry_count": 3, "min_available": 2})
    assert phase_after(run_sync(j, [])) == "Failed"


def test_restarting_back_to_pending_once_pods_terminated() -> None:
    j = job(task("t", 2), phase="Restarting", status={"retry_count": 1, "min_available": 2})
    terminating = [pod(j, "t", 0, deleting=True)]
    assert phase_after(run_sync(j, terminating)) == "Restarting"
    assert phase_after(run_sync(j, [])) == "Pending"


def test_restart_job_on_last_retry_keeps_finished_pods() -> None:
    j = job(task("t", 3), phase="Running", status={"retry_count": 2})
    pods = [pod(j, "t", 0), pod(j, "t", 1, "Succeeded"), pod(j, "t", 2, "Failed")]
    plan = execute(context(j, pods), StateAction(Action.RESTART_JOB))
    assert plan.delete_pods == ["job-t-0"]
    assert phase_after(plan) == "Restarting"
    assert plan.status is not None
    assert plan.status.status is not None
    assert plan.status.status.retry_count == 3


@pytest.mark.parametrize(
    ("phase", "drained"),
    [("Terminating", "Terminated"), ("Completing", "Completed"), ("Aborting", "Aborted")],
)
def test_draining_phases_finish_when_no_pod_is_alive(phase: str, drained: str) -> None:
    j = job(task("t", 2), phase=phase)
    assert phase_after(execute(context(j, [pod(j, "t", 0, "Succeeded")]), SYNC)) == drained
    assert phase_after(execute(context(j, [pod(j, "t", 1, deleting=True)]), SYNC)) == phase


def test_podgroup_pending_creates_no_pods_and_writes_nothing_unchanged() -> None:
    j = job(task("t", 2), phase="Pending", status={"min_available": 2})
    plan = run_sync(j, [], pg="Pending")
    assert plan.create_pods == []
    assert plan.status is None
    plan = run_sync(j, [], pg=None)
    assert plan.create_pods == []
    assert plan.status is None


def test_sync_creates_missing_and_deletes_surplus_and_out_of_sync() -> None:
    j = job(task("t", 3), phase="Running", status={"min_available": 3})
    stale = pod(j, "t", 1, annotations={"volcano.sh/controller-out-of-sync": "true"})
    surplus = msgspec.structs.replace(
        pod(j, "t", 2), metadata=msgspec.structs.replace(pod(j, "t", 2).metadata, name="job-t-7")
    )
    plan = run_sync(j, [pod(j, "t", 0), stale, surplus])
    assert [p.metadata.name for p in plan.create_pods] == ["job-t-2"]  # type: ignore[union-attr]
    assert sorted(plan.delete_pods) == ["job-t-1", "job-t-7"]
    st = plan.status.status  # type: ignore[union-attr]
    assert st is not None
    assert (st.running, st.pending, st.terminating) == (2, 1, 2)
    assert st.task_status_count is not None
    assert st.task_status_count["t"].phase == {"Running": 2, "Pending": 1}


def test_status_change_stamps_time_and_replaces_condition() -> None:
    j = job(
        task("t", 1),
        phase="Pending",
        status={
            "conditions": [
                JobCondition(status="Pending", last_transition_time="x"),
                JobCondition(status="Running", last_transition_time="y"),
            ]
        },
    )
    plan = run_sync(j, [pod(j, "t", 0)])
    st = plan.status.status  # type: ignore[union-attr]
    assert st is not None
    assert st.state is not None
    assert st.state.last_transition_time == WHEN
    assert [(c.status, c.last_transition_time) for c in st.conditions or []] == [
        ("Pending", "x"),
        ("Running", WHEN),
    ]


def test_kill_sets_running_duration_and_bumps_version() -> None:
    j = job(task("t", 1), phase="Running", status={"version": 2})
    plan = execute(context(j, [pod(j, "t", 0)]), StateAction(Action.ABORT_JOB))
    st = plan.status.status  # type: ignore[union-attr]
    assert st is not None
    assert st.running_duration == "4m5s"
    assert st.version == 3
    assert plan.delete_podgroup


def test_deleting_job_is_left_alone() -> None:
    j = job(task("t", 1), phase="Running")
    j = msgspec.structs.replace(j, metadata=msgspec.structs.replace(j.metadata, deletion_timestamp=WHEN))
    assert execute(context(j, [pod(j, "t", 0)]), SYNC).operation is Operation.NONE
    assert execute(context(j, [pod(j, "t", 0)]), StateAction(Action.ABORT_JOB)).operation is Operation.NONE


def test_kill_runs_plugin_cleanup() -> None:
    j = job(task("t", 1), phase="Running", plugins={"svc": [], "env": []})
    j = with_status(j, controlled_resources={"plugin-svc": "svc", "plugin-env": "env", "volume-pvc-x": "x"})
    plan = execute(
        context(j, [pod(j, "t", 0)]), StateAction(Action.RESTART_POD, Target(TargetType.POD, "t", "job-t-0"))
    )
    assert [(r.kind, r.name) for r in plan.delete_objects] == [
        ("ConfigMap", "job-svc"),
        ("Service", "job"),
        ("NetworkPolicy", "job"),
    ]
    st = plan.status.status  # type: ignore[union-attr]
    assert st is not None
    assert st.controlled_resources == {"volume-pvc-x": "x"}
    assert not plan.delete_podgroup


def test_restart_partition_kills_its_pods_only() -> None:
    t = task("t", 4, partition_policy=PartitionPolicySpec(total_partitions=2, partition_size=2))
    j = job(t, phase="Running")
    pods = [pod(j, "t", i) for i in range(4)]
    act = StateAction(Action.RESTART_PARTITION, Target(TargetType.PARTITION, "t", "job-t-3", "1"))
    plan = execute(context(j, pods), act)
    assert plan.delete_pods == ["job-t-2", "job-t-3"]
    assert phase_after(plan) == "Restarting"


def test_depends_on_defers_creation_until_ready() -> None:
    j = job(
        task("master", 1, min_available=1),
        task("worker", 2, depends_on=DependsOn(name=["master"])),
        phase="Running",
    )
    plan = run_sync(j, [])
    assert [p.metadata.name for p in plan.create_pods] == ["job-master-0"]  # type: ignore[union-attr]
    assert plan.deferred_pods == ["job-worker-0", "job-worker-1"]
    plan = run_sync(j, [pod(j, "master", 0, ready=True)])
    assert [p.metadata.name for p in plan.create_pods] == ["job-worker-0", "job-worker-1"]  # type: ignore[union-attr]


def test_unknown_plugin_is_an_error() -> None:
    j = job(task("t", 1), phase="Running", plugins={"nope": []})
    assert run_sync(j, []).error == "failed to get plugin nope"
    assert execute(context(j, [pod(j, "t", 0)]), StateAction(Action.ABORT_JOB)).error is not None


def test_created_pods_go_through_plugins() -> None:
    j = job(task("t", 1), phase="Running", plugins={"env": []})
    created = run_sync(j, []).create_pods[0]
    env = created.spec.containers[0].env  # type: ignore[union-attr,index]
    assert [(e.name, e.value) for e in env or []] == [("VK_TASK_INDEX", "0"), ("VC_TASK_INDEX", "0")]
    assert NOW.year == 2026
