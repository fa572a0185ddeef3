"""JobFlow status from the jobs it created, and the phase rules of each JobFlow state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from pyroclast.common.models import Job, JobFlowPhase, JobPhase
from pyroclast.common.models.flow import (
    FlowCondition,
    FlowJobStatus,
    JobFlowState,
    JobFlowStatus,
    JobRunningHistory,
)
from pyroclast.controller.job.timeutil import format_time, parse_duration, parse_time
from pyroclast.controller.jobflow.naming import meta_of

_LISTED = (
    JobPhase.PENDING,
    JobPhase.RUNNING,
    JobPhase.COMPLETING,
    JobPhase.COMPLETED,
    JobPhase.TERMINATING,
    JobPhase.TERMINATED,
    JobPhase.FAILED,
)
"""Job phases with a list of their own; Completing and Terminating ones are in no list,
and jobs in any other phase are "unknown"."""


def job_phase(job: Job) -> str:
    return (job.status.state.phase if job.status and job.status.state else None) or ""


def _end_time(job: Job) -> str | None:
    created = meta_of(job).creation_timestamp
    duration = job.status.running_duration if job.status else None
    if not created or not duration:
        return None
    return format_time(parse_time(created) + parse_duration(duration))


def _histories(previous: list[FlowJobStatus], job: Job, now: str) -> list[JobRunningHistory]:
    """Running histories of ``job``: a new entry each time its phase changes."""
    name, phase = meta_of(job).name, job_phase(job)
    for entry in previous:
        if entry.name == name and entry.running_histories:
            histories = list(entry.running_histories)
            if histories[-1].state != phase:
                histories[-1] = msgspec.structs.replace(histories[-1], end_timestamp=now)
                histories.append(JobRunningHistory(start_timestamp=now, state=phase or None))
            return histories
    return [JobRunningHistory(start_timestamp=now, state=phase)] if phase else []


def compute_status(previous: JobFlowStatus | None, jobs: Iterable[Job], now: datetime) -> JobFlowStatus:
    """Lists of job names per phase, per-job conditions and the job status list, as Volcano
    rebuilds them on every sync; the state (phase) is carried over unchanged."""
    previous = previous or JobFlowStatus()
    stamp = format_time(now)
    by_phase: dict[str, list[str]] = {p.value: [] for p in _LISTED}
    unknown: list[str] = []
    conditions: dict[str, FlowCondition] = {}
    ordered = sorted(jobs, key=lambda j: meta_of(j).name or "")
    for job in ordered:
        name, phase = meta_of(job).name or "", job_phase(job)
        by_phase.get(phase, unknown).append(name)
        conditions[name] = FlowCondition(
            phase=phase or None,
            create_time=meta_of(job).creation_timestamp,
            running_duration=job.status.running_duration if job.status else None,
            task_status_count=(job.status.task_status_count if job.status else None) or None,
        )
    old_list = list(previous.job_status_list or [])
    status_list = list(old_list)
    for job in ordered:
        name = meta_of(job).name or ""
        entry = FlowJobStatus(
            name=name or None,
            state=job_phase(job) or None,
            start_timestamp=meta_of(job).creation_timestamp,
            end_timestamp=_end_time(job),
            restart_count=(job.status.retry_count if job.status else None) or None,
            running_histories=_histories(old_list, job, stamp) or None,
        )
        replaced = False
        for i, old in enumerate(status_list):
            if old.name == name:
                status_list[i] = entry
                replaced = True
        if not replaced:
            status_list.append(entry)
    return JobFlowStatus(
        pending_jobs=by_phase[JobPhase.PENDING] or None,
        running_jobs=by_phase[JobPhase.RUNNING] or None,
        failed_jobs=by_phase[JobPhase.FAILED] or None,
        completed_jobs=by_phase[JobPhase.COMPLETED] or None,
        terminated_jobs=by_phase[JobPhase.TERMINATED] or None,
        un_know_jobs=unknown or None,
        job_status_list=status_list or None,
        conditions=conditions or None,
        state=previous.state,
    )


def next_phase(current: str, status: JobFlowStatus, flow_count: int) -> str:
    """The phase after a sync in state ``current`` (Pending, Running or Succeed)."""
    running, completed = len(status.running_jobs or []), len(status.completed_jobs or [])
    failed, terminated = len(status.failed_jobs or []), len(status.terminated_jobs or [])
    if current in ("", JobFlowPhase.PENDING):
        if (running > 0 or completed > 0) and failed <= 0:
            return JobFlowPhase.RUNNING.value
        if failed > 0 or terminated > 0:
            return JobFlowPhase.FAILED.value
        return JobFlowPhase.PENDING.value
    if current == JobFlowPhase.RUNNING:
        if completed == flow_count:
            return JobFlowPhase.SUCCEED.value
        if failed > 0 or terminated > 0:
            return JobFlowPhase.FAILED.value
    return current


def with_phase(status: JobFlowStatus, phase: str) -> JobFlowStatus:
    return msgspec.structs.replace(status, state=JobFlowState(phase=phase or None))
