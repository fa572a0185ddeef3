"""``pyroclast webhook``: Volcano's admission webhooks over HTTPS.

``pyroclast webhook [FLAGS]`` serves; ``pyroclast webhook manifests --out DIR [FLAGS]`` writes
the webhook configurations as YAML. Settings come from flags, ``PYROCLAST_*`` variables or
``--config FILE`` (see `WebhookConfig`). Start-up: connect to NATS, follow the queues until the
initial sync, serve (with ``--workers N``, N-1 more processes on the same port), then register
the webhook configurations. Exit codes: 0 after SIGTERM/SIGINT, 1 when start-up failed or a
component broke, 2 on bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
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
from pyroclast.common.runtime import run_until_stopped
from pyroclast.webhook.admission import DEFAULT_ENABLED, WEBHOOK_PATHS, AdmissionConfig
from pyroclast.webhook.audit import VerdictAuditor
from pyroclast.webhook.certs import CertSource, FileCerts, SelfSignedCerts, keep_fresh, service_dns_names
from pyroclast.webhook.cluster import QueueCache
from pyroclast.webhook.registration import CONFIG_PREFIX, Target, configurations, register, write_manifests
from pyroclast.webhook.server import MAX_BODY, AdmissionServer
from pyroclast.webhook.workers import WorkerPool

log = get_logger(__name__)


class WebhookConfig(ServiceConfig, kw_only=True, forbid_unknown_fields=True):
    """Settings of the webhook service."""

    listen_host: str = "0.0.0.0"
    listen_port: int = 8443
    tls_cert_file: str = ""
    """Serving certificate (PEM); empty: a self-made CA and certificate in ``ca_dir``."""
    tls_key_file: str = ""
    tls_ca_file: str = ""
    """The CA to register as caBundle with ``tls_cert_file``; empty: the certificate itself."""
    ca_dir: str = ""
    """Where the self-made CA and serving certificate live; empty: a new temporary directory."""
    cert_dns_names: list[str] = []
    """Extra DNS names of the serving certificate (the Service names are always in it)."""
    cert_ip_addresses: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1"])
    cert_check_interval: float = 60.0
    service_name: str = CONFIG_PREFIX
    service_namespace: str = "volcano-system"
    service_port: int = 443
    webhook_url: str = ""
    """Base URL the API server calls instead of the Service; ``auto``: ``https://127.0.0.1:<port>``."""
    register: bool = True
    kubeconfig: str = ""
    """Used only to register the configurations; empty: the pod's service account."""
    register_timeout: float = 60.0
    enabled_paths: list[str] = msgspec.field(default_factory=lambda: sorted(DEFAULT_ENABLED))
    scheduler_names: list[str] = msgspec.field(default_factory=lambda: ["volcano"])
    max_queue_depth: int = 5
    enable_root_queue_protection: bool = True
    enable_queue_allocated_pods_check: bool = False
    workers: int = 1
    """Server processes sharing the listening port (one per core to use)."""
    reuse_port: bool = False
    """Listen with SO_REUSEPORT (set for the extra processes of ``workers``)."""
    max_body_bytes: int = MAX_BODY
    audit_queue_size: int = 10_000
    sync_timeout: float = 60.0

    def check(self) -> None:
        """Raise ConfigError for values the Struct's types do not rule out."""
        unknown = sorted(set(self.enabled_paths) - WEBHOOK_PATHS)
        if unknown:
            raise ConfigError(
                f"enabled_paths: unknown webhook paths {unknown}; known: {sorted(WEBHOOK_PATHS)}"
            )
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ConfigError("tls_cert_file and tls_key_file: give both or neither")
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"workers: must be 1..64, got {self.workers}")
        if not 0 <= self.listen_port <= 65535:
            raise ConfigError(f"listen_port: must be 0..65535, got {self.listen_port}")

    def admission(self) -> AdmissionConfig:
        return AdmissionConfig(
            scheduler_names=tuple(self.scheduler_names),
            max_queue_depth=self.max_queue_depth,
            enable_root_queue_protection=self.enable_root_queue_protection,
            enable_queue_allocated_pods_check=self.enable_queue_allocated_pods_check,
        )

    def target(self, port: int = 0) -> Target:
        url = self.webhook_url
        if url == "auto":
            url = f"https://127.0.0.1:{port or self.listen_port}"
        return Target(self.service_name, self.service_namespace, self.service_port, url)

    def cert_source(self) -> CertSource:
        if self.tls_cert_file:
            ca = Path(self.tls_ca_file) if self.tls_ca_file else None
            return FileCerts(Path(self.tls_cert_file), Path(self.tls_key_file), ca)
        directory = Path(self.ca_dir) if self.ca_dir else Path(tempfile.mkdtemp(prefix="pyroclast-webhook-"))
        names = [
            *service_dns_names(self.service_name, self.service_namespace),
            *self.cert_dns_names,
            "localhost",
        ]
        return SelfSignedCerts(directory, list(dict.fromkeys(names)), self.cert_ip_addresses)


@dataclass
class _State:
    nats: Client | None = None
    cache: QueueCache | None = None
    serving: bool = False
    registered: bool = False
    workers: WorkerPool | None = None

    def ready(self) -> bool | str:
        if self.nats is None or not self.nats.is_connected:
            return "not connected to NATS"
        if self.cache is None or not self.cache.ready:
            return "queue cache not synced"
        if not self.serving:
            return "not serving yet"
        if not self.registered:
            return "webhook configurations not registered"
        return self.workers.readiness() if self.workers is not None else True


async def _connect(config: WebhookConfig, stop: asyncio.Event) -> Client | None:
    """Connect to NATS (retrying with backoff) unless asked to stop first."""
    attempt = asyncio.ensure_future(connect(config.nats_servers, "pyroclast-webhook"))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({attempt, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if attempt.done():
        return attempt.result()
    attempt.cancel()
    return None


async def _until(stop: asyncio.Event, event: asyncio.Event, limit: float) -> bool:
    """Wait for ``event``; False when ``stop`` came first; TimeoutError after ``limit`` seconds."""
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(event.wait())}
    try:
        async with asyncio.timeout(limit):
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return event.is_set()


async def _unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run ``work`` unless ``stop`` is set first (then cancel it and return False)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    task.result()
    return True


class WebhookService:
    """The running service: cache, server, auditor, certificates and registration."""

    def __init__(self, config: WebhookConfig, argv: Sequence[str] = ()) -> None:
        self.config = config
        self.argv = list(argv)
        """The command line, for the extra worker processes."""
        self.names = BusNames(config.cluster_prefix)
        self.state = _State(cache=QueueCache())
        self.certs = config.cert_source()
        self.server: AdmissionServer | None = None
        self.failed = False

    async def run(self, stop: asyncio.Event) -> None:
        config, state = self.config, self.state
        assert state.cache is not None
        nc = await _connect(config, stop)
        if nc is None:
            return
        state.nats = nc
        try:
            async with asyncio.timeout(60):
                await ensure_jetstream(nc.jetstream(), self.names)
            auditor = VerdictAuditor(
                AuditPublisher(nc, self.names, actor="webhook"), maxsize=config.audit_queue_size
            )
            audit_stop = asyncio.Event()
            async with asyncio.TaskGroup() as group:
                group.create_task(state.cache.follow(nc, self.names, stop))
                group.create_task(auditor.run(audit_stop))
                interval = config.cert_check_interval
                group.create_task(keep_fresh(self.certs, stop, interval, on_new_ca=self._register))
                try:
                    await self._serve(stop, auditor, group)
                finally:
                    # Stop taking requests before the last audit events are flushed.
                    if state.workers is not None:
                        await state.workers.stop()
                    if self.server is not None:
                        await self.server.stop()
                    audit_stop.set()
        except Exception:
            self.failed = True
            stop.set()
            raise
        finally:
            state.serving = False
            await close(nc)

    async def _register(self, ca_bundle: bytes) -> None:
        """Create or update the webhook configurations (once serving), with ``ca_bundle``."""
        config = self.config
        if not config.register or self.server is None:
            return
        objects = configurations(config.enabled_paths, config.target(self.server.port), ca_bundle)
        await register(objects, config.kubeconfig, deadline=config.register_timeout)

    async def _serve(self, stop: asyncio.Event, auditor: VerdictAuditor, group: asyncio.TaskGroup) -> None:
        """Serve once the queues are synced, start the workers, register; then wait for ``stop``."""
        config, state = self.config, self.state
        assert state.cache is not None
        if not await _until(stop, state.cache.synced, config.sync_timeout):
            return
        self.server = AdmissionServer(
            config.enabled_paths,
            cluster=state.cache,
            config=config.admission(),
            auditor=auditor,
            max_body=config.max_body_bytes,
        )
        reuse = config.reuse_port or config.workers > 1
        await self.server.start(config.listen_host, config.listen_port, self.certs.context, reuse_port=reuse)
        state.serving = True
        if config.workers > 1:
            state.workers = WorkerPool(config.workers - 1, self.argv, config.health_host)
            directory = self.certs.directory if isinstance(self.certs, SelfSignedCerts) else ""
            state.workers.start(self.server.port, str(directory))
            group.create_task(state.workers.watch(stop))
        if not await _unless_stopped(stop, self._register(self.certs.ca_bundle)):
            return
        state.registered = True
        log.info("webhook ready", url=self.server.url, paths=config.enabled_paths)
        await stop.wait()


async def serve(config: WebhookConfig, stop: asyncio.Event | None = None, argv: Sequence[str] = ()) -> int:
    """Run the service until ``stop`` (or a signal); ``argv`` is passed on to worker processes."""
    stop = stop or asyncio.Event()
    try:
        service = WebhookService(config, argv)
    except (OSError, ValueError) as err:
        log.error("cannot set up the serving certificate", error=str(err))
        return 1
    # Everything loaded so far lives as long as the process: keep it out of the collector's scans.
    gc.freeze()
    health = HealthServer(host=config.health_host, port=config.health_port)
    health.add_check("webhook", service.state.ready)
    try:
        await run_until_stopped([service.run], health=health, stop=stop)
    except* Exception as group:
        service.failed = True
        for failure in group.exceptions:
            log.error("webhook failed", error=repr(failure))
    log.info("webhook stopped")
    return 1 if service.failed else 0


def _manifests(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pyroclast webhook manifests", add_help=True)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the YAML files to")
    args, rest = parser.parse_known_args(argv)
    config = load_config(WebhookConfig, rest, prog="pyroclast webhook manifests")
    config.check()
    for path in write_manifests(args.out, configurations(config.enabled_paths, config.target())):
        print(path)
    return 0


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["manifests"]:
            return _manifests(argv[1:])
        config = load_config(WebhookConfig, argv, prog="pyroclast webhook")
        config.check()
        BusNames(config.cluster_prefix)
        configure_logging("webhook", config.log_level)
    except (ConfigError, InvalidPrefixError, ValueError) as err:
        print(f"pyroclast webhook: {err}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(config, argv=argv))
    except KeyboardInterrupt:
        return 130
