"""The lifecycle of CustomResourceDefinitions: serving their types once created, the
Established condition, and removing their objects when deleted."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from . import crds, status
from .managed import now
from .status import ApiError
from .store import Obj, deep_copy

if TYPE_CHECKING:
    from .registry import Registry

log = structlog.get_logger("pyroclast.sandbox.apiserver.crd_lifecycle")

# ---- CRDs ----------------------------------------------------------------------------------


def check_names(reg: Registry, crd: Obj) -> None:
    spec = crd.get("spec") or {}
    group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
    for rt in reg.types.all():
        if rt.builtin and rt.group == group and rt.plural == plural:
            raise status.invalid(
                "apiextensions.k8s.io",
                "CustomResourceDefinition.apiextensions.k8s.io",
                crd["metadata"]["name"],
                [status.field_invalid("spec.names.plural", plural, "conflicts with a built-in resource")],
            )


def register(reg: Registry, crd: Obj) -> None:
    spec = crd.get("spec") or {}
    group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
    reg.types.remove_group_resource(group, plural)
    for rt in crds.resource_types(crd):
        reg.types.add(rt)


def after_write(reg: Registry, crd: Obj) -> None:
    register(reg, crd)
    task = asyncio.create_task(establish(reg, crd["metadata"]["name"]))
    reg.background.add(task)
    task.add_done_callback(reg.background.discard)


async def establish(reg: Registry, name: str) -> None:
    rt = reg.types.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    assert rt is not None
    for _ in range(5):
        crd = reg.store.get(rt.key, "", name)
        if crd is None or crd["metadata"].get("deletionTimestamp"):
            return
        new = deep_copy(crd)
        old_conditions = {c.get("type"): c for c in (crd.get("status") or {}).get("conditions") or ()}
        new["status"] = crds.crd_status(crd, now())
        for c in new["status"]["conditions"]:
            prev = old_conditions.get(c["type"])
            if prev and prev.get("status") == c["status"]:
                c["lastTransitionTime"] = prev.get("lastTransitionTime", c["lastTransitionTime"])
        try:
            await reg.update(rt, "", name, new, subresource="status")
            return
        except ApiError as exc:
            if exc.code != 409:
                log.warning("crd status update failed", key=f"{rt.key}//{name}", error=exc.message)
                return


async def after_delete(reg: Registry, crd: Obj) -> None:
    spec = crd.get("spec") or {}
    group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
    key = f"{group or 'core'}/{plural}"
    for obj in reg.store.select(key):
        await reg.store.remove(key, obj)
    reg.types.remove_group_resource(group, plural)
