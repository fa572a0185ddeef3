"""DELETE: options (grace period, propagation policy, preconditions), finalizers and
deletionTimestamp, graceful pod deletion, and namespaces entering Terminating."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import status
from .managed import now
from .resources import ResourceType
from .store import Obj, deep_copy

if TYPE_CHECKING:
    from .registry import Registry

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


@dataclass
class DeleteOptions:
    grace_period: int | None = None
    propagation: str | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False

    @classmethod
    def parse(cls, body: Any, query: Any) -> DeleteOptions:
        opts = cls()
        if body is not None and not isinstance(body, dict):
            raise status.bad_request("the body of the request must be a DeleteOptions object")
        if isinstance(body, dict):
            grace = body.get("gracePeriodSeconds")
            if grace is not None:
                if isinstance(grace, bool) or not isinstance(grace, int):
                    raise status.bad_request(
                        "json: cannot unmarshal value into Go struct field "
                        "DeleteOptions.gracePeriodSeconds of type int64"
                    )
                opts.grace_period = grace
            propagation = body.get("propagationPolicy")
            opts.propagation = (
                propagation if isinstance(propagation, str) or propagation is None else str(propagation)
            )
            if body.get("orphanDependents") is True and not opts.propagation:
                opts.propagation = "Orphan"
            pre = body.get("preconditions") or {}
            if not isinstance(pre, dict):
                raise status.bad_request("preconditions must be an object")
            opts.precondition_uid = pre.get("uid") if isinstance(pre.get("uid"), str) else None
            opts.precondition_rv = (
                pre.get("resourceVersion") if isinstance(pre.get("resourceVersion"), str) else None
            )
            opts.dry_run = bool(body.get("dryRun"))
        if query.get("gracePeriodSeconds"):
            try:
                opts.grace_period = int(query["gracePeriodSeconds"])
            except ValueError:
                raise status.bad_request(
                    f"invalid gracePeriodSeconds: {query['gracePeriodSeconds']}"
                ) from None
        if query.get("propagationPolicy"):
            opts.propagation = query["propagationPolicy"]
        if query.get("orphanDependents") == "true" and not opts.propagation:
            opts.propagation = "Orphan"
        if query.get("dryRun"):
            opts.dry_run = True
        if opts.propagation not in (None, "Orphan", "Background", "Foreground"):
            raise status.invalid(
                "",
                "DeleteOptions",
                "",
                [
                    status.field_unsupported(
                        "propagationPolicy", opts.propagation, ["Foreground", "Background", "Orphan", "nil"]
                    )
                ],
            )
        return opts


async def delete(
    reg: Registry, rt: ResourceType, namespace: str, name: str, opts: DeleteOptions
) -> tuple[Obj, bool]:
    """Delete or mark for deletion; return the object and whether it is gone."""
    obj = reg.get(rt, namespace, name)
    meta = obj["metadata"]
    if opts.precondition_uid and opts.precondition_uid != meta.get("uid"):
        raise status.conflict(
            rt.group,
            rt.plural,
            name,
            f"Precondition failed: UID in precondition: {opts.precondition_uid}, "
            f"UID in object meta: {meta.get('uid')}",
        )
    if opts.precondition_rv and opts.precondition_rv != meta.get("resourceVersion"):
        raise status.conflict(
            rt.group,
            rt.plural,
            name,
            "Precondition failed: ResourceVersion in precondition: "
            f"{opts.precondition_rv}, ResourceVersion in object meta: {meta.get('resourceVersion')}",
        )
    if rt.kind == "Namespace" and name in PROTECTED_NAMESPACES:
        raise status.forbidden("", "namespaces", name, "this namespace may not be deleted")
    if not meta.get("deletionTimestamp"):
        await reg.admission.validate("DELETE", rt, "", namespace, name, None, obj, opts.dry_run)
        current = reg.store.get(rt.key, namespace if rt.namespaced else "", name)
        if current is None:
            raise status.not_found(rt.group, rt.plural, name)
        obj, meta = current, current["metadata"]
    if opts.dry_run:
        return obj, False
    new = deep_copy(obj)
    nmeta = new["metadata"]
    finalizers = list(nmeta.get("finalizers") or ())
    if opts.propagation == "Orphan" and "orphan" not in finalizers and reg.store.dependents_of(meta["uid"]):
        finalizers.append("orphan")
    if opts.propagation == "Foreground" and "foregroundDeletion" not in finalizers:
        finalizers.append("foregroundDeletion")
    grace = 0
    if rt.kind == "Pod":
        spec, pod_status = obj.get("spec") or {}, obj.get("status") or {}
        grace = (
            opts.grace_period
            if opts.grace_period is not None
            else spec.get("terminationGracePeriodSeconds", 30)
        )
        grace = max(0, int(grace or 0))
        if not spec.get("nodeName") or pod_status.get("phase") in ("Succeeded", "Failed"):
            grace = 0
    if meta.get("deletionTimestamp"):
        # Already terminating: a shorter grace period (the kubelet's final delete) still counts.
        changed = finalizers != list(meta.get("finalizers") or ())
        current_grace = int(meta.get("deletionGracePeriodSeconds") or 0)
        if rt.kind == "Pod" and grace < current_grace:
            nmeta["deletionGracePeriodSeconds"] = grace
            nmeta["deletionTimestamp"] = _after(grace)
            changed = True
        if finalizers:
            nmeta["finalizers"] = finalizers
        if reg._deletion_complete(rt, new):
            return await reg._remove(rt, new), True
        if changed:
            return await reg.store.put(rt.key, new, created=False), False
        return obj, False
    if rt.kind == "Namespace":
        nmeta["deletionTimestamp"] = now()
        nmeta["deletionGracePeriodSeconds"] = 0
        if finalizers:
            nmeta["finalizers"] = finalizers
        new.setdefault("status", {})["phase"] = "Terminating"
        return await reg.store.put(rt.key, new, created=False), False
    if finalizers or grace > 0:
        nmeta["deletionTimestamp"] = _after(grace)
        nmeta["deletionGracePeriodSeconds"] = grace
        nmeta["finalizers"] = finalizers
        if "generation" in nmeta:
            nmeta["generation"] = int(nmeta["generation"]) + 1
        return await reg.store.put(rt.key, new, created=False), False
    return await reg._remove(rt, new), True


def _after(seconds: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
