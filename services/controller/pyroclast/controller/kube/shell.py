"""The async shell shared by the queue, podgroup and jobflow controllers.

A :class:`KeyedController` owns one rate-limited work queue keyed by ``namespace/name`` (or
``name``), waits for the caches it reads, and runs workers that hand each key and its
pending items to :meth:`KeyedController.handle`. A failed key comes back after its backoff;
after ``max_requeue`` failures it is dropped with an error log (the next informer event
queues it again), as Volcano's controllers do. Reconcile time and failures are exported per
controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from pyroclast.common.logging import get_logger
from pyroclast.controller import metrics
from pyroclast.controller.kube.informer import Cache
from pyroclast.controller.kube.workqueue import ShutDownError, WorkQueue

V = TypeVar("V")
T = TypeVar("T", bound=msgspec.Struct)

log = get_logger(__name__)


@dataclass(frozen=True)
class ShellSettings:
    workers: int = 2
    max_requeue: int = 15
    """Failures of one key before it is dropped (-1: retry forever)."""
    base_delay: float = 0.005
    max_delay: float = 60.0
    reconcile_timeout: float = 60.0


DEFAULT_SETTINGS = ShellSettings()


class CacheView(Mapping[str, T]):
    """A read-only mapping over an informer cache (``namespace/name`` -> object).

    Lookups go through :meth:`Cache.get`, so objects this process just wrote are seen."""

    def __init__(self, cache: Cache[T]) -> None:
        self._cache = cache

    def __getitem__(self, key: str) -> T:
        found = self._cache.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache.keys())

    def __len__(self) -> int:
        return len(self._cache)


def by_name(cache: Cache[T], namespace: str) -> dict[str, T]:
    """Objects of ``namespace`` keyed by name."""
    prefix = f"{namespace}/"
    out: dict[str, T] = {}
    for key in cache.keys():  # noqa: SIM118 (a Cache is not a mapping)
        if key.startswith(prefix):
            obj = cache.get(key)
            if obj is not None:
                out[key[len(prefix) :]] = obj
    return out


class RetryItems(Exception):
    """Raised by a handler that got through some items: only ``items`` are retried."""

    def __init__(self, items: list[Any], cause: Exception) -> None:
        super().__init__(str(cause) or repr(cause))
        self.items = items
        self.cause = cause


class KeyedController(Generic[V]):
    """Work queue, workers, retries and metrics; subclasses implement :meth:`handle`."""

    name = "controller"

    def __init__(self, caches: Sequence[Cache[Any]], settings: ShellSettings) -> None:
        self.settings = settings
        self._caches = list(caches)
        self.queue: WorkQueue[V] = WorkQueue(
            self.name,
            base_delay=settings.base_delay,
            max_delay=settings.max_delay,
            on_depth=metrics.WORKQUEUE_DEPTH.labels(queue=self.name).set,
        )
        self._started = False

    async def handle(self, key: str, items: list[V]) -> None:
        raise NotImplementedError

    def synced(self) -> bool:
        return self._started

    async def _work(self, key: str, items: list[V]) -> None:
        try:
            async with asyncio.timeout(self.settings.reconcile_timeout):
                await self.handle(key, items)
        except Exception as failure:
            err: Exception = failure
            if isinstance(failure, RetryItems):
                items, err = failure.items, failure.cause
            metrics.RECONCILE_ERRORS.labels(controller=self.name).inc()
            limit = self.settings.max_requeue
            if limit == -1 or self.queue.num_requeues(key) < limit:
                delay = self.queue.add_rate_limited(key, items)
                log.warning(
                    f"{self.name} handling failed; retrying",
                    key=key,
                    error=str(err) or repr(err),
                    retry_in=delay,
                )
                return
            self.queue.forget(key)
            log.error(f"{self.name} handling failed; dropped after retries", key=key, error=repr(err))
            return
        self.queue.forget(key)

    async def worker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                key, items = await self.queue.get()
            except ShutDownError:
                return
            started = time.monotonic()
            try:
                await self._work(key, items)
            finally:
                self.queue.done(key)
                metrics.RECONCILE_SECONDS.labels(controller=self.name).observe(time.monotonic() - started)

    async def run(self, stop: asyncio.Event) -> None:
        """Wait for the caches, then run the workers until ``stop``."""
        while not all(c.synced.is_set() for c in self._caches):
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
        self._started = True
        log.info(f"{self.name} controller started", workers=self.settings.workers)
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.settings.workers):
                    group.create_task(self.worker(stop))
                await stop.wait()
                self.queue.shutdown()
        finally:
            self._started = False
