"""The queue controller against the sandbox API server: a new queue opens, a closed queue
waits for its podgroups (Closing, then Closed), and an ``OpenQueue`` Command reopens it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from ctrl_helpers import FAST_SHELL, ShellHarness, eventually

from pyroclast.common.models import (
    Command,
    ObjectMeta,
    OwnerReference,
    PodGroup,
    PodGroupSpec,
    Queue,
    QueueSpec,
)
from pyroclast.common.models.scheduling import SCHEDULING_API_VERSION
from pyroclast.controller.bootstrap import ensure_queues
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.queues.controller import QueueController

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def queues(kube: KubeClient) -> AsyncIterator[ShellHarness]:
    assert await ensure_queues(kube, asyncio.Event())  # the root queue every queue hangs from
    harness = await ShellHarness(kube, lambda k, f, r: QueueController(k, f, r, FAST_SHELL)).start()
    try:
        yield harness
    finally:
        await harness.close()


async def state_of(kube: KubeClient, name: str) -> str:
    queue = await kube.get(resources.QUEUES, "", name)
    return (queue.status.state if queue.status else None) or ""


async def wait_state(kube: KubeClient, name: str, state: str) -> None:
    async def check() -> bool:
        return await state_of(kube, name) == state

    await eventually(check, 20, what=f"queue {name} {state}")


async def command(kube: KubeClient, namespace: str, queue: str, action: str) -> str:
    name = unique(action.lower())
    cmd = Command(
        metadata=ObjectMeta(name=name, namespace=namespace),
        action=action,
        target=OwnerReference(api_version=SCHEDULING_API_VERSION, kind="Queue", name=queue, uid="x"),
    )
    await kube.create(resources.COMMANDS, cmd, namespace)
    return name


async def namespace(kube: KubeClient) -> str:
    name = unique("q")
    await kube.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "metadata": {"name": name}})
    return name


async def test_a_new_queue_is_opened_under_root(kube: KubeClient, queues: ShellHarness) -> None:
    name = unique("fresh")
    await kube.create(resources.QUEUES, Queue(metadata=ObjectMeta(name=name), spec=QueueSpec(weight=1)))
    await wait_state(kube, name, "Open")
    queue = await kube.get(resources.QUEUES, "", name)
    assert queue.spec is not None
    assert queue.spec.parent == "root"


async def test_close_waits_for_podgroups_then_open_command_reopens(
    kube: KubeClient, queues: ShellHarness
) -> None:
    ns = await namespace(kube)
    name = unique("closing")
    await kube.create(resources.QUEUES, Queue(metadata=ObjectMeta(name=name), spec=QueueSpec(weight=1)))
    await wait_state(kube, name, "Open")
    pg = PodGroup(metadata=ObjectMeta(name="pg", namespace=ns), spec=PodGroupSpec(min_member=1, queue=name))
    await kube.create(resources.PODGROUPS, pg, ns)

    close = await command(kube, ns, name, "CloseQueue")
    await wait_state(kube, name, "Closing")

    async def command_deleted() -> bool:
        return await kube.get_or_none(resources.COMMANDS, ns, close) is None

    await eventually(command_deleted, 10, what="the CloseQueue command deleted")
    await asyncio.sleep(0.5)
    assert await state_of(kube, name) == "Closing"  # still a podgroup in the queue

    await kube.delete(resources.PODGROUPS, ns, "pg")
    await wait_state(kube, name, "Closed")

    reopen = await command(kube, ns, name, "OpenQueue")
    await wait_state(kube, name, "Open")

    async def reopen_deleted() -> bool:
        return await kube.get_or_none(resources.COMMANDS, ns, reopen) is None

    await eventually(reopen_deleted, 10, what="the OpenQueue command deleted")


async def test_commands_for_jobs_are_left_to_the_job_controller(
    kube: KubeClient, queues: ShellHarness
) -> None:
    ns = await namespace(kube)
    cmd = Command(
        metadata=ObjectMeta(name="abort", namespace=ns),
        action="AbortJob",
        target=OwnerReference(api_version="batch.volcano.sh/v1alpha1", kind="Job", name="j", uid="x"),
    )
    await kube.create(resources.COMMANDS, cmd, ns)
    await asyncio.sleep(0.5)
    assert await kube.get_or_none(resources.COMMANDS, ns, "abort") is not None
