"""Idempotent JetStream setup: the KV buckets, the decision, result and audit streams and
the binders' durable consumer.

Creating an object that exists with the same configuration is a no-op on the server, and a
changed configuration is applied as an update, so every service can call
:func:`ensure_jetstream` at start-up, concurrently.
"""

# Helpers take a plain ``timeout`` in seconds, as nats-py does.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import nats.errors
import nats.js.errors
from nats.js import api
from nats.js.manager import JetStreamManager

from pyroclast.common.bus.connect import Backoff
from pyroclast.common.bus.names import BusNames, CacheKind
from pyroclast.common.logging import get_logger

__all__ = [
    "JetStreamSettings",
    "audit_stream_config",
    "binder_consumer_config",
    "decisions_stream_config",
    "ensure_jetstream",
    "kv_stream_config",
    "results_stream_config",
]

log = get_logger(__name__)

_STREAM_NAME_IN_USE = 10058  # "stream name already in use with a different configuration"
_RETRY = Backoff(initial=0.1, maximum=2.0)


@dataclass(frozen=True, slots=True)
class JetStreamSettings:
    """Sizes and lifetimes; durations in seconds.

    ``decision_max_age``: an unconsumed decision older than this is dropped (the scheduler
    decides again). ``binder_ack_wait``/``binder_max_deliver``: redelivery of a decision
    whose binder neither acked nor nacked it, and how many deliveries before giving up.
    ``audit_max_age``/``audit_max_bytes``: how far back ``--since`` can replay.
    """

    replicas: int = 1
    storage: api.StorageType = api.StorageType.FILE
    decision_max_age: float = 3600.0
    binder_ack_wait: float = 30.0
    binder_max_deliver: int = 5
    binder_max_ack_pending: int = 1000
    results_max_age: float = 3600.0
    audit_max_age: float = 24 * 3600.0
    audit_max_bytes: int = -1
    duplicate_window: float = 120.0

    def __post_init__(self) -> None:
        if self.replicas not in (1, 3, 5):
            raise ValueError(f"JetStream replicas: 1, 3 or 5, got {self.replicas}")
        if self.binder_max_deliver < 1 and self.binder_max_deliver != -1:
            raise ValueError("binder max deliver: a positive count, or -1 for unlimited")


def kv_stream_config(names: BusNames, kind: CacheKind, settings: JetStreamSettings) -> api.StreamConfig:
    """The stream behind a KV bucket, as NATS clients create it, keeping one value per key."""
    return api.StreamConfig(
        name=names.kv_stream(kind),
        description=f"Pyroclast cache: {kind.value}",
        subjects=[names.kv_filter(kind)],
        retention=api.RetentionPolicy.LIMITS,
        allow_direct=True,
        allow_msg_ttl=True,  # delete markers expire (see pyroclast.common.bus.kv.TOMBSTONE_TTL)
        allow_rollup_hdrs=True,
        deny_delete=True,
        discard=api.DiscardPolicy.NEW,
        duplicate_window=settings.duplicate_window,
        max_age=0,
        max_bytes=-1,
        max_consumers=-1,
        max_msg_size=-1,
        max_msgs=-1,
        max_msgs_per_subject=1,
        num_replicas=settings.replicas,
        storage=settings.storage,
    )


def decisions_stream_config(names: BusNames, settings: JetStreamSettings) -> api.StreamConfig:
    """Work-queue retention: a decision leaves the stream once a binder acks it."""
    return api.StreamConfig(
        name=names.decisions_stream,
        description="Pyroclast scheduler decisions for the binders",
        subjects=[names.decisions_subjects],
        retention=api.RetentionPolicy.WORK_QUEUE,
        discard=api.DiscardPolicy.OLD,
        max_age=settings.decision_max_age,
        duplicate_window=min(settings.duplicate_window, settings.decision_max_age),
        num_replicas=settings.replicas,
        storage=settings.storage,
    )


def binder_consumer_config(names: BusNames, settings: JetStreamSettings) -> api.ConsumerConfig:
    """The durable pull consumer every binder worker shares."""
    return api.ConsumerConfig(
        durable_name=names.binder_consumer,
        name=names.binder_consumer,
        description="Pyroclast binders",
        deliver_policy=api.DeliverPolicy.ALL,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=settings.binder_ack_wait,
        max_deliver=settings.binder_max_deliver,
        max_ack_pending=settings.binder_max_ack_pending,
        filter_subject=names.decisions_subjects,
        num_replicas=settings.replicas,
    )


def results_stream_config(names: BusNames, settings: JetStreamSettings) -> api.StreamConfig:
    """Decision failures, kept a while so a reconnecting scheduler misses none."""
    return api.StreamConfig(
        name=names.results_stream,
        description="Pyroclast decision failures reported by the binders",
        subjects=[names.results_subjects],
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_age=settings.results_max_age,
        duplicate_window=min(settings.duplicate_window, settings.results_max_age),
        num_replicas=settings.replicas,
        storage=settings.storage,
    )


def audit_stream_config(names: BusNames, settings: JetStreamSettings) -> api.StreamConfig:
    """Limits retention so a follower can replay from any time within ``audit_max_age``."""
    return api.StreamConfig(
        name=names.audit_stream,
        description="Pyroclast audit events",
        subjects=[names.audit_subjects],
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_age=settings.audit_max_age,
        max_bytes=settings.audit_max_bytes,
        duplicate_window=min(settings.duplicate_window, settings.audit_max_age),
        num_replicas=settings.replicas,
        storage=settings.storage,
    )


async def ensure_jetstream(
    js: JetStreamManager,
    names: BusNames,
    replicas: int = 1,
    *,
    settings: JetStreamSettings | None = None,
    timeout: float = 30.0,
) -> None:
    """Create or update every bucket, stream and durable consumer of ``names``.

    ``replicas`` is used when ``settings`` is not given. Transient errors (no JetStream yet,
    timeouts) are retried until ``timeout`` seconds have passed.
    """
    settings = settings or JetStreamSettings(replicas=replicas)
    streams = [kv_stream_config(names, kind, settings) for kind in CacheKind]
    streams += [
        decisions_stream_config(names, settings),
        results_stream_config(names, settings),
        audit_stream_config(names, settings),
    ]
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(_retrying(partial(_ensure_stream, js, config)) for config in streams))
            consumer = binder_consumer_config(names, settings)
            await _retrying(partial(_ensure_consumer, js, names.decisions_stream, consumer))
    except TimeoutError:
        raise TimeoutError(
            f"JetStream setup for prefix {names.prefix!r} did not complete in {timeout}s: "
            "is JetStream enabled on the NATS server?"
        ) from None
    log.info("jetstream ready", prefix=names.prefix, streams=len(streams))


async def _ensure_stream(js: JetStreamManager, config: api.StreamConfig) -> None:
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError as err:
        if err.err_code != _STREAM_NAME_IN_USE:
            raise
        log.info("updating stream configuration", stream=config.name)
        await js.update_stream(config)


async def _ensure_consumer(js: JetStreamManager, stream: str, config: api.ConsumerConfig) -> None:
    # Without an explicit action the server creates the consumer or updates it in place.
    await js.add_consumer(stream, config)


async def _retrying(call: Callable[[], Awaitable[None]]) -> None:
    attempt = 0
    while True:
        try:
            await call()
            return
        except (
            TimeoutError,
            nats.errors.NoRespondersError,
            nats.errors.ConnectionReconnectingError,
            nats.js.errors.ServiceUnavailableError,
        ) as err:
            delay = _RETRY.delay(attempt)
            attempt += 1
            log.debug("jetstream not ready; retrying", error=repr(err), delay=delay)
            await asyncio.sleep(delay)
