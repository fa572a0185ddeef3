"""One request in, one decision out: the action chosen by policy and, unless it is delayed,
the plan of executing it in the job's current phase."""

from __future__ import annotations

from dataclasses import dataclass

from pyroclast.controller.job.policies import (
    DelayedAction,
    Request,
    apply_policies,
    execute_message,
    state_action,
)
from pyroclast.controller.job.state import JobContext, Plan, execute


@dataclass
class Decision:
    delayed: DelayedAction
    plan: Plan | None
    """None when the action waits for ``delayed.delay``; run `execute_delayed` then."""
    message: str | None
    """Message of the ExecuteAction event to record on the job, if any."""


def decide(ctx: JobContext, req: Request) -> Decision:
    delayed = apply_policies(ctx.job, req)
    message = execute_message(delayed)
    if delayed.delay:
        return Decision(delayed, None, message)
    return Decision(delayed, execute(ctx, state_action(delayed)), message)


def execute_delayed(ctx: JobContext, delayed: DelayedAction) -> Plan:
    """The plan of a delayed action once its timeout expired, against the job as it is then."""
    return execute(ctx, state_action(delayed))
