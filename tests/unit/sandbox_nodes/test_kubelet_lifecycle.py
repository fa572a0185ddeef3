"""The pod lifecycle on a simulated node, driven step by step with a fake clock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from pyroclast.sandbox.kubelet.lifecycle import (
    Decision,
    NodeView,
    Policy,
    is_admitted,
    kubelet_events,
    log_events,
    step,
)
from pyroclast.sandbox.kubelet.workload import EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION
from pyroclast.sandbox.resources import parse_resource_list

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NODE = NodeView(
    name="node-0",
    host_ip="172.18.0.2",
    allocatable=parse_resource_list({"cpu": "8", "memory": "32Gi", "pods": "110"}),
    labels={"kubernetes.io/hostname": "node-0"},
)


def make_pod(
    command: list[str] | None = None,
    restart_policy: str = "Never",
    annotations: dict[str, str] | None = None,
    cpu: str = "1",
    containers: int = 1,
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "p",
            "namespace": "default",
            "uid": "0123456789ab",
            "annotations": annotations or {},
        },
        "spec": {
            "nodeName": "node-0",
            "restartPolicy": restart_policy,
            "containers": [
                {
                    "name": f"c{i}",
                    "image": "busybox",
                    **({"command": command} if command else {}),
                    "resources": {"requests": {"cpu": cpu}},
                }
                for i in range(containers)
            ],
        },
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]},
    }


def run(pod: dict[str, Any], at: datetime, used: dict[str, int] | None = None) -> Decision:
    decision = step(pod, NODE, at, used=used or {}, pod_ip="10.244.0.5")
    if decision.status is not None:
        pod["status"] = decision.status
    return decision


def condition(pod: dict[str, Any], kind: str) -> str:
    return str(next(c["status"] for c in pod["status"]["conditions"] if c["type"] == kind))


def test_bound_pod_goes_pending_running_succeeded_with_the_annotated_exit_code() -> None:
    pod = make_pod(annotations={RUN_SECONDS_ANNOTATION: "5", EXIT_CODE_ANNOTATION: "0"})
    first = run(pod, T0)
    assert pod["status"]["phase"] == "Pending"
    assert pod["status"]["hostIP"] == "172.18.0.2"
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert first.wake_at == T0

    second = run(pod, T0)
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["podIP"] == "10.244.0.5"
    assert pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] == "2026-01-01T12:00:00Z"
    assert condition(pod, "Ready") == "True"
    assert condition(pod, "ContainersReady") == "True"
    assert condition(pod, "Initialized") == "True"
    assert condition(pod, "PodScheduled") == "True"
    assert second.wake_at == T0 + timedelta(seconds=5)

    assert run(pod, T0 + timedelta(seconds=3)).status is None  # nothing changes before the end

    run(pod, T0 + timedelta(seconds=5))
    assert pod["status"]["phase"] == "Succeeded"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    assert terminated["reason"] == "Completed"
    assert terminated["finishedAt"] == "2026-01-01T12:00:05Z"
    assert condition(pod, "Ready") == "False"


def test_a_non_zero_exit_fails_the_pod() -> None:
    pod = make_pod(command=["sh", "-c", "sleep 2; exit 3"])
    run(pod, T0)
    run(pod, T0)
    run(pod, T0 + timedelta(seconds=2))
    assert pod["status"]["phase"] == "Failed"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")


def test_a_pod_that_does_not_fit_is_rejected() -> None:
    pod = make_pod(cpu="4")
    decision = run(pod, T0, used={"cpu": 6000, "pods": 2})
    assert decision.rejection is not None
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["reason"] == "OutOfcpu"
    assert pod["status"]["message"] == (
        "Pod Node didn't have enough resource: cpu, requested: 4000, used: 6000, capacity: 8000"
    )
    assert not is_admitted(pod)
    assert run(pod, T0 + timedelta(seconds=1)).status is None


def test_a_pod_without_sleep_runs_until_deleted() -> None:
    pod = make_pod(command=["nginx"])
    run(pod, T0)
    decision = run(pod, T0)
    assert pod["status"]["phase"] == "Running"
    assert decision.wake_at is None
    assert run(pod, T0 + timedelta(hours=1)).status is None


def test_restart_policy_always_restarts_with_back_off() -> None:
    pod = make_pod(command=["sleep", "2"], restart_policy="Always")
    policy = Policy(backoff_base_seconds=10)
    run(pod, T0)
    run(pod, T0)
    # First end: restarted at once.
    decision = step(pod, NODE, T0 + timedelta(seconds=2), used={}, pod_ip="10.244.0.5", policy=policy)
    assert decision.status is not None
    pod["status"] = decision.status
    cs = pod["status"]["containerStatuses"][0]
    assert pod["status"]["phase"] == "Running"
    assert cs["restartCount"] == 1
    assert "running" in cs["state"]
    assert cs["lastState"]["terminated"]["exitCode"] == 0
    # Second end: CrashLoopBackOff for 10 s, then running again.
    decision = step(pod, NODE, T0 + timedelta(seconds=4), used={}, pod_ip="10.244.0.5", policy=policy)
    assert decision.status is not None
    pod["status"] = decision.status
    cs = pod["status"]["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert decision.wake_at == T0 + timedelta(seconds=14)
    assert condition(pod, "Ready") == "False"
    decision = step(pod, NODE, T0 + timedelta(seconds=14), used={}, pod_ip="10.244.0.5", policy=policy)
    assert decision.status is not None
    cs = decision.status["containerStatuses"][0]
    assert cs["restartCount"] == 2
    assert "running" in cs["state"]


def test_restart_policy_on_failure_restarts_only_failures() -> None:
    ok = make_pod(command=["sleep", "1"], restart_policy="OnFailure")
    for at in (T0, T0, T0 + timedelta(seconds=1)):
        run(ok, at)
    assert ok["status"]["phase"] == "Succeeded"

    bad = make_pod(command=["sh", "-c", "sleep 1; exit 1"], restart_policy="OnFailure")
    for at in (T0, T0, T0 + timedelta(seconds=1)):
        run(bad, at)
    assert bad["status"]["phase"] == "Running"
    assert bad["status"]["containerStatuses"][0]["restartCount"] == 1


def test_restart_policy_never_ends_the_pod() -> None:
    pod = make_pod(command=["sh", "-c", "sleep 1; exit 1"], restart_policy="Never")
    for at in (T0, T0, T0 + timedelta(seconds=1)):
        run(pod, at)
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0


def test_multi_container_pod_ends_with_its_longest_container() -> None:
    pod = make_pod(containers=2)
    pod["spec"]["containers"][0]["command"] = ["sleep", "1"]
    pod["spec"]["containers"][1]["command"] = ["sleep", "3"]
    run(pod, T0)
    run(pod, T0)
    decision = run(pod, T0 + timedelta(seconds=1))
    assert pod["status"]["phase"] == "Running"
    assert "terminated" in pod["status"]["containerStatuses"][0]["state"]
    assert decision.wake_at == T0 + timedelta(seconds=3)
    run(pod, T0 + timedelta(seconds=3))
    assert pod["status"]["phase"] == "Succeeded"


def test_a_status_written_by_someone_else_is_respected() -> None:
    pod = make_pod(command=["sleep", "100"])
    run(pod, T0)
    run(pod, T0)
    external = copy.deepcopy(pod["status"])
    external["phase"] = "Failed"
    external["containerStatuses"][0]["state"] = {
        "terminated": {"exitCode": 2, "reason": "Error", "finishedAt": "2026-01-01T12:00:01Z"}
    }
    pod["status"] = external
    decision = run(pod, T0 + timedelta(seconds=200))
    assert decision.status is None
    assert pod["status"]["phase"] == "Failed"


def test_a_terminated_container_patched_in_by_a_test_ends_a_never_pod() -> None:
    pod = make_pod(command=["sleep", "100"])
    run(pod, T0)
    run(pod, T0)
    pod["status"]["containerStatuses"][0]["state"] = {
        "terminated": {"exitCode": 5, "reason": "Error", "finishedAt": "2026-01-01T12:00:01Z"}
    }
    run(pod, T0 + timedelta(seconds=2))
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 5


def test_deleting_a_running_pod_kills_it_and_confirms() -> None:
    pod = make_pod(command=["sleep", "100"])
    run(pod, T0)
    run(pod, T0)
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:30Z"
    decision = run(pod, T0 + timedelta(seconds=1))
    assert decision.delete
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137


def test_deleting_a_finished_pod_keeps_its_exit_code() -> None:
    pod = make_pod(command=["sleep", "1"])
    for at in (T0, T0, T0 + timedelta(seconds=1)):
        run(pod, at)
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:30Z"
    decision = run(pod, T0 + timedelta(seconds=2))
    assert decision.delete
    assert decision.status is None
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


def test_deleting_a_pod_never_admitted_just_confirms() -> None:
    pod = make_pod()
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:30Z"
    decision = run(pod, T0)
    assert decision.delete
    assert decision.status is None


def test_start_delay_holds_the_pod_in_container_creating() -> None:
    pod = make_pod(command=["sleep", "5"])
    policy = Policy(start_delay_seconds=2)
    decision = step(pod, NODE, T0, used={}, pod_ip="10.244.0.5", policy=policy)
    assert decision.status is not None
    pod["status"] = decision.status
    assert decision.wake_at == T0 + timedelta(seconds=2)
    early = step(pod, NODE, T0 + timedelta(seconds=1), used={}, pod_ip="10.244.0.5", policy=policy)
    assert early.status is None
    later = step(pod, NODE, T0 + timedelta(seconds=2), used={}, pod_ip="10.244.0.5", policy=policy)
    assert later.status is not None
    assert later.status["phase"] == "Running"


def test_log_events_name_starts_and_exits() -> None:
    pod = make_pod(command=["sh", "-c", "sleep 1; exit 4"])
    run(pod, T0)
    before = copy.deepcopy(pod["status"])
    run(pod, T0)
    assert log_events(before, pod["status"]) == [("c0", "container c0 started, image busybox")]
    before = copy.deepcopy(pod["status"])
    run(pod, T0 + timedelta(seconds=1))
    assert log_events(before, pod["status"]) == [("c0", "container c0 exited with code 4 (Error)")]


def test_running_twice_is_idempotent() -> None:
    pod = make_pod(command=["sleep", "5"])
    run(pod, T0)
    run(pod, T0)
    assert run(pod, T0).status is None


def test_kubelet_events_for_start_rejection_and_kill() -> None:
    pod = make_pod(command=["sleep", "100"])
    run(pod, T0)
    before = copy.deepcopy(pod["status"])
    run(pod, T0)
    reasons = [reason for _, reason, _ in kubelet_events(before, pod["status"])]
    assert reasons == ["Pulled", "Created", "Started"]

    before = copy.deepcopy(pod["status"])
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:30Z"
    run(pod, T0 + timedelta(seconds=1))
    assert kubelet_events(before, pod["status"], killing=True) == [
        ("Normal", "Killing", "Stopping container c0")
    ]

    big = make_pod(cpu="64")
    before = copy.deepcopy(big["status"])
    run(big, T0)
    [(kind, reason, message)] = kubelet_events(before, big["status"])
    assert (kind, reason) == ("Warning", "OutOfcpu")
    assert message.startswith("Pod Node didn't have enough resource: cpu")
