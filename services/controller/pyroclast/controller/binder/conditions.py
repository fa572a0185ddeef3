"""Conditions the binder writes.

* PodGroup conditions are merged by type (:func:`merge_conditions`): a condition whose
  status did not change keeps its transition time.
* A pending pod of an unschedulable gang gets ``PodScheduled=False`` with the reason and
  message of the explanation and a ``FailedScheduling`` event, written only when the
  condition changes, as Volcano's ``taskUnschedulable`` does
  (:func:`write_pod_unschedulable`). The write is guarded by the listed resourceVersion: a
  conflict means the pod changed, and it is left to the next status decision.
* :func:`being_bound` tells a pod of a gang a later session is placing right now.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyroclast.common.logging import get_logger
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.controller.binder.api import ApiFailure, BinderApi, Obj, meta_of, ref_of
from pyroclast.controller.binder.events import BinderEvents

__all__ = ["being_bound", "merge_conditions", "write_pod_unschedulable"]

log = get_logger(__name__)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(current: list[Obj], new: list[PodGroupCondition]) -> list[Obj]:
    """``current`` with each of ``new`` replacing the condition of its type (appended when
    absent); a condition whose status is unchanged keeps its ``lastTransitionTime``."""
    merged = [dict(c) for c in current]
    for cond in new:
        wire: Obj = {
            "type": cond.type,
            "status": cond.status,
            "transitionID": cond.transition_id,
            "lastTransitionTime": cond.last_transition_time or _now(),
            "reason": cond.reason,
            "message": cond.message,
        }
        wire = {k: v for k, v in wire.items() if v not in (None, "")}
        for i, old in enumerate(merged):
            if old.get("type") == cond.type:
                if old.get("status") == cond.status and old.get("lastTransitionTime"):
                    wire["lastTransitionTime"] = old["lastTransitionTime"]
                merged[i] = wire
                break
        else:
            merged.append(wire)
    return merged


async def write_pod_unschedulable(
    api: BinderApi, events: BinderEvents, pod: Obj, reason: str, message: str
) -> bool:
    """``PodScheduled=False`` with ``reason`` and ``message``, written only when it
    changes (guarded by the listed resourceVersion: a conflict means the pod changed,
    and the pod is left to the next status decision), then a ``FailedScheduling`` event.
    False on a conflict."""
    status = pod.setdefault("status", {})
    conditions: list[Obj] = list(status.get("conditions") or [])
    old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
    if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (
        "False",
        reason,
        message,
    ):
        return True
    cond: Obj = {"type": "PodScheduled", "status": "False", "reason": reason, "message": message}
    cond["lastTransitionTime"] = (
        old["lastTransitionTime"]
        if old is not None and old.get("status") == "False" and old.get("lastTransitionTime")
        else _now()
    )
    status["conditions"] = [c for c in conditions if c.get("type") != "PodScheduled"] + [cond]
    try:
        await api.replace_pod_status(pod)
    except ApiFailure as err:
        # A newer pod version or a pod gone: the next status decision carries the state.
        log.info("pod condition not written", key=ref_of(pod), error=str(err))
        return err.status != 409
    events.record(pod, "Warning", "FailedScheduling", message)
    return True


def being_bound(pod: Obj) -> bool:
    """Just bound (``PodScheduled=True``) and not started yet: a pod of a gang being
    placed right now."""
    status = pod.get("status") or {}
    if not (pod.get("spec") or {}).get("nodeName") or meta_of(pod).get("deletionTimestamp"):
        return False
    if status.get("phase", "Pending") != "Pending":
        return False
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "True" for c in status.get("conditions") or []
    )
