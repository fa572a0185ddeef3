"""One sync of a JobFlow or a JobTemplate as a `Plan` of API operations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from pyroclast.common.models import Job, JobFlowPhase, JobPhase, RetainPolicy
from pyroclast.common.models.enums import FlowAction
from pyroclast.common.models.flow import Flow, JobFlow, JobTemplate, JobTemplateStatus
from pyroclast.controller.jobflow.build import build_job
from pyroclast.controller.jobflow.naming import (
    CREATED_BY_JOB_FLOW,
    CREATED_BY_JOB_TEMPLATE,
    created_by,
    job_name,
    meta_of,
    object_string,
)
from pyroclast.controller.jobflow.probes import ProbeRequest, probe_requests
from pyroclast.controller.jobflow.status import compute_status, job_phase, next_phase, with_phase


@dataclass(frozen=True)
class FlowOptions:
    """Departures from Volcano, all off by default."""

    apply_patch: bool = False
    """Merge ``flows[].patch.jobSpec`` into the template's spec (see `build.merge`)."""
    enforce_probes: bool = False
    """Also require every ``dependsOn.probe`` of a step to have passed."""


@dataclass(frozen=True)
class JobFlowWorld:
    """Read-only view of the flow's namespace."""

    jobs: Mapping[str, Job] = field(default_factory=dict)
    """Volcano Jobs of the namespace by name."""
    templates: Mapping[str, JobTemplate] = field(default_factory=dict)
    """JobTemplates of the namespace by name."""
    now: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    """The sync's wall-clock time, stamped on new running histories; pass the real one."""
    probe_results: Mapping[str, bool] = field(default_factory=dict)
    """Outcome of each `ProbeRequest` run, by its ``key``."""
    options: FlowOptions = FlowOptions()


@dataclass(frozen=True)
class CreateJob:
    """Create; AlreadyExists counts as done."""

    job: Job


@dataclass(frozen=True)
class DeleteJob:
    namespace: str
    name: str


@dataclass(frozen=True)
class UpdateJobFlowStatus:
    jobflow: JobFlow


@dataclass(frozen=True)
class UpdateJobTemplateStatus:
    template: JobTemplate


@dataclass(frozen=True)
class RunProbe:
    probe: ProbeRequest


@dataclass(frozen=True)
class RecordEvent:
    type: str
    reason: str
    message: str


Operation = CreateJob | DeleteJob | UpdateJobFlowStatus | UpdateJobTemplateStatus | RunProbe | RecordEvent


@dataclass
class Plan:
    """Operations in order; ``error`` set means: apply them, then retry the request later."""

    ops: list[Operation] = field(default_factory=list)
    error: str | None = None

    def of(self, kind: type[Any]) -> list[Any]:
        return [op for op in self.ops if isinstance(op, kind)]

    @property
    def created(self) -> list[str]:
        return [(op.job.metadata.name if op.job.metadata else None) or "" for op in self.of(CreateJob)]

    @property
    def new_phase(self) -> str | None:
        for op in self.of(UpdateJobFlowStatus):
            st = op.jobflow.status
            return (st.state.phase if st and st.state else None) or ""
        return None


def jobs_of_flow(jobflow: JobFlow, jobs: Mapping[str, Job]) -> list[Job]:
    """Jobs labelled as created by ``jobflow``, by name."""
    meta = meta_of(jobflow)
    mark = object_string(meta.namespace or "", meta.name or "")
    return [job for _, job in sorted(jobs.items()) if created_by(job, CREATED_BY_JOB_FLOW, mark)]


def _phase(jobflow: JobFlow) -> str:
    st = jobflow.status
    return (st.state.phase if st and st.state else None) or ""


def dependencies_met(jobflow: JobFlow, flow: Flow, world: JobFlowWorld) -> bool:
    """Every target's job exists and is Completed (and, when enforced, every probe passed)."""
    name = meta_of(jobflow).name or ""
    targets = flow.depends_on.targets if flow.depends_on else None
    for target in targets or []:
        job = world.jobs.get(job_name(name, target))
        if job is None or job_phase(job) != JobPhase.COMPLETED:
            return False
    if world.options.enforce_probes:
        return all(world.probe_results.get(p.key, False) for p in probe_requests(flow))
    return True


def reconcile_jobflow(jobflow: JobFlow, world: JobFlowWorld, action: str = FlowAction.SYNC_JOB_FLOW) -> Plan:
    """One sync: create the jobs whose dependencies are met, then write the new status.

    A Failed or Terminating flow is left alone; a Succeed flow with ``jobRetainPolicy:
    delete`` has its jobs deleted instead (its status is kept).
    """
    phase = _phase(jobflow)
    valid = ("", *(p.value for p in JobFlowPhase))
    if phase not in valid:
        return Plan(error=f"jobflow {meta_of(jobflow).name} state {phase} is invalid")
    if phase in (JobFlowPhase.FAILED, JobFlowPhase.TERMINATING) or action != FlowAction.SYNC_JOB_FLOW:
        return Plan()
    meta = meta_of(jobflow)
    namespace = meta.namespace or ""
    spec_policy = jobflow.spec.job_retain_policy if jobflow.spec else None
    if spec_policy == RetainPolicy.DELETE and phase == JobFlowPhase.SUCCEED:
        return Plan(
            ops=[DeleteJob(namespace, meta_of(j).name or "") for j in jobs_of_flow(jobflow, world.jobs)]
        )
    plan = Plan()
    flows = (jobflow.spec.flows if jobflow.spec else None) or []
    for flow in flows:
        name = job_name(meta.name or "", flow.name)
        if name in world.jobs:
            continue
        if not dependencies_met(jobflow, flow, world):
            if world.options.enforce_probes and _targets_done(jobflow, flow, world):
                plan.ops.extend(
                    RunProbe(p) for p in probe_requests(flow) if not world.probe_results.get(p.key)
                )
            continue
        template = world.templates.get(flow.name)
        if template is None:
            plan.error = f'jobtemplate.flow.volcano.sh "{flow.name}" not found'
            return plan
        plan.ops.append(CreateJob(build_job(jobflow, flow, template, world.options.apply_patch)))
        plan.ops.append(RecordEvent("Normal", "Created", f"create a job named {name}!"))
    status = compute_status(jobflow.status, jobs_of_flow(jobflow, world.jobs), world.now)
    status = with_phase(status, next_phase(phase, status, len(flows)))
    plan.ops.append(UpdateJobFlowStatus(msgspec.structs.replace(jobflow, status=status)))
    return plan


def _targets_done(jobflow: JobFlow, flow: Flow, world: JobFlowWorld) -> bool:
    relaxed = JobFlowWorld(world.jobs, world.templates, world.now, world.probe_results, FlowOptions())
    return dependencies_met(jobflow, flow, relaxed)


def jobflow_update_needs_sync(old: JobFlow, new: JobFlow) -> bool:
    """JobFlow updates only matter once it Succeeded with ``jobRetainPolicy: delete``."""
    old_rv, new_rv = meta_of(old).resource_version, meta_of(new).resource_version
    if old_rv is not None and old_rv == new_rv:
        return False
    policy = new.spec.job_retain_policy if new.spec else None
    return _phase(new) == JobFlowPhase.SUCCEED and policy == RetainPolicy.DELETE


def reconcile_jobtemplate(template: JobTemplate, jobs: Mapping[str, Job]) -> Plan:
    """Record in ``status.jobDependsOnList`` the jobs created from the template (no jobs: no write)."""
    meta = template.metadata
    mark = object_string((meta.namespace if meta else None) or "", (meta.name if meta else None) or "")
    names = [name for name, job in sorted(jobs.items()) if created_by(job, CREATED_BY_JOB_TEMPLATE, mark)]
    if not names:
        return Plan()
    updated = msgspec.structs.replace(template, status=JobTemplateStatus(job_depends_on_list=names))
    return Plan(ops=[UpdateJobTemplateStatus(updated)])


def template_of_job(job: Job) -> tuple[str, str] | None:
    """(namespace, template) from a job's created-by-template label, for requeueing."""
    value = (meta_of(job).labels or {}).get(CREATED_BY_JOB_TEMPLATE, "")
    parts = value.split(".")
    if len(parts) != 2:
        return None
    return parts[0], parts[1]
