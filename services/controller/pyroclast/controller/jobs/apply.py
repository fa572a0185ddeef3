"""Carrying out a `Preparation` and a `Plan` through the API, in the documented order."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec

from pyroclast.common.models import Job, Pod, PodGroup
from pyroclast.controller.job import naming, spec
from pyroclast.controller.job.initiate import Preparation
from pyroclast.controller.job.plugins import JobObjects
from pyroclast.controller.job.state import Plan
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.informer import Cache

CONCURRENCY = 32
POD_CREATIONS = 64
"""Pods created at once by one job controller, all jobs together."""
STATUS_ATTEMPTS = 3


class ApplyError(Exception):
    """Part of a plan failed; ``reason`` is the Event reason to record on the job."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ConflictError(Exception):
    """The job changed under us; handle it again from the fresh cache."""


class Slots:
    """At most ``size`` holders at once, the waiters served in the order they came (each
    acquire costs O(1), however many wait, unlike ``asyncio.Semaphore.acquire`` in 3.11)."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


async def _bounded(calls: Iterable[Awaitable[Any]], slots: Slots | None = None) -> list[BaseException | None]:
    """Run ``calls`` at most ``CONCURRENCY`` at once (or as ``slots`` allow); the ApiError
    of each, or None."""
    slots = slots or Slots(CONCURRENCY)

    async def one(call: Awaitable[Any]) -> BaseException | None:
        await slots.acquire()
        try:
            await call
        except ApiError as err:
            return err
        finally:
            slots.release()
        return None

    return list(await asyncio.gather(*(one(c) for c in calls)))


class Applier:
    """API writes for one job controller; written objects go back into the caches."""

    def __init__(
        self, kube: KubeClient, jobs: Cache[Job], podgroups: Cache[PodGroup], note_pod: Callable[[Pod], None]
    ) -> None:
        self.kube = kube
        self.jobs = jobs
        self.podgroups = podgroups
        self.note_pod = note_pod
        self.pod_creations = Slots(POD_CREATIONS)
        """Shared by the jobs synced at once: the pods of the job that asked first are
        created first, so its gang is complete (and can be placed) as early as possible."""

    # --- job --------------------------------------------------------------------------

    async def write_status(self, base: Job, wanted: Job) -> Job:
        """PUT ``wanted``'s status with ``base``'s resourceVersion; on 409 retry against the
        latest job only if its status is still the one the plan was computed from."""
        target = wanted
        for _ in range(STATUS_ATTEMPTS):
            try:
                written = await self.kube.replace(resources.JOBS, target, subresource="status")
            except ApiError as err:
                if not err.conflict:
                    raise
                latest = await self.kube.get_or_none(resources.JOBS, spec.namespace(base), spec.name(base))
                if latest is None:
                    raise ConflictError("job deleted") from err
                self.jobs.note_written(latest)
                if latest.status != base.status or latest.spec != base.spec:
                    raise ConflictError("job status changed") from err
                target = msgspec.structs.replace(latest, status=wanted.status)
                continue
            self.jobs.note_written(written)
            return written
        raise ConflictError("job status kept changing")

    async def write_job(self, job: Job) -> Job:
        """PUT the job itself (annotations, spec.volumes)."""
        try:
            written = await self.kube.replace(resources.JOBS, job)
        except ApiError as err:
            if err.conflict:
                raise ConflictError("job changed") from err
            raise
        self.jobs.note_written(written)
        return written

    # --- preparation ------------------------------------------------------------------

    async def prepare(self, base: Job, prep: Preparation) -> Job:
        """Writes the job, plugin objects, claims and PodGroup of a preparation; returns
        the job as written."""
        job = prep.job
        if prep.spec_changed:
            job = await self.write_job(msgspec.structs.replace(job, status=base.status))
            job = msgspec.structs.replace(job, status=prep.job.status)
            base = msgspec.structs.replace(job, status=base.status)
        await self.ensure_objects(prep.objects)
        errors = await _bounded(
            self._create_tolerant(resources.PVCS, claim, spec.namespace(job)) for claim in prep.claims
        )
        _raise_first(errors, "PVCError", "Failed to create PVC")
        if prep.podgroup_create is not None:
            await self._podgroup(self._create_podgroup(prep.podgroup_create))
        elif prep.podgroup_update is not None:
            await self._podgroup(self._update_podgroup(prep.podgroup_update))
        if prep.status_changed or job.status != base.status:
            job = await self.write_status(base, job)
        return job

    async def _podgroup(self, call: Awaitable[None]) -> None:
        try:
            await call
        except ApiError as err:
            raise ApplyError("PodGroupError", f"Failed to create PodGroup, err: {err.message}") from err

    async def _create_podgroup(self, pg: PodGroup) -> None:
        namespace = (pg.metadata.namespace if pg.metadata else None) or ""
        try:
            created = await self.kube.create(resources.PODGROUPS, pg, namespace)
        except ApiError as err:
            if err.already_exists:
                return
            raise
        self.podgroups.note_written(created)

    async def _update_podgroup(self, pg: PodGroup) -> None:
        try:
            updated = await self.kube.replace(resources.PODGROUPS, pg)
        except ApiError as err:
            if err.conflict:
                raise ConflictError("podgroup changed") from err
            raise
        self.podgroups.note_written(updated)

    async def _create_tolerant(self, rt: Any, obj: Any, namespace: str) -> None:
        try:
            await self.kube.create(rt, obj, namespace)
        except ApiError as err:
            if not err.already_exists:
                raise

    async def ensure_objects(self, objects: JobObjects) -> None:
        """Create plugin objects; ``upsert`` ones are replaced when their data differs."""
        for obj in objects.ensure:
            rt = resources.BY_KIND[obj.kind]
            try:
                await self._create_tolerant(rt, obj, obj.metadata.namespace)
            except ApiError as err:
                raise ApplyError("PluginError", f"Failed to create {obj.kind}: {err.message}") from err
        for obj in objects.upsert:
            rt = resources.BY_KIND[obj.kind]
            try:
                await self._upsert(rt, obj)
            except ApiError as err:
                raise ApplyError("PluginError", f"Failed to update {obj.kind}: {err.message}") from err

    async def _upsert(self, rt: Any, obj: Any) -> None:
        namespace, name = obj.metadata.namespace, obj.metadata.name
        try:
            await self.kube.create(rt, obj, namespace)
            return
        except ApiError as err:
            if not err.already_exists:
                raise
        current = await self.kube.get(rt, namespace, name)
        if _compared(current) != _compared(obj):
            meta = msgspec.structs.replace(obj.metadata, resource_version=current.metadata.resource_version)
            await self.kube.replace(rt, msgspec.structs.replace(obj, metadata=meta))

    # --- plan -------------------------------------------------------------------------

    async def plan(self, base: Job, plan: Plan) -> Job | None:
        """Applies ``plan``; returns the job as written when its status was written."""
        namespace = spec.namespace(base)
        errors = await _bounded(
            (self._create_pod(pod, namespace) for pod in plan.create_pods), self.pod_creations
        )
        failed = [e for e in errors if e is not None]
        if failed:
            raise ApplyError(
                "FailedCreate",
                f"Error creating pods: {[str(e) for e in failed[:3]]}; "
                f"failed to create {len(failed)} pods of {len(plan.create_pods)}",
            )
        patch = {"metadata": {"annotations": {naming.OUT_OF_SYNC_KEY: "true"}}}
        errors = await _bounded(
            self._ignore_missing(self.kube.patch(resources.PODS, namespace, name, patch))
            for name in plan.mark_out_of_sync
        )
        _raise_first(errors, "FailedDelete", "Error marking pods")
        errors = await _bounded(
            self.kube.delete(resources.PODS, namespace, name) for name in plan.delete_pods
        )
        _raise_first(errors, "FailedDelete", "Error deleting pods")
        errors = await _bounded(
            self.kube.delete(resources.BY_KIND[ref.kind], ref.namespace, ref.name)
            for ref in plan.delete_objects
        )
        _raise_first(errors, "PluginError", "Error deleting plugin objects")
        if plan.error:
            raise ApplyError("PluginError", plan.error)
        written = None
        if plan.status is not None:
            written = await self.write_status(base, plan.status)
        if plan.delete_podgroup:
            await self.kube.delete(resources.PODGROUPS, namespace, naming.podgroup_name(base))
        return written

    async def _create_pod(self, pod: Pod, namespace: str) -> None:
        try:
            created = await self.kube.create(resources.PODS, pod, namespace)
        except ApiError as err:
            if err.already_exists:
                return
            raise
        self.note_pod(created)

    @staticmethod
    async def _ignore_missing(call: Awaitable[Any]) -> None:
        try:
            await call
        except ApiError as err:
            if not err.not_found:
                raise


def _compared(obj: Any) -> Any:
    """What decides whether an upserted object is replaced (a Secret: its ``config`` entry)."""
    data = getattr(obj, "data", None) or {}
    return data.get("config") if obj.kind == "Secret" else data


def _raise_first(errors: list[BaseException | None], reason: str, what: str) -> None:
    failed = [e for e in errors if e is not None]
    if failed:
        raise ApplyError(reason, f"{what}: {[str(e) for e in failed[:3]]}")
