"""JetStream setup against a real server: complete, idempotent, safe to run concurrently."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client
from nats.js import api
from nats_fixture import NatsServer

from pyroclast.common.bus.connect import close, connect
from pyroclast.common.bus.kv import PODS, CacheWriter
from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.bus.names import BusNames, CacheKind, ref_to_key
from pyroclast.common.bus.setup import JetStreamSettings, ensure_jetstream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_setup_creates_every_stream_and_the_binder_consumer(nc: Client, names: BusNames) -> None:
    await ensure_jetstream(nc.jetstream(), names)
    js = nc.jetstream()
    for kind in CacheKind:
        info = await js.stream_info(names.kv_stream(kind))
        assert info.config.max_msgs_per_subject == 1
    decisions = await js.stream_info(names.decisions_stream)
    assert decisions.config.retention == api.RetentionPolicy.WORK_QUEUE
    audit = await js.stream_info(names.audit_stream)
    assert audit.config.retention == api.RetentionPolicy.LIMITS
    assert audit.config.max_age == 24 * 3600
    await js.stream_info(names.results_stream)
    binder = await js.consumer_info(names.decisions_stream, names.binder_consumer)
    assert binder.config.ack_policy == api.AckPolicy.EXPLICIT
    assert binder.config.max_deliver == 5


async def test_setup_twice_and_from_two_clients_at_once(nats_server: NatsServer, names: BusNames) -> None:
    first = await connect(nats_server.url, "setup-1")
    second = await connect(nats_server.url, "setup-2")
    try:
        await asyncio.gather(
            ensure_jetstream(first.jetstream(), names),
            ensure_jetstream(second.jetstream(), names),
            ensure_jetstream(first.jetstream(), names),
        )
        await ensure_jetstream(second.jetstream(), names)
        streams = {info.config.name for info in await first.jetstream().streams_info()}
        expected = {names.kv_stream(kind) for kind in CacheKind}
        expected |= {names.decisions_stream, names.results_stream, names.audit_stream}
        assert expected <= streams
        consumers = await first.jetstream().consumers_info(names.decisions_stream)
        assert [c.name for c in consumers] == [names.binder_consumer]
    finally:
        await close(first)
        await close(second)


async def test_changed_settings_update_the_streams(nc: Client, names: BusNames) -> None:
    await ensure_jetstream(nc.jetstream(), names)
    settings = JetStreamSettings(audit_max_age=600, binder_max_deliver=9)
    await ensure_jetstream(nc.jetstream(), names, settings=settings)
    js = nc.jetstream()
    assert (await js.stream_info(names.audit_stream)).config.max_age == 600
    assert (await js.consumer_info(names.decisions_stream, names.binder_consumer)).config.max_deliver == 9


async def test_buckets_are_plain_nats_kv(nc: Client, bus: BusNames) -> None:
    """Standard KV clients (``nats kv get``) read what the cache writer wrote."""
    await CacheWriter(nc, bus, PODS).put(PodRecord(namespace="default", name="web.1"))
    kv = await nc.jetstream().key_value(bus.pods_bucket)
    entry = await kv.get(ref_to_key("default/web.1"))
    assert entry.value is not None
    assert entry.key == "default.web_1"
