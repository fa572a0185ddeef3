"""How long a simulated container runs and how it exits, read from the pod."""

from __future__ import annotations

from typing import Any

import pytest

from pyroclast.sandbox.kubelet.workload import (
    EXIT_CODE_ANNOTATION,
    RUN_SECONDS_ANNOTATION,
    plan_containers,
    pod_run_seconds,
    script_exit_code,
    sleep_seconds,
)


def pod(*containers: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "default", "annotations": annotations or {}},
        "spec": {"containers": list(containers)},
    }


@pytest.mark.parametrize(
    ("command", "args", "seconds"),
    [
        (["sleep", "10"], [], 10.0),
        (["sleep"], ["10"], 10.0),
        (["/bin/sleep", "1m"], [], 60.0),
        (["sleep", "1", "2s"], [], 3.0),
        (["sh", "-c", "sleep 10"], [], 10.0),
        (["sh", "-c"], ["echo hi; sleep 2 && sleep 3; exit 4"], 5.0),
        (["/bin/bash", "-ec", "sleep 0.5"], [], 0.5),
        (["busybox", "sh", "-c", "sleep 7"], [], 7.0),
        (["sleep", "infinity"], [], None),
        (["sh", "-c", "while true; do sleep 1; done"], [], 1.0),
        (["python", "train.py"], [], None),
        ([], [], None),
        (["sh", "-c", "echo no sleep"], [], None),
    ],
)
def test_sleep_seconds(command: list[str], args: list[str], seconds: float | None) -> None:
    assert sleep_seconds(command, args) == seconds


def test_exit_code_from_script() -> None:
    assert script_exit_code(["sh", "-c", "sleep 1; exit 3"], []) == 3
    assert script_exit_code(["sh", "-c", "sleep 1"], []) is None
    assert script_exit_code(["sleep", "1"], []) is None


def test_annotations_override_the_command() -> None:
    p = pod(
        {"name": "a", "image": "busybox", "command": ["sleep", "100"]},
        annotations={RUN_SECONDS_ANNOTATION: "2", EXIT_CODE_ANNOTATION: "7"},
    )
    [plan] = plan_containers(p)
    assert (plan.run_seconds, plan.exit_code) == (2.0, 7)


def test_bad_annotations_fall_back_to_the_command() -> None:
    p = pod(
        {"name": "a", "command": ["sh", "-c", "sleep 4; exit 1"]},
        annotations={RUN_SECONDS_ANNOTATION: "soon", EXIT_CODE_ANNOTATION: "x"},
    )
    [plan] = plan_containers(p)
    assert (plan.run_seconds, plan.exit_code) == (4.0, 1)


def test_multi_container_pod_runs_as_long_as_the_longest() -> None:
    p = pod({"name": "a", "command": ["sleep", "3"]}, {"name": "b", "command": ["sleep"], "args": ["9"]})
    assert pod_run_seconds(p) == 9.0


def test_a_container_without_sleep_runs_until_deleted() -> None:
    p = pod({"name": "a", "command": ["sleep", "3"]}, {"name": "web", "image": "nginx"})
    assert pod_run_seconds(p) is None
    assert plan_containers(p)[1].run_seconds is None
