"""Deployment -> ReplicaSets, as a pure plan: the new ReplicaSet to create, the scales, the status.

The new ReplicaSet is the one whose ``pod-template-hash`` is the hash of the Deployment's
pod template. A rolling update moves replicas from the old ReplicaSets to the new one within
``maxSurge`` (pods above the desired count) and ``maxUnavailable`` (pods below it that may
be unavailable); ``Recreate`` scales the old ones to zero before the new one starts.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyroclast.sandbox.controllers.objects import (
    is_controlled_by,
    meta,
    name,
    namespace,
    owner_reference,
    set_condition,
)
from pyroclast.sandbox.timeutil import format_time

HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DESIRED_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_ANNOTATION = "deployment.kubernetes.io/max-replicas"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class DeploymentPlan:
    create: dict[str, Any] | None = None
    scale: dict[str, int] = field(default_factory=dict)  # ReplicaSet name -> spec.replicas
    delete: list[str] = field(default_factory=list)  # old ReplicaSets beyond the history limit
    status: dict[str, Any] | None = None


def template_hash(template: Mapping[str, Any]) -> str:
    """A short, stable name for a pod template (FNV-1a, encoded as Kubernetes encodes it)."""
    clean = copy.deepcopy(dict(template))
    labels = (clean.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    data = json.dumps(clean, sort_keys=True, separators=(",", ":")).encode()
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(value))


def _int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.endswith("%"):
        try:
            fraction = float(value[:-1]) / 100 * total
        except ValueError:
            return 0
        return math.ceil(fraction) if round_up else math.floor(fraction)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def surge_and_unavailable(deploy: Mapping[str, Any]) -> tuple[int, int]:
    spec = deploy.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = _int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = _int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def new_replicaset(deploy: Mapping[str, Any], pod_hash: str, replicas: int, revision: int) -> dict[str, Any]:
    spec = deploy.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    template.setdefault("metadata", {})
    template["metadata"]["labels"] = {**(template["metadata"].get("labels") or {}), HASH_LABEL: pod_hash}
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    surge, _ = surge_and_unavailable(deploy)
    desired = int(spec.get("replicas", 1))
    rs_spec: dict[str, Any] = {"replicas": replicas, "selector": selector, "template": template}
    if spec.get("minReadySeconds"):
        rs_spec["minReadySeconds"] = spec["minReadySeconds"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{name(deploy)}-{pod_hash}",
            "namespace": namespace(deploy),
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {
                REVISION_ANNOTATION: str(revision),
                DESIRED_ANNOTATION: str(desired),
                MAX_ANNOTATION: str(desired + surge),
            },
            "ownerReferences": [owner_reference(deploy, "apps/v1", "Deployment")],
        },
        "spec": rs_spec,
    }


def _replicas(rs: Mapping[str, Any]) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def _status(rs: Mapping[str, Any], key: str) -> int:
    return int((rs.get("status") or {}).get(key) or 0)


def _revision(rs: Mapping[str, Any]) -> int:
    try:
        return int((meta(rs).get("annotations") or {}).get(REVISION_ANNOTATION) or 0)
    except ValueError:
        return 0


def plan_deployment(
    deploy: Mapping[str, Any], replicasets: Sequence[Mapping[str, Any]], now: datetime
) -> DeploymentPlan:
    spec = deploy.get("spec") or {}
    desired = int(spec.get("replicas", 1))
    owned = [rs for rs in replicasets if is_controlled_by(rs, deploy)]
    pod_hash = template_hash(spec.get("template") or {})
    new = next((rs for rs in owned if (meta(rs).get("labels") or {}).get(HASH_LABEL) == pod_hash), None)
    old = sorted((rs for rs in owned if rs is not new), key=_revision)
    surge, max_unavailable = surge_and_unavailable(deploy)
    recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
    scale: dict[str, int] = {}
    create: dict[str, Any] | None = None
    if meta(deploy).get("deletionTimestamp") or spec.get("paused"):
        return DeploymentPlan(
            status=_deployment_status(deploy, new, owned, max_unavailable, now, created=False)
        )

    old_active = [rs for rs in old if _replicas(rs) > 0 or _status(rs, "replicas") > 0]
    if new is None:
        if recreate:
            start = 0 if old_active else desired
        else:
            total = sum(_replicas(rs) for rs in owned)
            start = desired if not old_active else max(0, min(desired, desired + surge - total))
        revision = max((_revision(rs) for rs in owned), default=0) + 1
        create = new_replicaset(deploy, pod_hash, start, revision)
        for rs in old_active if recreate else []:
            if _replicas(rs) > 0:
                scale[name(rs)] = 0
        return DeploymentPlan(
            create=create,
            scale=scale,
            status=_deployment_status(deploy, create, owned, max_unavailable, now, created=True),
        )

    if recreate:
        for rs in old_active:
            if _replicas(rs) > 0:
                scale[name(rs)] = 0
        if not any(_status(rs, "replicas") > 0 for rs in old) and _replicas(new) != desired:
            scale[name(new)] = desired
    elif not any(_replicas(rs) > 0 for rs in old):
        if _replicas(new) != desired:
            scale[name(new)] = desired
    else:
        # Scale the new ReplicaSet up within the surge...
        total = sum(_replicas(rs) for rs in owned)
        target = _replicas(new)
        if target > desired:
            target = desired
        elif total < desired + surge:
            target = min(desired, target + desired + surge - total)
        if target != _replicas(new):
            scale[name(new)] = target
        # ...and the old ones down, as far as availability allows; unavailable old pods go first.
        available = sum(_status(rs, "availableReplicas") for rs in owned)
        budget = max(0, available - (desired - max_unavailable))
        for rs in old:
            replicas = _replicas(rs)
            if replicas == 0:
                continue
            unhealthy = max(0, replicas - _status(rs, "availableReplicas"))
            drop = min(replicas, unhealthy + budget)
            budget -= max(0, drop - unhealthy)
            if drop:
                scale[name(rs)] = replicas - drop
    delete = _beyond_history(deploy, old, scale)
    return DeploymentPlan(
        scale=scale,
        delete=delete,
        status=_deployment_status(deploy, new, owned, max_unavailable, now, created=False),
    )


def _beyond_history(
    deploy: Mapping[str, Any], old: list[Mapping[str, Any]], scale: dict[str, int]
) -> list[str]:
    limit = int((deploy.get("spec") or {}).get("revisionHistoryLimit", 10))
    idle = [rs for rs in old if _replicas(rs) == 0 and _status(rs, "replicas") == 0 and name(rs) not in scale]
    return [name(rs) for rs in idle[: max(0, len(idle) - limit)]]


def _deployment_status(
    deploy: Mapping[str, Any],
    new: Mapping[str, Any] | None,
    owned: Sequence[Mapping[str, Any]],
    max_unavailable: int,
    now: datetime,
    *,
    created: bool,
) -> dict[str, Any] | None:
    spec = deploy.get("spec") or {}
    desired = int(spec.get("replicas", 1))
    old_status = dict(deploy.get("status") or {})
    stamp = format_time(now)
    replicas = sum(_status(rs, "replicas") for rs in owned)
    available = sum(_status(rs, "availableReplicas") for rs in owned)
    updated = _status(new, "replicas") if new is not None and not created else 0
    status: dict[str, Any] = {
        **old_status,
        "observedGeneration": int(meta(deploy).get("generation") or 1),
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": sum(_status(rs, "readyReplicas") for rs in owned),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(_replicas(rs) for rs in owned) - available),
    }
    conditions = list(old_status.get("conditions") or [])
    if available >= desired - max_unavailable:
        available_condition = {
            "type": "Available",
            "status": "True",
            "reason": "MinimumReplicasAvailable",
            "message": "Deployment has minimum availability.",
        }
    else:
        available_condition = {
            "type": "Available",
            "status": "False",
            "reason": "MinimumReplicasUnavailable",
            "message": "Deployment does not have minimum availability.",
        }
    conditions = set_condition(conditions, available_condition, stamp, touch_update=True)
    rs_name = name(new) if new is not None else ""
    complete = (
        new is not None
        and not created
        and updated == desired
        and replicas == desired
        and available == desired
        and _replicas(new) == desired
    )
    if created:
        progressing = {"reason": "NewReplicaSetCreated", "message": f'Created new replica set "{rs_name}"'}
    elif complete:
        progressing = {
            "reason": "NewReplicaSetAvailable",
            "message": f'ReplicaSet "{rs_name}" has successfully progressed.',
        }
    else:
        progressing = {"reason": "ReplicaSetUpdated", "message": f'ReplicaSet "{rs_name}" is progressing.'}
    conditions = set_condition(
        conditions, {"type": "Progressing", "status": "True", **progressing}, stamp, touch_update=True
    )
    status["conditions"] = conditions
    if status == old_status:
        return None
    return status
