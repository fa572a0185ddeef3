"""The scheduler loop and the binder against a real nats-server and the sandbox API server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest
from apiserver_fixture import ApiServerHandle
from nats.aio.client import Client
from svcint_helpers import NS, Binder, Cluster, Scheduler, eventually

from pyroclast.common.bus.decisions import follow_failures
from pyroclast.common.bus.messages import DecisionFailure, PodGroupRecord, PodRecord
from pyroclast.common.bus.names import BusNames

pytestmark = pytest.mark.integration


@pytest.fixture
async def cluster(apiserver: ApiServerHandle, nc: Client, names: BusNames) -> AsyncIterator[Cluster]:
    async with apiserver.api_client() as api:
        c = Cluster(nc, names, api)
        await c.queue()
        stop = asyncio.Event()
        mirror = asyncio.create_task(c.mirror(stop))
        try:
            yield c
        finally:
            stop.set()
            await asyncio.wait_for(mirror, 10)


@pytest.fixture
async def failures(nc: Client, names: BusNames) -> AsyncIterator[list[DecisionFailure]]:
    seen: list[DecisionFailure] = []
    follower = follow_failures(nc, names)

    async def follow() -> None:
        async for failure in follower:
            seen.append(failure)

    task = asyncio.create_task(follow())
    try:
        yield seen
    finally:
        await follower.close()
        await asyncio.wait_for(task, 5)


async def test_gang_waits_with_an_explanation_then_binds_whole_and_best_effort_is_backfilled(
    apiserver: ApiServerHandle, nc: Client, names: BusNames, cluster: Cluster, failures: list[DecisionFailure]
) -> None:
    await cluster.node("n1", "2")
    gang = await cluster.gang("gang", 3, 3)
    scheduler = Scheduler(nc, names).start()
    binder = Binder(nc, names, str(apiserver.kubeconfig), "binder-a").start()
    try:
        explanation = await eventually(
            lambda: cluster.explanations.get(f"{NS}/gang"), what="the gang's explanation"
        )
        assert "3/3 tasks in gang unschedulable" in explanation[0].message

        async def pods_marked_unschedulable() -> bool:
            # As in Volcano, a task the gang had placed before discarding it says "Schedulable".
            reasons = set()
            for name in gang:
                pod = await cluster.core.read_namespaced_pod(name, NS)
                conds = {c.type: c for c in (pod.status.conditions or [])}
                cond = conds.get("PodScheduled")
                if cond is None or cond.status != "False" or not cond.message:
                    return False
                reasons.add(cond.reason)
            return "Unschedulable" in reasons and reasons <= {"Unschedulable", "Schedulable"}

        await eventually(pods_marked_unschedulable, what="PodScheduled=False on the gang's pods")
        best_effort = await cluster.gang("be", 1, 1, cpus=None)
        placed = await eventually(
            lambda: _all_bound(cluster, best_effort), what="the best-effort pod backfilled"
        )
        assert placed == {"be-0": "n1"}
        assert set((await cluster.placement(gang)).values()) == {""}  # all or nothing

        await cluster.node("n2", "2")
        placement = await eventually(lambda: _all_bound(cluster, gang), what="the whole gang bound")
        assert sorted(placement.values()).count("n1") <= 2
        await eventually(
            lambda: _gone(cluster.explanations.get(f"{NS}/gang")), what="the explanation removed"
        )
        pg = await cluster.custom.get_namespaced_custom_object(
            "scheduling.volcano.sh", "v1beta1", NS, "podgroups", "gang"
        )
        assert pg["status"]["phase"] in ("Inqueue", "Running")
        await cluster.assert_not_overcommitted()
        assert failures == []
    finally:
        await scheduler.close()
        await binder.close()


async def _all_bound(cluster: Cluster, names: list[str]) -> dict[str, str] | None:
    placement = await cluster.placement(names)
    return placement if all(placement.values()) else None


async def _gone(found: object) -> bool:
    return (await found) is None  # type: ignore[misc]


BINDER_SCRIPT = """
import asyncio, sys
from pyroclast.common.bus.connect import connect
from pyroclast.common.bus.names import BusNames
from pyroclast.controller.binder.kube import KubeBinderApi, binder_client
from pyroclast.controller.binder.worker import BinderSettings, run_binder

class Stuck(KubeBinderApi):
    async def bind_pod(self, namespace, name, uid, node):
        print("holding", name, flush=True)
        await asyncio.sleep(3600)

async def main():
    url, prefix, kubeconfig = sys.argv[1:4]
    nc = await connect(url, "doomed-binder")
    api = Stuck(await binder_client(kubeconfig))
    settings = BinderSettings(actor="doomed", concurrency=3)
    await run_binder(asyncio.Event(), nc=nc, names=BusNames(prefix), settings=settings, api=api)

asyncio.run(main())
"""


async def test_a_killed_binder_loses_no_decision(
    apiserver: ApiServerHandle,
    nats_server: object,
    nc: Client,
    names: BusNames,
    cluster: Cluster,
    failures: list[DecisionFailure],
) -> None:
    for i in range(3):
        await cluster.node(f"k{i}", "4")
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BINDER_SCRIPT,
        nats_server.url,  # type: ignore[attr-defined]
        names.prefix,
        str(apiserver.kubeconfig),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    pods: list[str] = []
    for g in range(8):
        pods += await cluster.gang(f"job{g}", 1, 1)
    scheduler = Scheduler(nc, names).start()
    rescuer: Binder | None = None
    try:
        assert doomed.stdout is not None
        async with asyncio.timeout(30):
            line = b""
            while not line.startswith(b"holding"):
                line = await doomed.stdout.readline()
                assert line, "the doomed binder exited"
        await asyncio.sleep(0.3)  # let it take its full share
        doomed.kill()
        rest, _ = await asyncio.wait_for(doomed.communicate(), 10)
        held = {ln.split()[1].decode() for ln in (line + rest).splitlines() if ln.startswith(b"holding")}
        assert held, "the doomed binder held no decision"
        assert set((await cluster.placement(pods)).values()) == {""}  # the doomed binder bound nothing

        rescuer = Binder(nc, names, str(apiserver.kubeconfig), "rescuer").start()
        placement = await eventually(
            lambda: _all_bound(cluster, pods), timeout=30, what="every pod bound by the rescuer"
        )
        assert len(placement) == 8
        assert held <= set(pods)  # what the doomed binder held was redelivered and applied
        await cluster.assert_not_overcommitted()
        await asyncio.sleep(1.0)  # any duplicate would show up as a failure by now
        assert failures == []
        events = await cluster.core.list_namespaced_event(NS)
        scheduled = [
            e.involved_object.name
            for e in events.items
            if e.reason == "Scheduled" and e.involved_object.name in pods
        ]
        assert sorted(scheduled) == sorted(pods)  # every pod bound exactly once
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
        await scheduler.close()
        if rescuer is not None:
            await rescuer.close()


async def test_a_permanent_failure_ends_the_assumption_and_the_scheduler_decides_again(
    apiserver: ApiServerHandle, nc: Client, names: BusNames, cluster: Cluster, failures: list[DecisionFailure]
) -> None:
    await cluster.node("g1", "2")
    await cluster.groups.put(PodGroupRecord(namespace=NS, name="ghost", min_member=1, phase="Inqueue"))
    ghost = PodRecord(
        namespace=NS, name="ghost-0", uid="no-such-pod", pod_group="ghost", scheduler_name="volcano"
    )
    await cluster.pods.put(ghost)  # a record with no pod behind it
    scheduler = Scheduler(nc, names).start()
    binder = Binder(nc, names, str(apiserver.kubeconfig), "binder-g").start()
    try:
        await eventually(
            lambda: len({f.decision.id for f in failures if f.decision.name == "ghost-0"}) >= 2,
            what="two bind decisions for the ghost pod, each reported failed",
        )
        first = next(f for f in failures if f.decision.name == "ghost-0")
        assert first.reason == "Permanent"
        assert "not found" in first.message
        assert first.actor == "binder-g"
        assert scheduler.cache.failures_seen >= 2
    finally:
        await scheduler.close()
        await binder.close()
