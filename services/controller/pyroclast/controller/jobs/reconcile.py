"""Handling one unit of work for a job: a request, a delayed action that fired, a TTL check.

Reads the cached job, its pods and PodGroup, asks the pure core what to do, and applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import structlog

from pyroclast.common.bus.names import AuditKind
from pyroclast.common.logging import get_logger, object_logger
from pyroclast.common.models import (
    Action,
    Job,
    PersistentVolumeClaim,
    PodGroup,
    PodGroupSpec,
    PriorityClass,
    Queue,
)
from pyroclast.controller.job import naming, spec, ttl
from pyroclast.controller.job.decide import execute_delayed
from pyroclast.controller.job.initiate import job_forwarding, mark_forwarding, prepare, queue_error
from pyroclast.controller.job.podgroup import pending_message
from pyroclast.controller.job.policies import (
    INTERNAL_ACTIONS,
    DelayedAction,
    Request,
    apply_policies,
    cancels_pending,
    execute_message,
    superseded,
)
from pyroclast.controller.job.state import JobContext, Operation, Plan
from pyroclast.controller.jobs.apply import Applier, ApplyError
from pyroclast.controller.jobs.index import DelayedActions, PodIndex
from pyroclast.controller.jobs.recorder import Auditor, EventRecorder
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.informer import Cache

log = get_logger(__name__)

TTL_EVENT = "pyroclast.ttl"
"""Event of the request queued when a finished job's TTL is due."""

Work = Request | DelayedAction

KNOWN_ACTIONS = frozenset(a.value for a in Action)
MAX_CACHED = 10_000
MAX_REMEMBERED = 1024
"""Most policy actions remembered between two handled items."""


class PodGroupSpecs:
    """The PodGroup spec last found up to date for each job, keyed by the job's uid and
    generation and the priority classes: while the PodGroup still has that spec, the
    job's minResources need not be computed again."""

    def __init__(self) -> None:
        self._current: dict[str, tuple[int, tuple[tuple[str, int], ...], PodGroupSpec]] = {}

    @staticmethod
    def _key(job: Job, priorities: Mapping[str, int]) -> tuple[str, int, tuple[tuple[str, int], ...]] | None:
        meta = job.metadata
        if meta is None or not meta.uid or meta.generation is None:
            return None
        return meta.uid, meta.generation, tuple(sorted(priorities.items()))

    def current(self, job: Job, pg: PodGroup, priorities: Mapping[str, int]) -> bool:
        key = self._key(job, priorities)
        found = self._current.get(key[0]) if key is not None else None
        return found is not None and key is not None and found == (key[1], key[2], pg.spec)

    def remember(self, job: Job, pg: PodGroup, priorities: Mapping[str, int]) -> None:
        key = self._key(job, priorities)
        if key is None or pg.spec is None:
            return
        if len(self._current) >= MAX_CACHED:
            self._current.clear()
        self._current[key[0]] = (key[1], key[2], pg.spec)


class Reconciler:
    """The per-item logic of the job controller, over the shared caches."""

    def __init__(
        self,
        *,
        kube: KubeClient,
        jobs: Cache[Job],
        podgroups: Cache[PodGroup],
        queues: Cache[Queue],
        pvcs: Cache[PersistentVolumeClaim],
        priorities: Cache[PriorityClass],
        index: PodIndex,
        delayed: DelayedActions,
        recorder: EventRecorder,
        auditor: Auditor,
        schedule_ttl: Callable[[Job], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kube = kube
        self.jobs = jobs
        self.podgroups = podgroups
        self.queues = queues
        self.pvcs = pvcs
        self.priorities = priorities
        self.index = index
        self.delayed = delayed
        self.recorder = recorder
        self.auditor = auditor
        self.schedule_ttl = schedule_ttl
        self.clock = clock
        self.applier = Applier(kube, jobs, podgroups, index.note)
        self.podgroup_specs = PodGroupSpecs()
        self._policy_actions: dict[int, tuple[Job, Request, DelayedAction]] = {}
        """``apply_policies`` results by request (its id), with the job they were for; kept
        until the next item is handled."""

    # --- lookups ----------------------------------------------------------------------

    def podgroup_of(self, job: Job) -> PodGroup | None:
        ns = spec.namespace(job)
        return self.podgroups.get(f"{ns}/{naming.podgroup_name(job)}") or self.podgroups.get(
            f"{ns}/{naming.legacy_podgroup_name(job)}"
        )

    def context(self, job: Job) -> JobContext:
        pg = self.podgroup_of(job)
        key = f"{spec.namespace(job)}/{spec.name(job)}"
        return JobContext(
            job=job,
            pods=self.index.job_pods(key),
            now=self.clock(),
            podgroup_phase=(pg.status.phase if pg and pg.status else None),
            job_forwarding=job_forwarding(self.queues.get(spec.queue(job))),
        )

    def _claims(self, namespace: str) -> set[str]:
        prefix = f"{namespace}/"
        return {key[len(prefix) :] for key in self.pvcs.keys() if key.startswith(prefix)}  # noqa: SIM118

    def _priorities(self) -> dict[str, int]:
        return {(pc.metadata.name if pc.metadata else None) or "": pc.value or 0 for pc in self.priorities}

    def _policy_action(self, job: Job, item: Request) -> DelayedAction:
        """``apply_policies(job, item)``, computed once for this job object and request (a
        pure function of the two, and neither is changed in place: a changed job is a new
        object in the cache). A worker asks :meth:`plain_sync` about an item as the next
        one, then as the current one, then :meth:`handle` needs it too."""
        found = self._policy_actions.get(id(item))
        if found is not None and found[0] is job and found[1] is item:
            return found[2]
        if len(self._policy_actions) >= MAX_REMEMBERED:
            self._policy_actions.clear()
        action = apply_policies(job, item)
        self._policy_actions[id(item)] = (job, item, action)
        return action

    # --- entry point ------------------------------------------------------------------

    def plain_sync(self, key: str, item: Work) -> bool:
        """Whether handling ``item`` now would only sync the job: a request that cancels no
        delayed action and resolves, by the job's policies, to an immediate SyncJob. Such a
        request followed by another one does nothing the second does not do again (a sync
        depends on the job's state, not on the request), so a worker may skip it."""
        if not isinstance(item, Request) or item.event == TTL_EVENT:
            return False
        job = self.jobs.get(key)
        if job is None:
            return False
        if any(cancels_pending(item, p) for p in self.delayed.pending(key)):
            return False
        action = self._policy_action(job, item)
        return action.action == Action.SYNC_JOB.value and not action.delay

    async def handle(self, key: str, item: Work) -> None:
        job = self.jobs.get(key)
        if job is None:
            return
        logger = object_logger(log, spec.namespace(job), spec.name(job))
        if isinstance(item, DelayedAction):
            logger.info("delayed action due", action=item.action)
            self.recorder.job_event(job, "Normal", "ExecuteAction", f"Start to execute action {item.action} ")
            await self.execute(job, item, logger)
            return
        if item.event == TTL_EVENT:
            await self.collect(job, logger)
            return
        cancelled = [p for p in self.delayed.pending(key) if cancels_pending(item, p)]
        self.delayed.cancel(key, cancelled)
        action = self._policy_action(job, item)
        self._policy_actions.clear()  # the items asked about up to this one are done with
        if action.action not in KNOWN_ACTIONS:
            message = f"Unknown action {action.action} of a lifecycle policy; the job is synced instead"
            logger.warning("unknown policy action", action=action.action)
            self.recorder.job_event(job, "Warning", "ExecuteAction", message)
            action = replace(action, action=Action.SYNC_JOB.value, delay=timedelta(0))
        if action.delay:
            delay_message = execute_message(action) or ""
            logger.info("action delayed", action=action.action, delay=action.delay.total_seconds())
            self.recorder.job_event(job, "Normal", "ExecuteAction", delay_message)
            self.delayed.add(action)
            return
        start_message = execute_message(action)
        if start_message:
            self.recorder.job_event(job, "Normal", "ExecuteAction", start_message)
        await self.execute(job, action, logger)

    async def execute(self, job: Job, action: DelayedAction, logger: structlog.stdlib.BoundLogger) -> None:
        plan = execute_delayed(self.context(job), action)
        if plan.operation == Operation.SYNC:
            job = await self.initiate(job, logger, action.action)
            plan = execute_delayed(self.context(job), action)
        written = await self.apply(job, plan, logger, action.action)
        if action.action not in INTERNAL_ACTIONS:
            key = action.job_key
            self.delayed.cancel(key, superseded(action, self.delayed.pending(key)))
        if written is not None:
            self.schedule_ttl(written)

    async def initiate(self, job: Job, logger: structlog.stdlib.BoundLogger, reason: str) -> Job:
        """Queue check, forwarding mark and `prepare` before a sync."""
        queue = self.queues.get(spec.queue(job))
        error = queue_error(job, queue)
        if error:
            raise ApplyError("QueueNotFound", error)
        forwarded = mark_forwarding(job, queue)
        if forwarded is not None:
            job = await self.applier.write_job(forwarded)
        pg = self.podgroup_of(job)
        priorities = self._priorities()
        current = pg is not None and self.podgroup_specs.current(job, pg, priorities)
        prep = prepare(
            job,
            self.clock(),
            podgroup=pg,
            existing_claims=self._claims(spec.namespace(job)),
            priorities=priorities,
            podgroup_current=current,
        )
        if prep.error:
            raise ApplyError(prep.reason or "JobStatusError", prep.error)
        before = job
        job = await self.applier.prepare(job, prep)
        if pg is not None and not current and prep.podgroup_update is None and not prep.spec_changed:
            self.podgroup_specs.remember(job, pg, priorities)
        await self.phase_audit(before, job, reason, logger)
        if pg is not None:
            message = pending_message(job, pg)
            if message:
                self.recorder.job_event(job, "Warning", "PodGroupPending", message)
        return job

    async def apply(
        self, job: Job, plan: Plan, logger: structlog.stdlib.BoundLogger, reason: str
    ) -> Job | None:
        if plan.create_pods or plan.delete_pods:
            logger.info(
                "applying plan",
                operation=plan.operation.value,
                create=len(plan.create_pods),
                delete=len(plan.delete_pods),
                phase=plan.new_phase,
            )
        written = await self.applier.plan(job, plan)
        if written is not None:
            await self.phase_audit(job, written, reason, logger)
        return written

    async def phase_audit(
        self, before: Job, after: Job, reason: str, logger: structlog.stdlib.BoundLogger
    ) -> None:
        old, new = spec.phase(before), spec.phase(after)
        if old == new:
            return
        logger.info("job phase changed", old_phase=old, new_phase=new, action=reason)
        st = spec.status(after)
        details = {
            "from": old,
            "to": new,
            "retryCount": st.retry_count or 0,
            "version": st.version or 0,
            "pending": st.pending or 0,
            "running": st.running or 0,
            "succeeded": st.succeeded or 0,
            "failed": st.failed or 0,
        }
        await self.auditor.emit(AuditKind.JOB, new, after, reason=reason, details=details)

    async def collect(self, job: Job, logger: structlog.stdlib.BoundLogger) -> None:
        """Delete a finished job whose ``ttlSecondsAfterFinished`` has passed."""
        left = ttl.time_left(job, self.clock())
        if left is None:
            return
        if left.total_seconds() > 0:
            self.schedule_ttl(job)
            return
        logger.info("deleting finished job after its TTL")
        try:
            await self.kube.delete(
                resources.JOBS,
                spec.namespace(job),
                spec.name(job),
                uid=spec.uid(job),
                propagation="Background",
            )
        except ApiError as err:
            if err.status == 409:  # replaced by a new job of the same name
                return
            raise
        await self.auditor.emit(AuditKind.JOB, "Deleted", job, reason="TTLExpired")

    async def terminate(self, key: str, action: str) -> None:
        """After the retry limit: record it and terminate the job, as Volcano does."""
        job = self.jobs.get(key)
        if job is None:
            return
        logger = object_logger(log, spec.namespace(job), spec.name(job))
        self.recorder.job_event(
            job, "Normal", "ExecuteAction", f"Job failed on action {action} for retry limit reached"
        )
        logger.warning("retry limit reached; terminating the job", action=action)
        terminate = DelayedAction(job_key=key, action="TerminateJob")
        try:
            await self.apply(job, execute_delayed(self.context(job), terminate), logger, "TerminateJob")
        except Exception as err:
            logger.error("terminating the job failed", error=repr(err))
