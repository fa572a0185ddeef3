"""The queues every cluster starts with: ``root`` and the default queue.

Volcano's scheduler creates them when its cache starts (``newDefaultAndRootQueue``); Pyroclast's
scheduler has no API credentials, so the leading controller does it instead, once per term:
each queue is created only when no queue of that name exists, and a create that loses a race
(``AlreadyExists``) counts as done. Failures are retried with a backoff until they work or the
term ends, as Volcano retries them.

A queue created here has no ``status.state`` yet; the cache projects that as ``Open`` (so the
scheduler and the webhook take jobs at once), and :func:`ensure_queues` also applies
``status.state: Open`` to the queues it created, with the queue controller's field manager,
so that ``kubectl get queue`` shows what Volcano's users see on a fresh cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

import aiohttp
from nats.aio.client import Client

from pyroclast.common.bus.connect import Backoff
from pyroclast.common.bus.kv import QUEUES, CacheWatcher, WatchOp
from pyroclast.common.bus.messages import QueueRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.logging import get_logger
from pyroclast.common.models import Queue, QueueState
from pyroclast.common.models import labels as keys
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.queue import ApplyState, bootstrap_queues

__all__ = ["APPLY_PATCH", "ensure_queues", "wait_published"]

log = get_logger(__name__)

APPLY_PATCH = "application/apply-patch+yaml"
RETRY = Backoff(initial=0.5, maximum=5.0)


def _name(queue: Queue) -> str:
    return (queue.metadata.name if queue.metadata else None) or ""


async def _existing(kube: KubeClient, names: list[str]) -> set[str]:
    found: set[str] = set()
    for name in names:
        if await kube.get_or_none(resources.QUEUES, "", name) is not None:
            found.add(name)
    return found


async def _create(kube: KubeClient, queue: Queue) -> Queue | None:
    """The created queue; None when another client created it first."""
    try:
        created = await kube.create(resources.QUEUES, queue)
    except ApiError as err:
        if err.already_exists:
            log.info("queue already exists, skip creating", key=_name(queue))
            return None
        raise
    log.info("queue created", key=_name(queue))
    return created


async def _open(kube: KubeClient, queue: Queue) -> None:
    """Apply ``status.state: Open`` to a queue that has no state yet."""
    if queue.status is not None and queue.status.state:
        return
    apply = ApplyState(_name(queue), QueueState.OPEN.value)
    await kube.request(
        "PATCH",
        resources.QUEUES.path("", apply.queue, "status"),
        query={"fieldManager": apply.field_manager, "force": "true"},
        body=apply.body(),
        content_type=APPLY_PATCH,
    )


async def _attempt(kube: KubeClient, default_queue: str) -> list[str]:
    wanted = [_name(q) for q in bootstrap_queues((), default_queue)]
    created: list[str] = []
    for queue in bootstrap_queues(await _existing(kube, wanted), default_queue):
        made = await _create(kube, queue)
        if made is not None:
            created.append(_name(made))
            await _open(kube, made)
    return created


async def ensure_queues(
    kube: KubeClient,
    stop: asyncio.Event,
    *,
    default_queue: str = keys.DEFAULT_QUEUE,
    backoff: Backoff = RETRY,
) -> bool:
    """Create ``root`` and ``default_queue`` when absent, retrying until done or ``stop``.

    True once both exist; False when ``stop`` came first.
    """
    attempt = 0
    while not stop.is_set():
        try:
            created = await _attempt(kube, default_queue)
        except (ApiError, aiohttp.ClientError, OSError, TimeoutError) as err:
            delay = backoff.delay(attempt)
            attempt += 1
            log.warning("cannot create the initial queues, will retry", error=str(err), retry_in=delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()
            continue
        log.info("initial queues present", created=created, default_queue=default_queue)
        return True
    return False


async def _unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run ``work`` to its end (True), or cancel it when ``stop`` is set first (False)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()
    return True


async def wait_published(
    nc: Client, names: BusNames, stop: asyncio.Event, queues: tuple[str, ...] = (keys.DEFAULT_QUEUE,)
) -> bool:
    """Follow the queues bucket until every one of ``queues`` is in it; False if ``stop`` first.

    The webhook admits jobs against this bucket, so a controller that reports ready only after
    this has returned never lets a job for the default queue be denied as unknown.
    """
    missing = set(queues)

    async def follow(watcher: CacheWatcher[QueueRecord]) -> None:
        async for event in watcher:
            if event.op is WatchOp.PUT:
                missing.discard(event.key)
            elif event.op is WatchOp.DELETE and event.key in queues:
                missing.add(event.key)
            if not missing:
                return

    async with CacheWatcher(nc, names, QUEUES) as watcher:
        return await _unless_stopped(stop, follow(watcher))
