"""managedFields bookkeeping: which field manager owns which fields, and apply conflicts.

Update operations (create, update, non-apply patch) take ownership of the fields they set or
change, taking them away from other managers. Apply operations own exactly the fields of their
applied configuration; an apply that would change a field another manager owns is a conflict
unless forced (then ownership moves).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from . import patch
from .status import ApiError, Cause

Obj = dict[str, Any]
Path = tuple[str, ...]
ListKeys = Callable[[list[str], list[Any]], list[str] | None]
_MISSING = object()

# The field manager of the current request: the fieldManager parameter, else derived from the
# User-Agent; in-process controllers write as kube-controller-manager.
FIELD_MANAGER: ContextVar[str] = ContextVar("apiserver_field_manager", default="kube-controller-manager")


def manager_from_user_agent(user_agent: str) -> str:
    return (user_agent.split("/", 1)[0] or "unknown")[:128]


SYSTEM_METADATA = {
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "name",
    "namespace",
}


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trackable(obj: Obj) -> Obj:
    """The part of an object whose fields are owned (no type or system metadata)."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SYSTEM_METADATA}
    if meta:
        out["metadata"] = meta
    return out


def value_at(obj: Any, path: Path) -> Any:
    node = obj
    for part in path:
        node = _step(node, part)
        if node is _MISSING:
            return _MISSING
    return node


@functools.lru_cache(maxsize=4096)
def _item_key(part: str) -> tuple[tuple[str, Any], ...]:
    return tuple(json.loads(part[2:]).items())


def _step(node: Any, part: str) -> Any:
    """The value one path element down from ``node`` (``_MISSING`` if none)."""
    if part.startswith("f:") and isinstance(node, dict):
        return node.get(part[2:], _MISSING)
    if part.startswith("k:") and isinstance(node, list):
        want = _item_key(part)
        return next(
            (i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in want)),
            _MISSING,
        )
    return _MISSING


def changed_paths(paths: set[Path], new: Any, old: Any) -> set[Path]:
    """The paths of ``paths`` whose value differs between ``new`` and ``old``.

    The same as comparing ``value_at`` of each path, walked as a tree: a subtree whose values
    are equal on both sides is not descended into.
    """
    tree: dict[str, Any] = {}
    ends: set[Path] = set(paths)
    for path in paths:
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    out: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path, new_value: Any, old_value: Any) -> None:
        for part, children in node.items():
            new_child, old_child = _step(new_value, part), _step(old_value, part)
            if new_child is old_child or new_child == old_child:
                continue
            path = (*prefix, part)
            if path in ends:
                out.add(path)
            if children:
                walk(children, path, new_child, old_child)

    walk(tree, (), new, old)
    return out


def leaves(paths: set[Path]) -> set[Path]:
    """Paths that are not a prefix of another path in the set."""
    prefixes = {p[:n] for p in paths for n in range(1, len(p))}
    return {p for p in paths if p not in prefixes}


def render(path: Path) -> str:
    out = ""
    for part in path:
        if part.startswith("f:"):
            out += "." + part[2:]
        elif part.startswith("k:"):
            keys = json.loads(part[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
    return out


def _entries(obj: Obj) -> list[Obj]:
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return [e for e in entries if isinstance(e, dict)]


def _paths(entry: Obj) -> set[Path]:
    return patch.paths_from_fields_v1(entry.get("fieldsV1"))


def _entry(manager: str, operation: str, api_version: str, paths: set[Path], subresource: str) -> Obj:
    entry: Obj = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": patch.fields_v1(paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def record_update(
    old: Obj | None, new: Obj, manager: str, api_version: str, list_keys: ListKeys, subresource: str = ""
) -> list[Obj]:
    """managedFields of ``new`` after an Update operation by ``manager``."""
    new_fields = patch.field_set(trackable(new), list_keys)
    if old is None:
        changed = new_fields
        entries: list[Obj] = []
    else:
        old_view = trackable(old)
        new_view = trackable(new)
        changed = changed_paths(new_fields, new_view, old_view)
        entries = _entries(old)
    out: list[Obj] = []
    mine: set[Path] = set()
    for e in entries:
        paths = _paths(e) & new_fields
        if (
            e.get("manager") == manager
            and e.get("operation") == "Update"
            and e.get("subresource", "") == subresource
        ):
            mine |= paths
            continue
        if e.get("operation") == "Update":
            paths -= changed
        kept = leaves(paths)
        if kept:
            out.append({**e, "fieldsV1": patch.fields_v1(_with_parents(kept))})
    mine |= changed
    mine = _with_parents(leaves(mine))
    if mine:
        out.append(_entry(manager, "Update", api_version, mine, subresource))
    return out


def _prune(entry: Obj, present: set[Path]) -> Obj | None:
    kept = leaves(_paths(entry) & present)
    return {**entry, "fieldsV1": patch.fields_v1(_with_parents(kept))} if kept else None


def _with_parents(paths: set[Path]) -> set[Path]:
    return {p[:n] for p in paths for n in range(1, len(p) + 1)}


def apply_conflicts(
    live: Obj, applied: Obj, manager: str, list_keys: ListKeys, subresource: str
) -> list[Cause]:
    """Fields the applied configuration would change that other managers own."""
    live_view, applied_view = trackable(live), trackable(applied)
    wanted = leaves(patch.field_set(applied_view, list_keys))
    causes = []
    for e in _entries(live):
        if e.get("manager") == manager and e.get("operation") == "Apply":
            continue
        if e.get("subresource", "") != subresource:
            continue
        owned = leaves(_paths(e))
        for path in sorted(wanted & owned):
            current = value_at(live_view, path)
            if current is not _MISSING and current != value_at(applied_view, path):
                causes.append(
                    Cause(
                        "FieldManagerConflict",
                        f'conflict with "{e.get("manager")}" using {e.get("apiVersion", "")}',
                        render(path),
                    )
                )
    return causes


def conflict_error(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    if len(causes) == 1:
        message = f"Apply failed with 1 conflict: {causes[0].message}: {causes[0].field}"
    else:
        lines = "\n".join(f"- {c.message}: {c.field}" for c in causes)
        message = f"Apply failed with {len(causes)} conflicts: conflicts with other managers:\n{lines}"
    details: Obj = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return ApiError(409, "Conflict", message, details, causes)


def record_apply(
    live: Obj,
    applied: Obj,
    manager: str,
    api_version: str,
    list_keys: ListKeys,
    subresource: str,
    force: bool,
) -> tuple[list[Obj], set[Path]]:
    """managedFields after an apply by ``manager`` (forced conflicts move ownership) and the
    fields the manager owned before (for removal of fields dropped from its configuration)."""
    wanted = patch.field_set(trackable(applied), list_keys)
    previous: set[Path] = set()
    out: list[Obj] = []
    for e in _entries(live):
        mine = (
            e.get("manager") == manager
            and e.get("operation") == "Apply"
            and e.get("subresource", "") == subresource
        )
        if mine:
            previous = _paths(e)
            continue
        if force:
            kept = leaves(_paths(e)) - leaves(wanted)
            if kept:
                out.append({**e, "fieldsV1": patch.fields_v1(_with_parents(kept))})
        else:
            out.append(e)
    out.append(_entry(manager, "Apply", api_version, wanted, subresource))
    return out, previous


def others_paths(entries: list[Obj], manager: str, subresource: str) -> set[Path]:
    owned: set[Path] = set()
    for e in entries:
        if (
            e.get("manager") == manager
            and e.get("operation") == "Apply"
            and e.get("subresource", "") == subresource
        ):
            continue
        owned |= _paths(e)
    return owned
