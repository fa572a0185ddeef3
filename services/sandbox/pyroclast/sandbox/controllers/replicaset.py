"""ReplicaSet -> Pods, as a pure plan: how many pods to create, which to delete, the status.

Level-based: the plan depends only on the ReplicaSet and the pods it controls now, so running
it twice on the same state asks for nothing new.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pyroclast.sandbox.controllers.objects import (
    is_active,
    is_controlled_by,
    is_ready,
    matches_selector,
    meta,
    name,
    namespace,
    owner_reference,
    ready_since,
)

# At most this many pods are created or deleted per pass (the real controller's burst).
BURST = 500


@dataclass(frozen=True)
class ReplicaSetPlan:
    create: int = 0
    delete: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] | None = None
    # When to look again although nothing changed (minReadySeconds elapsing).
    recheck_after: float | None = None


def plan_replicaset(
    rs: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime
) -> ReplicaSetPlan:
    spec = rs.get("spec") or {}
    wanted = int(spec.get("replicas", 1))
    owned = [p for p in pods if is_controlled_by(p, rs)]
    active = [p for p in owned if is_active(p)]
    create = 0
    delete: list[dict[str, Any]] = []
    if not meta(rs).get("deletionTimestamp"):
        if len(active) < wanted:
            create = min(wanted - len(active), BURST)
        elif len(active) > wanted:
            delete = [dict(p) for p in deletion_order(active)[: min(len(active) - wanted, BURST)]]
    min_ready = int(spec.get("minReadySeconds") or 0)
    counts, recheck = replicaset_status(rs, active, now, min_ready)
    old = dict(rs.get("status") or {})
    status = {**old, **counts}
    return ReplicaSetPlan(
        create=create, delete=delete, status=None if status == old else status, recheck_after=recheck
    )


def replicaset_status(
    rs: Mapping[str, Any], active: Sequence[Mapping[str, Any]], now: datetime, min_ready_seconds: int
) -> tuple[dict[str, Any], float | None]:
    template_labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    ready = [p for p in active if is_ready(p)]
    available = 0
    recheck: float | None = None
    for pod in ready:
        since = ready_since(pod)
        if min_ready_seconds <= 0 or since is None:
            available += 1
            continue
        due = since + timedelta(seconds=min_ready_seconds)
        if due <= now:
            available += 1
        else:
            wait = (due - now).total_seconds()
            recheck = wait if recheck is None else min(recheck, wait)
    labeled = [
        p for p in active if all(meta(p).get("labels", {}).get(k) == v for k, v in template_labels.items())
    ]
    status: dict[str, Any] = {
        "replicas": len(active),
        "fullyLabeledReplicas": len(labeled),
        "readyReplicas": len(ready),
        "availableReplicas": available,
        "observedGeneration": int(meta(rs).get("generation") or 1),
    }
    return status, recheck


def deletion_order(pods: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The order to delete surplus pods in: unscheduled, then pending, then not ready; newest first."""
    newest_first = sorted(pods, key=lambda p: str(meta(p).get("creationTimestamp") or ""), reverse=True)
    return sorted(newest_first, key=_readiness_rank)


def _readiness_rank(pod: Mapping[str, Any]) -> tuple[int, int, int]:
    phase = (pod.get("status") or {}).get("phase") or "Pending"
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    running = 1 if phase == "Running" else 0
    ready = 1 if is_ready(pod) else 0
    return (scheduled, running, ready)


def pod_from_template(rs: Mapping[str, Any]) -> dict[str, Any]:
    """A new pod for ``rs``: the template, ``generateName: <rs>-``, and the controller reference."""
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    template_meta = template.get("metadata") or {}
    pod_meta: dict[str, Any] = {
        "generateName": f"{name(rs)}-",
        "namespace": namespace(rs),
        "labels": dict(template_meta.get("labels") or {}),
        "ownerReferences": [owner_reference(rs, "apps/v1", "ReplicaSet")],
    }
    if template_meta.get("annotations"):
        pod_meta["annotations"] = dict(template_meta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}}


def selects(rs: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    return matches_selector(meta(pod).get("labels") or {}, (rs.get("spec") or {}).get("selector"))
