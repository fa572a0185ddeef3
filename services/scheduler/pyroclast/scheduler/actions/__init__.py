"""Built-in actions, registered in :data:`pyroclast.scheduler.framework.ACTIONS` on import."""

from pyroclast.scheduler.actions.allocate import Allocate
from pyroclast.scheduler.actions.backfill import Backfill
from pyroclast.scheduler.actions.enqueue import Enqueue
from pyroclast.scheduler.framework.registry import register_action

__all__ = ["Allocate", "Backfill", "Enqueue"]

for _action in (Enqueue, Allocate, Backfill):
    register_action(_action.name, _action)
