"""Node health from heartbeats, as a pure plan: the node lifecycle controller's job.

A node whose Lease (and status) has not been renewed for the grace period gets its
conditions set to ``Unknown`` (reason ``NodeStatusUnknown``, "Kubelet stopped posting node
status.") and the ``node.kubernetes.io/unreachable`` taints; a node whose kubelet reports
``Ready=False`` gets ``node.kubernetes.io/not-ready``; a ready node loses both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyroclast.sandbox.controllers.objects import condition
from pyroclast.sandbox.timeutil import format_time, parse_time

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
_EFFECTS = ("NoSchedule", "NoExecute")


@dataclass(frozen=True)
class NodeHealthPlan:
    conditions: list[dict[str, Any]] | None = None  # new status.conditions, if they change
    taints: list[dict[str, Any]] | None = None  # new spec.taints, if they change
    recheck_at: datetime | None = None  # when the heartbeat would go stale


def last_heartbeat(node: Mapping[str, Any], lease: Mapping[str, Any] | None) -> datetime | None:
    """The latest sign of life: the Lease's renewTime or the Ready condition's heartbeat."""
    times = []
    if lease is not None:
        renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
        if renewed is not None:
            times.append(renewed)
    ready = condition(node, "Ready")
    if ready is not None:
        beat = parse_time(ready.get("lastHeartbeatTime"))
        if beat is not None:
            times.append(beat)
    created = parse_time((node.get("metadata") or {}).get("creationTimestamp"))
    if not times and created is not None:
        times.append(created)
    return max(times) if times else None


def plan_node_health(
    node: Mapping[str, Any], lease: Mapping[str, Any] | None, now: datetime, grace_seconds: float
) -> NodeHealthPlan:
    conditions: list[dict[str, Any]] = [dict(c) for c in (node.get("status") or {}).get("conditions") or []]
    new_conditions: list[dict[str, Any]] | None = None
    beat = last_heartbeat(node, lease)
    stale_at = beat + timedelta(seconds=grace_seconds) if beat is not None else None
    if stale_at is not None and now >= stale_at:
        if any(c.get("status") != "Unknown" for c in conditions) or not conditions:
            new_conditions = _unknown(conditions, now)
            conditions = new_conditions
        recheck = None
    else:
        recheck = stale_at
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    state = (ready or {}).get("status", "Unknown")
    wanted_key = {"True": None, "False": NOT_READY}.get(state, UNREACHABLE)
    taints = [dict(t) for t in (node.get("spec") or {}).get("taints") or []]
    kept = [t for t in taints if t.get("key") not in (UNREACHABLE, NOT_READY) or t.get("key") == wanted_key]
    if wanted_key is not None:
        for effect in _EFFECTS:
            if not any(t.get("key") == wanted_key and t.get("effect") == effect for t in kept):
                taint: dict[str, Any] = {"key": wanted_key, "effect": effect}
                if effect == "NoExecute":
                    taint["timeAdded"] = format_time(now)
                kept.append(taint)
    return NodeHealthPlan(
        conditions=new_conditions,
        taints=kept if kept != taints else None,
        recheck_at=recheck,
    )


def _unknown(conditions: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    if not any(c.get("type") == "Ready" for c in conditions):
        conditions = [*conditions, {"type": "Ready"}]
    out = []
    for c in conditions:
        changed = c.get("status") != "Unknown"
        out.append(
            {
                **c,
                "status": "Unknown",
                "reason": UNKNOWN_REASON,
                "message": UNKNOWN_MESSAGE,
                "lastTransitionTime": format_time(now) if changed else c.get("lastTransitionTime"),
            }
        )
    return out


@dataclass(frozen=True)
class EvictionPlan:
    evict: list[dict[str, Any]]  # pods to delete now
    recheck_at: datetime | None  # the next tolerationSeconds to run out


def plan_taint_evictions(node: Mapping[str, Any], pods: list[dict[str, Any]], now: datetime) -> EvictionPlan:
    """Pods a node's ``NoExecute`` taints evict, as the taint-eviction controller decides.

    A pod that does not tolerate a NoExecute taint is evicted at once; one that tolerates it
    for ``tolerationSeconds`` is evicted when that time since the taint was added runs out; one
    that tolerates it without a limit stays.
    """
    taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
    evict: list[dict[str, Any]] = []
    recheck: datetime | None = None
    if not taints:
        return EvictionPlan(evict=[], recheck_at=None)
    name = (node.get("metadata") or {}).get("name")
    for pod in pods:
        spec = pod.get("spec") or {}
        if spec.get("nodeName") != name or (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        deadline = _eviction_deadline(taints, spec.get("tolerations") or [], now)
        if deadline is None:
            continue
        if deadline <= now:
            evict.append(pod)
        else:
            recheck = deadline if recheck is None else min(recheck, deadline)
    return EvictionPlan(evict=evict, recheck_at=recheck)


def _eviction_deadline(
    taints: list[dict[str, Any]], tolerations: list[dict[str, Any]], now: datetime
) -> datetime | None:
    deadlines: list[datetime] = []
    for taint in taints:
        matching = [t for t in tolerations if _tolerates(taint, t)]
        if not matching:
            return now
        limits = [t.get("tolerationSeconds") for t in matching]
        if any(limit is None for limit in limits):
            continue
        added = parse_time(taint.get("timeAdded")) or now
        deadlines.append(
            added + timedelta(seconds=max(0, min(int(limit) for limit in limits if limit is not None)))
        )
    return min(deadlines) if deadlines else None


def _tolerates(taint: Mapping[str, Any], toleration: Mapping[str, Any]) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    key = toleration.get("key")
    if toleration.get("operator") == "Exists":
        return not key or key == taint.get("key")
    return bool(
        key == taint.get("key") and str(toleration.get("value") or "") == str(taint.get("value") or "")
    )
