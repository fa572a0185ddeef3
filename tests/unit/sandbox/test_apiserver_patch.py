"""Patch algorithms: merge, JSON patch, strategic merge and server-side apply merging."""

from __future__ import annotations

import pytest

from pyroclast.sandbox.apiserver.patch import (
    PatchError,
    apply_merge,
    builtin_list_keys,
    field_set,
    fields_v1,
    json_patch,
    merge_patch,
    paths_from_fields_v1,
    strategic_merge_patch,
)


def test_merge_patch_rfc7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3]}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3]}
    assert target["c"] == {"d": "e", "f": "g"}  # input untouched


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2]}, "x": 1}
    out = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "add", "path": "/a/b/0", "value": 0},
            {"op": "replace", "path": "/x", "value": 2},
            {"op": "copy", "from": "/x", "path": "/y"},
            {"op": "move", "from": "/y", "path": "/z"},
            {"op": "remove", "path": "/a/b/1"},
            {"op": "test", "path": "/z", "value": 2},
            {"op": "add", "path": "/m~1n", "value": True},
        ],
    )
    assert out == {"a": {"b": [0, 2, 3]}, "x": 2, "z": 2, "m/n": True}


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/a/9", "value": 1}],
        [{"op": "test", "path": "/a", "value": 5}],
        [{"op": "bogus", "path": "/a"}],
        {"op": "add"},
    ],
)
def test_json_patch_errors(ops: object) -> None:
    with pytest.raises(PatchError):
        json_patch({"a": [1]}, ops)


def test_strategic_merge_by_name_and_directives() -> None:
    pod = {
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "image": "a:1",
                    "env": [{"name": "X", "value": "1"}],
                    "ports": [{"containerPort": 80}],
                },
                {"name": "b", "image": "b:1"},
            ],
            "volumes": [{"name": "v1", "emptyDir": {}}],
        },
        "metadata": {"finalizers": ["f1"]},
    }
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "image": "a:2",
                    "env": [{"name": "Y", "value": "2"}],
                    "ports": [{"containerPort": 81}],
                },
                {"name": "b", "$patch": "delete"},
                {"name": "c", "image": "c:1"},
            ],
            "volumes": [{"$patch": "replace"}, {"name": "v2", "emptyDir": {}}],
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
        },
        "metadata": {"finalizers": ["f2"]},
    }
    out = strategic_merge_patch(pod, patch)
    assert [c["name"] for c in out["spec"]["containers"]] == ["c", "a"]
    a = out["spec"]["containers"][1]
    assert a["image"] == "a:2"
    assert a["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert a["ports"] == [{"containerPort": 80}, {"containerPort": 81}]
    assert out["spec"]["volumes"] == [{"name": "v2", "emptyDir": {}}]
    assert out["metadata"]["finalizers"] == ["f1", "f2"]


def test_strategic_merge_retain_keys_and_delete_primitive() -> None:
    obj = {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "args": ["a", "b", "c"]}
    out = strategic_merge_patch(
        obj,
        {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}, "$deleteFromPrimitiveList/args": ["b"]},
    )
    assert out == {"strategy": {"type": "Recreate"}, "args": ["a", "c"]}


def test_apply_removes_fields_dropped_from_config() -> None:
    live = {"metadata": {"name": "x"}, "data": {"a": "1", "b": "2", "other": "kept"}}
    first = {"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}}
    previous = field_set(first, builtin_list_keys)
    merged, owned = apply_merge(
        live, {"metadata": {"name": "x"}, "data": {"a": "3"}}, builtin_list_keys, previous, set()
    )
    assert merged["data"] == {"a": "3", "other": "kept"}
    assert ("f:data", "f:a") in owned


def test_fields_v1_round_trip() -> None:
    obj = {"spec": {"containers": [{"name": "a", "image": "i"}]}}
    paths = field_set(obj, builtin_list_keys)
    rendered = fields_v1(paths)
    assert rendered == {
        "f:spec": {"f:containers": {'k:{"name":"a"}': {".": {}, "f:image": {}, "f:name": {}}}}
    }
    assert paths_from_fields_v1(rendered) == paths
