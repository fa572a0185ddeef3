"""The cache publisher: keeps the KV buckets equal to the API's nodes, pods, podgroups,
queues and priority classes, projected into bus records.

Level-triggered: an informer event only marks its key dirty; the writer projects the
object as the informer cache holds it then (or deletes the key when the object is gone) and
skips the write when the record equals the last one written. On start the writer loads what
the bucket holds and marks every key of the bucket and of the API dirty, which is the full
resync: changed records are rewritten, records of objects no longer in the API deleted,
and nothing else written.

The publisher runs on the leader only: two replicas following the API at different
speeds could otherwise overwrite a newer record with an older one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from nats.aio.client import Client

from pyroclast.common.bus import kv
from pyroclast.common.bus.connect import Backoff
from pyroclast.common.bus.messages import Record
from pyroclast.common.bus.names import BusNames
from pyroclast.common.logging import get_logger
from pyroclast.controller import metrics, project
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.informer import Handlers, Informer, object_key

T = TypeVar("T", bound=msgspec.Struct)
R = TypeVar("R", bound=Record)

log = get_logger(__name__)

WRITE_CONCURRENCY = 64


@dataclass
class BucketPublisher(Generic[T, R]):
    """Mirrors one informer cache into one KV bucket."""

    informer: Informer[T]
    writer: kv.CacheWriter[R]
    bucket: kv.BucketSpec[R]
    project: Callable[[T], R]
    nc: Client
    names: BusNames
    timeout: float = 5.0
    written: dict[str, R] = field(default_factory=dict)
    dirty: dict[str, float] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    resynced: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.informer.cache.add_handlers(
            Handlers(on_add=self._mark, on_update=lambda _old, new: self._mark(new), on_delete=self._mark)
        )

    def _mark(self, obj: T) -> None:
        self.dirty.setdefault(object_key(obj), time.monotonic())
        self.wake.set()

    async def load_bucket(self) -> dict[str, R]:
        """The records the bucket holds now."""
        held: dict[str, R] = {}
        watcher = kv.CacheWatcher(self.nc, self.names, self.bucket)
        async with asyncio.timeout(60), watcher:
            async for event in watcher:
                if event.op == kv.WatchOp.SYNCED:
                    break
                if event.op == kv.WatchOp.PUT and event.record is not None:
                    held[event.key] = event.record
                elif event.op == kv.WatchOp.DELETE:
                    held.pop(event.key, None)
        return held

    async def resync(self) -> None:
        self.written = await self.load_bucket()
        now = time.monotonic()
        for key in [*self.written, *self.informer.cache.keys()]:
            self.dirty.setdefault(key, now)
        self.wake.set()

    async def _write(self, key: str, since: float) -> None:
        obj = self.informer.cache.get(key)
        label = self.bucket.kind.value
        if obj is None:
            if key not in self.written:
                return
            await self.writer.delete(key, timeout=self.timeout)
            self.written.pop(key, None)
            metrics.PUBLISHER_WRITES.labels(bucket=label, op="delete").inc()
        else:
            record = self.project(obj)
            if self.written.get(key) == record:
                return
            await self.writer.put(record, timeout=self.timeout)
            self.written[key] = record
            metrics.PUBLISHER_WRITES.labels(bucket=label, op="put").inc()
        metrics.PUBLISHER_LAG.labels(bucket=label).observe(time.monotonic() - since)

    async def flush(self) -> bool:
        """Write every dirty key once; False when some write failed (they stay dirty)."""
        batch, self.dirty = self.dirty, {}
        failed = False
        semaphore = asyncio.Semaphore(WRITE_CONCURRENCY)

        async def one(key: str, since: float) -> None:
            nonlocal failed
            async with semaphore:
                try:
                    await self._write(key, since)
                except Exception as err:
                    failed = True
                    self.dirty.setdefault(key, since)
                    metrics.PUBLISHER_ERRORS.labels(bucket=self.bucket.kind.value).inc()
                    log.warning("cache write failed", key=key, bucket=self.bucket.kind.value, error=repr(err))

        await asyncio.gather(*(one(k, s) for k, s in batch.items()))
        return not failed

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(initial=0.1, maximum=5.0)
        attempt = 0
        while not stop.is_set():
            try:
                await self.informer.wait_synced()
                await self.resync()
                break
            except Exception as err:
                log.warning("cache resync failed", bucket=self.bucket.kind.value, error=repr(err))
                await _sleep(stop, backoff.delay(attempt))
                attempt += 1
        log.info("cache resync started", bucket=self.bucket.kind.value, keys=len(self.dirty))
        attempt = 0
        while not stop.is_set():
            if not self.dirty:
                self.wake.clear()
                self.resynced.set()
                await _wait_either(self.wake, stop)
                continue
            if await self.flush():
                attempt = 0
            else:
                await _sleep(stop, backoff.delay(attempt))
                attempt += 1


class CachePublisher:
    """The five bucket publishers over shared informers."""

    def __init__(
        self, factory: InformerFactory, nc: Client, names: BusNames, *, timeout: float = 5.0
    ) -> None:
        def bucket(rt: Any, spec: Any, fn: Any) -> BucketPublisher[Any, Any]:
            writer = kv.CacheWriter(nc, names, spec, timeout=timeout)
            return BucketPublisher(factory.informer(rt), writer, spec, fn, nc, names, timeout)

        self.buckets: list[BucketPublisher[Any, Any]] = [
            bucket(resources.NODES, kv.NODES, project.project_node),
            bucket(resources.PODS, kv.PODS, project.project_pod),
            bucket(resources.PODGROUPS, kv.PODGROUPS, project.project_podgroup),
            bucket(resources.QUEUES, kv.QUEUES, project.project_queue),
            bucket(resources.PRIORITY_CLASSES, kv.PRIORITY_CLASSES, project.project_priority_class),
        ]

    def synced(self) -> bool:
        return all(b.resynced.is_set() for b in self.buckets)

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            for publisher in self.buckets:
                group.create_task(publisher.run(stop))


async def _sleep(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


async def _wait_either(first: asyncio.Event, second: asyncio.Event) -> None:
    tasks = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
