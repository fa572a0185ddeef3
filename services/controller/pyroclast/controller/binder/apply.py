"""How each scheduler decision is carried out against the API server.

* bind: one ``pods/binding`` call. Only when the server refuses it (conflict, not found,
  invalid) is the pod read to decide: already on the decided node is done; gone,
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
  Only the gang's pods are listed (by the ``volcano.sh/job-name`` label of the job owning
  the podgroup, else the whole namespace), and a pod whose write conflicts is skipped: it
  changed, and the next status decision carries the state. When some of the gang's pods
  are bound but not started, a later session is placing the gang: the decision is stale
  for the pods and their conditions are left alone. When a later status decision of the
  same podgroup is already waiting, the pod conditions are left to it; should that one fail
  before its status is written (and no other wait behind it), it writes the conditions left
  to it before raising, so the pods still match the podgroup's status.

Events never hold a decision up: they are queued to an
:class:`~pyroclast.controller.jobs.recorder.EventAggregator` (written in the background,
repeats counted into one Event); :meth:`Applier.run` writes them.

Anything else that fails (timeouts, 5xx, 429, a conflict) raises, so the decision is
delivered again later.
"""

from __future__ import annotations

import asyncio
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
from pyroclast.controller.jobs.recorder import EventAggregator, EventKey

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
JOB_NAME_LABEL = "volcano.sh/job-name"
JOB_API_GROUP = "batch.volcano.sh/"
CONDITION_WRITES = 16
"""Pod conditions of one gang written at once."""
BIND_REFUSALS = frozenset({400, 404, 409, 422})
"""Statuses of a refused binding after which the pod is read to decide."""


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
    async def list_pods(self, namespace: str, label_selector: str = "") -> list[Obj]: ...
    async def replace_pod_status(self, pod: Obj) -> None: ...
    async def get_podgroup(self, namespace: str, name: str) -> Obj | None: ...
    async def patch_podgroup(self, namespace: str, name: str, patch: Obj) -> None: ...
    async def create_event(self, namespace: str, event: Obj) -> None: ...
    async def patch_event(self, namespace: str, name: str, patch: Obj) -> None: ...


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
        event_workers: int = 4,
    ) -> None:
        self.api = api
        self.explanations = explanations
        self.component = component
        self.events = EventAggregator(self._create_event, self._bump_event, workers=event_workers)
        self._podgroup_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._left: dict[str, tuple[PodGroupStatusDecision, Obj]] = {}
        """By podgroup: the decision (and podgroup read) whose pod conditions were left to
        the next status decision of that podgroup."""

    async def run(self, stop: asyncio.Event) -> None:
        """Write the queued events until ``stop`` is set and the queue is empty."""
        await self.events.run(stop)

    async def flush(self) -> None:
        """Write every queued event now."""
        await self.events.flush()

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
        try:
            await self.api.bind_pod(d.namespace, d.name, d.uid, d.node_name)
        except ApiFailure as err:
            if err.status not in BIND_REFUSALS:
                raise
            # Refused: look at the pod, maybe an earlier attempt of ours went through.
            pod = await self.api.get_pod(d.namespace, d.name)
            if self._bound(pod, d):
                logger.info("pod already bound to the node")
                return
            raise PermanentDecisionError(f"cannot bind {d.namespace}/{d.name}: {err}") from err
        logger.info("pod bound")
        self._event(
            {"metadata": {"namespace": d.namespace, "name": d.name, "uid": d.uid}},
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
        self._event(pod, "Warning", "Evict", f"Pod is evicted, because of {d.reason or d.message}")
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
        """One podgroup's status decisions are applied one at a time, in the order they
        came: concurrent ones would only conflict with each other."""
        ref = f"{d.namespace}/{d.name}"
        lock, users = self._podgroup_locks.get(ref) or (asyncio.Lock(), 0)
        self._podgroup_locks[ref] = (lock, users + 1)
        try:
            async with lock:
                await self._podgroup_status(d, ref)
        finally:
            lock, users = self._podgroup_locks[ref]
            if users > 1:
                self._podgroup_locks[ref] = (lock, users - 1)
            else:
                del self._podgroup_locks[ref]
                self._left.pop(ref, None)

    def _waiting(self, ref: str) -> bool:
        """Whether a later status decision of podgroup ``ref`` waits for the one applied."""
        return self._podgroup_locks[ref][1] > 1

    async def _podgroup_status(self, d: PodGroupStatusDecision, ref: str) -> None:
        left = self._left.pop(ref, None)
        try:
            pg = await self._write_status(d, ref)
        except Exception:
            if left is not None:
                await self._write_left(ref, left)
            raise
        if pg is None:
            return
        if d.phase in UNSCHEDULABLE_PHASES:
            if self._waiting(ref):
                # A later status decision of the podgroup is waiting: its pod conditions are
                # the current ones, those of this one would only be overwritten.
                log.info(
                    "pod conditions left to the next status decision", key=ref, decision=d.id, phase=d.phase
                )
                self._left[ref] = (d, pg)
                return
            await self._pods_unschedulable(d, pg)
        else:
            self._event(pg, "Normal", "Scheduled", "pod group is ready", kind="PodGroup")

    async def _write_left(self, ref: str, left: tuple[PodGroupStatusDecision, Obj]) -> None:
        """The pod conditions an earlier decision left to one that failed before writing its
        status: still the current ones, unless yet another decision waits to take them over."""
        if self._waiting(ref):
            self._left[ref] = left
            return
        d, pg = left
        log.info("writing the pod conditions left by an earlier decision", key=ref, decision=d.id)
        try:
            await self._pods_unschedulable(d, pg)
        except Exception as err:  # the failure of the decision in hand is the one to report
            log.warning("pod conditions not written", key=ref, decision=d.id, error=repr(err))

    async def _write_status(self, d: PodGroupStatusDecision, ref: str) -> Obj | None:
        """Patch the podgroup's status; the podgroup as read, None when it is gone."""
        logger = log.bind(key=ref, decision=d.id, phase=d.phase)
        pg = await self.api.get_podgroup(d.namespace, d.name)
        if pg is None or (d.uid and _meta(pg).get("uid") not in (None, d.uid)):
            logger.info("podgroup gone; status dropped")
            return None
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
                return None
            raise
        logger.info("podgroup status written")
        return pg

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
        self._event(pg, "Warning", "Unschedulable", base, kind="PodGroup")
        gang = [
            pod
            for pod in await self._gang_pods(d, pg)
            if (_meta(pod).get("annotations") or {}).get(GROUP_NAME_ANNOTATION) == d.name
        ]
        if any(_being_bound(pod) for pod in gang):
            # A later session is binding the gang: the decision is stale for its pods.
            log.info("gang being bound; pod conditions left", key=f"{d.namespace}/{d.name}", decision=d.id)
            return
        writes: list[tuple[Obj, str, str]] = []
        for pod in gang:
            meta = _meta(pod)
            if (pod.get("spec") or {}).get("nodeName") or meta.get("deletionTimestamp"):
                continue
            if (pod.get("status") or {}).get("phase", "Pending") != "Pending":
                continue
            reason, message = POD_REASON_UNSCHEDULABLE, base
            task_reason = explanation.task_reasons.get(meta.get("name", "")) if explanation else None
            if task_reason:
                head, sep, tail = task_reason.partition(": ")
                reason, message = (head, tail) if sep else (reason, task_reason)
            writes.append((pod, reason, message))
        semaphore = asyncio.Semaphore(CONDITION_WRITES)
        placing = False

        async def write(pod: Obj, reason: str, message: str) -> None:
            nonlocal placing
            async with semaphore:
                if placing or await self._pod_unschedulable(pod, reason, message):
                    return
                # The pod changed: if a later session bound it, the gang is being placed
                # and the rest of the decision is stale too.
                meta = _meta(pod)
                try:
                    fresh = await self.api.get_pod(meta.get("namespace", ""), meta.get("name", ""))
                except ApiFailure:
                    return
                if fresh is not None and _being_bound(fresh) and not placing:
                    placing = True
                    log.info("gang being bound; pod conditions left", key=_ref(pod))

        await asyncio.gather(*(write(*w) for w in writes))

    async def _gang_pods(self, d: PodGroupStatusDecision, pg: Obj) -> list[Obj]:
        """The pods that may belong to the gang: those of the job owning the podgroup (by
        label), else every pod of the namespace."""
        for ref in _meta(pg).get("ownerReferences") or []:
            api_version = str(ref.get("apiVersion", ""))
            if ref.get("kind") == "Job" and api_version.startswith(JOB_API_GROUP) and ref.get("name"):
                return await self.api.list_pods(d.namespace, f"{JOB_NAME_LABEL}={ref['name']}")
        return await self.api.list_pods(d.namespace)

    async def _pod_unschedulable(self, pod: Obj, reason: str, message: str) -> bool:
        """``PodScheduled=False`` with ``reason`` and ``message``, written only when it
        changes (guarded by the listed resourceVersion: a conflict means the pod changed,
        and the pod is left to the next status decision). False on a conflict."""
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
            await self.api.replace_pod_status(pod)
        except ApiFailure as err:
            # A newer pod version or a pod gone: the next status decision carries the state.
            log.info("pod condition not written", key=_ref(pod), error=str(err))
            return err.status != 409
        self._event(pod, "Warning", "FailedScheduling", message)
        return True

    # -- events -----------------------------------------------------------------------
    def _event(self, obj: Obj, event_type: str, reason: str, message: str, kind: str = "Pod") -> None:
        """Queue an Event about ``obj`` (written in the background; a failure is logged)."""
        meta = _meta(obj)
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        involved: Obj = {"kind": kind, "namespace": namespace, "name": name}
        involved["apiVersion"] = "v1" if kind == "Pod" else "scheduling.volcano.sh/v1beta1"
        if meta.get("uid"):
            involved["uid"] = meta["uid"]
        if meta.get("resourceVersion"):
            involved["resourceVersion"] = meta["resourceVersion"]
        key = EventKey(namespace, kind, name, meta.get("uid") or "", event_type, reason, message)
        self.events.record(key, involved)

    async def _create_event(
        self, key: EventKey, involved: Obj, name: str, count: int, first: str, last: str
    ) -> None:
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": key.namespace},
            "involvedObject": involved,
            "reason": key.reason,
            "message": key.message,
            "type": key.type,
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "firstTimestamp": first,
            "lastTimestamp": last,
            "count": count,
        }
        await self.api.create_event(key.namespace, event)

    async def _bump_event(self, key: EventKey, name: str, count: int, last: str) -> bool:
        try:
            await self.api.patch_event(key.namespace, name, {"count": count, "lastTimestamp": last})
        except ApiFailure as err:
            if err.status == 404:
                return False
            raise
        return True


def _being_bound(pod: Obj) -> bool:
    """Just bound (``PodScheduled=True``) and not started yet: a pod of a gang being
    placed right now."""
    status = pod.get("status") or {}
    if not (pod.get("spec") or {}).get("nodeName") or _meta(pod).get("deletionTimestamp"):
        return False
    if status.get("phase", "Pending") != "Pending":
        return False
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _ref(obj: Obj) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
