"""The shortcuts of the request path give the answers of the plain code they stand in for."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import msgspec
from admission_support import cluster, container, job, queue, run, task
from hypothesis import given, settings
from hypothesis import strategies as st

from pyroclast.common.bus.kv import WatchEvent, WatchOp
from pyroclast.common.bus.messages import QueueRecord
from pyroclast.webhook.admission import Verdict, handle, response
from pyroclast.webhook.admission.registry import MAX_DEPTH, decode, depth, json_depth
from pyroclast.webhook.admission.request import StaticCluster, children_of
from pyroclast.webhook.cluster import QueueCache


def _nested(levels: int) -> dict[str, Any]:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value  # type: ignore[no-any-return]


def _encode(value: Any) -> bytes:
    """JSON text of ``value``, any `_nested` part (too deep for the encoder) written out by hand."""
    deep: list[Any] = []

    def stand_in(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"a"}:
            deep.append(node)
            return "@deep@"
        if isinstance(node, dict):
            return {k: stand_in(v) for k, v in node.items()}
        if isinstance(node, list):
            return [stand_in(v) for v in node]
        return node

    text = msgspec.json.encode(stand_in(value))
    for node in deep:
        levels = 0
        while isinstance(node, dict):
            node, levels = node["a"], levels + 1
        text = text.replace(b'"@deep@"', b'{"a":' * levels + b'"leaf"' + b"}" * levels, 1)
    return text


def _levels(value: Any) -> int:
    """The uncapped depth of ``value``, by plain recursion (small values only)."""
    if isinstance(value, dict):
        return 1 + max(map(_levels, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_levels, value), default=0)
    return 0


def test_json_depth_counts_levels_exactly() -> None:
    for levels in (0, 1, 50, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 5000):
        doc = _nested(levels) if levels else "leaf"
        assert depth(doc) == min(levels, MAX_DEPTH + 1)  # the walk stops past the limit
        assert json_depth(_encode(doc)) == levels  # the body scan does not
    assert json_depth(b"[]") == json_depth(b" { } ") == 1
    assert json_depth(b'[[], {"a": [[1]]}, 2]') == 4
    assert json_depth(b"12") == json_depth(b"null") == json_depth(b'"x"') == 0


def test_json_depth_ignores_brackets_inside_strings() -> None:
    cases = {
        b'{"a": "[[[{{{"}': 1,
        b'{"[[[": {"}}}": "]]]"}}': 2,
        b'["a\\"[[", "]"]': 1,  # an escaped quote does not end the string
        b'["\\\\", [["\\\\\\""]]]': 3,  # escaped backslashes, then a real end quote
        b'["\\\\"]': 1,
        b'{"k": "\\u0022[", "v": [""]}': 2,
        b'["", "", [""], "{"]': 2,
        b'["caf\xc3\xa9 [", {"\xe2\x80\xa8": []}]': 3,
    }
    for text, levels in cases.items():
        assert json_depth(text) == levels == _levels(msgspec.json.decode(text)), text


_KEYS = st.text(alphabet='[]{}"\\\\x')
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\\\ab\u00e9\n'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.booleans())
def test_json_depth_matches_the_decoded_value(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if ascii_only else None).encode()
    assert json_depth(text) == _levels(value)
    assert json_depth(msgspec.json.encode(value)) == _levels(value)


_VIEW = cluster(queue("default"))


def _wide_job() -> dict[str, Any]:
    """A 20-task job of some 600 lists and objects, none deeper than a dozen levels."""
    tasks = []
    for i in range(20):
        main = container(
            f"c{i}",
            env=[{"name": f"E{j}", "value": "[{"} for j in range(8)],
            ports=[{"containerPort": 8000 + j} for j in range(3)],
            command=["sh", "-c", 'echo "}]"'],
        )
        tasks.append(task(f"t{i}", 2, template={"spec": {"containers": [main, container(f"side{i}")]}}))
    out: dict[str, Any] = job(tasks=tasks)
    return out


def _review(raw: Any, **request: Any) -> dict[str, Any]:
    return {"request": {"uid": "u", "operation": "CREATE", "object": raw, "resource": _JOBS, **request}}


def test_wide_but_shallow_job_is_admitted_with_its_body() -> None:
    review = _review(_wide_job())
    body = msgspec.json.encode(review)
    assert body.count(b"{") + body.count(b"[") > MAX_DEPTH  # a bracket count would not vouch for it
    assert json_depth(body) == _levels(review) < 20
    for path in ("/jobs/validate", "/jobs/mutate"):
        assert handle(review, path, body=body, cluster=_VIEW) == handle(review, path, cluster=_VIEW)
        assert handle(review, path, body=body, cluster=_VIEW)["response"]["allowed"]


def test_body_depth_gives_the_verdicts_of_the_walk() -> None:
    """Only the objects count: a deep body elsewhere is walked, and the limit is the same."""
    below = 8  # job, spec, tasks, [0], template, spec, containers, [0]: the nesting holding it
    for levels in (MAX_DEPTH - below - 1, MAX_DEPTH - below, MAX_DEPTH - below + 1, MAX_DEPTH + 5000):
        raw = job()
        raw["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["unknown"] = _nested(levels)
        assert depth(raw) == min(levels + below, MAX_DEPTH + 1)
        for review in (_review(raw), _review(job(), oldObject=raw), _review(job(), userInfo=raw)):
            answer = handle(review, "/jobs/validate", body=_encode(review))
            assert answer == handle(review, "/jobs/validate")
            denied = levels + below > MAX_DEPTH and "userInfo" not in review["request"]
            message = answer["response"].get("status", {}).get("message")
            assert (message == "nesting deeper than 200 levels") is denied, (levels, review["request"].keys())


def test_deep_review_is_denied_by_handle() -> None:
    raw = job()
    raw["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["unknown"] = _nested(5000)
    review = _review(raw)
    for body in (None, _encode(review)):
        answer = handle(review, "/jobs/validate", body=body)
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
