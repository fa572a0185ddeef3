"""The queues that must exist before anything is scheduled.

Volcano's scheduler (not the controller, not the chart) creates them when its cache starts:
``root`` (weight 1, not reclaimable) first, then the default queue (weight 1, reclaimable),
each only when no queue of that name exists.
"""

from __future__ import annotations

from collections.abc import Container

from pyroclast.common.models import ObjectMeta, Queue, QueueSpec
from pyroclast.common.models import labels as keys
from pyroclast.common.models.scheduling import SCHEDULING_API_VERSION

ROOT_QUEUE = "root"


def _queue(name: str, reclaimable: bool) -> Queue:
    return Queue(
        api_version=SCHEDULING_API_VERSION,
        kind="Queue",
        metadata=ObjectMeta(name=name),
        spec=QueueSpec(weight=1, reclaimable=reclaimable),
    )


def bootstrap_queues(existing: Container[str], default_queue: str = keys.DEFAULT_QUEUE) -> list[Queue]:
    """Queues to create, in order, given the names of the queues that already exist."""
    wanted = [_queue(ROOT_QUEUE, False), _queue(default_queue, True)]
    seen: set[str] = set()
    out: list[Queue] = []
    for queue in wanted:
        name = queue.metadata.name if queue.metadata else ""
        if name and name not in existing and name not in seen:
            seen.add(name)
            out.append(queue)
    return out
