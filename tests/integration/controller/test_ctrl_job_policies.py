"""Lifecycle policies, commands, TTL, restarts of the controller and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import FAST_SETTINGS, Cluster, Harness, eventually, finalize_terminating, job_manifest
from nats.aio.client import Client

from pyroclast.common.bus.names import BusNames
from pyroclast.common.models import Pod
from pyroclast.controller.jobs.apply import Applier
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NS = "policies"


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


async def events(kube: KubeClient, job: str) -> list[tuple[str, str]]:
    _, items, _ = resources.EVENTS.decode_list(await kube.list_raw(resources.EVENTS, NS))
    return [
        (e.reason or "", e.message or "")
        for e in items
        if e.involved_object and e.involved_object.name == job
    ]


async def has_event(kube: KubeClient, job: str, reason: str, text: str = "") -> bool:
    return any(r == reason and text in m for r, m in await events(kube, job))


async def version_pods(cluster: Cluster, job: str, count: int) -> dict[str, Pod]:
    """Wait for ``count`` live pods, all of the job's current version (every kill bumps it)."""

    async def check() -> dict[str, Pod] | None:
        version = str((await cluster.job(job)).status.version or 0)
        pods = await cluster.live_pods(job)
        versions = {p.metadata.annotations["volcano.sh/job-version"] for p in pods.values()}
        return pods if len(pods) == count and versions == {version} else None

    result: dict[str, Pod] = await eventually(check, 20, what=f"pods of {job} at the job's version")
    return result


async def test_pod_failure_restarts_job_until_max_retry(
    apiserver: ApiServerHandle, controller: Harness, cluster: Cluster
) -> None:
    policies = "maxRetry: 2\npolicies:\n- {event: PodFailed, action: RestartJob}"
    apiserver.kubectl(
        "apply", "-f", "-", input=job_manifest("rs", NS, tasks=(("t", 1),), extra_spec=policies)
    )
    await cluster.wait_phase("rs", "Pending")
    podgroup = await cluster.admit("rs")
    for attempt in range(2):
        await version_pods(cluster, "rs", 1)
        await cluster.start_all("rs", 1)
        await cluster.wait_phase("rs", "Running")
        await controller.settled()
        await cluster.finish("rs-t-0", exit_code=3)
        if attempt == 0:
            # The kill deleted the PodGroup; the job restarts once the new one is admitted.
            job = await cluster.wait_phase("rs", "Restarting")
            assert job.status.retry_count == 1
            podgroup = await cluster.admit("rs", not_uid=podgroup)
            await cluster.wait_phase("rs", "Pending")
    job = await cluster.wait_phase("rs", "Failed")
    assert job.status.retry_count == 2
    await eventually(
        lambda: has_event(cluster.kube, "rs", "ExecuteAction", "RestartJob"),
        10,
        what="ExecuteAction event of rs",
    )


async def command(kube: KubeClient, job: Any, name: str, action: str) -> None:
    body = {
        "apiVersion": "bus.volcano.sh/v1alpha1",
        "kind": "Command",
        "metadata": {"name": name, "namespace": NS},
        "action": action,
        "target": {
            "apiVersion": "batch.volcano.sh/v1alpha1",
            "kind": "Job",
            "name": job.metadata.name,
            "uid": job.metadata.uid,
            "controller": True,
        },
    }
    await kube.request("POST", resources.COMMANDS.path(NS), body=body)


async def test_abort_and_resume_commands(
    controller: Harness, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    apiserver.kubectl("apply", "-f", "-", input=job_manifest("cmd", NS, tasks=(("t", 2),)))
    await cluster.wait_phase("cmd", "Pending")
    podgroup = await cluster.admit("cmd")
    await cluster.start_all("cmd", 2)
    job = await cluster.wait_phase("cmd", "Running")

    await command(cluster.kube, job, "abort-1", "AbortJob")
    job = await cluster.wait_phase("cmd", "Aborted")
    assert await cluster.live_pods("cmd") == {}

    async def command_gone(name: str) -> bool:
        return await cluster.kube.get_or_none(resources.COMMANDS, NS, name) is None

    await eventually(lambda: command_gone("abort-1"), 10, what="abort command deleted")
    await eventually(
        lambda: has_event(cluster.kube, "cmd", "CommandIssued", "AbortJob"),
        10,
        what="CommandIssued event of cmd",
    )

    await command(cluster.kube, job, "resume-1", "ResumeJob")
    # Restarting, then Pending once counts show no pod left (at once if the cache still
    # holds the PodGroup the resume deleted).
    await cluster.wait_phase("cmd", "Restarting|Pending")
    await eventually(lambda: command_gone("resume-1"), 10, what="resume command deleted")
    await cluster.admit("cmd", not_uid=podgroup)
    await cluster.wait_phase("cmd", "Pending")
    await version_pods(cluster, "cmd", 2)
    await cluster.start_all("cmd", 2)
    job = await cluster.wait_phase("cmd", "Running")
    assert job.status.retry_count == 1


async def test_ttl_deletes_finished_job(
    controller: Harness, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    manifest = job_manifest("ttl", NS, tasks=(("t", 1),), extra_spec="ttlSecondsAfterFinished: 3")
    apiserver.kubectl("apply", "-f", "-", input=manifest)
    await cluster.wait_phase("ttl", "Pending")
    await cluster.admit("ttl")
    await cluster.start_all("ttl", 1)
    await cluster.wait_phase("ttl", "Running")
    await cluster.finish("ttl-t-0")
    await cluster.wait_phase("ttl", "Completed")

    async def gone() -> bool:
        return await cluster.kube.get_or_none(resources.JOBS, NS, "ttl") is None

    await eventually(gone, 15, what="job deleted after its TTL")


async def test_controller_killed_mid_reconcile_converges(
    kube: KubeClient, nc: Client, names: BusNames, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    created = asyncio.Event()
    original = Applier._create_pod
    count = 0

    async def stalling(self: Applier, pod: Pod, namespace: str) -> None:
        nonlocal count
        count += 1
        if count > 5:
            created.set()
            await asyncio.Event().wait()
        await original(self, pod, namespace)

    first = Harness(kube, nc, names, FAST_SETTINGS)
    first.controller.reconciler.applier._create_pod = stalling.__get__(first.controller.reconciler.applier)
    await first.start()
    apiserver.kubectl("apply", "-f", "-", input=job_manifest("kill", NS, tasks=(("t", 20),)))
    await cluster.wait_phase("kill", "Pending")
    await cluster.admit("kill")
    await asyncio.wait_for(created.wait(), 20)
    assert first.task is not None
    first.task.cancel()  # killed: no drain
    with pytest.raises(asyncio.CancelledError):
        await first.task
    assert 0 < len(await cluster.pods("kill")) < 20

    second = await Harness(kube, nc, names, FAST_SETTINGS).start()
    try:
        pods = await cluster.wait_pods("kill", 20)
        assert sorted(pods) == sorted(f"kill-t-{i}" for i in range(20))
        await cluster.start_all("kill", 20)
        job = await cluster.wait_phase("kill", "Running")
        assert job.status.running == 20
        assert len(await cluster.pods("kill")) == 20
    finally:
        await second.close()


async def test_template_that_cannot_become_a_pod(
    controller: Harness, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    manifest = job_manifest("bad", NS, tasks=(("t", 1),)).replace("          image: busybox\n", "")
    apiserver.kubectl("apply", "-f", "-", input=manifest)
    await cluster.wait_phase("bad", "Pending")
    await cluster.admit("bad")
    await eventually(lambda: has_event(cluster.kube, "bad", "FailedCreate"), 20, what="FailedCreate event")
    job = await cluster.wait_phase("bad", "Terminated")
    assert any(c.status == "Terminated" for c in job.status.conditions)
    await eventually(
        lambda: has_event(cluster.kube, "bad", "ExecuteAction", "retry limit reached"),
        10,
        what="ExecuteAction event of bad",
    )
    assert controller.task is not None
    assert not controller.task.done()


async def test_policy_with_unknown_action(
    controller: Harness, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    policies = "policies:\n- {event: PodFailed, action: Explode}"
    apiserver.kubectl(
        "apply", "-f", "-", input=job_manifest("odd", NS, tasks=(("t", 1),), extra_spec=policies)
    )
    await cluster.wait_phase("odd", "Pending")
    await cluster.admit("odd")
    await cluster.start_all("odd", 1)
    await cluster.wait_phase("odd", "Running")
    await controller.settled()
    await cluster.finish("odd-t-0", exit_code=1)
    await cluster.wait_phase("odd", "Failed")
    await eventually(
        lambda: has_event(cluster.kube, "odd", "ExecuteAction", "Unknown action Explode"),
        10,
        what="ExecuteAction event of odd",
    )
    assert controller.task is not None
    assert not controller.task.done()


async def test_plugins_and_volume_claims(
    controller: Harness, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    extra = """
plugins: {svc: [], ssh: [], env: []}
volumes:
- mountPath: /data
  volumeClaim: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""
    apiserver.kubectl("apply", "-f", "-", input=job_manifest("mpi", NS, tasks=(("t", 2),), extra_spec=extra))
    await cluster.wait_phase("mpi", "Pending")
    kube = cluster.kube

    async def objects() -> bool:
        found = [
            await kube.get_or_none(resources.SERVICES, NS, "mpi"),
            await kube.get_or_none(resources.CONFIGMAPS, NS, "mpi-svc"),
            await kube.get_or_none(resources.SECRETS, NS, "mpi-ssh"),
        ]
        return all(found)

    await eventually(objects, 20, what="plugin objects")
    job = await cluster.job("mpi")
    claim = job.spec.volumes[0].volume_claim_name
    assert claim.startswith("mpi-pvc-")
    assert await kube.get_or_none(resources.PVCS, NS, claim) is not None
    assert job.status.controlled_resources["plugin-svc"] == "svc"

    await cluster.admit("mpi")
    pods = await cluster.wait_pods("mpi", 2)
    volumes = {
        v.persistent_volume_claim.claim_name
        for v in pods["mpi-t-0"].spec.volumes
        if v.persistent_volume_claim
    }
    assert claim in volumes
    await cluster.start_all("mpi", 2)
    await cluster.wait_phase("mpi", "Running")
    for name in pods:
        await cluster.finish(name)
    await cluster.wait_phase("mpi", "Completed")

    async def cleaned() -> bool:
        return await kube.get_or_none(resources.CONFIGMAPS, NS, "mpi-svc") is None

    await eventually(cleaned, 20, what="plugin objects deleted after the job finished")


async def test_delayed_action_fires_unless_cancelled(
    controller: Harness, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    policies = "policies:\n- {event: PodPending, action: AbortJob, timeout: 1s}"
    apiserver.kubectl(
        "apply", "-f", "-", input=job_manifest("slow", NS, tasks=(("t", 1),), extra_spec=policies)
    )
    await cluster.wait_phase("slow", "Pending")
    await cluster.admit("slow")
    await cluster.wait_pods("slow", 1)
    await eventually(
        lambda: has_event(cluster.kube, "slow", "ExecuteAction", "Execute action AbortJob after 1s"),
        10,
        what="delayed action recorded",
    )
    await cluster.wait_phase("slow", "Aborted", timeout=10)

    # The same policy on a job whose pod starts in time: the pending action is cancelled.
    apiserver.kubectl(
        "apply", "-f", "-", input=job_manifest("fast", NS, tasks=(("t", 1),), extra_spec=policies)
    )
    await cluster.wait_phase("fast", "Pending")
    await cluster.admit("fast")
    await cluster.start_all("fast", 1)
    await cluster.wait_phase("fast", "Running")
    await asyncio.sleep(1.5)  # past the timeout: nothing may fire
    assert await cluster.phase("fast") == "Running"


async def test_unknown_plugin_is_reported_without_a_retry_storm(
    controller: Harness, cluster: Cluster, apiserver: ApiServerHandle
) -> None:
    manifest = job_manifest("plug", NS, tasks=(("t", 1),), extra_spec="plugins: {nosuch: []}")
    apiserver.kubectl("apply", "-f", "-", input=manifest)
    await eventually(
        lambda: has_event(cluster.kube, "plug", "PluginError", "failed to get plugin nosuch"),
        20,
        what="PluginError event",
    )
    await eventually(
        lambda: has_event(cluster.kube, "plug", "ExecuteAction", "retry limit reached"),
        20,
        what="retry limit",
    )
    key = f"{NS}/plug"
    await eventually(lambda: key not in controller.controller.queue.processing, 5, what="no work in flight")
    assert controller.controller.queue.pending(key) == []
    assert controller.task is not None
    assert not controller.task.done()
