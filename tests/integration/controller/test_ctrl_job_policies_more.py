"""More lifecycle policies against the sandbox: exit codes, TaskCompleted, task over job
policies, ``dependsOn`` ordering and ``minSuccess``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import Cluster, Harness, eventually, finalize_terminating

from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NS = "policies-more"


@pytest.fixture
async def cluster(apiserver: ApiServerHandle, kube: KubeClient) -> AsyncIterator[Cluster]:
    apiserver.kubectl("create", "namespace", NS, check=False)
    stop = asyncio.Event()
    task = asyncio.create_task(finalize_terminating(kube, NS, stop))
    try:
        yield Cluster(kube, NS)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def task(name: str, replicas: int, **extra: Any) -> dict[str, Any]:
    """A busybox task; ``extra`` holds further task fields (``policies``, ``dependsOn``...)."""
    return {
        "name": name,
        "replicas": replicas,
        **extra,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox",
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                    }
                ],
            }
        },
    }


async def create_job(kube: KubeClient, name: str, tasks: list[dict[str, Any]], **extra: Any) -> None:
    """Creates a Volcano Job (``minAvailable`` defaults to every replica)."""
    spec = {
        "minAvailable": sum(t["replicas"] for t in tasks),
        "schedulerName": "volcano",
        "queue": "default",
        **extra,
        "tasks": tasks,
    }
    body = {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }
    await kube.request("POST", resources.JOBS.path(NS), body=body)


async def has_event(kube: KubeClient, job: str, reason: str, text: str = "") -> bool:
    _, items, _ = resources.EVENTS.decode_list(await kube.list_raw(resources.EVENTS, NS))
    return any(
        e.involved_object
        and e.involved_object.name == job
        and e.reason == reason
        and text in (e.message or "")
        for e in items
    )


async def start_running(controller: Harness, cluster: Cluster, job: str, count: int) -> None:
    """Admit the job, bind and run its ``count`` pods, and wait for Running with the work
    queue idle (so the next pod change is handled on its own)."""
    await cluster.wait_phase(job, "Pending")
    await cluster.admit(job)
    await cluster.start_all(job, count)
    await cluster.wait_phase(job, "Running")
    await controller.settled()


async def wait_status(cluster: Cluster, job: str, field: str, value: int) -> None:
    async def check() -> bool:
        status = (await cluster.job(job)).status
        return bool(status and (getattr(status, field) or 0) == value)

    await eventually(check, 20, what=f"{job} status.{field} == {value}")


async def test_exit_code_policy_completes_the_job_other_codes_follow_the_default(
    controller: Harness, cluster: Cluster
) -> None:
    await create_job(
        cluster.kube, "exit", [task("t", 3)], policies=[{"exitCode": 3, "action": "CompleteJob"}]
    )
    await start_running(controller, cluster, "exit", 3)

    # Exit code 1 matches no policy: SyncJob, the job goes on running with one failed pod.
    await cluster.finish("exit-t-0", exit_code=1)
    await wait_status(cluster, "exit", "failed", 1)
    await controller.settled()
    assert await cluster.phase("exit") == "Running"
    assert sorted(await cluster.live_pods("exit")) == ["exit-t-0", "exit-t-1", "exit-t-2"]
    assert not await has_event(cluster.kube, "exit", "ExecuteAction", "CompleteJob")

    # Exit code 3: CompleteJob; the pod still running is killed, the finished ones are kept.
    await cluster.finish("exit-t-1", exit_code=3)
    job = await cluster.wait_phase("exit", "Completed")
    assert any(c.status == "Completing" for c in job.status.conditions)
    await eventually(
        lambda: has_event(cluster.kube, "exit", "ExecuteAction", "Start to execute action CompleteJob"),
        10,
        what="CompleteJob event",
    )

    async def killed() -> bool:
        return sorted(await cluster.live_pods("exit")) == ["exit-t-0", "exit-t-1"]

    await eventually(killed, 10, what="the running pod killed")
    job = await cluster.job("exit")
    assert job.status.failed == 2
    assert (job.status.running or 0) == 0


async def test_task_completed_of_the_chief_completes_the_job(controller: Harness, cluster: Cluster) -> None:
    chief = task("chief", 1, policies=[{"event": "TaskCompleted", "action": "CompleteJob"}])
    await create_job(cluster.kube, "chief", [chief, task("worker", 2)])
    await start_running(controller, cluster, "chief", 3)

    await cluster.finish("chief-chief-0", exit_code=0)
    job = await cluster.wait_phase("chief", "Completed")
    assert job.status.succeeded == 1

    async def workers_killed() -> bool:
        return sorted(await cluster.live_pods("chief")) == ["chief-chief-0"]

    await eventually(workers_killed, 10, what="the workers killed")
    await eventually(
        lambda: has_event(cluster.kube, "chief", "ExecuteAction", "Start to execute action CompleteJob"),
        10,
        what="CompleteJob event",
    )


async def test_task_completed_without_a_policy_is_only_a_sync(controller: Harness, cluster: Cluster) -> None:
    """The same job without the chief's policy: its chief succeeding completes nothing."""
    await create_job(cluster.kube, "nochief", [task("chief", 1), task("worker", 2)])
    await start_running(controller, cluster, "nochief", 3)

    await cluster.finish("nochief-chief-0", exit_code=0)
    await wait_status(cluster, "nochief", "succeeded", 1)
    await controller.settled()
    assert await cluster.phase("nochief") == "Running"
    assert len(await cluster.live_pods("nochief")) == 3


@pytest.mark.parametrize(
    ("failing", "phase", "action"),
    [("a", "Completed", "CompleteJob"), ("b", "Aborted", "AbortJob")],
)
async def test_task_policy_overrides_the_job_policy_for_the_same_event(
    controller: Harness, cluster: Cluster, failing: str, phase: str, action: str
) -> None:
    """Task ``a`` maps PodFailed to CompleteJob, the job maps it to AbortJob: a pod of ``a``
    failing completes the job, a pod of ``b`` (no task policy) aborts it."""
    name = f"over-{failing}"
    tasks = [
        task("a", 1, policies=[{"event": "PodFailed", "action": "CompleteJob"}]),
        task("b", 1),
    ]
    await create_job(cluster.kube, name, tasks, policies=[{"event": "PodFailed", "action": "AbortJob"}])
    await start_running(controller, cluster, name, 2)

    await cluster.finish(f"{name}-{failing}-0", exit_code=1)
    await cluster.wait_phase(name, phase)
    other = "b" if failing == "a" else "a"

    async def other_killed() -> bool:
        return sorted(await cluster.live_pods(name)) == [f"{name}-{failing}-0"]

    await eventually(other_killed, 10, what=f"the pod of task {other} killed")
    await eventually(
        lambda: has_event(cluster.kube, name, "ExecuteAction", f"Start to execute action {action}"),
        10,
        what=f"{action} event",
    )
    wrong = "AbortJob" if action == "CompleteJob" else "CompleteJob"
    assert not await has_event(cluster.kube, name, "ExecuteAction", wrong)


@pytest.mark.parametrize("iteration", ["any", "all"])
async def test_depends_on_creates_pods_after_the_dependencies_run(
    controller: Harness, cluster: Cluster, iteration: str
) -> None:
    """``c`` depends on ``a`` and ``b`` (each ready once its one replica runs): with ``any``
    its pod is created once either runs, with ``all`` once both run."""
    name = f"dep-{iteration}"
    tasks = [
        task("a", 1, minAvailable=1),
        task("b", 1, minAvailable=1),
        task("c", 2, dependsOn={"name": ["a", "b"], "iteration": iteration}),
    ]
    await create_job(cluster.kube, name, tasks)
    await cluster.wait_phase(name, "Pending")
    await cluster.admit(name)
    pods = await cluster.wait_pods(name, 2)
    assert sorted(pods) == [f"{name}-a-0", f"{name}-b-0"]

    # Bound but not running: not ready yet.
    await cluster.bind(f"{name}-a-0")
    await cluster.bind(f"{name}-b-0")
    await controller.settled()
    assert sorted(await cluster.live_pods(name)) == [f"{name}-a-0", f"{name}-b-0"]

    await cluster.run(f"{name}-a-0")
    if iteration == "all":
        await eventually(lambda: _pod_phase(cluster, name, "a", "Running"), 10, what="a-0 running in the API")
        await controller.settled()
        assert sorted(await cluster.live_pods(name)) == [f"{name}-a-0", f"{name}-b-0"]
        await cluster.run(f"{name}-b-0")

    pods = await cluster.wait_pods(name, 4)
    assert sorted(pods) == [f"{name}-a-0", f"{name}-b-0", f"{name}-c-0", f"{name}-c-1"]
    if iteration == "any":
        assert pods[f"{name}-b-0"].status.phase == "Pending"

    await cluster.start_all(name, 4)
    await cluster.wait_phase(name, "Running")


async def _pod_phase(cluster: Cluster, job: str, task_name: str, phase: str) -> bool:
    pod = (await cluster.pods(job)).get(f"{job}-{task_name}-0")
    return bool(pod and pod.status and pod.status.phase == phase)


async def test_depends_on_a_task_without_min_available_does_not_wait(
    controller: Harness, cluster: Cluster
) -> None:
    """As in Volcano, a dependency without ``minAvailable`` counts as ready at once."""
    tasks = [task("a", 1), task("c", 1, dependsOn={"name": ["a"]})]
    await create_job(cluster.kube, "dep-free", tasks)
    await cluster.wait_phase("dep-free", "Pending")
    await cluster.admit("dep-free")
    pods = await cluster.wait_pods("dep-free", 2)
    assert sorted(pods) == ["dep-free-a-0", "dep-free-c-0"]


async def test_min_success_completes_the_job(controller: Harness, cluster: Cluster) -> None:
    await create_job(cluster.kube, "minsucc", [task("t", 3)], minAvailable=2, minSuccess=2)
    await start_running(controller, cluster, "minsucc", 3)

    await cluster.finish("minsucc-t-0", exit_code=0)
    await wait_status(cluster, "minsucc", "succeeded", 1)
    await controller.settled()
    assert await cluster.phase("minsucc") == "Running"

    await cluster.finish("minsucc-t-1", exit_code=0)
    job = await cluster.wait_phase("minsucc", "Completed")
    assert job.status.succeeded == 2

    async def rest_killed() -> bool:
        return sorted(await cluster.live_pods("minsucc")) == ["minsucc-t-0", "minsucc-t-1"]

    await eventually(rest_killed, 10, what="the pod still running killed")
