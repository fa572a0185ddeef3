"""Subresources with their own semantics: pods/binding and the scale subresource."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import status
from .registry import now
from .resources import ResourceType
from .store import Obj, deep_copy

if TYPE_CHECKING:
    from .registry import Registry

# ---- subresources --------------------------------------------------------------------------


async def bind(reg: Registry, rt: ResourceType, namespace: str, name: str, binding: Obj) -> None:
    target = binding.get("target") if isinstance(binding, dict) else None
    if not isinstance(target, dict) or not target.get("name"):
        raise status.invalid("", "Binding", name, [status.field_required("target.name")])
    pod = reg.get(rt, namespace, name)
    if pod["metadata"].get("deletionTimestamp"):
        raise status.conflict(
            "", "pods/binding", name, f"pod {name} is being deleted, cannot be assigned to a host"
        )
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        raise status.conflict("", "pods/binding", name, f'pod {name} is already assigned to node "{node}"')
    new = deep_copy(pod)
    new.setdefault("spec", {})["nodeName"] = target["name"]
    conditions = [
        c for c in (new.setdefault("status", {}).get("conditions") or ()) if c.get("type") != "PodScheduled"
    ]
    conditions.append(
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}
    )
    new["status"]["conditions"] = conditions
    await reg.store.put(rt.key, new, created=False)


def scale_of(reg: Registry, rt: ResourceType, obj: Obj) -> Obj:
    meta = obj["metadata"]
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {
            "replicas": st.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


async def set_scale(reg: Registry, rt: ResourceType, namespace: str, name: str, scale: Obj) -> Obj:
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise status.invalid(
            "autoscaling",
            "Scale",
            name,
            [status.field_invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
        )
    obj = reg.get(rt, namespace, name)
    rv = ((scale.get("metadata") or {}).get("resourceVersion")) or ""
    if rv and rv != obj["metadata"]["resourceVersion"]:
        raise status.stale(rt.group, rt.plural, name)
    new = deep_copy(obj)
    new.setdefault("spec", {})["replicas"] = replicas
    stored = await reg.update(rt, namespace, name, new)
    return scale_of(reg, rt, stored)
