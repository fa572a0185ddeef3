"""The cluster the admission rules see: queues followed from the NATS KV cache.

`QueueCache` is a `ClusterView` over the queues bucket. It is ready once the records present
when the watch started have all arrived, and follows every change after; a watch cut off for
too long starts over from the current records. Namespaces are not in the cache, so their
annotations are reported as unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

from nats.aio.client import Client

from pyroclast.common.bus.kv import QUEUES, CacheWatcher, ResumeGapError, WatchEvent, WatchOp
from pyroclast.common.bus.messages import QueueRecord, ResourceList
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.pull import PullSettings
from pyroclast.common.logging import get_logger
from pyroclast.common.models import ObjectMeta, Queue
from pyroclast.common.models.scheduling import Guarantee, QueueSpec, QueueStatus
from pyroclast.common.resources import format_amount
from pyroclast.webhook.admission.request import children_by_parent, queue_name

log = get_logger(__name__)


def _quantities(amounts: ResourceList) -> dict[str, str | int | float] | None:
    return {name: format_amount(name, amount) for name, amount in amounts.items()} or None


def queue_from_record(record: QueueRecord) -> Queue:
    """The Queue object a cache record stands for (the fields the admission rules read)."""
    guarantee = _quantities(record.guarantee)
    return Queue(
        api_version="scheduling.volcano.sh/v1beta1",
        kind="Queue",
        metadata=ObjectMeta(name=record.name, uid=record.uid or None, annotations=record.annotations or None),
        spec=QueueSpec(
            weight=record.weight,
            capability=_quantities(record.capability),
            deserved=_quantities(record.deserved),
            guarantee=Guarantee(resource=guarantee) if guarantee else None,
            reclaimable=record.reclaimable,
            parent=record.parent or None,
            priority=record.priority or None,
        ),
        status=QueueStatus(state=record.state or None),
    )


def _parent(queue: Queue) -> str | None:
    return queue.spec.parent if queue.spec is not None else None


class QueueCache:
    """A `ClusterView` kept up to date from the queues bucket."""

    def __init__(self) -> None:
        self._queues: dict[str, Queue] = {}
        self._children: dict[str, tuple[Queue, ...]] | None = None
        """Queues by parent, each group sorted by name: built on first use after the whole
        content changed, then kept up to date one queue at a time (`children` is asked on
        every job validation)."""
        self.synced = asyncio.Event()
        """Set once the initial records have all been applied."""

    @property
    def ready(self) -> bool:
        return self.synced.is_set()

    def readiness(self) -> bool | str:
        """A readiness check for the health server."""
        return True if self.ready else "queue cache not synced"

    def queue(self, name: str) -> Queue | None:
        return self._queues.get(name)

    def queues(self) -> Iterable[Queue]:
        return list(self._queues.values())

    def namespace_annotations(self, name: str) -> Mapping[str, str] | None:
        return None

    def children(self, parent: str) -> Sequence[Queue]:
        if self._children is None:
            self._children = children_by_parent(self._queues.values())
        return self._children.get(parent, ())

    def _swap(self, queues: dict[str, Queue]) -> None:
        self._queues, self._children = queues, None

    def _relink(self, old: Queue | None, new: Queue | None) -> None:
        """Move one queue's entry in the children index from ``old``'s parent to ``new``'s."""
        if self._children is None:
            return
        if old is not None and (parent := _parent(old)) is not None:
            group = tuple(q for q in self._children.get(parent, ()) if q is not old)
            if group:
                self._children[parent] = group
            else:
                self._children.pop(parent, None)
        if new is not None and (parent := _parent(new)) is not None:
            self._children[parent] = tuple(sorted((*self._children.get(parent, ()), new), key=queue_name))

    def apply(self, event: WatchEvent[QueueRecord]) -> None:
        """Apply one watch event."""
        if event.op is WatchOp.PUT and event.record is not None:
            queue = queue_from_record(event.record)
            self._relink(self._queues.get(event.key), queue)
            self._queues[event.key] = queue
        elif event.op is WatchOp.DELETE:
            self._relink(self._queues.pop(event.key, None), None)
        elif event.op is WatchOp.SYNCED and not self.synced.is_set():
            log.info("queue cache synced", queues=len(self._queues), revision=event.revision)
            self.synced.set()

    def replace(self, records: Iterable[QueueRecord]) -> None:
        """Set the whole content at once and mark the cache synced (tests and snapshots)."""
        self._swap({record.ref: queue_from_record(record) for record in records})
        self.synced.set()

    async def follow(
        self, nc: Client, names: BusNames, stop: asyncio.Event, settings: PullSettings | None = None
    ) -> None:
        """Follow the queues bucket until ``stop`` is set, starting over after a resume gap."""
        while not stop.is_set():
            watcher = CacheWatcher(nc, names, QUEUES, settings=settings)
            fresh: dict[str, Queue] | None = {} if self.synced.is_set() else None
            stopper = asyncio.ensure_future(stop.wait())
            try:
                async with watcher:
                    iterator = aiter(watcher)
                    while True:
                        step = asyncio.ensure_future(anext(iterator))
                        await asyncio.wait({step, stopper}, return_when=asyncio.FIRST_COMPLETED)
                        if not step.done():
                            step.cancel()
                            return
                        event = step.result()
                        if fresh is not None:
                            # A restart: build the new content aside, then swap it in whole.
                            if event.op is WatchOp.PUT and event.record is not None:
                                fresh[event.key] = queue_from_record(event.record)
                            elif event.op is WatchOp.SYNCED:
                                self._swap(fresh)
                                fresh = None
                            continue
                        self.apply(event)
            except StopAsyncIteration:
                return
            except ResumeGapError:
                log.warning("queue watch cut off too long; starting over")
            finally:
                stopper.cancel()
