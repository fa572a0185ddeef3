"""The job controller: informer events in, work queue, workers running the reconciler.

Work items are keyed by job (``namespace/name``): the queue keeps one key at most once and
never hands a job to two workers at a time; the requests for a job are handled in order.
A failed item comes back after an exponential backoff; after ``max_requeue`` failures the
job is terminated, as Volcano does. Commands are deleted first (so that one runs at most
once), then turned into a request for their job.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pyroclast.common.bus.names import AuditKind
from pyroclast.common.logging import get_logger
from pyroclast.common.models import Command, Job, Pod, PodGroup
from pyroclast.common.models import labels as keys
from pyroclast.controller import metrics
from pyroclast.controller.job import naming, spec, ttl
from pyroclast.controller.job.policies import (
    DelayedAction,
    Request,
    command_message,
    on_command,
    on_job_added,
    on_job_updated,
    on_pod_added,
    on_pod_deleted,
    on_pod_updated,
    on_podgroup_updated,
)
from pyroclast.controller.jobs.apply import ApplyError
from pyroclast.controller.jobs.index import DelayedActions, PodIndex, pod_job_key
from pyroclast.controller.jobs.reconcile import TTL_EVENT, Reconciler, Work
from pyroclast.controller.jobs.recorder import Auditor, EventRecorder
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.informer import Handlers, object_key
from pyroclast.controller.kube.workqueue import ShutDownError, WorkQueue

log = get_logger(__name__)


@dataclass(frozen=True)
class JobSettings:
    workers: int = 4
    max_requeue: int = 15
    """Failures of one job before it is terminated (-1: retry forever)."""
    base_delay: float = 0.005
    max_delay: float = 60.0
    reconcile_timeout: float = 60.0


class JobController:
    def __init__(
        self,
        kube: KubeClient,
        factory: InformerFactory,
        recorder: EventRecorder,
        auditor: Auditor,
        settings: JobSettings = JobSettings(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.recorder = recorder
        self.auditor = auditor
        self.clock = clock
        self.jobs = factory.informer(resources.JOBS)
        self.pods = factory.informer(resources.PODS, label_selector=keys.JOB_NAME_KEY)
        self.podgroups = factory.informer(resources.PODGROUPS)
        self.commands = factory.informer(resources.COMMANDS)
        self.pvcs = factory.informer(resources.PVCS)
        self.queues = factory.informer(resources.QUEUES)
        self.priorities = factory.informer(resources.PRIORITY_CLASSES)
        self.index = PodIndex()
        self.queue: WorkQueue[Work] = WorkQueue(
            "jobs",
            base_delay=settings.base_delay,
            max_delay=settings.max_delay,
            on_depth=metrics.WORKQUEUE_DEPTH.labels(queue="jobs").set,
        )
        self.command_queue: WorkQueue[None] = WorkQueue(
            "commands", on_depth=metrics.WORKQUEUE_DEPTH.labels(queue="commands").set
        )
        self.delayed = DelayedActions(lambda action: self.queue.add(action.job_key, action))
        self.reconciler = Reconciler(
            kube=kube,
            jobs=self.jobs.cache,
            podgroups=self.podgroups.cache,
            queues=self.queues.cache,
            pvcs=self.pvcs.cache,
            priorities=self.priorities.cache,
            index=self.index,
            delayed=self.delayed,
            recorder=recorder,
            auditor=auditor,
            schedule_ttl=self.schedule_ttl,
            clock=clock,
        )
        self._started = False
        self.jobs.cache.add_handlers(Handlers(self._job_added, self._job_updated, self._job_deleted))
        self.pods.cache.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_deleted))
        self.podgroups.cache.add_handlers(
            Handlers(on_update=self._podgroup_updated, on_delete=self._podgroup_deleted)
        )
        self.commands.cache.add_handlers(Handlers(on_add=lambda cmd: self.command_queue.add(object_key(cmd))))

    # --- informer handlers ------------------------------------------------------------

    def _request(self, req: Request | None) -> None:
        if req is not None and req.job_name:
            self.queue.add(req.job_key, req)

    def _job_added(self, job: Job) -> None:
        self._request(on_job_added(job))
        self.schedule_ttl(job)

    def _job_updated(self, old: Job, new: Job) -> None:
        self._request(on_job_updated(old, new))
        self.schedule_ttl(new)

    def _job_deleted(self, job: Job) -> None:
        self.delayed.cancel_job(object_key(job))

    def _pod_added(self, pod: Pod) -> None:
        self.index.upsert(pod)
        self._request(on_pod_added(pod))

    def _pod_updated(self, old: Pod, new: Pod) -> None:
        self.index.upsert(new)
        key = pod_job_key(new)
        if key is None:
            return
        job = self.jobs.cache.get(key)
        self._request(on_pod_updated(old, new, job, self.index.task_pods(key, naming.task_key(new))))

    def _pod_deleted(self, pod: Pod) -> None:
        known = self.index.remove(pod)
        self._request(on_pod_deleted(pod, known))

    def _podgroup_updated(self, old: PodGroup, new: PodGroup) -> None:
        self._request(on_podgroup_updated(old, new))

    def _podgroup_deleted(self, pg: PodGroup) -> None:
        """A deleted PodGroup is recreated by the next sync of its job."""
        meta = pg.metadata
        for ref in (meta.owner_references if meta else None) or []:
            if ref.kind == naming.JOB_KIND and ref.name and meta is not None:
                self._request(Request(meta.namespace or "", ref.name, event="OutOfSync"))

    def schedule_ttl(self, job: Job) -> None:
        left = ttl.time_left(job, self.clock())
        if left is None:
            return
        req = Request(spec.namespace(job), spec.name(job), event=TTL_EVENT)
        self.queue.add_after(req.job_key, req, max(left.total_seconds(), 0.0))

    # --- workers ----------------------------------------------------------------------

    async def _work(self, key: str, items: list[Work]) -> None:
        namespace, _, name = key.partition("/")
        work: list[Work] = items or [Request(namespace, name, event="OutOfSync")]
        for position, item in enumerate(work):
            if position + 1 < len(work) and self._repeated(key, item, work[position + 1]):
                continue
            try:
                async with asyncio.timeout(self.settings.reconcile_timeout):
                    await self.reconciler.handle(key, item)
            except Exception as err:
                await self._failed(key, work[position:], err)
                return
        self.queue.forget(key)

    def _repeated(self, key: str, item: Work, following: Work) -> bool:
        """``item`` only syncs the job, and so does ``following``: the sync is done once,
        for ``following`` (a burst of pod events costs one sync, not one per pod)."""
        return self.reconciler.plain_sync(key, item) and self.reconciler.plain_sync(key, following)

    async def _failed(self, key: str, remaining: list[Work], err: Exception) -> None:
        metrics.RECONCILE_ERRORS.labels(controller="job").inc()
        job = self.jobs.cache.get(key)
        if isinstance(err, ApplyError) and job is not None:
            self.recorder.job_event(job, "Warning", err.reason, err.message)
        limit = self.settings.max_requeue
        if limit == -1 or self.queue.num_requeues(key) < limit:
            delay = self.queue.add_rate_limited(key, remaining)
            log.warning("job handling failed; retrying", key=key, error=str(err) or repr(err), retry_in=delay)
            return
        self.queue.forget(key)
        first = remaining[0]
        action = first.action if isinstance(first, DelayedAction | Request) and first.action else "SyncJob"
        await self.reconciler.terminate(key, action)
        if remaining[1:]:
            self.queue.add_many(key, remaining[1:])

    async def worker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                key, items = await self.queue.get()
            except ShutDownError:
                return
            started = time.monotonic()
            try:
                await self._work(key, items)
            finally:
                self.queue.done(key)
                metrics.RECONCILE_SECONDS.labels(controller="job").observe(time.monotonic() - started)

    async def command_worker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                key, _ = await self.command_queue.get()
            except ShutDownError:
                return
            try:
                await self._command(key)
                self.command_queue.forget(key)
            except Exception as err:
                log.warning("command handling failed; retrying", key=key, error=repr(err))
                self.command_queue.add_rate_limited(key)
            finally:
                self.command_queue.done(key)

    async def _command(self, key: str) -> None:
        cmd: Command | None = self.commands.cache.get(key)
        if cmd is None or cmd.metadata is None or cmd.target is None:
            return
        if cmd.target.kind not in (None, "", naming.JOB_KIND):
            return
        namespace, name = cmd.metadata.namespace or "", cmd.metadata.name or ""
        try:
            deleted = await self.kube.delete(resources.COMMANDS, namespace, name, uid=cmd.metadata.uid)
        except ApiError as err:
            if err.status == 409:  # the uid precondition failed: another command by that name
                return
            raise
        if not deleted:
            return
        req = on_command(cmd)
        job = self.jobs.cache.get(req.job_key)
        log.info("command issued", key=req.job_key, command=key, action=cmd.action)
        if job is not None:
            self.recorder.job_event(job, "Normal", "CommandIssued", command_message(cmd))
            await self.auditor.emit(
                AuditKind.COMMAND, cmd.action or "", job, reason=cmd.reason or "", details={"command": name}
            )
        self._request(req)

    # --- lifecycle --------------------------------------------------------------------

    def synced(self) -> bool:
        return self._started

    async def run(self, stop: asyncio.Event) -> None:
        """Wait for the caches, then run the workers until ``stop``."""
        caches = [
            i.cache
            for i in (
                self.jobs,
                self.pods,
                self.podgroups,
                self.commands,
                self.pvcs,
                self.queues,
                self.priorities,
            )
        ]
        while not all(c.synced.is_set() for c in caches):
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
        self._started = True
        log.info("job controller started", workers=self.settings.workers, jobs=len(self.jobs.cache))
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.settings.workers):
                    group.create_task(self.worker(stop))
                group.create_task(self.command_worker(stop))
                await stop.wait()
                self.queue.shutdown()
                self.command_queue.shutdown()
        finally:
            self.delayed.cancel_all()
            self._started = False
