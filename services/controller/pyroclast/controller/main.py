"""``pyroclast controller``: the job, queue, podgroup and jobflow controllers and the cache
publisher behind a leader lease, and the binder in every replica.

The leader also makes sure the ``root`` and ``default`` queues exist (Volcano's scheduler does
that; Pyroclast's has no API credentials). The binder applies the scheduler's decisions; every
replica runs it, outside the election, sharing the decisions work queue.

Settings come from flags, ``PYROCLAST_*`` variables or ``--config FILE`` (see `ControllerConfig`).
Exit codes: 0 after SIGTERM/SIGINT, 1 when the leader lease was lost, 2 on bad settings.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

import msgspec
from nats.aio.client import Client

from pyroclast.common.bus.audit import AuditPublisher
from pyroclast.common.bus.connect import close, connect
from pyroclast.common.bus.names import BusNames, InvalidPrefixError
from pyroclast.common.bus.setup import ensure_jetstream
from pyroclast.common.config import ConfigError, ServiceConfig, load_config
from pyroclast.common.health import HealthServer
from pyroclast.common.logging import configure_logging, get_logger
from pyroclast.common.runtime import run_until_stopped, tune_gc
from pyroclast.controller.binder.worker import BinderSettings, run_binder
from pyroclast.controller.bootstrap import ensure_queues, wait_published
from pyroclast.controller.jobflows.controller import JobFlowController
from pyroclast.controller.jobs.controller import JobController, JobSettings
from pyroclast.controller.jobs.recorder import Auditor, EventRecorder
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.shell import KeyedController, ShellSettings
from pyroclast.controller.leader import LeaderElector, LeaderSettings
from pyroclast.controller.podgroups.controller import PodGroupController
from pyroclast.controller.publisher import CachePublisher
from pyroclast.controller.queues.controller import QueueController

log = get_logger(__name__)


class ControllerConfig(ServiceConfig, kw_only=True, forbid_unknown_fields=True):
    """Settings of the controller service."""

    kubeconfig: str = ""
    """Path of a kubeconfig; empty: the pod's service account."""
    namespace: str = ""
    """Only watch this namespace (cluster-scoped kinds are always watched); empty: all."""
    scheduler_names: list[str] = msgspec.field(default_factory=lambda: ["volcano"])
    """Pods of these schedulers get a PodGroup from the podgroup controller."""
    workers: int = 8
    max_requeue: int = 15
    request_timeout: float = 10.0
    watch_seconds: int = 300
    leader_elect: bool = True
    lease_name: str = "pyroclast-controller"
    lease_namespace: str = "kube-system"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str = ""
    """Name of this replica in the lease; empty: ``<hostname>_<pid>``."""
    publish_cache: bool = True
    binder_concurrency: int = 256
    """Decisions this replica's binder applies at once; 0: no binder in this replica."""


@dataclass
class _State:
    nats: Client | None = None
    jobs: JobController | None = None
    shells: list[KeyedController[Any]] = field(default_factory=list)
    publisher: CachePublisher | None = None
    elector: LeaderElector | None = None
    queues_ready: bool = False
    exit_code: int = 0

    def ready(self) -> bool | str:
        if self.nats is None or not self.nats.is_connected:
            return "not connected to NATS"
        if self.elector is not None and not self.elector.leading.is_set():
            return True  # a standby replica is ready to take over
        if self.jobs is None or not self.jobs.synced():
            return "job controller caches not synced"
        if not all(shell.synced() for shell in self.shells):
            return "queue, podgroup or jobflow controller caches not synced"
        if not self.queues_ready:
            return "creating the root and default queues"
        if self.publisher is not None and not self.publisher.synced():
            return "cache publisher resyncing"
        return True


async def _lead(
    config: ControllerConfig, kube: KubeClient, nc: Client, state: _State, stop: asyncio.Event
) -> None:
    names = BusNames(config.cluster_prefix)
    factory = InformerFactory(kube, namespace=config.namespace, watch_seconds=config.watch_seconds)
    recorder = EventRecorder(kube)
    auditor = Auditor(AuditPublisher(nc, names, actor="controller"))
    settings = JobSettings(workers=config.workers, max_requeue=config.max_requeue)
    state.jobs = JobController(kube, factory, recorder, auditor, settings)
    state.publisher = CachePublisher(factory, nc, names) if config.publish_cache else None
    shell = ShellSettings(workers=config.workers, max_requeue=config.max_requeue)
    state.shells = [
        QueueController(kube, factory, recorder, shell),
        PodGroupController(kube, factory, shell, config.scheduler_names),
        JobFlowController(kube, factory, recorder, shell),
    ]

    async def bootstrap() -> None:
        if not await ensure_queues(kube, stop):
            return
        if config.publish_cache and not await wait_published(nc, names, stop):
            return
        state.queues_ready = True

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(bootstrap())
            group.create_task(factory.run(stop))
            group.create_task(recorder.run(stop))
            group.create_task(state.jobs.run(stop))
            for controller in state.shells:
                group.create_task(controller.run(stop))
            if state.publisher is not None:
                group.create_task(state.publisher.run(stop))
    finally:
        state.jobs = state.publisher = None
        state.shells = []
        state.queues_ready = False


async def _connect(config: ControllerConfig, stop: asyncio.Event) -> Client | None:
    """Connect to NATS (retrying with backoff) unless asked to stop first."""
    attempt = asyncio.ensure_future(connect(config.nats_servers, "pyroclast-controller"))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({attempt, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if attempt.done():
        return attempt.result()
    attempt.cancel()
    return None


async def serve(config: ControllerConfig, stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    state = _State()
    health = HealthServer(host=config.health_host, port=config.health_port)
    health.add_check("controller", state.ready)
    kube = await KubeClient.connect(config.kubeconfig or None, timeout=config.request_timeout)

    async def component(stop: asyncio.Event) -> None:
        nc = await _connect(config, stop)
        if nc is None:
            return
        state.nats = nc
        try:
            names = BusNames(config.cluster_prefix)
            async with asyncio.timeout(60):
                await ensure_jetstream(nc.jetstream(), names)

            identity = config.identity or f"{socket.gethostname()}_{os.getpid()}"

            async def lead(leading_stop: asyncio.Event) -> None:
                await _lead(config, kube, nc, state, leading_stop)

            async def elected() -> None:
                if not config.leader_elect:
                    await lead(stop)
                    return
                state.elector = LeaderElector(
                    kube,
                    LeaderSettings(
                        name=config.lease_name,
                        namespace=config.lease_namespace,
                        identity=identity,
                        lease_duration=config.lease_duration,
                        renew_deadline=config.renew_deadline,
                        retry_period=config.retry_period,
                    ),
                )
                if not await state.elector.run(stop, lead):
                    state.exit_code = 1
                    stop.set()

            async with asyncio.TaskGroup() as group:
                if config.binder_concurrency > 0:
                    binder = BinderSettings(
                        kubeconfig=config.kubeconfig,
                        actor=identity,
                        concurrency=config.binder_concurrency,
                        request_timeout=config.request_timeout,
                    )
                    group.create_task(run_binder(stop, nc=nc, names=names, settings=binder))
                group.create_task(elected())
        finally:
            await close(nc)

    try:
        await run_until_stopped([component], health=health, stop=stop)
    finally:
        await kube.close()
    log.info("controller stopped", exit_code=state.exit_code)
    return state.exit_code


def main(argv: list[str]) -> int:
    try:
        config = load_config(ControllerConfig, argv, prog="pyroclast controller")
        BusNames(config.cluster_prefix)
        configure_logging("controller", config.log_level)
    except (ConfigError, InvalidPrefixError, ValueError) as err:
        print(f"pyroclast controller: {err}", file=sys.stderr)
        return 2
    if config.binder_concurrency < 0:
        print(
            f"pyroclast controller: binder_concurrency: must be 0 or more, got {config.binder_concurrency}",
            file=sys.stderr,
        )
        return 2
    tune_gc()
    try:
        return asyncio.run(serve(config))
    except KeyboardInterrupt:
        return 130
