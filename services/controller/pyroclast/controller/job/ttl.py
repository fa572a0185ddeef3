"""``ttlSecondsAfterFinished``: when a finished job is due for deletion."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyroclast.common.models import Job, JobPhase
from pyroclast.controller.job import spec
from pyroclast.controller.job.timeutil import parse_time

FINISHED = frozenset({JobPhase.COMPLETED, JobPhase.FAILED, JobPhase.TERMINATED})
"""Phases the garbage collector treats as finished (an Aborted job is kept)."""


def needs_cleanup(job: Job) -> bool:
    return (
        job.spec is not None
        and job.spec.ttl_seconds_after_finished is not None
        and spec.phase(job) in FINISHED
    )


def time_left(job: Job, now: datetime) -> timedelta | None:
    """Time until the job is deleted (negative when overdue); None when it never is or its
    finish time is unknown."""
    if not needs_cleanup(job):
        return None
    state = spec.status(job).state
    finished = state.last_transition_time if state else None
    if not finished or job.spec is None or job.spec.ttl_seconds_after_finished is None:
        return None
    expires = parse_time(finished) + timedelta(seconds=job.spec.ttl_seconds_after_finished)
    return expires - now
