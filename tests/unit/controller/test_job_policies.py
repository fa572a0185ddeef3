"""Lifecycle policies and the mapping of watch events to job events."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from job_builders import job, pod, task, with_status

from pyroclast.common.models import (
    Command,
    Job,
    LifecyclePolicy,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodGroup,
    PodGroupStatus,
)
from pyroclast.controller.job.policies import (
    ActionType,
    DelayedAction,
    Request,
    action_type,
    apply_policies,
    cancels_pending,
    command_message,
    execute_message,
    on_command,
    on_job_added,
    on_job_updated,
    on_pod_added,
    on_pod_deleted,
    on_pod_updated,
    on_podgroup_updated,
    state_action,
    superseded,
    task_completed,
    task_failed,
)
from pyroclast.controller.job.state import Target, TargetType

P = LifecyclePolicy


def req(event: str = "", **kw: object) -> Request:
    return Request("ns", "job", job_uid="uid-1", event=event, **kw)  # type: ignore[arg-type]


def policy_job(
    job_policies: list[LifecyclePolicy], task_policies: list[LifecyclePolicy] | None = None
) -> Job:
    built: Job = job(task("t", 2, policies=task_policies), policies=job_policies)
    return built


@pytest.mark.parametrize(
    ("job_pol", "task_pol", "request_", "action", "delay"),
    [
        ([], None, req("PodFailed", task_name="t"), "SyncJob", 0),
        ([P(event="PodFailed", action="RestartJob")], None, req("PodFailed", task_name="t"), "RestartJob", 0),
        (
            [P(event="PodFailed", action="RestartJob")],
            [P(event="PodFailed", action="AbortJob")],
            req("PodFailed", task_name="t"),
            "AbortJob",
            0,
        ),
        (
            [P(events=["PodEvicted", "PodFailed"], action="TerminateJob")],
            None,
            req("PodFailed"),
            "TerminateJob",
            0,
        ),
        ([P(event="*", action="RestartJob")], None, req("PodEvicted"), "RestartJob", 0),
        ([P(exit_code=137, action="RestartTask")], None, req("PodFailed", exit_code=137), "RestartTask", 0),
        ([P(exit_code=137, action="RestartTask")], None, req("PodFailed", exit_code=1), "SyncJob", 0),
        ([P(event="Unknown", action="AbortJob", timeout="5m")], None, req("Unknown"), "AbortJob", 300),
        # PodPending only matches a policy with a timeout.
        ([P(event="PodPending", action="AbortJob")], None, req("PodPending"), "SyncJob", 0),
        ([P(event="*", action="AbortJob")], None, req("PodPending"), "SyncJob", 0),
        (
            [P(event="PodPending", action="RestartPod", timeout="90s")],
            None,
            req("PodPending"),
            "RestartPod",
            90,
        ),
        # Internal events never reach policies.
        ([P(event="*", action="AbortJob")], None, req("OutOfSync"), "SyncJob", 0),
        ([P(event="*", action="AbortJob")], None, req("PodRunning"), "SyncJob", 0),
        ([P(event="*", action="AbortJob")], None, req("CommandIssued", action="ResumeJob"), "ResumeJob", 0),
        # A task policy for another task does not apply; the first matching policy wins.
        ([], [P(event="PodFailed", action="AbortJob")], req("PodFailed", task_name="other"), "SyncJob", 0),
        (
            [P(event="PodFailed", action="AbortJob"), P(event="PodFailed", action="RestartJob")],
            None,
            req("PodFailed"),
            "AbortJob",
            0,
        ),
        (
            [P(event="TaskCompleted", action="CompleteJob")],
            None,
            req("TaskCompleted", task_name="t"),
            "CompleteJob",
            0,
        ),
    ],
)
def test_apply_policies(
    job_pol: list[LifecyclePolicy],
    task_pol: list[LifecyclePolicy] | None,
    request_: Request,
    action: str,
    delay: int,
) -> None:
    got = apply_policies(policy_job(job_pol, task_pol), request_)
    assert got.action == action
    assert got.delay == timedelta(seconds=delay)


def test_stale_requests_only_sync() -> None:
    j = with_status(policy_job([P(event="*", action="AbortJob")]), version=3)
    assert apply_policies(j, req("PodFailed", job_version=2)).action == "SyncJob"
    assert apply_policies(j, req("PodFailed", job_version=3)).action == "AbortJob"
    other = Request("ns", "job", job_uid="uid-old", event="PodFailed", job_version=3)
    assert apply_policies(j, other).action == "SyncJob"


def test_state_action_targets() -> None:
    base = DelayedAction("ns/job", "RestartPod", task_name="t", pod_name="p", partition="2")
    assert state_action(base).target == Target(TargetType.POD, "t", "p")
    task_act = DelayedAction("ns/job", "RestartTask", task_name="t")
    assert state_action(task_act).target == Target(TargetType.TASK, "t")
    part = DelayedAction("ns/job", "RestartPartition", task_name="t", pod_name="p", partition="2")
    assert state_action(part).target == Target(TargetType.PARTITION, "t", "p", "2")
    assert state_action(DelayedAction("ns/job", "AbortJob")).target is None


def test_delay_bookkeeping() -> None:
    pending = DelayedAction(
        "ns/job", "RestartPod", event="PodPending", pod_name="p", pod_uid="u1", delay=timedelta(seconds=60)
    )
    assert cancels_pending(req("PodRunning", pod_uid="u1"), pending)
    assert not cancels_pending(req("PodRunning", pod_uid="u2"), pending)
    assert not cancels_pending(req("PodPending", pod_uid="u1"), pending)
    failed = DelayedAction("ns/job", "RestartJob", event="PodFailed", pod_name="p")
    assert cancels_pending(req("PodRunning", pod_uid="x"), failed)
    assert not cancels_pending(req("OutOfSync", pod_uid="x"), failed)
    done = DelayedAction("ns/job", "RestartPod", pod_name="p")
    others = [
        DelayedAction("ns/job", "RestartPod", pod_name="p"),
        DelayedAction("ns/job", "RestartPod", pod_name="q"),
        DelayedAction("ns/job", "AbortJob", pod_name="p"),
    ]
    assert superseded(done, others) == [others[0]]
    assert superseded(DelayedAction("ns/job", "TerminateJob"), others) == [others[2]]
    assert action_type("ResumeJob") is ActionType.JOB
    assert (
        execute_message(DelayedAction("k", "AbortJob", delay=timedelta(minutes=5)))
        == "Execute action AbortJob after 5m0s"
    )
    assert execute_message(DelayedAction("k", "AbortJob")) == "Start to execute action AbortJob "
    assert execute_message(DelayedAction("k", "SyncJob")) is None


def test_pod_added_and_deleted() -> None:
    j = job(task("t", 1))
    p = pod(j, "t", 0, "Pending")
    r = on_pod_added(p)
    assert r is not None
    assert (r.event, r.task_name, r.pod_name, r.job_uid, r.job_version) == (
        "PodPending",
        "t",
        "job-t-0",
        "uid-1",
        0,
    )
    assert on_pod_deleted(p, known=True).event == "PodEvicted"  # type: ignore[union-attr]
    assert on_pod_deleted(p, known=False).event == "OutOfSync"  # type: ignore[union-attr]
    marked = pod(j, "t", 0, annotations={"volcano.sh/controller-out-of-sync": "true"})
    assert on_pod_added(marked).event == "OutOfSync"  # type: ignore[union-attr]
    orphan = msgspec.structs.replace(
        p,
        metadata=msgspec.structs.replace(
            p.metadata,
            owner_references=[OwnerReference(api_version="apps/v1", kind="ReplicaSet", controller=True)],
        ),
    )
    assert on_pod_added(orphan) is None


def bump(p: Pod) -> Pod:
    assert p.metadata is not None
    return msgspec.structs.replace(p, metadata=msgspec.structs.replace(p.metadata, resource_version="2"))


def test_pod_updates_map_to_events() -> None:
    j = job(task("t", 2))
    running, failed = pod(j, "t", 0), bump(pod(j, "t", 0, "Failed", exit_code=137))
    r = on_pod_updated(running, failed, j, {})
    assert r is not None
    assert (r.event, r.exit_code) == ("PodFailed", 137)
    assert on_pod_updated(pod(j, "t", 0, "Pending"), bump(running), j, {}).event == "PodRunning"  # type: ignore[union-attr]
    assert on_pod_updated(running, bump(running), j, {}).event == "OutOfSync"  # type: ignore[union-attr]
    assert on_pod_updated(running, running, j, {}) is None
    done = {"job-t-0": pod(j, "t", 0, "Succeeded"), "job-t-1": pod(j, "t", 1, "Succeeded")}
    assert on_pod_updated(running, bump(pod(j, "t", 0, "Succeeded")), j, done).event == "TaskCompleted"  # type: ignore[union-attr]
    half = {"job-t-0": pod(j, "t", 0, "Succeeded"), "job-t-1": running}
    assert on_pod_updated(running, bump(pod(j, "t", 0, "Succeeded")), j, half).event == "OutOfSync"  # type: ignore[union-attr]
    crashing = {"job-t-0": pod(j, "t", 0, restarts=3)}
    assert on_pod_updated(running, bump(running), j, crashing).event == "TaskFailed"  # type: ignore[union-attr]


def test_task_completed_and_failed() -> None:
    j = job(task("t", 2, max_retry=2))
    assert not task_completed(j, "t", {"a": pod(j, "t", 0, "Succeeded")})
    assert task_failed(j, "t", {"a": pod(j, "t", 0, restarts=1), "b": pod(j, "t", 1, "Pending", restarts=1)})
    assert not task_failed(j, "t", {"a": pod(j, "t", 0, "Failed", restarts=5)})
    unlimited = job(task("t", 2, max_retry=-1))
    assert not task_failed(unlimited, "t", {"a": pod(unlimited, "t", 0, restarts=99)})


def test_job_command_and_podgroup_requests() -> None:
    j = job(task("t", 1))
    assert on_job_added(j).event == "OutOfSync"
    moved = msgspec.structs.replace(j, metadata=msgspec.structs.replace(j.metadata, resource_version="9"))
    assert on_job_updated(j, moved) is None
    resized = msgspec.structs.replace(moved, spec=msgspec.structs.replace(j.spec, min_available=5))
    assert on_job_updated(j, resized) is not None
    cmd = Command(
        metadata=ObjectMeta(namespace="ns", name="c"),
        action="AbortJob",
        target=OwnerReference(name="job", kind="Job"),
    )
    r = on_command(cmd)
    assert (r.job_name, r.event, r.action) == ("job", "CommandIssued", "AbortJob")
    assert apply_policies(j, r).action == "AbortJob"
    assert command_message(cmd).startswith("Start to execute command AbortJob")
    meta = ObjectMeta(
        namespace="ns", name="job-uid-1", owner_references=[OwnerReference(kind="Job", name="job")]
    )
    old, new = (
        PodGroup(metadata=meta, status=PodGroupStatus(phase="Running")),
        PodGroup(metadata=meta, status=PodGroupStatus(phase="Unknown")),
    )
    r2 = on_podgroup_updated(old, new)
    assert r2 is not None
    assert (r2.job_name, r2.event) == ("job", "Unknown")
    assert on_podgroup_updated(new, new) is None
    assert on_podgroup_updated(new, old).event == ""  # type: ignore[union-attr]
