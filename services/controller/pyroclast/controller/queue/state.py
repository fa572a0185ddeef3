"""Volcano's queue state machine: which handler runs an action and the state it sets.

The state object is chosen from ``status.state`` (empty reads as Open); each state maps the
action to one of three handlers (sync, open, close) and a rule giving the new state from the
number of podgroups still in the queue. Podgroups count whatever their phase: a Closing
queue becomes Closed once its podgroups are deleted, not merely completed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pyroclast.common.models import QueueAction, QueueState

StateFn = Callable[[int], str]
"""New state given the number of podgroups in the queue."""


class Handler(StrEnum):
    SYNC = "sync"
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True)
class Transition:
    handler: Handler
    new_state: StateFn


_OPEN, _CLOSED, _CLOSING, _UNKNOWN = (
    QueueState.OPEN.value,
    QueueState.CLOSED.value,
    QueueState.CLOSING.value,
    QueueState.UNKNOWN.value,
)


def _always(state: str) -> StateFn:
    return lambda _count: state


def _closing_until_empty(count: int) -> str:
    return _CLOSED if count == 0 else _CLOSING


def _sync_rule(current: str) -> StateFn:
    """Rule of the default (sync) action: keep the state, finishing a pending close."""

    def rule(count: int) -> str:
        if current in ("", _OPEN):
            return _OPEN
        if current == _CLOSING:
            return _closing_until_empty(count)
        if current == _CLOSED:
            return _CLOSED
        return _UNKNOWN

    return rule


def is_valid_state(state: str) -> bool:
    return state in ("", _OPEN, _CLOSED, _CLOSING, _UNKNOWN)


def transition(state: str, action: str) -> Transition:
    """The handler and state rule for ``action`` on a queue in ``state`` (must be valid)."""
    if state in ("", _OPEN):
        if action == QueueAction.OPEN_QUEUE:
            return Transition(Handler.SYNC, _always(_OPEN))
        if action == QueueAction.CLOSE_QUEUE:
            return Transition(Handler.CLOSE, _closing_until_empty)
        return Transition(Handler.SYNC, _sync_rule(state))
    if state == _CLOSED:
        if action == QueueAction.OPEN_QUEUE:
            return Transition(Handler.OPEN, _always(_OPEN))
        if action == QueueAction.CLOSE_QUEUE:
            return Transition(Handler.SYNC, _always(_CLOSED))
        return Transition(Handler.SYNC, _sync_rule(state))
    if state == _CLOSING:
        if action == QueueAction.OPEN_QUEUE:
            return Transition(Handler.OPEN, _always(_OPEN))
        if action == QueueAction.CLOSE_QUEUE:
            return Transition(Handler.SYNC, _closing_until_empty)
        return Transition(Handler.SYNC, _sync_rule(state))
    if state == _UNKNOWN:
        if action == QueueAction.OPEN_QUEUE:
            return Transition(Handler.OPEN, _always(_OPEN))
        if action == QueueAction.CLOSE_QUEUE:
            return Transition(Handler.CLOSE, _closing_until_empty)
        return Transition(Handler.SYNC, _sync_rule(state))
    raise ValueError(f"invalid queue state {state!r}")
