"""The jobflow and jobtemplate controllers: JobFlows create their Jobs from JobTemplates in
dependency order; JobTemplates record the jobs made from them.

Two work queues keyed ``namespace/name``: one of JobFlows, one of JobTemplates. A JobFlow is
synced when it is added, when it is updated into a state that needs work (Succeed with
``jobRetainPolicy: delete``), and whenever one of its jobs is added, changes phase or is
deleted; a JobTemplate when it is added and whenever a job made from it is added or
deleted. Status is written through the ``status`` subresource (a conflict retries the key
from the fresh cache); probes are not run (Volcano does not evaluate them either).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from pyroclast.common.logging import get_logger
from pyroclast.common.models import Job, ObjectReference
from pyroclast.common.models.enums import FlowAction
from pyroclast.common.models.flow import FLOW_API_VERSION, JobFlow, JobTemplate
from pyroclast.controller.jobflow import (
    CreateJob,
    DeleteJob,
    FlowOptions,
    JobFlowWorld,
    Plan,
    RecordEvent,
    RunProbe,
    UpdateJobFlowStatus,
    UpdateJobTemplateStatus,
    jobflow_of_job,
    jobflow_update_needs_sync,
    reconcile_jobflow,
    reconcile_jobtemplate,
    template_of_job,
)
from pyroclast.controller.jobs.recorder import EventRecorder
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.informer import Handlers, object_key
from pyroclast.controller.kube.shell import DEFAULT_SETTINGS, KeyedController, ShellSettings, by_name

log = get_logger(__name__)

DEFAULT_OPTIONS = FlowOptions()


class PlanError(Exception):
    """The core returned a plan with an error: retry the request later."""


def _phase(job: Job) -> str:
    return (job.status.state.phase if job.status and job.status.state else None) or ""


def _namespace(obj: Job | JobFlow | JobTemplate) -> str:
    return (obj.metadata.namespace if obj.metadata else None) or ""


class JobTemplateController(KeyedController[None]):
    name = "jobtemplate"

    def __init__(self, kube: KubeClient, factory: InformerFactory, settings: ShellSettings) -> None:
        self.kube = kube
        self.templates = factory.informer(resources.JOBTEMPLATES)
        self.jobs = factory.informer(resources.JOBS)
        super().__init__([self.templates.cache, self.jobs.cache], settings)
        self.templates.cache.add_handlers(Handlers(on_add=lambda t: self.queue.add(object_key(t))))
        self.jobs.cache.add_handlers(Handlers(on_add=self._job_changed, on_delete=self._job_changed))

    def _job_changed(self, job: Job) -> None:
        found = template_of_job(job)
        if found is not None:
            self.queue.add(f"{found[0]}/{found[1]}")

    async def handle(self, key: str, items: list[None]) -> None:
        template = self.templates.cache.get(key)
        if template is None:
            return
        plan = reconcile_jobtemplate(template, by_name(self.jobs.cache, _namespace(template)))
        for op in plan.of(UpdateJobTemplateStatus):
            if op.template.status == template.status:
                continue
            try:
                written = await self.kube.replace(resources.JOBTEMPLATES, op.template, subresource="status")
            except ApiError as err:
                if err.not_found:
                    return
                raise
            self.templates.cache.note_written(written)
            log.info(
                "jobtemplate status written",
                key=key,
                jobs=written.status.job_depends_on_list if written.status else None,
            )


class JobFlowController(KeyedController[None]):
    name = "jobflow"

    def __init__(
        self,
        kube: KubeClient,
        factory: InformerFactory,
        recorder: EventRecorder,
        settings: ShellSettings = DEFAULT_SETTINGS,
        options: FlowOptions = DEFAULT_OPTIONS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kube = kube
        self.recorder = recorder
        self.options = options
        self.clock = clock
        self.flows = factory.informer(resources.JOBFLOWS)
        self.templates = factory.informer(resources.JOBTEMPLATES)
        self.jobs = factory.informer(resources.JOBS)
        super().__init__([self.flows.cache, self.templates.cache, self.jobs.cache], settings)
        self.template_controller = JobTemplateController(kube, factory, settings)
        self.flows.cache.add_handlers(Handlers(self._flow_added, self._flow_updated))
        self.jobs.cache.add_handlers(Handlers(self._job_changed, self._job_updated, self._job_changed))

    # --- informer handlers ------------------------------------------------------------

    def _flow_added(self, flow: JobFlow) -> None:
        self.queue.add(object_key(flow))

    def _flow_updated(self, old: JobFlow, new: JobFlow) -> None:
        if jobflow_update_needs_sync(old, new):
            self.queue.add(object_key(new))

    def _job_changed(self, job: Job) -> None:
        flow = jobflow_of_job(job)
        if flow:
            self.queue.add(f"{_namespace(job)}/{flow}")

    def _job_updated(self, old: Job, new: Job) -> None:
        if _phase(old) != _phase(new) or old.status != new.status:
            self._job_changed(new)

    # --- work -------------------------------------------------------------------------

    def synced(self) -> bool:
        return super().synced() and self.template_controller.synced()

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.template_controller.run(stop))
            group.create_task(super().run(stop))

    async def handle(self, key: str, items: list[None]) -> None:
        flow = self.flows.cache.get(key)
        if flow is None:
            return
        namespace = _namespace(flow)
        world = JobFlowWorld(
            jobs=by_name(self.jobs.cache, namespace),
            templates=by_name(self.templates.cache, namespace),
            now=self.clock(),
            options=self.options,
        )
        plan = reconcile_jobflow(flow, world, FlowAction.SYNC_JOB_FLOW)
        if plan.created or plan.of(DeleteJob) or (plan.new_phase and plan.new_phase != _flow_phase(flow)):
            log.info(
                "applying jobflow plan",
                key=key,
                create=plan.created,
                delete=[op.name for op in plan.of(DeleteJob)],
                phase=plan.new_phase,
            )
        await self.apply(flow, plan)
        if plan.error:
            raise PlanError(plan.error)

    async def apply(self, flow: JobFlow, plan: Plan) -> None:
        key = object_key(flow)
        for op in plan.ops:
            if isinstance(op, CreateJob):
                try:
                    created = await self.kube.create(resources.JOBS, op.job, _namespace(op.job))
                except ApiError as err:
                    if err.already_exists:
                        continue
                    raise
                self.jobs.cache.note_written(created)
                log.info("jobflow created job", key=key, job=object_key(created))
            elif isinstance(op, DeleteJob):
                if await self.kube.delete(resources.JOBS, op.namespace, op.name, propagation="Background"):
                    log.info("jobflow deleted job", key=key, job=f"{op.namespace}/{op.name}")
            elif isinstance(op, UpdateJobFlowStatus):
                if op.jobflow.status == flow.status:
                    continue
                try:
                    written = await self.kube.replace(resources.JOBFLOWS, op.jobflow, subresource="status")
                except ApiError as err:
                    if err.not_found:
                        return
                    raise
                self.flows.cache.note_written(written)
                if _flow_phase(written) != _flow_phase(flow):
                    log.info(
                        "jobflow phase changed",
                        key=key,
                        old_phase=_flow_phase(flow),
                        new_phase=_flow_phase(written),
                    )
            elif isinstance(op, RecordEvent):
                self.recorder.record(_reference(flow), op.type, op.reason, op.message)
            elif isinstance(op, RunProbe):
                log.debug("jobflow probe not run", key=key, probe=op.probe.key)


def _flow_phase(flow: JobFlow) -> str:
    st = flow.status
    return (st.state.phase if st and st.state else None) or ""


def _reference(flow: JobFlow) -> ObjectReference:
    meta = flow.metadata
    return ObjectReference(
        api_version=FLOW_API_VERSION,
        kind="JobFlow",
        namespace=(meta.namespace if meta else None),
        name=(meta.name if meta else None),
        uid=(meta.uid if meta else None),
        resource_version=(meta.resource_version if meta else None),
    )
