"""How each scheduler decision is carried out against the API server.

* bind: one ``pods/binding`` call. Only when the server refuses it (conflict, not found,
  invalid) is the pod read to decide: already on the decided node is done; gone,
  recreated, being deleted or bound elsewhere is a permanent failure. Then the
  ``Scheduled`` event, as Volcano's cache records it.
* evict: ``pods/eviction`` after the ``Evict`` event; a pod already gone is done.
* podgroup status: PodGroup has no status subresource in Volcano's CRD, so the main
  resource is patched (guarded by its resourceVersion), its conditions merged by type.
  When the podgroup is left unschedulable, its pending pods get ``PodScheduled=False``
  (see :mod:`~pyroclast.controller.binder.conditions`) and the podgroup an
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

Events never hold a decision up: they go through
:class:`~pyroclast.controller.binder.events.BinderEvents`; :meth:`Applier.run` writes them.
The API calls are those of :class:`~pyroclast.controller.binder.api.BinderApi`.

Anything else that fails (timeouts, 5xx, 429, a conflict) raises, so the decision is
delivered again later.
"""

from __future__ import annotations

import asyncio

from pyroclast.common.bus.decisions import PermanentDecisionError
from pyroclast.common.bus.messages import (
    BindDecision,
    Decision,
    EvictDecision,
    PodGroupStatusDecision,
)
from pyroclast.common.logging import get_logger
from pyroclast.controller.binder.api import (
    ApiFailure,
    BinderApi,
    ExplanationSource,
    Obj,
    meta_of,
    ref_of,
)
from pyroclast.controller.binder.conditions import being_bound, merge_conditions, write_pod_unschedulable
from pyroclast.controller.binder.events import COMPONENT, BinderEvents

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

GROUP_NAME_ANNOTATION = "scheduling.k8s.io/group-name"
UNSCHEDULABLE_PHASES = frozenset({"Pending", "Inqueue", "Unknown"})
POD_REASON_UNSCHEDULABLE = "Unschedulable"
JOB_NAME_LABEL = "volcano.sh/job-name"
JOB_API_GROUP = "batch.volcano.sh/"
CONDITION_WRITES = 16
"""Pod conditions of one gang written at once."""
BIND_REFUSALS = frozenset({400, 404, 409, 422})
"""Statuses of a refused binding after which the pod is read to decide."""


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
        self.events = BinderEvents(api, component=component, workers=event_workers)
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
        self.events.record(
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
        meta = meta_of(pod)
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
        if pod is None or (d.uid and meta_of(pod).get("uid") not in (None, d.uid)):
            logger.info("pod to evict is already gone")
            return
        if meta_of(pod).get("deletionTimestamp"):
            logger.info("pod to evict is already terminating")
            return
        self.events.record(pod, "Warning", "Evict", f"Pod is evicted, because of {d.reason or d.message}")
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
            self.events.record(pg, "Normal", "Scheduled", "pod group is ready", kind="PodGroup")

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
        if pg is None or (d.uid and meta_of(pg).get("uid") not in (None, d.uid)):
            logger.info("podgroup gone; status dropped")
            return None
        status = pg.get("status") or {}
        conditions = merge_conditions(list(status.get("conditions") or []), d.conditions)
        patch: Obj = {
            "metadata": {"resourceVersion": meta_of(pg).get("resourceVersion")},
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
        self.events.record(pg, "Warning", "Unschedulable", base, kind="PodGroup")
        gang = [
            pod
            for pod in await self._gang_pods(d, pg)
            if (meta_of(pod).get("annotations") or {}).get(GROUP_NAME_ANNOTATION) == d.name
        ]
        if any(being_bound(pod) for pod in gang):
            # A later session is binding the gang: the decision is stale for its pods.
            log.info("gang being bound; pod conditions left", key=f"{d.namespace}/{d.name}", decision=d.id)
            return
        writes: list[tuple[Obj, str, str]] = []
        for pod in gang:
            meta = meta_of(pod)
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
                if placing or await write_pod_unschedulable(self.api, self.events, pod, reason, message):
                    return
                # The pod changed: if a later session bound it, the gang is being placed
                # and the rest of the decision is stale too.
                meta = meta_of(pod)
                try:
                    fresh = await self.api.get_pod(meta.get("namespace", ""), meta.get("name", ""))
                except ApiFailure:
                    return
                if fresh is not None and being_bound(fresh) and not placing:
                    placing = True
                    log.info("gang being bound; pod conditions left", key=ref_of(pod))

        await asyncio.gather(*(write(*w) for w in writes))

    async def _gang_pods(self, d: PodGroupStatusDecision, pg: Obj) -> list[Obj]:
        """The pods that may belong to the gang: those of the job owning the podgroup (by
        label), else every pod of the namespace."""
        for ref in meta_of(pg).get("ownerReferences") or []:
            api_version = str(ref.get("apiVersion", ""))
            if ref.get("kind") == "Job" and api_version.startswith(JOB_API_GROUP) and ref.get("name"):
                return await self.api.list_pods(d.namespace, f"{JOB_NAME_LABEL}={ref['name']}")
        return await self.api.list_pods(d.namespace)
