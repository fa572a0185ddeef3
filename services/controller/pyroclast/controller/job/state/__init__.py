"""The Job phase state machine: an action on a job in some phase becomes a `Plan`."""

from pyroclast.controller.job.state.ops import kill_job, kill_pods, kill_target, sync_job
from pyroclast.controller.job.state.phases import execute
from pyroclast.controller.job.state.plan import (
    RETAIN_NONE,
    RETAIN_SOFT,
    Draft,
    JobContext,
    Operation,
    Plan,
    StateAction,
    Target,
    TargetType,
)

__all__ = [
    "RETAIN_NONE",
    "RETAIN_SOFT",
    "Draft",
    "JobContext",
    "Operation",
    "Plan",
    "StateAction",
    "Target",
    "TargetType",
    "execute",
    "kill_job",
    "kill_pods",
    "kill_target",
    "sync_job",
]
