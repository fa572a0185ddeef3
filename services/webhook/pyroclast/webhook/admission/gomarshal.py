"""Raw task manifests as Volcano's webhook writes them back: Go's ``json.Marshal`` of a TaskSpec.

Go drops fields it does not know and zero values tagged ``omitempty``, always writes struct
fields (``template.metadata``, a container's ``resources``), writes a zero ``metav1.Time`` as
``null`` and every quantity as its canonical string. Only the parts of a pod template where
this shows are rewritten; everything else is kept as given.
"""

from __future__ import annotations

from typing import Any

from pyroclast.common.quantity import QuantityError, parse_quantity

_TASK_FIELDS = (
    "name",
    "replicas",
    "minAvailable",
    "template",
    "policies",
    "topologyPolicy",
    "maxRetry",
    "dependsOn",
    "partitionPolicy",
)
_OMIT_ZERO = {"name": "", "replicas": 0, "topologyPolicy": "", "maxRetry": 0}
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def go_quantity(value: Any) -> Any:
    """A quantity as Go marshals it (canonical string); anything unparsable is kept."""
    try:
        return str(parse_quantity(value))
    except (QuantityError, TypeError, ValueError):
        return value


def _resource_list(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {name: go_quantity(q) for name, q in value.items()}


def _requirements(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key in ("limits", "requests"):
        if key in out:
            out[key] = _resource_list(out[key])
    return out


def _container(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    out.setdefault("name", "")
    out["resources"] = _requirements(out.get("resources") or {})
    return out


def _pod_spec(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    out.setdefault("containers", None)
    for key in _CONTAINER_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_container(c) for c in out[key]]
    if "resources" in out:
        out["resources"] = _requirements(out["resources"])
    if "overhead" in out:
        out["overhead"] = _resource_list(out["overhead"])
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [_volume(v) for v in out["volumes"]]
    return out


def _volume(value: Any) -> Any:
    if (
        isinstance(value, dict)
        and isinstance(value.get("emptyDir"), dict)
        and "sizeLimit" in value["emptyDir"]
    ):
        return {
            **value,
            "emptyDir": {**value["emptyDir"], "sizeLimit": go_quantity(value["emptyDir"]["sizeLimit"])},
        }
    return value


def _template(value: Any) -> Any:
    out = dict(value) if isinstance(value, dict) else {}
    meta = out.get("metadata")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.setdefault("creationTimestamp", None)
    out["metadata"] = meta
    out["spec"] = _pod_spec(out.get("spec") if isinstance(out.get("spec"), dict) else {})
    return out


def go_task(raw: dict[str, Any]) -> dict[str, Any]:
    """A raw task as Go's ``json.Marshal`` of Volcano's ``TaskSpec`` writes it."""
    out: dict[str, Any] = {}
    for key in _TASK_FIELDS:
        if key == "template":
            out[key] = _template(raw.get(key))
        elif key in raw and raw[key] is not None and not (key in _OMIT_ZERO and raw[key] == _OMIT_ZERO[key]):
            out[key] = raw[key]
    return out
