"""``Table`` responses (meta.k8s.io/v1) for ``kubectl get``: built-in columns and CRD printer columns."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .jsonpath import JsonPathError, evaluate
from .printers import BUILTIN, Row, age, human_duration, metadata_of
from .resources import PrinterColumn, ResourceType

Obj = dict[str, Any]

NAME_DESC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources "
    "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
    "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)


__all__ = ["columns_and_rower", "human_duration", "partial", "to_table"]


def _column_def(name: str, type_: str, priority: int, description: str = "", fmt: str = "") -> Obj:
    if name == "Name" and not description:
        description, fmt = NAME_DESC, "name"
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def _cell(value: list[Any], type_: str) -> Any:
    if not value:
        return None
    v = value[0]
    if type_ == "date":
        return age(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    if len(value) > 1 and type_ == "string":
        return ",".join(str(x) if not isinstance(x, (dict, list)) else json.dumps(x) for x in value)
    return v


def columns_and_rower(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], Row]]:
    if rt.builtin and rt.kind in BUILTIN:
        cols, fn = BUILTIN[rt.kind]
        return [_column_def(n, t, p) for n, t, p in cols], fn
    if not rt.builtin:
        columns: tuple[PrinterColumn, ...] = rt.printer_columns or (
            PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
        )
        defs = [_column_def("Name", "string", 0)] + [
            _column_def(c.name, c.type, c.priority, c.description, c.format) for c in columns
        ]

        def crd_row(o: Obj) -> Row:
            row: Row = [metadata_of(o).get("name", "")]
            for c in columns:
                try:
                    row.append(_cell(evaluate(o, c.json_path), c.type))
                except (JsonPathError, TypeError, ValueError):
                    row.append(None)
            return row

        return defs, crd_row
    # kube's default table convertor
    return [
        _column_def("Name", "string", 0),
        _column_def(
            "Created At",
            "date",
            0,
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
    ], lambda o: [metadata_of(o).get("name", ""), metadata_of(o).get("creationTimestamp", "")]


def scale_table(scale: Obj) -> Obj:
    """kube's table of the scale subresource: NAME DESIRED AVAILABLE."""
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": metadata_of(scale).get("resourceVersion", "")},
        "columnDefinitions": [
            _column_def("Name", "string", 0),
            _column_def("Desired", "integer", 0, "Desired number of replicas"),
            _column_def("Available", "integer", 0, "Number of available replicas"),
        ],
        "rows": [
            {
                "cells": [
                    metadata_of(scale).get("name", ""),
                    (scale.get("spec") or {}).get("replicas", 0),
                    (scale.get("status") or {}).get("replicas", 0),
                ],
                "object": partial(scale),
            }
        ],
    }


def partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata_of(obj)}


def to_table(
    rt: ResourceType,
    objects: list[Obj],
    include: str = "Metadata",
    list_meta: Obj | None = None,
    headers: bool = True,
) -> Obj:
    defs, rower = columns_and_rower(rt)
    rows = []
    for o in objects:
        try:
            cells = rower(o)
        except Exception:  # a malformed stored object must not break listing
            cells = [metadata_of(o).get("name", "")] + [None] * (len(defs) - 1)
        row: Obj = {"cells": cells}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = partial(o)
        rows.append(row)
    table: Obj = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": defs if headers else [],
        "rows": rows,
    }
    return table
