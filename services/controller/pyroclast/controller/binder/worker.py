"""The binder component: a share of the decisions work queue, applied to the API server.

Any number of replicas run :func:`run_binder` against the same durable consumer; each
decision goes to one of them, and one a replica dies holding is delivered again to
another after the consumer's ack wait.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from prometheus_client import Counter, Histogram

from pyroclast.common.bus.decisions import (
    DecisionConsumer,
    DecisionHandler,
    PermanentDecisionError,
)
from pyroclast.common.bus.kv import EXPLANATIONS, CacheWriter
from pyroclast.common.bus.messages import Decision, ExplanationRecord
from pyroclast.common.bus.names import BusNames, join_ref
from pyroclast.common.bus.pull import PullSettings
from pyroclast.common.logging import get_logger
from pyroclast.controller.binder.api import BinderApi
from pyroclast.controller.binder.apply import Applier
from pyroclast.controller.binder.kube import KubeBinderApi, binder_client
from pyroclast.controller.kube.client import KubeClient

__all__ = ["BinderSettings", "binder_component", "instrumented", "run_binder"]

log = get_logger(__name__)

DECISIONS = Counter(
    "pyroclast_binder_decisions_total", "Decision deliveries handled by this binder", ["type", "result"]
)
APPLY_SECONDS = Histogram(
    "pyroclast_binder_apply_seconds",
    "Time to apply one decision delivery",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def instrumented(handler: DecisionHandler) -> DecisionHandler:
    """``handler`` counting each delivery by type and result (ok, retry, permanent)."""

    async def handle(decision: Decision) -> None:
        kind = decision.kind.value
        started = time.perf_counter()
        result = "retry"
        try:
            await handler(decision)
            result = "ok"
        except PermanentDecisionError:
            result = "permanent"
            raise
        finally:
            DECISIONS.labels(type=kind, result=result).inc()
            APPLY_SECONDS.labels(type=kind).observe(time.perf_counter() - started)

    return handle


@dataclass(frozen=True)
class BinderSettings:
    """``kubeconfig`` empty: the pod's service account. ``actor`` names this replica in
    decision failures (default ``binder-<hostname>-<pid>``). ``concurrency`` decisions are
    applied at once, shared among ``pullers`` pull loops on the durable consumer (a pull
    loop asks for more decisions only as its own slots free, so several keep the binder
    fed while a backlog drains)."""

    kubeconfig: str = ""
    actor: str = ""
    concurrency: int = 64
    pullers: int = 4
    request_timeout: float = 10.0
    component: str = "volcano"
    pull: PullSettings | None = None


def _actor(settings: BinderSettings) -> str:
    return settings.actor or f"binder-{socket.gethostname()}-{os.getpid()}"


async def run_binder(
    stop: asyncio.Event,
    *,
    nc: Client,
    names: BusNames,
    settings: BinderSettings | None = None,
    api: BinderApi | None = None,
) -> None:
    """Apply decisions until ``stop`` is set; the decisions in hand finish first.

    ``api`` defaults to a client built from ``settings.kubeconfig`` (closed on return).
    """
    settings = settings or BinderSettings()
    kube: KubeClient | None = None
    if api is None:
        kube = await binder_client(settings.kubeconfig or None, timeout=settings.request_timeout)
        api = KubeBinderApi(kube)
    explanations = CacheWriter(nc, names, EXPLANATIONS, timeout=settings.request_timeout)

    async def explanation(namespace: str, name: str) -> ExplanationRecord | None:
        found = await explanations.get(join_ref(namespace, name))
        return found[0] if found is not None else None

    applier = Applier(api, explanations=explanation, component=settings.component)
    actor = _actor(settings)
    handler = instrumented(applier)
    pullers = max(1, min(settings.pullers, settings.concurrency))
    consumers = [
        DecisionConsumer(
            nc,
            names,
            handler,
            actor=actor,
            concurrency=share,
            settings=settings.pull,
        )
        for share in _shares(settings.concurrency, pullers)
    ]
    log.info("binder started", actor=actor, concurrency=settings.concurrency, pullers=pullers)
    events_stop = asyncio.Event()

    async def consume() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for consumer in consumers:
                    group.create_task(consumer.run(stop))
        finally:
            events_stop.set()  # the events of the last decisions are written, then it ends

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(consume())
            group.create_task(applier.run(events_stop))
    finally:
        if kube is not None:
            await kube.close()
        log.info("binder stopped", actor=actor)


def _shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal positive shares."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def binder_component(
    nc: Client, names: BusNames, settings: BinderSettings | None = None
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """``run_binder`` as a component for :func:`pyroclast.common.runtime.run_until_stopped`
    or a task group: ``group.create_task(binder_component(nc, names, s)(stop))``."""

    async def component(stop: asyncio.Event) -> None:
        await run_binder(stop, nc=nc, names=names, settings=settings)

    return component
