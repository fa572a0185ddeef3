"""Leader election through a Lease: one leader at a time, hand-over on release and on expiry."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from ctrl_helpers import eventually

from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.leader import LeaderElector, LeaderSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def settings(identity: str, name: str) -> LeaderSettings:
    return LeaderSettings(
        name=name,
        namespace="default",
        identity=identity,
        lease_duration=1.0,
        renew_deadline=0.8,
        retry_period=0.1,
    )


async def test_one_leader_and_hand_over_on_release(kube: KubeClient) -> None:
    a = LeaderElector(kube, settings("a", "lease-release"))
    b = LeaderElector(kube, settings("b", "lease-release"))
    leading: list[str] = []
    stop_a, stop_b = asyncio.Event(), asyncio.Event()

    def lead(name: str) -> object:
        async def run(stop: asyncio.Event) -> None:
            leading.append(name)
            await stop.wait()
            leading.remove(name)

        return run

    task_a = asyncio.create_task(a.run(stop_a, lead("a")))  # type: ignore[arg-type]
    await eventually(lambda: a.leading.is_set(), 10, what="a leads")
    task_b = asyncio.create_task(b.run(stop_b, lead("b")))  # type: ignore[arg-type]
    await asyncio.sleep(1.5)  # longer than the lease: a keeps renewing it
    assert leading == ["a"]
    assert not b.leading.is_set()

    stop_a.set()
    assert await asyncio.wait_for(task_a, 5) is True
    await eventually(lambda: b.leading.is_set(), 5, what="b takes over after the release")
    lease = await kube.get(resources.LEASES, "default", "lease-release")
    assert lease.spec is not None
    assert lease.spec.holder_identity == "b"
    assert lease.spec.lease_transitions == 1
    stop_b.set()
    assert await asyncio.wait_for(task_b, 5) is True
    assert leading == []


async def test_expired_lease_is_taken_over(kube: KubeClient) -> None:
    a = LeaderElector(kube, settings("a", "lease-expiry"))
    assert await a.try_acquire_or_renew()
    b = LeaderElector(kube, settings("b", "lease-expiry"))
    assert not await b.try_acquire_or_renew()  # a's lease looks fresh to b
    stop = asyncio.Event()
    task = asyncio.create_task(b.run(stop, lambda s: s.wait()))  # type: ignore[arg-type, return-value]
    try:
        await eventually(lambda: b.leading.is_set(), 10, what="b takes the expired lease")
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 5)
