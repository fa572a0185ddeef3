"""Patch algorithms: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any


class PatchError(ValueError):
    """A patch that cannot be applied; the server answers 422 or 400 with this message."""


# ---- JSON merge patch --------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---- JSON patch --------------------------------------------------------------------------------


def _parse_pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for part in parts:
        if isinstance(cur, dict):
            if part not in cur:
                raise PatchError(f'doc is missing path: "{path}": missing value')
            cur = cur[part]
        elif isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                raise PatchError(f'doc is missing path: "{path}": missing value') from None
        else:
            raise PatchError(f'doc is missing path: "{path}": missing value')
    return cur


def _index(container: list[Any], part: str, path: str, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return len(container)
    try:
        idx = int(part)
    except ValueError:
        raise PatchError(f"invalid array index {part!r} in {path!r}") from None
    limit = len(container) if allow_end else len(container) - 1
    if idx < 0 or idx > limit:
        raise PatchError(f'add operation does not apply: doc is missing path: "{path}": missing value')
    return idx


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("Unexpected kind: missing 'op'")
        kind = op["op"]
        path = op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"{kind} operation does not apply: missing path")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            doc, _ = _remove(doc, path, verb="replace")
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            doc, value = _remove(doc, str(op.get("from", "")), verb="move")
            doc = _add(doc, path, value)
        elif kind == "copy":
            parts = _parse_pointer(str(op.get("from", "")))
            value = copy.deepcopy(_container(doc, parts, str(op.get("from"))))
            doc = _add(doc, path, value)
        elif kind == "test":
            parts = _parse_pointer(path)
            if _container(doc, parts, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _parse_pointer(path)
    if not parts:
        return value
    parent = _container(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, True), value)
    else:
        raise PatchError(f'add operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def _remove(doc: Any, path: str, verb: str = "remove") -> tuple[Any, Any]:
    parts = _parse_pointer(path)
    if not parts:
        return None, doc
    parent = _container(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{verb} operation does not apply: doc is missing key: {path}: missing value")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        try:
            idx = int(last)
            if idx < 0:
                raise IndexError
            return doc, parent.pop(idx)
        except (ValueError, IndexError):
            raise PatchError(
                f'{verb} operation does not apply: doc is missing path: "{path}": missing value'
            ) from None
    raise PatchError(f'{verb} operation does not apply: doc is missing path: "{path}": missing value')


# ---- strategic merge patch ---------------------------------------------------------------------

# patchMergeKey of the built-in list fields, by field name (kube's patch metadata, flattened:
# the same field name carries the same strategy wherever it appears in the built-in types).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "resourceClaims": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "podIPs": "ip",
    "hostIPs": "ip",
    "addresses": "type",
    "topologySpreadConstraints": "topologyKey",
    "schedulingGates": "name",
    "readinessGates": "conditionType",
    "resizePolicy": "resourceName",
}
# Lists of scalars merged as sets (patchStrategy: merge).
MERGE_SCALAR_LISTS = {"finalizers"}
# Keys whose lists are replaced despite the name (atomic lists in kube).
ATOMIC_PARENTS = {"subsets"}


def merge_key_for(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        for item in items:
            if isinstance(item, dict):
                return "containerPort" if "containerPort" in item else "port"
        return "port"
    return MERGE_KEYS.get(field)


DIRECTIVE = "$patch"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
RETAIN_KEYS = "$retainKeys"


def strategic_merge_patch(original: Any, patch: Any) -> Any:
    """Apply a strategic merge patch to a built-in object."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _smp_map(original if isinstance(original, dict) else {}, patch)


def _smp_map(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    directive = patch.get(DIRECTIVE)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != DIRECTIVE}
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive}")
    result = dict(original)
    retain = patch.get(RETAIN_KEYS)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (DIRECTIVE, RETAIN_KEYS):
            continue
        if key.startswith(SET_ORDER):
            orders[key[len(SET_ORDER) :]] = value if isinstance(value, list) else []
            continue
        if key.startswith(DELETE_PRIMITIVE):
            field = key[len(DELETE_PRIMITIVE) :]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = _smp_map(current if isinstance(current, dict) else {}, value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _smp_list(key, current if isinstance(current, list) else [], value)
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        keep = set(retain)
        result = {k: v for k, v in result.items() if k in keep}
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(field, result[field], order)
    return result


def _smp_list(field: str, original: list[Any], patch: list[Any]) -> list[Any]:
    if field in ATOMIC_PARENTS:
        return copy.deepcopy(patch)
    if field in MERGE_SCALAR_LISTS:
        out = list(original)
        for item in patch:
            if item not in out:
                out.append(copy.deepcopy(item))
        return out
    # A list-level directive: [{"$patch": "replace"}, ...] replaces the list.
    if any(isinstance(p, dict) and p.get(DIRECTIVE) == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and DIRECTIVE in p)]
    key = merge_key_for(field, original + patch)
    if key is None or not all(isinstance(p, dict) for p in patch):
        return copy.deepcopy(patch)
    out = [copy.deepcopy(o) for o in original]
    for item in patch:
        ident = item.get(key)
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == ident), None)
        if item.get(DIRECTIVE) == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            merged = _smp_map({}, item)
            if merged is not None:
                out.append(merged)
        else:
            merged = _smp_map(out[idx], item)
            if merged is None:
                out.pop(idx)
            else:
                out[idx] = merged
    return out


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = merge_key_for(field, items)
    if key is None:
        ranks = {repr(v): i for i, v in enumerate(order)}
        return sorted(items, key=lambda v: ranks.get(repr(v), len(ranks)))
    ranks = {}
    for i, o in enumerate(order):
        if isinstance(o, dict):
            ranks[repr(o.get(key))] = i

    def rank(pair: tuple[int, Any]) -> tuple[int, int]:
        index, value = pair
        ident = repr(value.get(key)) if isinstance(value, dict) else ""
        return (ranks.get(ident, len(ranks)), index)

    return [v for _, v in sorted(enumerate(items), key=rank)]


# ---- server-side apply -------------------------------------------------------------------------


def _item_key(item: dict[str, Any], keys: list[str]) -> str:
    return "k:" + json.dumps(
        {k: item.get(k) for k in keys if k in item}, separators=(",", ":"), sort_keys=True
    )


def field_set(
    obj: Any, list_keys: Callable[[list[str], list[Any]], list[str] | None], path: tuple[str, ...] = ()
) -> set[tuple[str, ...]]:
    """The set of field paths ``obj`` sets, in the FieldsV1 vocabulary (f:name, k:{...}, .)."""
    out: set[tuple[str, ...]] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            child = (*path, f"f:{key}")
            out.add(child)
            out |= field_set(value, list_keys, child)
    elif isinstance(obj, list) and path:
        names = [p[2:] for p in path if p.startswith("f:")]
        keys = list_keys(names, obj)
        if keys:
            for item in obj:
                if isinstance(item, dict):
                    child = (*path, _item_key(item, keys))
                    out.add(child)
                    out |= field_set(item, list_keys, child)
    return out


def fields_v1(paths: set[tuple[str, ...]]) -> dict[str, Any]:
    """Render a field set as the nested FieldsV1 object kube stores in managedFields."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(part, {})
    _mark_items(root)
    return root


def _mark_items(node: dict[str, Any]) -> None:
    for key, child in node.items():
        if key.startswith("k:"):
            child.setdefault(".", {})
        _mark_items(child)


def paths_from_fields_v1(fields: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    if isinstance(fields, dict):
        for key, child in fields.items():
            if key == ".":
                continue
            path = (*prefix, key)
            out.add(path)
            out |= paths_from_fields_v1(child, path)
    return out


def remove_path(obj: Any, path: tuple[str, ...]) -> None:
    """Remove the field or keyed list item at ``path`` (missing paths are ignored)."""
    node = obj
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if part.startswith("f:") and isinstance(node, dict):
            name = part[2:]
            if last:
                node.pop(name, None)
                return
            node = node.get(name)
        elif part.startswith("k:") and isinstance(node, list):
            want = json.loads(part[2:])
            idx = next(
                (
                    j
                    for j, it in enumerate(node)
                    if isinstance(it, dict) and all(it.get(k) == v for k, v in want.items())
                ),
                None,
            )
            if idx is None:
                return
            if last:
                node.pop(idx)
                return
            node = node[idx]
        else:
            return


def apply_merge(
    live: dict[str, Any],
    applied: dict[str, Any],
    list_keys: Callable[[list[str], list[Any]], list[str] | None],
    previously_owned: set[tuple[str, ...]],
    owned_by_others: set[tuple[str, ...]],
) -> tuple[dict[str, Any], set[tuple[str, ...]]]:
    """Merge an applied configuration into the live object.

    Fields the manager set in its previous apply but no longer sets are removed unless another
    manager also owns them. Returns the merged object and the manager's new field set.
    """
    merged = _apply_map(live, applied, list_keys, [])
    now_owned = field_set(applied, list_keys)
    removed = {
        p for p in previously_owned - now_owned - owned_by_others if p[0] not in ("f:apiVersion", "f:kind")
    }
    for path in sorted(removed, key=len):
        if not any(path[:n] in removed for n in range(1, len(path))):
            remove_path(merged, path)
    return merged, now_owned


def _apply_map(
    live: dict[str, Any], applied: dict[str, Any], list_keys: Any, path: list[str]
) -> dict[str, Any]:
    result = copy.deepcopy(live)
    for key, value in applied.items():
        current = result.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(current, dict):
            result[key] = _apply_map(current, value, list_keys, [*path, key])
        elif isinstance(value, list) and isinstance(current, list):
            keys = list_keys([*path, key], value + current)
            if keys:
                out = [copy.deepcopy(c) for c in current]
                for item in value:
                    if not isinstance(item, dict):
                        continue
                    ident = {k: item.get(k) for k in keys}
                    idx = next(
                        (
                            j
                            for j, it in enumerate(out)
                            if isinstance(it, dict) and {k: it.get(k) for k in keys} == ident
                        ),
                        None,
                    )
                    if idx is None:
                        out.append(copy.deepcopy(item))
                    else:
                        out[idx] = _apply_map(out[idx], item, list_keys, [*path, key])
                result[key] = out
            else:
                result[key] = copy.deepcopy(value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def builtin_list_keys(path: list[str], items: list[Any]) -> list[str] | None:
    if not path:
        return None
    field = path[-1]
    if field in MERGE_SCALAR_LISTS:
        return None
    key = merge_key_for(field, items)
    if field == "ports" and path[-2:-1] == ["spec"] and len(path) >= 2:
        # Service ports are keyed by port and protocol in kube.
        return (
            ["port", "protocol"] if any(isinstance(i, dict) and "protocol" in i for i in items) else ["port"]
        )
    return [key] if key else None
