"""A Volcano Job driven through its lifecycle by the job controller against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import Cluster, Harness, finalize_terminating, job_manifest
from nats.aio.client import Client

from pyroclast.common.bus.audit import audit_follow
from pyroclast.common.bus.names import AuditKind, BusNames
from pyroclast.controller.kube.client import KubeClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NS = "jobs"


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


async def test_two_task_job_runs_to_completion(
    apiserver: ApiServerHandle, controller: Harness, cluster: Cluster, nc: Client, names: BusNames
) -> None:
    apiserver.kubectl("apply", "-f", "-", input=job_manifest("tf", NS))
    job = await cluster.wait_phase("tf", "Pending")
    uid = job.metadata.uid
    await cluster.admit("tf")
    pods = await cluster.wait_pods("tf", 3)
    assert sorted(pods) == ["tf-ps-0", "tf-worker-0", "tf-worker-1"]
    worker = pods["tf-worker-1"]
    assert worker.metadata.labels["volcano.sh/job-name"] == "tf"
    assert worker.metadata.labels["volcano.sh/task-spec"] == "worker"
    assert worker.metadata.annotations["scheduling.k8s.io/group-name"] == f"tf-{uid}"
    assert worker.metadata.owner_references[0].uid == uid

    await cluster.start_all("tf", 3)
    job = await cluster.wait_phase("tf", "Running")
    for name in pods:
        await cluster.finish(name)
    await cluster.wait_phase("tf", "Completed")

    async def transitions() -> list[tuple[str, dict[str, object]]]:
        events = audit_follow(nc, names, since="all", follow=False, kind=AuditKind.JOB, namespace=NS)
        return [(e.action, e.details) async for e in events]

    audit = await transitions()
    assert [action for action, _ in audit] == ["Pending", "Running", "Completed"]
    # Counts as written with each transition (a later sync of the finished job rewrites them:
    # see the note on kill_pods in the report).
    assert audit[1][1]["running"] == 3
    assert audit[2][1]["succeeded"] == 3
    assert audit[2][1]["from"] == "Running"
