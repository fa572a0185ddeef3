"""The Volcano Queue controller's decisions as pure functions over models.

- `bootstrap`: the ``root`` and ``default`` queues created at start-up
- `state`: the Open/Closing/Closed/Unknown state machine per action
- `plan`: the API operations a decision amounts to
- `reconcile`: `reconcile_queue` (one request on one queue) and `handle_command`
- `status`: podgroup counts per phase and the ``allocated`` resources of each queue
"""

from pyroclast.controller.queue.bootstrap import ROOT_QUEUE, bootstrap_queues
from pyroclast.controller.queue.plan import (
    AnnotationPatch,
    ApplyState,
    DeleteCommand,
    Enqueue,
    ParentPatch,
    Plan,
    RecordEvent,
)
from pyroclast.controller.queue.reconcile import (
    CLOSED_BY_PARENT_KEY,
    QueueWorld,
    handle_command,
    is_queue_reference,
    podgroup_update_needs_sync,
    queue_update_needs_sync,
    reconcile_queue,
)
from pyroclast.controller.queue.status import PhaseCounts, count_podgroups, queue_allocated

__all__ = [
    "CLOSED_BY_PARENT_KEY",
    "ROOT_QUEUE",
    "AnnotationPatch",
    "ApplyState",
    "DeleteCommand",
    "Enqueue",
    "ParentPatch",
    "PhaseCounts",
    "Plan",
    "QueueWorld",
    "RecordEvent",
    "bootstrap_queues",
    "count_podgroups",
    "handle_command",
    "is_queue_reference",
    "podgroup_update_needs_sync",
    "queue_allocated",
    "queue_update_needs_sync",
    "reconcile_queue",
]
