"""``pyroclast scheduler``: the cache, the conf watcher and the session loop in one process.

Settings come from flags, ``PYROCLAST_*`` variables or ``--config FILE`` (see
:class:`SchedulerConfig`). Exit codes: 0 after SIGTERM/SIGINT, 1 when a component failed
(e.g. JetStream unreachable past ``jetstream_timeout``), 2 on bad settings or a conf that
cannot be used. The process needs NATS only: no Kubernetes credentials.
"""

from __future__ import annotations

import asyncio
import sys

import msgspec
from nats.aio.client import Client

from pyroclast.common import native
from pyroclast.common.bus.audit import AuditPublisher
from pyroclast.common.bus.connect import close, connect
from pyroclast.common.bus.decisions import DecisionPublisher
from pyroclast.common.bus.kv import EXPLANATIONS, CacheWatcher, CacheWriter, WatchOp
from pyroclast.common.bus.names import BusNames, InvalidPrefixError
from pyroclast.common.bus.setup import ensure_jetstream
from pyroclast.common.config import ConfigError, ServiceConfig, load_config
from pyroclast.common.health import HealthServer
from pyroclast.common.logging import configure_logging, get_logger
from pyroclast.common.runtime import run_until_stopped, tune_gc
from pyroclast.scheduler.conf import ConfError, SchedulerConf
from pyroclast.scheduler.service.cache import SchedulerCache
from pyroclast.scheduler.service.confwatch import ConfWatcher
from pyroclast.scheduler.service.loop import SessionLoop
from pyroclast.scheduler.service.metrics import SchedulerMetrics

__all__ = ["SchedulerConfig", "main", "serve"]

log = get_logger(__name__)


class SchedulerConfig(ServiceConfig, kw_only=True, forbid_unknown_fields=True):
    """Settings of the scheduler service."""

    conf: str = ""
    """Path of ``volcano-scheduler.conf``; empty: Volcano's default conf."""
    conf_poll: float = 2.0
    """Seconds between checks of the conf file."""
    period: float = 1.0
    """Seconds between the starts of two sessions."""
    min_period: float = 0.2
    """Least seconds between the starts of two sessions: when the cache changes, the next
    session starts this long after the last one started instead of ``period``."""
    scheduler_names: list[str] = msgspec.field(default_factory=lambda: ["volcano"])
    assume_timeout: float = 30.0
    """Seconds a published decision counts as done without the records confirming it."""
    publish_timeout: float = 5.0
    setup_jetstream: bool = True
    """Create the streams and buckets if missing (with the default JetStream settings)."""
    jetstream_timeout: float = 60.0


def _check(config: SchedulerConfig) -> None:
    BusNames(config.cluster_prefix)
    for name, value in (
        ("period", config.period),
        ("min_period", config.min_period),
        ("conf_poll", config.conf_poll),
    ):
        if value <= 0:
            raise ConfigError(f"{name}: must be positive, got {value}")
    if config.assume_timeout <= 0 or config.publish_timeout <= 0:
        raise ConfigError("assume_timeout and publish_timeout: must be positive")
    if not config.scheduler_names:
        raise ConfigError("scheduler_names: at least one name")


async def _connect(config: SchedulerConfig, stop: asyncio.Event) -> Client | None:
    """Connect to NATS (retrying with backoff) unless asked to stop first."""
    attempt = asyncio.ensure_future(connect(config.nats_servers, "pyroclast-scheduler"))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({attempt, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if attempt.done():
        return attempt.result()
    attempt.cancel()
    return None


async def _explanation_keys(nc: Client, names: BusNames) -> list[str]:
    """The podgroups the explanations bucket holds an explanation for."""
    refs: list[str] = []
    async with CacheWatcher(nc, names, EXPLANATIONS) as watcher:
        async for event in watcher:
            if event.op is WatchOp.SYNCED:
                break
            if event.op is WatchOp.PUT:
                refs.append(event.key)
    return refs


async def serve(config: SchedulerConfig, stop: asyncio.Event | None = None, *, conf: ConfWatcher) -> int:
    """Run the service until ``stop`` is set or a signal arrives."""
    stop = stop or asyncio.Event()
    names = BusNames(config.cluster_prefix)
    _, why = native.status()
    log.info("scheduler core", compiled=native.ACTIVE, build=why)
    metrics = SchedulerMetrics()
    health = HealthServer(host=config.health_host, port=config.health_port, registry=metrics.registry)
    connection: list[Client] = []
    cache = SchedulerCache(
        None, names, assume_timeout=config.assume_timeout, scheduler_names=config.scheduler_names
    )

    def nats_ready() -> bool | str:
        return True if connection and connection[0].is_connected else "not connected to NATS"

    health.add_check("nats", nats_ready)
    health.add_check("cache", cache.ready)

    def conf_changed(_: SchedulerConf) -> None:
        metrics.conf_reloads.inc()

    errors_seen = conf.errors
    conf.on_change = conf_changed

    def current_conf() -> SchedulerConf:
        nonlocal errors_seen
        if conf.errors != errors_seen:
            metrics.conf_errors.inc(conf.errors - errors_seen)
            errors_seen = conf.errors
        return conf.conf

    async def component(stop: asyncio.Event) -> None:
        nc = await _connect(config, stop)
        if nc is None:
            return
        connection.append(nc)
        try:
            if config.setup_jetstream:
                async with asyncio.timeout(config.jetstream_timeout):
                    await ensure_jetstream(nc.jetstream(), names)
            cache.nc = nc
            loop = SessionLoop(
                cache,
                current_conf,
                DecisionPublisher(nc, names, timeout=config.publish_timeout),
                CacheWriter(nc, names, EXPLANATIONS, timeout=config.publish_timeout),
                metrics,
                period=config.period,
                min_period=config.min_period,
                publish_timeout=config.publish_timeout,
                audit=AuditPublisher(nc, names, actor="scheduler", timeout=config.publish_timeout),
            )
            async with asyncio.timeout(config.jetstream_timeout):
                loop.adopt_explanations(await _explanation_keys(nc, names))
            # The loop stops first (finishing its session); then the cache's watchers.
            cache_stop = asyncio.Event()
            async with asyncio.TaskGroup() as group:
                group.create_task(cache.run(cache_stop))
                group.create_task(conf.run(stop))

                async def run_loop() -> None:
                    try:
                        await loop.run(stop)
                    finally:
                        cache_stop.set()

                group.create_task(run_loop())
        finally:
            await close(nc)

    await run_until_stopped([component], health=health, stop=stop)
    log.info("scheduler stopped")
    return 0


def main(argv: list[str]) -> int:
    """Entry point of ``pyroclast scheduler``."""
    try:
        config = load_config(SchedulerConfig, argv, prog="pyroclast scheduler")
        _check(config)
        configure_logging("scheduler", config.log_level)
    except (ConfigError, InvalidPrefixError, ValueError) as err:
        print(f"pyroclast scheduler: {err}", file=sys.stderr)
        return 2
    watcher = ConfWatcher(config.conf or None, interval=config.conf_poll)
    try:
        watcher.load()
    except ConfError as err:
        print(f"pyroclast scheduler: no usable scheduler conf: {err}", file=sys.stderr)
        return 2
    tune_gc()
    try:
        return asyncio.run(serve(config, conf=watcher))
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a component failed: say why on the way out
        log.exception("scheduler failed", error=repr(err))
        return 1
