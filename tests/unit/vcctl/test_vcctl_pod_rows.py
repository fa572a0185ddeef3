"""Rows of ``vcctl pod list``: ready counts, status reasons, restarts."""

from __future__ import annotations

from typing import Any

from pyroclast.cli.vc.pod import pod_row, pod_status


def pod(phase: str, statuses: list[dict[str, Any]], **extra: object) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", **extra},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
        "status": {"phase": phase, "containerStatuses": statuses},
    }


def test_running_pod_counts_ready_containers_and_restarts() -> None:
    running = {"ready": True, "restartCount": 2, "state": {"running": {}}}
    starting = {"ready": False, "restartCount": 1, "state": {"running": {}}}
    assert pod_row(pod("Running", [running, starting]))[:4] == ["p", "1/2", "Running", 3]
    assert pod_row(pod("Running", [running]), all_namespaces=True)[:2] == ["ns", "p"]


def test_status_reasons() -> None:
    waiting = {"state": {"waiting": {"reason": "ImagePullBackOff"}}}
    assert pod_status(pod("Pending", [waiting])) == "ImagePullBackOff"
    exited = {"state": {"terminated": {"exitCode": 2}}}
    assert pod_status(pod("Failed", [exited])) == "ExitCode:2"
    done = {"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    assert pod_status(pod("Succeeded", [done])) == "Completed"
    assert pod_status(pod("Running", [], deletionTimestamp="2026-01-01T00:00:00Z")) == "Terminating"
    init = pod("Pending", [])
    init["status"]["initContainerStatuses"] = [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
    assert pod_status(init) == "Init:CrashLoopBackOff"
