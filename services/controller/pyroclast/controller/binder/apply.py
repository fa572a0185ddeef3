"""How each scheduler decision is carried out against the API server.

* bind: ``pods/binding``. A pod already on the decided node is done; a pod gone,
  recreated, being deleted or bound elsewhere is a permanent failure. Then the
  ``Scheduled`` event, as Volcano's cache records it.
* evict: ``pods/eviction`` after the ``Evict`` event; a pod already gone is done.
* podgroup status: PodGroup has no status subresource in Volcano's CRD, so the main
  resource is patched (guarded by its resourceVersion). Conditions are merged by type
  (a condition whose status did not change keeps its transition time). When the podgroup
  is left unschedulable, its pending pods get ``PodScheduled=False`` with the
  explanation's reason and message and a ``FailedScheduling`` event, written only when the
  condition changes, as Volcano's ``taskUnschedulable`` does; the podgroup gets an
  ``Unschedulable`` event, or ``Scheduled`` once it is no longer waiting. (Volcano records
  these every session; here they follow the status decisions, sent when the status changes.)

Anything else that fails (timeouts, 5xx, 429, a conflict) raises, so the decision is
delivered again later.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pyroclast.common.bus.decisions import PermanentDecisionError
from pyroclast.common.bus.messages import (
    BindDecision,
    Decision,
    EvictDecision,
    ExplanationRecord,
    PodGroupStatusDecision,
)
from pyroclast.common.logging import get_logger
from pyroclast.common.models.scheduling import PodGroupCondition

__all__ = [
    "GROUP_NAME_ANNOTATION",
    "UNSCHEDULABLE_PHASES",
    "ApiFailure",
    "Applier",
    "BinderApi",
    "ExplanationSource",
    "merge_conditions",
]

log = get_logger(__name__)

Obj = dict[str, Any]
GROUP_NAME_ANNOTATION = "scheduling.k8s.io/group-name"
UNSCHEDULABLE_PHASES = frozenset({"Pending", "Inqueue", "Unknown"})
COMPONENT = "volcano"
POD_REASON_UNSCHEDULABLE = "Unschedulable"


class ApiFailure(Exception):
    """An API call the server refused: HTTP status, Status reason and message."""

    def __init__(self, status: int, reason: str = "", message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.message = message


class BinderApi(Protocol):
    """The few API calls the binder makes (raw JSON objects; ``ApiFailure`` on errors)."""

    async def get_pod(self, namespace: str, name: str) -> Obj | None: ...
    async def bind_pod(self, namespace: str, name: str, uid: str, node: str) -> None: ...
    async def evict_pod(self, namespace: str, name: str, uid: str) -> None: ...
    async def list_pods(self, namespace: str) -> list[Obj]: ...
    async def replace_pod_status(self, pod: Obj) -> None: ...
    async def get_podgroup(self, namespace: str, name: str) -> Obj | None: ...
    async def patch_podgroup(self, namespace: str, name: str, patch: Obj) -> None: ...
    async def create_event(self, namespace: str, event: Obj) -> None: ...


ExplanationSource = Callable[[str, str], Awaitable[ExplanationRecord | None]]
"""The explanation the scheduler wrote for podgroup ``(namespace, name)``, if any."""


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


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


class Applier:
    """Applies decisions through a :class:`BinderApi`; the decision consumer's handler."""

    def __init__(
        self,
        api: BinderApi,
        *,
        explanations: ExplanationSource | None = None,
        component: str = COMPONENT,
    ) -> None:
        self.api = api
        self.explanations = explanations
        self.component = component

    async def __call__(self, decision: Decision) -> None:
        if isinstance(decision, BindDecision):
            await self.bind(decision)
        elif isinstance(decision, EvictDecision):
            await self.evict(decision)
        else:
            await self.podgroup_status(decision)

    # -- bind -------------------------------------------------------------------------
    async def bind(self, d: BindDecision) -> None:
        logger = log.bind(key=f"{d.namespace}/{d.name}", node=d.node_name, decision=d.id)
        pod = await self.api.get_pod(d.namespace, d.name)
        if self._bound(pod, d):
            logger.info("pod already bound to the node")
            return
        try:
            await self.api.bind_pod(d.namespace, d.name, d.uid, d.node_name)
        except ApiFailure as err:
            if err.status not in (404, 409):
                raise
            # Conflict or gone: look again, maybe an earlier attempt of ours went through.
            pod = await self.api.get_pod(d.namespace, d.name)
            if self._bound(pod, d):
                logger.info("pod already bound to the node")
                return
            raise PermanentDecisionError(f"cannot bind {d.namespace}/{d.name}: {err}") from err
        logger.info("pod bound")
        await self._event(
            pod or {"metadata": {"namespace": d.namespace, "name": d.name, "uid": d.uid}},
            "Normal",
            "Scheduled",
            f"Successfully assigned {d.namespace}/{d.name} to {d.node_name}",
        )

    def _bound(self, pod: Obj | None, d: BindDecision) -> bool:
        """True if done; raises PermanentDecisionError if it can never be done."""
        ref = f"{d.namespace}/{d.name}"
        if pod is None:
            raise PermanentDecisionError(f"pod {ref} not found")
        meta = _meta(pod)
        if d.uid and meta.get("uid") and meta["uid"] != d.uid:
            raise PermanentDecisionError(f"pod {ref} was recreated (uid {meta['uid']}, decided for {d.uid})")
        node = (pod.get("spec") or {}).get("nodeName") or ""
        if node == d.node_name:
            return True
        if node:
            raise PermanentDecisionError(f"pod {ref} is already bound to node {node}")
        if meta.get("deletionTimestamp"):
            raise PermanentDecisionError(f"pod {ref} is being deleted")
        return False

    # -- evict ------------------------------------------------------------------------
    async def evict(self, d: EvictDecision) -> None:
        logger = log.bind(key=f"{d.namespace}/{d.name}", decision=d.id)
        pod = await self.api.get_pod(d.namespace, d.name)
        if pod is None or (d.uid and _meta(pod).get("uid") not in (None, d.uid)):
            logger.info("pod to evict is already gone")
            return
        if _meta(pod).get("deletionTimestamp"):
            logger.info("pod to evict is already terminating")
            return
        await self._event(pod, "Warning", "Evict", f"Pod is evicted, because of {d.reason or d.message}")
        try:
            await self.api.evict_pod(d.namespace, d.name, d.uid)
        except ApiFailure as err:
            if err.status == 404:
                return
            if err.status == 409 and d.uid:  # uid precondition: a new pod of that name
                raise PermanentDecisionError(f"pod {d.namespace}/{d.name}: {err}") from err
            raise
        logger.info("pod evicted", reason=d.reason)

    # -- podgroup status --------------------------------------------------------------
    async def podgroup_status(self, d: PodGroupStatusDecision) -> None:
        ref = f"{d.namespace}/{d.name}"
        logger = log.bind(key=ref, decision=d.id, phase=d.phase)
        pg = await self.api.get_podgroup(d.namespace, d.name)
        if pg is None or (d.uid and _meta(pg).get("uid") not in (None, d.uid)):
            logger.info("podgroup gone; status dropped")
            return
        status = pg.get("status") or {}
        conditions = merge_conditions(list(status.get("conditions") or []), d.conditions)
        patch: Obj = {
            "metadata": {"resourceVersion": _meta(pg).get("resourceVersion")},
            "status": {
                "phase": d.phase,
                "conditions": conditions,
                "running": d.running,
                "succeeded": d.succeeded,
                "failed": d.failed,
            },
        }
        if patch["metadata"]["resourceVersion"] is None:
            del patch["metadata"]
        try:
            await self.api.patch_podgroup(d.namespace, d.name, patch)
        except ApiFailure as err:
            if err.status == 404:
                logger.info("podgroup gone; status dropped")
                return
            raise
        logger.info("podgroup status written")
        if d.phase in UNSCHEDULABLE_PHASES:
            await self._pods_unschedulable(d, pg)
        else:
            await self._event(pg, "Normal", "Scheduled", "pod group is ready", kind="PodGroup")

    async def _pods_unschedulable(self, d: PodGroupStatusDecision, pg: Obj) -> None:
        explanation = None
        if self.explanations is not None:
            try:
                explanation = await self.explanations(d.namespace, d.name)
            except Exception as err:  # the condition is still worth writing
                log.warning("explanation not read", key=f"{d.namespace}/{d.name}", error=repr(err))
        unsched = next((c for c in d.conditions if c.type == "Unschedulable" and c.status == "True"), None)
        if explanation is None and unsched is None:
            return
        base = (explanation.message if explanation else "") or (unsched.message if unsched else "") or ""
        await self._event(pg, "Warning", "Unschedulable", base, kind="PodGroup")
        for pod in await self.api.list_pods(d.namespace):
            meta = _meta(pod)
            if (meta.get("annotations") or {}).get(GROUP_NAME_ANNOTATION) != d.name:
                continue
            if (pod.get("spec") or {}).get("nodeName") or meta.get("deletionTimestamp"):
                continue
            if (pod.get("status") or {}).get("phase", "Pending") != "Pending":
                continue
            reason, message = POD_REASON_UNSCHEDULABLE, base
            task_reason = explanation.task_reasons.get(meta.get("name", "")) if explanation else None
            if task_reason:
                head, sep, tail = task_reason.partition(": ")
                reason, message = (head, tail) if sep else (reason, task_reason)
            await self._pod_unschedulable(pod, reason, message)

    async def _pod_unschedulable(self, pod: Obj, reason: str, message: str) -> None:
        status = pod.setdefault("status", {})
        conditions: list[Obj] = list(status.get("conditions") or [])
        old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (
            "False",
            reason,
            message,
        ):
            return
        cond: Obj = {"type": "PodScheduled", "status": "False", "reason": reason, "message": message}
        cond["lastTransitionTime"] = (
            old["lastTransitionTime"]
            if old is not None and old.get("status") == "False" and old.get("lastTransitionTime")
            else _now()
        )
        status["conditions"] = [c for c in conditions if c.get("type") != "PodScheduled"] + [cond]
        await self._event(pod, "Warning", "FailedScheduling", message)
        try:
            await self.api.replace_pod_status(pod)
        except ApiFailure as err:
            # A newer pod version or a pod gone: the next status decision tries again.
            log.info("pod condition not written", key=_ref(pod), error=str(err))

    # -- events -----------------------------------------------------------------------
    async def _event(self, obj: Obj, event_type: str, reason: str, message: str, kind: str = "Pod") -> None:
        """Record an Event about ``obj`` (best effort: a failure is logged)."""
        meta = _meta(obj)
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        now = _now()
        involved: Obj = {"kind": kind, "namespace": namespace, "name": name}
        involved["apiVersion"] = "v1" if kind == "Pod" else "scheduling.volcano.sh/v1beta1"
        if meta.get("uid"):
            involved["uid"] = meta["uid"]
        if meta.get("resourceVersion"):
            involved["resourceVersion"] = meta["resourceVersion"]
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.api.create_event(namespace, event)
        except Exception as err:
            log.warning("event not recorded", key=f"{namespace}/{name}", reason=reason, error=repr(err))


def _ref(obj: Obj) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
