"""managedFields bookkeeping: update ownership, apply conflicts and forced takeover."""

from __future__ import annotations

from typing import Any

from pyroclast.sandbox.apiserver.managed import apply_conflicts, record_apply, record_update, render
from pyroclast.sandbox.apiserver.patch import builtin_list_keys


def cm(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "u"}, "data": data}


def test_update_takes_ownership_of_changed_fields() -> None:
    created = cm(a="1", b="2")
    created["metadata"]["managedFields"] = record_update(None, created, "alice", "v1", builtin_list_keys)
    changed = cm(a="1", b="3")
    changed["metadata"]["managedFields"] = created["metadata"]["managedFields"]
    entries = record_update(created, changed, "bob", "v1", builtin_list_keys)
    owners = {e["manager"]: e["fieldsV1"] for e in entries}
    assert owners["alice"] == {"f:data": {"f:a": {}}}
    assert owners["bob"] == {"f:data": {"f:b": {}}}


def test_apply_conflicts_and_force() -> None:
    live = cm(a="1")
    live["metadata"]["managedFields"] = record_update(None, live, "editor", "v1", builtin_list_keys)
    applied = cm(a="2")
    causes = apply_conflicts(live, applied, "applier", builtin_list_keys, "")
    assert [(c.field, c.message) for c in causes] == [(".data.a", 'conflict with "editor" using v1')]
    assert apply_conflicts(live, cm(a="1"), "applier", builtin_list_keys, "") == []  # same value: shared
    entries, previous = record_apply(live, applied, "applier", "v1", builtin_list_keys, "", force=True)
    assert [e["manager"] for e in entries] == ["applier"]
    assert previous == set()


def test_render_keyed_paths() -> None:
    assert (
        render(("f:spec", "f:containers", 'k:{"name":"a"}', "f:image")) == '.spec.containers[name="a"].image'
    )
