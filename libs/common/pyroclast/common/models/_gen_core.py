"""Writer of the Kubernetes struct modules `meta.py` and `core.py`.

It walks the model classes of the ``kubernetes_asyncio`` client (their ``openapi_types`` and
``attribute_map``) from a list of top-level kinds, and writes one `Model` subclass per type
in the transitive closure. Run it after bumping the client, then format:

    .venv/bin/python -m pyroclast.common.models._gen_core
    .venv/bin/ruff format libs/common/pyroclast/common/models
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# (apiVersion, kind, client class) of every top-level kind written to core.py.
ROOTS: list[tuple[str, str, str]] = [
    ("v1", "Pod", "V1Pod"),
    ("v1", "PodTemplate", "V1PodTemplate"),
    ("v1", "Node", "V1Node"),
    ("v1", "Service", "V1Service"),
    ("v1", "ConfigMap", "V1ConfigMap"),
    ("v1", "Secret", "V1Secret"),
    ("v1", "Event", "CoreV1Event"),
    ("v1", "PersistentVolumeClaim", "V1PersistentVolumeClaim"),
    ("v1", "Namespace", "V1Namespace"),
    ("v1", "ServiceAccount", "V1ServiceAccount"),
    ("v1", "Status", "V1Status"),
    ("apps/v1", "Deployment", "V1Deployment"),
    ("apps/v1", "ReplicaSet", "V1ReplicaSet"),
    ("apps/v1", "StatefulSet", "V1StatefulSet"),
    ("apps/v1", "DaemonSet", "V1DaemonSet"),
    ("coordination.k8s.io/v1", "Lease", "V1Lease"),
    ("scheduling.k8s.io/v1", "PriorityClass", "V1PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass", "V1PriorityClass"),
    ("rbac.authorization.k8s.io/v1", "Role", "V1Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "V1RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "V1ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "V1ClusterRoleBinding"),
]
# Types referenced by the Volcano models but not reachable from a root.
EXTRA = ["V1ObjectReference", "V1HTTPHeader", "V1ListMeta", "V1Condition", "V1LabelSelector"]
# Roots of meta.py (apimachinery's meta/v1); everything they reach goes there too.
META = ["V1ObjectMeta", "V1ListMeta", "V1Condition", "V1Status", "V1LabelSelector"]

# String maps whose values are resource quantities (core/v1 ResourceList).
QUANTITY_MAPS = {
    "allocatable",
    "allocated_resources",
    "capacity",
    "default",
    "default_request",
    "hard",
    "limits",
    "max",
    "max_limit_request_ratio",
    "min",
    "overhead",
    "requests",
    "resources",
    "used",
}
# Single string fields holding a quantity.
QUANTITY_FIELDS = {("V1EmptyDirVolumeSource", "size_limit"), ("V1ResourceFieldSelector", "divisor")}
# `object` fields that are IntOrString; every other `object` is free-form JSON.
INT_OR_STRING = {"port", "target_port", "max_surge", "max_unavailable", "min_available"}

PREFIX = re.compile(r"^(?:[A-Z][a-z]+)*V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])")
RESERVED = {"str", "int", "float", "bool", "list", "dict", "Any", "Quantity", "IntOrString", "Time"}


def _models() -> Any:
    return importlib.import_module("kubernetes_asyncio.client.models")


def short(name: str) -> str:
    return PREFIX.sub("", name)


def refs(type_str: str) -> list[str]:
    models = _models()
    return [t for t in re.findall(r"[A-Z][A-Za-z0-9]+", type_str) if hasattr(models, t)]


def closure(names: list[str], stop: set[str]) -> list[str]:
    models = _models()
    seen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if name in seen or name in stop:
            continue
        seen.append(name)
        for type_str in getattr(models, name).openapi_types.values():
            todo.extend(refs(type_str))
    return seen


def camel(attr: str) -> str:
    head, *rest = attr.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def annotation(cls: str, attr: str, type_str: str) -> str:
    if type_str.startswith("list[") and type_str.endswith("]"):
        return f"list[{annotation(cls, attr, type_str[5:-1])}]"
    if type_str.startswith("dict(str, ") and type_str.endswith(")"):
        inner = type_str[10:-1]
        if inner == "str" and attr in QUANTITY_MAPS:
            return "dict[str, Quantity]"
        return f"dict[str, {annotation(cls, attr, inner)}]"
    if type_str == "str":
        return "Quantity" if (cls, attr) in QUANTITY_FIELDS else "str"
    if type_str == "datetime":
        return "Time"
    if type_str in ("int", "float", "bool"):
        return type_str
    if type_str == "object":
        return "IntOrString" if attr in INT_OR_STRING else "Any"
    if hasattr(_models(), type_str):
        return short(type_str)
    raise ValueError(f"{cls}.{attr}: unsupported type {type_str}")


def render_class(name: str) -> str:
    model = getattr(_models(), name)
    lines = [f"class {short(name)}(Model, kw_only=True):"]
    for attr, type_str in model.openapi_types.items():
        wire = model.attribute_map[attr]
        py = attr.lstrip("_") + "_" if attr.startswith("_") else attr
        if py in RESERVED:
            raise ValueError(f"{name}.{attr} shadows a type name")
        ann = annotation(name, attr, type_str)
        if camel(py.rstrip("_")) == wire and not py.endswith("_"):
            lines.append(f"    {py}: {ann} | None = None")
        else:
            lines.append(f'    {py}: {ann} | None = msgspec.field(default=None, name="{wire}")')
    return "\n".join(lines)


def render_module(doc: str, names: list[str], imports: list[str], tail: str = "") -> str:
    body = "\n\n\n".join(render_class(n) for n in names)
    used = set(re.findall(r"\b\w+\b", body + tail))
    wire_names = [n for n in ("IntOrString", "Model", "Quantity", "Time") if n in used]
    typing = ["", "from typing import Any"] if "Any" in used else []
    head = [
        f'"""{doc}\n\nGenerated by `pyroclast.common.models._gen_core` from the kubernetes_asyncio client\n'
        'models; edit the generator, not this file."""',
        "",
        "from __future__ import annotations",
        *typing,
        "",
        "import msgspec",
        "",
        *imports,
        f"from pyroclast.common.models.wire import {', '.join(wire_names)}",
        "",
        "",
    ]
    return "\n".join(head) + body + "\n" + tail


def main() -> None:
    meta = closure(META, set())
    roots = [cls for _, _, cls in ROOTS]
    core = closure(roots + EXTRA, set(meta))
    shorts = [short(n) for n in meta + core]
    dupes = {s for s in shorts if shorts.count(s) > 1}
    if dupes:
        raise SystemExit(f"name clash after stripping versions: {sorted(dupes)}")

    (HERE / "meta.py").write_text(
        render_module(
            "Kubernetes apimachinery meta/v1 types: ObjectMeta, ListMeta, Condition, Status.", meta, []
        )
    )
    kinds = "\n".join(f'    ("{api}", "{kind}"): {short(cls)},' for api, kind, cls in ROOTS)
    core_text = "\n".join(map(render_class, core)) + kinds
    meta_used = sorted({short(n) for n in meta} & set(re.findall(r"\b[A-Z]\w+", core_text)))
    tail = (
        "\n\nCORE_KINDS: dict[tuple[str, str], type[Model]] = {\n" + kinds + "\n}\n"
        '"""Top-level Kubernetes kinds by (apiVersion, kind)."""\n'
    )
    (HERE / "core.py").write_text(
        render_module(
            "Kubernetes core, apps, coordination, scheduling and rbac types used by Pyroclast.",
            core,
            [f"from pyroclast.common.models.meta import {', '.join(meta_used)}"],
            tail,
        )
    )
    print(f"meta.py: {len(meta)} structs, core.py: {len(core)} structs")


if __name__ == "__main__":
    main()
