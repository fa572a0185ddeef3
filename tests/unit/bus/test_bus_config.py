"""JetStream configurations and the retry backoff (no server needed)."""

from __future__ import annotations

import pytest
from nats.js import api

from pyroclast.common.bus.connect import Backoff
from pyroclast.common.bus.names import BusNames, CacheKind
from pyroclast.common.bus.pull import PullSettings
from pyroclast.common.bus.setup import (
    JetStreamSettings,
    audit_stream_config,
    binder_consumer_config,
    decisions_stream_config,
    kv_stream_config,
    results_stream_config,
)

NAMES = BusNames("p")


def test_kv_buckets_keep_one_value_per_key() -> None:
    config = kv_stream_config(NAMES, CacheKind.PODS, JetStreamSettings(replicas=3))
    assert config.name == "KV_p-pods"
    assert config.subjects == ["$KV.p-pods.>"]
    assert config.max_msgs_per_subject == 1
    assert config.num_replicas == 3
    assert config.allow_rollup_hdrs
    assert config.deny_delete
    assert config.allow_direct


def test_decisions_are_a_work_queue_consumed_by_one_durable() -> None:
    settings = JetStreamSettings(binder_ack_wait=12, binder_max_deliver=7)
    stream = decisions_stream_config(NAMES, settings)
    assert stream.retention is api.RetentionPolicy.WORK_QUEUE
    assert stream.subjects == ["p.decisions.>"]
    consumer = binder_consumer_config(NAMES, settings)
    assert consumer.durable_name == "p-binder"
    assert consumer.ack_policy is api.AckPolicy.EXPLICIT
    assert consumer.ack_wait == 12
    assert consumer.max_deliver == 7
    assert consumer.filter_subject == "p.decisions.>"


def test_audit_and_results_streams_keep_history() -> None:
    settings = JetStreamSettings(audit_max_age=600, audit_max_bytes=1 << 20, results_max_age=60)
    audit = audit_stream_config(NAMES, settings)
    assert audit.retention is api.RetentionPolicy.LIMITS
    assert audit.max_age == 600
    assert audit.max_bytes == 1 << 20
    assert audit.subjects == ["p.audit.>"]
    results = results_stream_config(NAMES, settings)
    assert results.subjects == ["p.results.>"]
    assert results.duplicate_window == 60


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="replicas"):
        JetStreamSettings(replicas=2)
    with pytest.raises(ValueError, match="max deliver"):
        JetStreamSettings(binder_max_deliver=0)
    with pytest.raises(ValueError, match="heartbeat"):
        PullSettings(heartbeat=5, expires=6)


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0, multiplier=2.0, jitter=0.25)
    for attempt, base in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (50, 1.0), (10_000, 1.0)]:
        for _ in range(20):
            assert base * 0.75 <= backoff.delay(attempt) <= base * 1.25
    assert Backoff(jitter=0).delay(0) == Backoff().initial
    with pytest.raises(ValueError, match="backoff"):
        Backoff(initial=2, maximum=1)
