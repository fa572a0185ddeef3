"""Small readers over API objects that every sandbox controller uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyroclast.sandbox.timeutil import parse_time

TERMINAL_PHASES = ("Succeeded", "Failed")


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def uid(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("uid") or "")


def name(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def namespace(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def controller_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == uid(owner)


def owner_reference(owner: Mapping[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name(owner),
        "uid": uid(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


def is_active(pod: Mapping[str, Any]) -> bool:
    """Counts toward a ReplicaSet's replicas: not finished and not being deleted."""
    return not is_terminal(pod) and not meta(pod).get("deletionTimestamp")


def condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    ready = condition(pod, "Ready")
    return ready is not None and ready.get("status") == "True"


def ready_since(pod: Mapping[str, Any]) -> Any:
    ready = condition(pod, "Ready")
    return parse_time((ready or {}).get("lastTransitionTime")) if ready else None


def matches_selector(labels: Mapping[str, str], selector: Mapping[str, Any] | None) -> bool:
    """A ``metav1.LabelSelector`` (matchLabels and matchExpressions) against labels.

    An empty or missing selector matches nothing, as for ReplicaSets and Deployments.
    """
    if not selector:
        return False
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expression in expressions:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """A LabelSelector as the ``labelSelector`` query parameter."""
    parts = [f"{key}={value}" for key, value in sorted(((selector or {}).get("matchLabels") or {}).items())]
    for expression in (selector or {}).get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(expression.get("values") or [])
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def set_condition(
    conditions: list[dict[str, Any]], new: dict[str, Any], now: str, *, touch_update: bool = False
) -> list[dict[str, Any]]:
    """Conditions with ``new`` in place; the transition time moves only when the status does."""
    out = [dict(c) for c in conditions if c.get("type") != new.get("type")]
    old = next((c for c in conditions if c.get("type") == new.get("type")), None)
    merged = dict(new)
    same = old is not None and old.get("status") == new.get("status")
    merged["lastTransitionTime"] = old.get("lastTransitionTime", now) if same and old else now
    if touch_update:
        unchanged = same and old is not None and old.get("reason") == new.get("reason")
        merged["lastUpdateTime"] = old.get("lastUpdateTime", now) if unchanged and old else now
    out.append(merged)
    return sorted(out, key=lambda c: str(c.get("type")))
