"""The shortcuts of the request path give the answers of the plain code they stand in for."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from admission_support import job, queue, run, task

from pyroclast.common.bus.kv import WatchEvent, WatchOp
from pyroclast.common.bus.messages import QueueRecord
from pyroclast.webhook.admission import Verdict, handle, response
from pyroclast.webhook.admission.registry import MAX_DEPTH, decode, depth, surely_shallow
from pyroclast.webhook.admission.request import StaticCluster, children_of
from pyroclast.webhook.cluster import QueueCache


def _nested(levels: int) -> dict[str, Any]:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value  # type: ignore[no-any-return]


def test_shallow_check_never_passes_a_deep_object() -> None:
    assert surely_shallow(job())
    for levels in (1, 50, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 5000):
        doc = _nested(levels)
        assert depth(doc) == min(levels, MAX_DEPTH + 1)  # the walk stops past the limit
        if surely_shallow(doc):
            assert depth(doc) <= MAX_DEPTH
    assert not surely_shallow(_nested(MAX_DEPTH + 1))
    assert not surely_shallow({"a": object()})  # not JSON: falls back to walking it


def test_deep_review_is_denied_by_handle() -> None:
    raw = job()
    raw["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["unknown"] = _nested(5000)
    review = {"request": {"uid": "u", "operation": "CREATE", "object": raw, "resource": _JOBS}}
    answer = handle(review, "/jobs/validate")
    assert answer["response"]["status"]["message"] == "nesting deeper than 200 levels"


_JOBS = {"group": "batch.volcano.sh", "version": "v1alpha1", "resource": "jobs"}


def test_patch_encoding_matches_json_dumps() -> None:
    patches: list[list[dict[str, Any]]] = [
        [{"op": "add", "path": "/spec/queue", "value": "default"}],
        [{"op": "add", "path": "/metadata/annotations", "value": {"note": "caf\u00e9 \u2028 <&>"}}],
        [{"op": "replace", "path": "/spec/x", "value": [1, 2.5, None, True, {"k": 2**70}]}],
    ]
    for patch in patches:
        body = response("u", Verdict.allow(patch))["response"]
        assert base64.b64decode(body["patch"]) == json.dumps(patch, separators=(",", ":")).encode()


def test_mutation_leaves_the_request_object_alone() -> None:
    host_net = task(name=None, replicas=2)
    host_net["template"]["spec"]["hostNetwork"] = True
    raw = job(tasks=[host_net, task("b", 1)])
    del raw["spec"]["queue"]
    before = copy.deepcopy(raw)
    request_raw = copy.deepcopy(raw)
    verdict = run("/jobs/mutate", request_raw)
    assert verdict.allowed
    tasks = next(op for op in verdict.patch if op["path"] == "/spec/tasks")["value"]
    assert tasks[0]["name"] == "default0"
    assert tasks[0]["template"]["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert raw == before


def test_queue_cache_children_follow_changes() -> None:
    cache = QueueCache()
    cache.replace([QueueRecord(name="root"), QueueRecord(name="b", parent="root")])
    assert [q.metadata.name for q in children_of(cache, "root") if q.metadata] == ["b"]
    cache.apply(WatchEvent(WatchOp.PUT, "a", QueueRecord(name="a", parent="root"), 2))
    assert [q.metadata.name for q in children_of(cache, "root") if q.metadata] == ["a", "b"]
    cache.apply(WatchEvent(WatchOp.DELETE, "b", None, 3))
    assert [q.metadata.name for q in children_of(cache, "root") if q.metadata] == ["a"]
    cache.apply(WatchEvent(WatchOp.PUT, "a", QueueRecord(name="a", parent="other"), 4))
    assert children_of(cache, "root") == []
    assert [q.metadata.name for q in children_of(cache, "other") if q.metadata] == ["a"]
    cache.replace([])
    assert children_of(cache, "other") == []


def test_static_cluster_children() -> None:
    decoded = [decode(q) for q in (queue("c", parent="p"), queue("a", parent="p"), queue("p"))]
    view = StaticCluster.of([q for q in decoded if q is not None])  # type: ignore[misc]
    assert [q.metadata.name for q in children_of(view, "p") if q.metadata] == ["a", "c"]
    assert children_of(view, "c") == []
