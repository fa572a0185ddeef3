"""From a request to a plan: policy choice, delay, and execution in the current phase."""

from __future__ import annotations

from datetime import timedelta

from job_builders import context, job, pod, task

from pyroclast.common.models import LifecyclePolicy
from pyroclast.controller.job.decide import decide, execute_delayed
from pyroclast.controller.job.policies import Request


def test_pod_failure_restarts_job_by_policy() -> None:
    j = job(task("t", 2), phase="Running", policies=[LifecyclePolicy(event="PodFailed", action="RestartJob")])
    pods = [pod(j, "t", 0), pod(j, "t", 1, "Failed", exit_code=1)]
    req = Request("ns", "job", job_uid="uid-1", task_name="t", pod_name="job-t-1", event="PodFailed")
    decision = decide(context(j, pods), req)
    assert decision.delayed.action == "RestartJob"
    assert decision.message == "Start to execute action RestartJob "
    assert decision.plan is not None
    assert decision.plan.new_phase == "Restarting"
    assert decision.plan.delete_pods == ["job-t-0", "job-t-1"]


def test_timeout_policy_delays_then_executes() -> None:
    pol = LifecyclePolicy(event="PodPending", action="RestartPod", timeout="2m")
    j = job(task("t", 1, policies=[pol]), phase="Running")
    pods = [pod(j, "t", 0, "Pending")]
    req = Request("ns", "job", job_uid="uid-1", task_name="t", pod_name="job-t-0", event="PodPending")
    decision = decide(context(j, pods), req)
    assert decision.plan is None
    assert decision.delayed.delay == timedelta(minutes=2)
    assert decision.message == "Execute action RestartPod after 2m0s"
    plan = execute_delayed(context(j, pods), decision.delayed)
    assert plan.delete_pods == ["job-t-0"]
    assert plan.new_phase == "Restarting"


def test_plain_sync_records_no_event() -> None:
    j = job(task("t", 1), phase="Running")
    decision = decide(context(j, [pod(j, "t", 0)]), Request("ns", "job", event="OutOfSync"))
    assert decision.delayed.action == "SyncJob"
    assert decision.message is None
    assert decision.plan is not None
