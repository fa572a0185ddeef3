"""The Volcano JobFlow and JobTemplate controllers' decisions as pure functions over models.

- `naming`: job names ``<flow>-<template>``, created-by labels, ownership
- `build`: the Job built from a JobTemplate (and the optional patch merge)
- `status`: JobFlow status from its jobs, and the phase rules
- `probes`: probe requests for ``dependsOn.probe`` (not evaluated by Volcano)
- `reconcile`: `reconcile_jobflow`, `reconcile_jobtemplate` and the `Plan` they return
"""

from pyroclast.controller.jobflow.build import build_job, merge
from pyroclast.controller.jobflow.naming import (
    CREATED_BY_JOB_FLOW,
    CREATED_BY_JOB_TEMPLATE,
    is_controlled_by_jobflow,
    job_name,
    jobflow_of_job,
)
from pyroclast.controller.jobflow.probes import ProbeRequest, probe_requests
from pyroclast.controller.jobflow.reconcile import (
    CreateJob,
    DeleteJob,
    FlowOptions,
    JobFlowWorld,
    Plan,
    RecordEvent,
    RunProbe,
    UpdateJobFlowStatus,
    UpdateJobTemplateStatus,
    dependencies_met,
    jobflow_update_needs_sync,
    jobs_of_flow,
    reconcile_jobflow,
    reconcile_jobtemplate,
    template_of_job,
)
from pyroclast.controller.jobflow.status import compute_status, next_phase

__all__ = [
    "CREATED_BY_JOB_FLOW",
    "CREATED_BY_JOB_TEMPLATE",
    "CreateJob",
    "DeleteJob",
    "FlowOptions",
    "JobFlowWorld",
    "Plan",
    "ProbeRequest",
    "RecordEvent",
    "RunProbe",
    "UpdateJobFlowStatus",
    "UpdateJobTemplateStatus",
    "build_job",
    "compute_status",
    "dependencies_met",
    "is_controlled_by_jobflow",
    "job_name",
    "jobflow_of_job",
    "jobflow_update_needs_sync",
    "jobs_of_flow",
    "merge",
    "next_phase",
    "probe_requests",
    "reconcile_jobflow",
    "reconcile_jobtemplate",
    "template_of_job",
]
