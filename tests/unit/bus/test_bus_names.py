"""Subject, bucket and key naming."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyroclast.common.bus.names import (
    AuditKind,
    BusNames,
    CacheKind,
    DecisionKind,
    InvalidPrefixError,
    consumer_next_subject,
    decode_key,
    decode_token,
    encode_key,
    encode_token,
    key_to_ref,
    ref_to_key,
    split_ref,
)

# What NATS accepts in a KV key (nats-py's and the server's rule) and in a subject token.
KV_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")
TOKEN = re.compile(r"^[^.*>\s]+$")
STREAM_OR_BUCKET = re.compile(r"^[a-zA-Z0-9_-]+$")

namespaces = st.text(min_size=1).filter(lambda s: "/" not in s)


def test_default_prefix_names_everything() -> None:
    names = BusNames()
    assert names.prefix == "pyroclast"
    assert names.pods_bucket == "pyroclast-pods"
    assert names.nodes_bucket == "pyroclast-nodes"
    assert names.podgroups_bucket == "pyroclast-podgroups"
    assert names.queues_bucket == "pyroclast-queues"
    assert names.priorityclasses_bucket == "pyroclast-priorityclasses"
    assert names.explanations_bucket == "pyroclast-explanations"
    assert names.kv_stream(CacheKind.PODS) == "KV_pyroclast-pods"
    assert names.decisions_stream == "pyroclast-decisions"
    assert names.bind_subject == "pyroclast.decisions.bind"
    assert names.evict_subject == "pyroclast.decisions.evict"
    assert names.podgroup_status_subject == "pyroclast.decisions.podgroup-status"
    assert names.decisions_subjects == "pyroclast.decisions.>"
    assert names.binder_consumer == "pyroclast-binder"
    assert names.decision_failure_subject == "pyroclast.results.failure"
    assert names.results_stream == "pyroclast-results"
    assert names.audit_stream == "pyroclast-audit"
    assert names.audit_subjects == "pyroclast.audit.>"


def test_every_name_carries_the_prefix() -> None:
    names = BusNames("blue-2")
    for kind in CacheKind:
        assert names.bucket(kind).startswith("blue-2-")
        assert STREAM_OR_BUCKET.match(names.bucket(kind))
    for decision in DecisionKind:
        assert names.decision_subject(decision) == f"blue-2.decisions.{decision.value}"
    for stream in (names.decisions_stream, names.results_stream, names.audit_stream, names.binder_consumer):
        assert stream.startswith("blue-2-")
        assert STREAM_OR_BUCKET.match(stream)
    assert names.audit_subject(AuditKind.JOB, "default", "train") == "blue-2.audit.job.default.train"


def test_two_prefixes_share_no_name() -> None:
    a, b = BusNames("a"), BusNames("b")
    assert {a.bucket(k) for k in CacheKind}.isdisjoint({b.bucket(k) for k in CacheKind})
    assert a.decisions_subjects != b.decisions_subjects
    assert a != b
    assert BusNames("a") == a
    assert hash(BusNames("a")) == hash(a)


@pytest.mark.parametrize(
    "prefix", ["", "Upper", "1abc", "a.b", "a b", "a_b", "-a", "a-", "a*", "x" * 33, "a>"]
)
def test_invalid_prefix_is_refused_with_the_rule(prefix: str) -> None:
    with pytest.raises(InvalidPrefixError, match="lower-case letters, digits and '-'"):
        BusNames(prefix)


@pytest.mark.parametrize("prefix", ["a", "pyroclast", "team-a", "c1", "x" * 32])
def test_valid_prefixes(prefix: str) -> None:
    assert BusNames(prefix).prefix == prefix


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("default", "default"),
        ("ip-10-0-0-1.ec2.internal", "ip-10-0-0-1_ec2_internal"),
        ("", "="),
        ("a_b", "a=5Fb"),
        ("a=b", "a=3Db"),
        ("a/b", "a=2Fb"),
        ("é", "=C3=A9"),
        ("*>", "=2A=3E"),
    ],
)
def test_token_encoding_examples(text: str, token: str) -> None:
    assert encode_token(text) == token
    assert decode_token(token) == text


@given(st.text())
def test_token_round_trip(text: str) -> None:
    token = encode_token(text)
    assert TOKEN.match(token)
    assert KV_KEY.match(token)
    assert decode_token(token) == text


@given(namespaces, st.text(min_size=1))
def test_namespaced_key_round_trip(namespace: str, name: str) -> None:
    key = encode_key(namespace, name)
    assert KV_KEY.match(key)
    assert not key.startswith(".")
    assert not key.endswith(".")
    assert decode_key(key) == (namespace, name)
    ref = f"{namespace}/{name}"
    assert split_ref(ref) == (namespace, name)
    assert key_to_ref(ref_to_key(ref)) == ref


@given(st.text(min_size=1).filter(lambda s: "/" not in s))
def test_cluster_scoped_key_round_trip(name: str) -> None:
    key = ref_to_key(name)
    assert "." not in key
    assert key_to_ref(key) == name
    assert decode_key(key) == ("", name)


@given(namespaces, st.text(min_size=1), namespaces, st.text(min_size=1))
def test_distinct_refs_get_distinct_keys(ns1: str, n1: str, ns2: str, n2: str) -> None:
    if (ns1, n1) != (ns2, n2):
        assert encode_key(ns1, n1) != encode_key(ns2, n2)


@pytest.mark.parametrize("token", ["a=", "a=4", "a=zz", "a=5f", "a=61", "a.b", "é"])
def test_non_canonical_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        decode_token(token)


def test_key_with_too_many_segments_is_refused() -> None:
    with pytest.raises(ValueError, match="segments"):
        decode_key("a.b.c")


@given(st.sampled_from(list(AuditKind)), st.text(), st.text(min_size=1))
def test_audit_subject_round_trip(kind: AuditKind, namespace: str, name: str) -> None:
    names = BusNames("p")
    subject = names.audit_subject(kind, namespace, name)
    assert len(subject.split(".")) == 5
    assert names.parse_audit_subject(subject) == (kind, namespace, name)


def test_audit_filters() -> None:
    names = BusNames("p")
    assert names.audit_filter() == "p.audit.>"
    assert names.audit_filter(AuditKind.JOB) == "p.audit.job.*.*"
    assert names.audit_filter(namespace="ns") == "p.audit.*.ns.*"
    assert names.audit_filter(AuditKind.QUEUE, "", "q.1") == "p.audit.queue.=.q_1"
    with pytest.raises(ValueError, match="not an audit subject"):
        names.parse_audit_subject("q.audit.job.a.b")


def test_kv_subjects() -> None:
    names = BusNames("p")
    assert names.kv_subject(CacheKind.PODS, ref_to_key("ns/web.1")) == "$KV.p-pods.ns.web_1"
    assert names.kv_subject_prefix(CacheKind.NODES) == "$KV.p-nodes."


def test_kv_filters_and_consumer_names() -> None:
    names = BusNames("p")
    assert names.kv_filter(CacheKind.PODS) == "$KV.p-pods.>"
    assert names.kv_filter(CacheKind.PODS, "team.a") == "$KV.p-pods.team_a.*"
    assert names.watcher_consumer_prefix(CacheKind.QUEUES) == "p-watch-queues"
    assert names.tap_consumer_prefix == "p-tap"
    assert names.failures_consumer_prefix == "p-failures"
    for consumer in (names.watcher_consumer_prefix(CacheKind.PODS), names.tap_consumer_prefix):
        assert STREAM_OR_BUCKET.match(consumer)
    assert consumer_next_subject("s", "c") == "$JS.API.CONSUMER.MSG.NEXT.s.c"
