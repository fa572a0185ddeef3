"""Checks of built-in objects against their model types (modelschema.json): what Go's JSON
decoding would reject (wrong types, 400) and fields the types do not declare (dropped with a
warning, or rejected with fieldValidation=Strict)."""

from __future__ import annotations

import functools
from typing import Any

from .openapi import model_name, model_schema, short_name
from .resources import ResourceType

Obj = dict[str, Any]


# ---- unknown-field detection for built-in kinds (fieldValidation=Strict) -----------------------


FieldPath = tuple[str | int, ...]


def unknown_fields(rt: ResourceType, obj: Obj) -> list[tuple[str, FieldPath]]:
    """Fields of a built-in object its type does not declare: (display path, key path)."""
    cls_name = model_name(rt)
    if model_schema(cls_name) is None:
        return []
    out: list[tuple[str, FieldPath]] = []
    _walk(cls_name, obj, "", (), out)
    return out


def drop_path(obj: Any, path: FieldPath) -> None:
    node = obj
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


@functools.cache
def _fields(cls_name: str) -> dict[str, str] | None:
    model = model_schema(cls_name)
    if model is None:
        return None
    return {json_name: type_str for json_name, type_str, _ in model["fields"]}


def _walk_type(
    type_str: str, value: Any, path: str, keys: FieldPath, out: list[tuple[str, FieldPath]]
) -> None:
    if type_str.startswith("list[") and isinstance(value, list):
        for i, item in enumerate(value):
            _walk_type(type_str[5:-1], item, f"{path}[{i}]", (*keys, i), out)
    elif type_str.startswith("dict(") and isinstance(value, dict):
        inner = type_str[5:-1].split(",", 1)[1].strip()
        for k, v in value.items():
            _walk_type(inner, v, f"{path}.{k}", (*keys, k), out)
    elif type_str[:1].isupper() and isinstance(value, dict):
        _walk(type_str, value, path, keys, out)


def _walk(cls_name: str, value: Obj, path: str, keys: FieldPath, out: list[tuple[str, FieldPath]]) -> None:
    fields = _fields(cls_name)
    if fields is None:
        return
    for key, sub in value.items():
        child = f"{path}.{key}" if path else key
        if key not in fields:
            out.append((child, (*keys, key)))
        else:
            _walk_type(fields[key], sub, child, (*keys, key), out)


# ---- type checking of built-in objects (what Go's JSON decoding would reject) --------------------

# Maps of resource quantities: YAML numbers there are valid and normalized to strings.
QUANTITY_MAPS = {
    "limits",
    "requests",
    "capacity",
    "allocatable",
    "hard",
    "used",
    "allocatedResources",
    "overhead",
    "min",
    "max",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
}
QUANTITY_FIELDS = {"sizeLimit", "storage"}

_JSON_NAMES = {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}


def _json_type(value: Any) -> str:
    return _JSON_NAMES.get(type(value), "value")


def _go_type(type_str: str) -> str:
    if type_str.startswith("list["):
        return "[]" + _go_type(type_str[5:-1])
    if type_str.startswith("dict("):
        return "map[string]" + _go_type(type_str[5:-1].split(",", 1)[1].strip())
    simple = {"str": "string", "int": "int64", "float": "float64", "bool": "bool", "datetime": "v1.Time"}
    return simple.get(type_str, f"v1.{short_name(type_str)}")


def _quantity(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class TypeMismatch(ValueError):
    pass


def check_types(rt: ResourceType, obj: Obj) -> None:
    """Raise TypeMismatch (with Go's decoding message) where a field has the wrong JSON type;
    normalize quantities given as numbers to strings."""
    cls_name = model_name(rt)
    if model_schema(cls_name) is not None:
        _check_model(cls_name, obj, "")


def check_metadata(obj: Obj) -> None:
    meta = obj.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise _mismatch("ObjectMeta", "metadata", "V1ObjectMeta", meta)
    _check_model("V1ObjectMeta", meta, "metadata")


def _check_model(cls_name: str, value: Obj, path: str) -> None:
    fields = _fields(cls_name)
    if fields is None:
        return
    for key in list(value):
        if key in fields and value[key] is not None:
            child = f"{path}.{key}" if path else key
            value[key] = _check_value(fields[key], value[key], child, short_name(cls_name), key)


def _mismatch(owner: str, path: str, type_str: str, value: Any) -> TypeMismatch:
    go_type = _go_type(type_str)
    return TypeMismatch(
        f"json: cannot unmarshal {_json_type(value)} into Go struct field {owner}.{path} of type {go_type}"
    )


def _check_value(type_str: str, value: Any, path: str, owner: str, field: str) -> Any:
    if value is None:
        return value
    if type_str.startswith("list["):
        if not isinstance(value, list):
            raise _mismatch(owner, path, type_str, value)
        item_type = type_str[5:-1]
        for i, v in enumerate(value):
            checked = _check_value(item_type, v, path, owner, field)
            if checked is not v:
                value[i] = checked
        return value
    if type_str.startswith("dict("):
        if not isinstance(value, dict):
            raise _mismatch(owner, path, type_str, value)
        inner = type_str[5:-1].split(",", 1)[1].strip()
        quantities = field in QUANTITY_MAPS and inner == "str"
        for k, v in value.items():
            checked = _check_value(inner, _quantity(v) if quantities else v, path, owner, "")
            if checked is not v:
                value[k] = checked
        return value
    if type_str == "str":
        if field in QUANTITY_FIELDS:
            value = _quantity(value)
        if not isinstance(value, str):
            raise _mismatch(owner, path, type_str, value)
        return value
    if type_str == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _mismatch(owner, path, type_str, value)
        return value
    if type_str == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _mismatch(owner, path, type_str, value)
        return value
    if type_str == "bool":
        if not isinstance(value, bool):
            raise _mismatch(owner, path, type_str, value)
        return value
    if type_str in ("datetime", "date"):
        if not isinstance(value, str):
            raise _mismatch(owner, path, type_str, value)
        return value
    if type_str == "object":
        return value
    if not isinstance(value, dict):
        raise _mismatch(owner, path, type_str, value)
    _check_model(type_str, value, path)
    return value
