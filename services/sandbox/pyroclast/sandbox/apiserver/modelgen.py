"""Build ``modelschema.json`` (field names, types, descriptions and required fields of the
built-in kinds and everything they reference) from the generated models of kubernetes_asyncio,
so the server itself needs neither that package nor its slow import.

Usage: python -m pyroclast.sandbox.apiserver.modelgen OUT.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from .openapi import model_name
from .resources import BUILTIN_TYPES


def _doc(cls: Any, attr: str) -> str:
    text = getattr(getattr(cls, attr, None), "__doc__", "") or ""
    parts = text.split("\n\n")
    if len(parts) < 2 or parts[1].strip().startswith(":return:"):
        return ""
    return re.sub(r"\s*# noqa: E501\s*$", "", parts[1].strip()).strip()


def _required(cls: Any) -> list[str]:
    """Attributes whose setters reject None under client-side validation: the required fields."""
    from kubernetes_asyncio.client.configuration import Configuration

    cfg = Configuration()
    cfg.client_side_validation = True
    out = []
    for attr, json_name in cls.attribute_map.items():
        inst = cls.__new__(cls)
        inst.local_vars_configuration = cfg
        try:
            setattr(inst, attr, None)
        except ValueError:
            out.append(json_name)
        except Exception:  # a setter that validates something else
            continue
    return out


def _referenced(type_str: str) -> list[str]:
    return [t for t in re.findall(r"[A-Z]\w+", type_str)]


def build() -> dict[str, Any]:
    from kubernetes_asyncio.client import models

    roots = [model_name(rt) for rt in BUILTIN_TYPES] + ["V1ObjectMeta", "EventsV1Event"]
    out: dict[str, Any] = {}
    todo = [r for r in roots if hasattr(models, r)]
    while todo:
        name = todo.pop()
        if name in out:
            continue
        cls = getattr(models, name)
        fields = []
        for attr, type_str in cls.openapi_types.items():
            fields.append([cls.attribute_map[attr], type_str, _doc(cls, attr)])
            todo += [t for t in _referenced(type_str) if hasattr(models, t) and t not in out]
        out[name] = {"fields": fields, "required": _required(cls)}
    return out


def main(argv: list[str]) -> int:
    table = build()
    Path(argv[0]).write_text(json.dumps(table, separators=(",", ":"), sort_keys=True))
    print(f"{len(table)} models -> {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
