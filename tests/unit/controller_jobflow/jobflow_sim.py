"""A tiny in-memory API for driving `reconcile_jobflow` through job phase changes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import msgspec

from pyroclast.common.models import Job, JobSpec, JobState, JobStatus, ObjectMeta
from pyroclast.common.models.flow import Flow, FlowDependsOn, JobFlow, JobFlowSpec, JobTemplate
from pyroclast.controller.job.timeutil import format_time
from pyroclast.controller.jobflow import (
    CreateJob,
    DeleteJob,
    FlowOptions,
    JobFlowWorld,
    Plan,
    UpdateJobFlowStatus,
    reconcile_jobflow,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def make_flow(
    name: str,
    steps: Mapping[str, list[str] | None],
    policy: str | None = "retain",
    namespace: str = "default",
) -> JobFlow:
    flows = [
        Flow(name=step, depends_on=FlowDependsOn(targets=targets) if targets is not None else None)
        for step, targets in steps.items()
    ]
    return JobFlow(
        metadata=ObjectMeta(name=name, namespace=namespace, uid=f"{name}-uid"),
        spec=JobFlowSpec(flows=flows, job_retain_policy=policy),
    )


def make_template(name: str, namespace: str = "default") -> JobTemplate:
    return JobTemplate(
        metadata=ObjectMeta(name=name, namespace=namespace), spec=JobSpec(min_available=1, queue="default")
    )


class Sim:
    """Applies plans to an in-memory store; jobs start with phase Pending."""

    def __init__(
        self, flow: JobFlow, templates: Mapping[str, JobTemplate], options: FlowOptions | None = None
    ):
        self.flow = flow
        self.templates = dict(templates)
        self.jobs: dict[str, Job] = {}
        self.clock = START
        self.options = options or FlowOptions()
        self.probe_results: dict[str, bool] = {}
        self.created_order: list[str] = []

    def world(self) -> JobFlowWorld:
        return JobFlowWorld(
            jobs=dict(self.jobs),
            templates=self.templates,
            now=self.clock,
            probe_results=dict(self.probe_results),
            options=self.options,
        )

    def sync(self) -> Plan:
        plan = reconcile_jobflow(self.flow, self.world())
        for op in plan.ops:
            if isinstance(op, CreateJob):
                meta = op.job.metadata
                assert meta is not None
                assert meta.name
                if meta.name in self.jobs:
                    continue
                self.created_order.append(meta.name)
                self.jobs[meta.name] = msgspec.structs.replace(
                    op.job,
                    metadata=msgspec.structs.replace(meta, creation_timestamp=format_time(self.clock)),
                    status=JobStatus(state=JobState(phase="Pending")),
                )
            elif isinstance(op, DeleteJob):
                self.jobs.pop(op.name, None)
            elif isinstance(op, UpdateJobFlowStatus):
                self.flow = op.jobflow
        self.clock += timedelta(minutes=1)
        return plan

    def set_phase(self, job: str, phase: str, running_duration: str | None = None) -> None:
        current = self.jobs[job]
        status = current.status or JobStatus()
        self.jobs[job] = msgspec.structs.replace(
            current,
            status=msgspec.structs.replace(
                status,
                state=JobState(phase=phase),
                running_duration=running_duration or status.running_duration,
            ),
        )

    @property
    def phase(self) -> str:
        st = self.flow.status
        return (st.state.phase if st and st.state else None) or ""
