"""CustomResourceDefinitions generated from the models: the models are the one source of truth.

``crd_for(spec)`` turns a top-level model Struct into an ``apiextensions.k8s.io/v1``
CustomResourceDefinition with a structural OpenAPI v3 schema. The schema comes from the
Struct's fields (wire names, types) and from validation that the models attach with
``msgspec.Meta(extra_json_schema={...})`` (``minimum``, ``pattern``, ``enum``, ``default``...):
that validation is enforced by the API server and does not constrain decoding, so admission
still sees a bad value and can answer with its own message. Names, short names, scope,
printer columns and subresources are Volcano's, listed in ``CRD_SPECS``.

``pyroclast crds --out DIR`` writes one YAML file per CRD (``make crds``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml
from msgspec import inspect

QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)

Schema = dict[str, Any]

EMBEDDED_OBJECT_META: Schema = {
    "type": "object",
    "properties": {
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "name": {"type": "string"},
        "namespace": {"type": "string"},
    },
}
"""The metadata of an embedded object (a pod template's): the fields the API server keeps."""


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    json_path: str
    type: str = "string"
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jsonPath": self.json_path, "name": self.name}
        if self.priority:
            out["priority"] = self.priority
        out["type"] = self.type
        return out


@dataclass(frozen=True)
class CrdSpec:
    """Everything about a CRD that is not in the model's fields."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    scope: str = "Namespaced"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = True
    columns: tuple[PrinterColumn, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


AGE = PrinterColumn("AGE", ".metadata.creationTimestamp", "date")

CRD_SPECS: tuple[CrdSpec, ...] = (
    CrdSpec(
        "batch.volcano.sh",
        "v1alpha1",
        "Job",
        "jobs",
        "job",
        short_names=("vcjob", "vj"),
        columns=(
            PrinterColumn("STATUS", ".status.state.phase"),
            PrinterColumn("minAvailable", ".status.minAvailable", "integer"),
            PrinterColumn("RUNNINGS", ".status.running", "integer"),
            AGE,
            PrinterColumn("QUEUE", ".spec.queue", priority=1),
        ),
    ),
    CrdSpec(
        "batch.volcano.sh", "v1alpha1", "CronJob", "cronjobs", "cronjob", short_names=("cronvcjob", "cronvj")
    ),
    CrdSpec("bus.volcano.sh", "v1alpha1", "Command", "commands", "command", status_subresource=False),
    CrdSpec(
        "scheduling.volcano.sh",
        "v1beta1",
        "PodGroup",
        "podgroups",
        "podgroup",
        short_names=("pg", "podgroup-v1beta1"),
        status_subresource=False,
        columns=(
            PrinterColumn("STATUS", ".status.phase"),
            PrinterColumn("minMember", ".spec.minMember", "integer"),
            PrinterColumn("RUNNINGS", ".status.running", "integer"),
            AGE,
            PrinterColumn("QUEUE", ".spec.queue", priority=1),
        ),
    ),
    CrdSpec(
        "scheduling.volcano.sh",
        "v1beta1",
        "Queue",
        "queues",
        "queue",
        scope="Cluster",
        short_names=("q", "queue-v1beta1"),
        columns=(PrinterColumn("PARENT", ".spec.parent"),),
    ),
    CrdSpec(
        "flow.volcano.sh",
        "v1alpha1",
        "JobFlow",
        "jobflows",
        "jobflow",
        short_names=("jf",),
        columns=(
            PrinterColumn("Status", ".status.state.phase"),
            PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
        ),
    ),
    CrdSpec("flow.volcano.sh", "v1alpha1", "JobTemplate", "jobtemplates", "jobtemplate", short_names=("jt",)),
)


class SchemaError(TypeError):
    """A model uses a type that has no structural OpenAPI form."""


def _object_meta_like(t: inspect.StructType) -> bool:
    return t.cls.__name__ == "ObjectMeta"


class _SchemaBuilder:
    def __init__(self) -> None:
        self._stack: list[type] = []

    def build(self, t: inspect.Type, path: str) -> Schema:
        extra: Schema = {}
        while isinstance(t, inspect.Metadata):
            extra.update(t.extra_json_schema or {})
            t = t.type
        schema = self._plain(t, path)
        schema.update(extra)
        return schema

    def _plain(self, t: inspect.Type, path: str) -> Schema:
        if isinstance(t, inspect.UnionType):
            return self._union(t, path)
        if isinstance(t, inspect.BoolType):
            return {"type": "boolean"}
        if isinstance(t, inspect.IntType):
            return _bounded({"type": "integer"}, t)
        if isinstance(t, inspect.FloatType):
            return _bounded({"type": "number"}, t)
        if isinstance(t, inspect.StrType):
            schema: Schema = {"type": "string"}
            if t.pattern is not None:
                schema["pattern"] = t.pattern
            if t.min_length is not None:
                schema["minLength"] = t.min_length
            if t.max_length is not None:
                schema["maxLength"] = t.max_length
            return schema
        if isinstance(t, inspect.EnumType | inspect.LiteralType):
            values = [m.value for m in t.cls] if isinstance(t, inspect.EnumType) else list(t.values)
            kind = "integer" if all(isinstance(v, int) for v in values) else "string"
            return {"type": kind, "enum": values}
        if isinstance(t, inspect.ListType | inspect.SetType | inspect.FrozenSetType | inspect.VarTupleType):
            return {"type": "array", "items": self.build(t.item_type, path + "[]")}
        if isinstance(t, inspect.DictType):
            value = t.value_type
            if isinstance(value, inspect.AnyType):
                return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            return {"type": "object", "additionalProperties": self.build(value, path + "{}")}
        if isinstance(t, inspect.AnyType):
            return {"x-kubernetes-preserve-unknown-fields": True}
        if isinstance(t, inspect.StructType):
            return self._struct(t, path)
        raise SchemaError(f"{path or '<root>'}: {type(t).__name__} has no OpenAPI form")

    def _union(self, t: inspect.UnionType, path: str) -> Schema:
        members = [m for m in t.types if not isinstance(m, inspect.NoneType)]
        kinds = {type(m) for m in members}
        if len(members) == 1:
            return self.build(members[0], path)
        if kinds == {inspect.StrType, inspect.IntType, inspect.FloatType}:  # a Quantity
            return {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "pattern": QUANTITY_PATTERN,
                "x-kubernetes-int-or-string": True,
            }
        if kinds == {inspect.StrType, inspect.IntType}:  # an IntOrString
            return {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
        raise SchemaError(f"{path}: a union of {sorted(k.__name__ for k in kinds)} has no structural form")

    def _struct(self, t: inspect.StructType, path: str) -> Schema:
        if _object_meta_like(t) and path:
            return dict(EMBEDDED_OBJECT_META)
        if t.cls in self._stack:  # recursive types cannot be structural
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        self._stack.append(t.cls)
        try:
            properties = {f.encode_name: self.build(f.type, f"{path}.{f.encode_name}") for f in t.fields}
        finally:
            self._stack.pop()
        schema: Schema = {"type": "object", "properties": dict(sorted(properties.items()))}
        required = sorted(f.encode_name for f in t.fields if f.required)
        if required:
            schema["required"] = required
        return schema


def _bounded(schema: Schema, t: inspect.IntType | inspect.FloatType) -> Schema:
    if t.ge is not None:
        schema["minimum"] = t.ge
    if t.le is not None:
        schema["maximum"] = t.le
    if t.gt is not None:
        schema["minimum"], schema["exclusiveMinimum"] = t.gt, True
    if t.lt is not None:
        schema["maximum"], schema["exclusiveMaximum"] = t.lt, True
    return schema


def schema_for(model: type[msgspec.Struct]) -> Schema:
    """The structural OpenAPI v3 schema of a top-level model."""
    info = inspect.type_info(model)
    schema = _SchemaBuilder().build(info, "")
    props = schema.get("properties", {})
    if "metadata" in props:
        props["metadata"] = {"type": "object"}
    schema.pop("required", None)  # apiVersion/kind/metadata are never required in a CRD schema
    return schema


def crd_for(spec: CrdSpec, model: type[msgspec.Struct]) -> dict[str, Any]:
    """The CustomResourceDefinition for ``spec`` with ``model``'s schema."""
    version: dict[str, Any] = {}
    if spec.columns:
        version["additionalPrinterColumns"] = [c.to_dict() for c in spec.columns]
    version["name"] = spec.version
    version["schema"] = {"openAPIV3Schema": schema_for(model)}
    version["served"] = True
    version["storage"] = True
    if spec.status_subresource:
        version["subresources"] = {"status": {}}
    names: dict[str, Any] = {"kind": spec.kind, "listKind": f"{spec.kind}List", "plural": spec.plural}
    if spec.short_names:
        names["shortNames"] = list(spec.short_names)
    if spec.categories:
        names["categories"] = list(spec.categories)
    names["singular"] = spec.singular
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": spec.name},
        "spec": {"group": spec.group, "names": names, "scope": spec.scope, "versions": [version]},
    }


def all_crds() -> dict[str, dict[str, Any]]:
    """File name -> CRD, for every kind in ``CRD_SPECS``."""
    from pyroclast.common.models import KINDS

    out: dict[str, dict[str, Any]] = {}
    for spec in CRD_SPECS:
        model = KINDS.get((spec.api_version, spec.kind))
        if model is None:
            raise SchemaError(f"no model registered for {spec.api_version} {spec.kind}")
        out[f"{spec.group}_{spec.plural}.yaml"] = crd_for(spec, model)
    return out


def render(crd: dict[str, Any]) -> str:
    """YAML text of one CRD, stable across runs."""
    return "---\n" + yaml.safe_dump(crd, sort_keys=False, width=100)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyroclast crds", description="generate CRDs from the models")
    parser.add_argument("--out", type=Path, default=Path("deploy/crds"), help="folder to write into")
    parser.add_argument("--check", action="store_true", help="fail if the folder differs from the models")
    args = parser.parse_args(list(argv or []))
    crds = all_crds()
    stale = []
    for filename, crd in crds.items():
        path = args.out / filename
        text = render(crd)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if args.check and stale:
        print("out of date with the models (run `make crds`): " + ", ".join(stale), file=sys.stderr)
        return 1
    if not args.check:
        print(f"wrote {len(crds)} CRDs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
