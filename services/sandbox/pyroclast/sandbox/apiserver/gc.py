"""In-process controllers kube-controller-manager would run: ownerReference garbage collection
(background, foreground, orphan) and namespace lifecycle (delete contents, then the namespace)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from .deletion import DeleteOptions
from .registry import Registry
from .resources import ResourceType
from .status import ApiError
from .store import Event, Obj, deep_copy

log = structlog.get_logger("pyroclast.sandbox.apiserver.gc")

Work = tuple[str, Any]


class GarbageCollector:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.store = registry.store
        self.queue: asyncio.Queue[Work] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.store.listeners.append(self._on_event)
        self._task = asyncio.create_task(self._run(), name="apiserver-gc")
        # Resume work left by a previous run: deleting owners and terminating namespaces.
        for resource, obj in list(self.store.iter_all()):
            meta = obj.get("metadata", {})
            if meta.get("deletionTimestamp"):
                self.queue.put_nowait(("deleting", (resource, meta.get("namespace", ""), meta["name"])))
            for ref in meta.get("ownerReferences") or ():
                if ref.get("uid") and self.store.get_by_uid(ref["uid"]) is None:
                    self.queue.put_nowait(
                        ("orphaned-check", (resource, meta.get("namespace", ""), meta["name"]))
                    )

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.listeners.remove(self._on_event)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_event(self, event: Event) -> None:
        meta = event.obj.get("metadata", {})
        if event.type == "DELETED":
            self.queue.put_nowait(("removed", (meta.get("uid", ""), event.resource, event.namespace)))
            if event.resource == "core/nodes":
                self.queue.put_nowait(("node-removed", event.name))
            for ref in meta.get("ownerReferences") or ():
                if ref.get("uid"):
                    self.queue.put_nowait(("recheck-owner", ref["uid"]))
            if event.namespace:
                ns = self.store.get("core/namespaces", "", event.namespace)
                if ns is not None and ns["metadata"].get("deletionTimestamp"):
                    self.queue.put_nowait(("deleting", ("core/namespaces", "", event.namespace)))
        elif meta.get("deletionTimestamp"):
            self.queue.put_nowait(("deleting", (event.resource, event.namespace, event.name)))
        elif event.type == "ADDED" and meta.get("ownerReferences"):
            # A dependent created after its owner is gone is collected too.
            refs = meta["ownerReferences"]
            if all(self.store.get_by_uid(r.get("uid", "")) is None for r in refs if isinstance(r, dict)):
                self.queue.put_nowait(("orphaned-check", (event.resource, event.namespace, event.name)))

    async def _run(self) -> None:
        while True:
            kind, arg = await self.queue.get()
            try:
                if kind == "removed":
                    await self._owner_removed(*arg)
                elif kind == "deleting":
                    await self._deleting(*arg)
                elif kind == "recheck-owner":
                    found = self.store.get_by_uid(arg)
                    if found is not None:
                        meta = found[1]["metadata"]
                        await self._deleting(found[0], meta.get("namespace", ""), meta["name"])
                elif kind == "orphaned-check":
                    await self._orphaned_check(*arg)
                elif kind == "node-removed":
                    await self._pods_of_removed_node(arg)
            except ApiError as exc:
                if exc.code not in (404, 409):
                    log.warning("gc step failed", work=kind, error=exc.message)
                elif exc.code == 409:
                    self.queue.put_nowait((kind, arg))
                    await asyncio.sleep(0.05)
            except Exception:
                log.exception("gc step crashed", work=kind)

    def _rt(self, resource: str) -> ResourceType | None:
        return self.registry.types.by_key(resource)

    async def _delete(self, resource: str, obj: Obj, propagation: str) -> None:
        rt = self._rt(resource)
        if rt is None:
            return
        meta = obj["metadata"]
        await self.registry.delete(
            rt,
            meta.get("namespace", ""),
            meta["name"],
            DeleteOptions(propagation=propagation, precondition_uid=meta["uid"]),
        )

    async def _owner_removed(self, uid: str, resource: str, namespace: str) -> None:
        """Background cascade: dependents of a removed owner go unless another owner is alive."""
        for dep_resource, dep in self.store.dependents_of(uid):
            refs = dep["metadata"].get("ownerReferences") or []
            alive = [
                r for r in refs if r.get("uid") != uid and self.store.get_by_uid(r.get("uid", "")) is not None
            ]
            if alive:
                await self._drop_refs(dep_resource, dep, {uid})
            elif not dep["metadata"].get("deletionTimestamp"):
                await self._delete(dep_resource, dep, "Background")

    async def _pods_of_removed_node(self, node: str) -> None:
        """The pod garbage collector: pods bound to a node that no longer exists are force-deleted."""
        if self.store.get("core/nodes", "", node) is not None:
            return
        rt = self._rt("core/pods")
        assert rt is not None
        for pod in self.store.select("core/pods"):
            if (pod.get("spec") or {}).get("nodeName") == node:
                meta = pod["metadata"]
                await self.registry.delete(
                    rt,
                    meta.get("namespace", ""),
                    meta["name"],
                    DeleteOptions(grace_period=0, precondition_uid=meta["uid"]),
                )

    async def _orphaned_check(self, resource: str, namespace: str, name: str) -> None:
        obj = self.store.get(resource, namespace, name)
        if obj is None:
            return
        refs = obj["metadata"].get("ownerReferences") or []
        orphaned = refs and all(self.store.get_by_uid(r.get("uid", "")) is None for r in refs)
        if orphaned and not obj["metadata"].get("deletionTimestamp"):
            await self._delete(resource, obj, "Background")

    async def _drop_refs(self, resource: str, obj: Obj, uids: set[str]) -> None:
        rt = self._rt(resource)
        if rt is None:
            return
        new = deep_copy(obj)
        refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") not in uids]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        meta = new["metadata"]
        await self.registry.update(rt, meta.get("namespace", ""), meta["name"], new)

    async def _remove_finalizer(self, resource: str, obj: Obj, finalizer: str) -> None:
        rt = self._rt(resource)
        if rt is None:
            return
        new = deep_copy(obj)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        meta = new["metadata"]
        await self.registry.update(rt, meta.get("namespace", ""), meta["name"], new)

    async def _deleting(self, resource: str, namespace: str, name: str) -> None:
        obj = self.store.get(resource, namespace, name)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            return
        finalizers = obj["metadata"].get("finalizers") or []
        uid = obj["metadata"]["uid"]
        if resource == "core/namespaces":
            await self._terminate_namespace(obj)
            return
        if "orphan" in finalizers:
            for dep_resource, dep in self.store.dependents_of(uid):
                await self._drop_refs(dep_resource, dep, {uid})
            obj = self.store.get(resource, namespace, name)
            if obj is not None:
                await self._remove_finalizer(resource, obj, "orphan")
            return
        if "foregroundDeletion" in finalizers:
            blocking = False
            for dep_resource, dep in self.store.dependents_of(uid):
                ref: Obj = next(
                    (r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") == uid), {}
                )
                if ref.get("blockOwnerDeletion"):
                    blocking = True
                if not dep["metadata"].get("deletionTimestamp"):
                    await self._delete(
                        dep_resource, dep, "Foreground" if ref.get("blockOwnerDeletion") else "Background"
                    )
                elif not ref.get("blockOwnerDeletion"):
                    continue
            if not blocking:
                obj = self.store.get(resource, namespace, name)
                if obj is not None:
                    await self._remove_finalizer(resource, obj, "foregroundDeletion")

    async def _terminate_namespace(self, ns_obj: Obj) -> None:
        name = ns_obj["metadata"]["name"]
        remaining = 0
        for rt in self.registry.types.storage_types():
            if not rt.namespaced:
                continue
            for obj in self.store.select(rt.key, name):
                remaining += 1
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        await self.registry.delete(
                            rt, name, obj["metadata"]["name"], DeleteOptions(propagation="Background")
                        )
                    except ApiError as exc:
                        if exc.code != 404:
                            raise
        if remaining == 0 or not any(
            self.store.select(rt.key, name) for rt in self.registry.types.storage_types() if rt.namespaced
        ):
            current = self.store.get("core/namespaces", "", name)
            if current is None:
                return
            new = deep_copy(current)
            new.setdefault("spec", {})["finalizers"] = []
            ns_rt = self._rt("core/namespaces")
            assert ns_rt is not None
            if not new["metadata"].get("finalizers"):
                await self.registry._remove(ns_rt, new)
            else:
                await self.store.put(ns_rt.key, new, created=False)
