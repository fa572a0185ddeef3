"""CustomResourceDefinitions: the resource types they define, structural schema validation,
defaulting and pruning of unknown fields."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from .resources import PrinterColumn, ResourceType
from .status import Cause, field_invalid, field_required, field_unsupported

Obj = dict[str, Any]

ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def resource_types(crd: Obj) -> list[ResourceType]:
    """The served versions of a CRD as resource types (the storage version flagged)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out: list[ResourceType] = []
    for v in spec.get("versions") or ():
        if not isinstance(v, dict) or not v.get("name"):
            continue
        subs = v.get("subresources") or {}
        subresources = tuple(s for s in ("status", "scale") if s in subs)
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        columns = tuple(
            PrinterColumn(
                name=c.get("name", ""),
                type=c.get("type", "string"),
                json_path=c.get("jsonPath", ""),
                description=c.get("description", ""),
                priority=int(c.get("priority", 0) or 0),
                format=c.get("format", ""),
            )
            for c in v.get("additionalPrinterColumns") or ()
            if isinstance(c, dict)
        )
        out.append(
            ResourceType(
                group=spec.get("group", ""),
                version=v["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                singular=names.get("singular") or names.get("kind", "").lower(),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subresources,
                schema=schema if isinstance(schema, dict) else None,
                printer_columns=columns,
                builtin=False,
                served=bool(v.get("served", True)),
                storage=bool(v.get("storage", False)),
                extra={"scale": subs.get("scale") or {}},
            )
        )
    if out and not any(rt.storage for rt in out):
        out[0].storage = True
    return out


def validate_crd(crd: Obj) -> list[Cause]:
    causes: list[Cause] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [field_required("spec")]
    group = spec.get("group")
    names: Obj = spec["names"] if isinstance(spec.get("names"), dict) else {}
    if not group:
        causes.append(field_required("spec.group"))
    elif "." not in group:
        causes.append(field_invalid("spec.group", group, "should be a domain with at least one dot"))
    if not names.get("plural"):
        causes.append(field_required("spec.names.plural"))
    if not names.get("kind"):
        causes.append(field_required("spec.names.kind"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(field_unsupported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    name = (crd.get("metadata") or {}).get("name", "")
    if group and names.get("plural") and name != f"{names['plural']}.{group}":
        causes.append(field_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        causes.append(
            field_required("spec.versions", "must have exactly one version marked as storage version")
        )
    else:
        storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
        if len(storage) != 1:
            causes.append(
                field_invalid(
                    "spec.versions", versions, "must have exactly one version marked as storage version"
                )
            )
        for i, v in enumerate(versions):
            if not isinstance(v, dict) or not v.get("name"):
                causes.append(field_required(f"spec.versions[{i}].name"))
                continue
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            path = f"spec.versions[{i}].schema.openAPIV3Schema"
            if schema is None:
                causes.append(field_required(path))
            elif not isinstance(schema, dict):
                causes.append(field_invalid(path, schema, "must be an object"))
            else:
                causes += _check_schema(schema, path)
    return causes


SCHEMA_TYPES = ["array", "boolean", "integer", "number", "object", "string"]


def _check_schema(schema: Obj, path: str) -> list[Cause]:
    """The structural-schema rules a CRD's openAPIV3Schema must follow (the common ones)."""
    causes: list[Cause] = []
    type_ = schema.get("type")
    untyped_ok = schema.get("x-kubernetes-int-or-string") or schema.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    if type_ is not None and type_ not in SCHEMA_TYPES:
        causes.append(field_unsupported(f"{path}.type", type_, SCHEMA_TYPES))
    elif type_ is None and not untyped_ok and (schema.get("properties") or schema.get("items")):
        causes.append(field_required(f"{path}.type", "must not be empty for specified object fields"))
    for key in ("required", "enum"):
        if key in schema and not isinstance(schema[key], list):
            causes.append(field_invalid(f"{path}.{key}", schema[key], "must be a list"))
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            causes.append(field_invalid(f"{path}.properties", props, "must be an object"))
        else:
            for name, sub in props.items():
                if not isinstance(sub, dict):
                    causes.append(field_invalid(f"{path}.properties[{name}]", sub, "must be an object"))
                else:
                    causes += _check_schema(sub, f"{path}.properties[{name}]")
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if sub is None or (isinstance(sub, bool) and key == "additionalProperties"):
            continue
        if not isinstance(sub, dict):
            causes.append(field_invalid(f"{path}.{key}", sub, "must be an object"))
        else:
            causes += _check_schema(sub, f"{path}.{key}")
    for key in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        value = schema.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            causes.append(field_invalid(f"{path}.{key}", value, "must be a number"))
    if "pattern" in schema:
        try:
            re.compile(str(schema["pattern"]))
        except re.error as exc:
            causes.append(
                field_invalid(f"{path}.pattern", schema["pattern"], f"must be a valid regex: {exc}")
            )
    return causes


def crd_status(crd: Obj, now: str) -> Obj:
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    storage = [v["name"] for v in spec.get("versions") or () if isinstance(v, dict) and v.get("storage")]
    old = crd.get("status") or {}
    stored = list(old.get("storedVersions") or [])
    for s in storage:
        if s not in stored:
            stored.append(s)
    return {
        "acceptedNames": names,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "lastTransitionTime": now,
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                "status": "True",
                "lastTransitionTime": now,
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
        "storedVersions": stored,
    }


# ---- schema validation -------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(expected: str, value: Any) -> bool:
    actual = _type_name(value)
    if expected == "number":
        return actual in ("number", "integer")
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return True
    return actual == expected


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate_schema(schema: Obj, value: Any, path: str = "") -> list[Cause]:
    """Validate ``value`` against a structural schema; causes name the field like kube does."""
    causes: list[Cause] = []
    _validate(schema, value, path, causes, root=not path)
    return causes


def _validate(schema: Obj, value: Any, path: str, causes: list[Cause], root: bool = False) -> None:
    if not isinstance(schema, dict):
        return
    shown = path or "<root>"
    if value is None:
        if schema.get("nullable"):
            return
        if schema.get("type") or schema.get("x-kubernetes-int-or-string"):
            causes.append(
                Cause(
                    "FieldValueTypeInvalid",
                    f'Invalid value: "null": {shown} in body must be of type '
                    f'{schema.get("type", "string")}: "null"',
                    path,
                )
            )
        return
    if schema.get("x-kubernetes-int-or-string") and (
        not isinstance(value, (int, str)) or isinstance(value, bool)
    ):
        actual = _type_name(value)
        causes.append(
            Cause(
                "FieldValueTypeInvalid",
                f'Invalid value: "{actual}": {shown} in body must be of type integer,string: "{actual}"',
                path,
            )
        )
        return
    expected = schema.get("type")
    if expected and not _type_ok(expected, value):
        actual = _type_name(value)
        causes.append(
            Cause(
                "FieldValueTypeInvalid",
                f'Invalid value: "{actual}": {shown} in body must be of type {expected}: "{actual}"',
                path,
            )
        )
        return
    if "enum" in schema and isinstance(schema["enum"], list) and value not in schema["enum"]:
        causes.append(field_unsupported(path, value, schema["enum"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        if isinstance(minimum, (int, float)):
            if schema.get("exclusiveMinimum") and value <= minimum:
                causes.append(field_invalid(path, value, f"{shown} in body should be greater than {minimum}"))
            elif value < minimum:
                causes.append(
                    field_invalid(
                        path, value, f"{shown} in body should be greater than or equal to {minimum}"
                    )
                )
        if isinstance(maximum, (int, float)):
            if schema.get("exclusiveMaximum") and value >= maximum:
                causes.append(field_invalid(path, value, f"{shown} in body should be less than {maximum}"))
            elif value > maximum:
                causes.append(
                    field_invalid(path, value, f"{shown} in body should be less than or equal to {maximum}")
                )
    if isinstance(value, str):
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                if not re.search(pattern, value):
                    causes.append(field_invalid(path, value, f"{shown} in body should match '{pattern}'"))
            except re.error:
                pass
        if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
            causes.append(
                field_invalid(
                    path, value, f"{shown} in body should be at least {schema['minLength']} chars long"
                )
            )
        if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
            causes.append(
                Cause(
                    "FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes", path
                )
            )
    if isinstance(value, list):
        if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
            causes.append(
                field_invalid(path, value, f"{shown} in body should have at least {schema['minItems']} items")
            )
        if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
            causes.append(
                Cause(
                    "FieldValueTooMany",
                    f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                    path,
                )
            )
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _validate(items, item, f"{path}[{i}]", causes)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for req in schema.get("required") or ():
            if req not in value and not (root and req in ROOT_FIELDS):
                causes.append(field_required(_join(path, req)))
        for key, sub in value.items():
            if root and key in ROOT_FIELDS:
                continue
            if key in props:
                _validate(props[key], sub, _join(path, key), causes)
            elif isinstance(schema.get("additionalProperties"), dict):
                _validate(schema["additionalProperties"], sub, _join(path, key), causes)
        if isinstance(schema.get("maxProperties"), int) and len(value) > schema["maxProperties"]:
            causes.append(
                Cause(
                    "FieldValueTooMany",
                    f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
                    path,
                )
            )


def apply_defaults(schema: Obj, value: Any) -> Any:
    """Fill ``default`` values for absent properties, recursively (in place; returns value)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, sub_value in value.items():
            if key in props:
                apply_defaults(props[key], sub_value)
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(schema["additionalProperties"], sub_value)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)
    return value


def prune(schema: Obj, value: Any, path: str = "", root: bool = True) -> list[str]:
    """Drop fields the schema does not declare (in place); return the dropped paths."""
    dropped: list[str] = []
    _prune(schema, value, path, root, dropped)
    return dropped


def _prune(schema: Obj, value: Any, path: str, root: bool, dropped: list[str]) -> None:
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        if isinstance(schema, dict) and isinstance(value, dict):
            # Declared properties below a preserving node are still pruned structurally.
            props = schema.get("properties") or {}
            for key, sub in value.items():
                if key in props:
                    _prune(props[key], sub, _join(path, key), False, dropped)
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key in list(value):
            if root and key in ROOT_FIELDS:
                continue
            if props is not None and key in props:
                _prune(props[key], value[key], _join(path, key), False, dropped)
            elif isinstance(additional, dict):
                _prune(additional, value[key], _join(path, key), False, dropped)
            elif additional is True:
                continue
            else:
                dropped.append(_join(path, key))
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune(schema["items"], item, f"{path}[{i}]", False, dropped)


def list_map_keys(schema: Obj | None, path: list[str]) -> list[str] | None:
    """x-kubernetes-list-map-keys of the list at ``path`` in a CRD schema (for apply merges)."""
    node: Any = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        node = (node.get("properties") or {}).get(part)
        if isinstance(node, dict) and node.get("type") == "array" and part != path[-1]:
            node = node.get("items")
    if isinstance(node, dict) and node.get("x-kubernetes-list-type") == "map":
        keys = node.get("x-kubernetes-list-map-keys")
        return list(keys) if isinstance(keys, list) else None
    return None


def schema_json(schema: Obj) -> str:
    return json.dumps(schema, sort_keys=True)
