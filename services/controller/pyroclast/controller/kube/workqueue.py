"""A rate-limited work queue keyed by ``namespace/name``.

Semantics of client-go's work queue, with payloads: a key is queued at most once; items
added for a key that is already queued join its pending items (equal items are kept once);
a key handed to a worker is not handed to another until the worker calls :meth:`done`, and
items added meanwhile are delivered after that. Failed work comes back through
:meth:`add_rate_limited` after an exponential backoff per key, reset by :meth:`forget`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

V = TypeVar("V")


class ShutDownError(Exception):
    """The queue was shut down."""


class WorkQueue(Generic[V]):
    def __init__(
        self,
        name: str = "",
        *,
        base_delay: float = 0.005,
        max_delay: float = 60.0,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._on_depth = on_depth
        self._queue: deque[str] = deque()
        self._dirty: dict[str, list[V]] = {}
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._ready = asyncio.Event()
        self._shutdown = False

    def __len__(self) -> int:
        """Keys waiting for a worker."""
        return len(self._queue)

    @property
    def processing(self) -> frozenset[str]:
        return frozenset(self._processing)

    def pending(self, key: str) -> list[V]:
        """Items waiting for ``key`` (not those a worker holds)."""
        return list(self._dirty.get(key, []))

    def _changed(self) -> None:
        if self._queue or self._shutdown:
            self._ready.set()
        else:
            self._ready.clear()
        if self._on_depth is not None:
            self._on_depth(len(self._queue))

    def add(self, key: str, item: V | None = None) -> None:
        """Queue ``key`` (with ``item`` among its pending items, if given)."""
        self.add_many(key, [] if item is None else [item])

    def add_many(self, key: str, items: Iterable[V]) -> None:
        if self._shutdown:
            return
        pending = self._dirty.get(key)
        if pending is None:
            pending = self._dirty[key] = []
            if key not in self._processing:
                self._queue.append(key)
        for item in items:
            if item not in pending:
                pending.append(item)
        self._changed()

    def add_after(self, key: str, item: V | None, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds."""
        if self._shutdown:
            return
        if delay <= 0:
            self.add(key, item)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            self.add(key, item)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def backoff(self, key: str) -> float:
        """The delay the next :meth:`add_rate_limited` of ``key`` waits."""
        failures = self._failures.get(key, 0)
        return float(min(self.base_delay * (2**failures), self.max_delay))

    def add_rate_limited(self, key: str, items: Iterable[V] = ()) -> float:
        """Queue ``key`` again after its backoff; returns the delay used."""
        delay = self.backoff(key)
        self._failures[key] = self._failures.get(key, 0) + 1
        items = list(items)
        if not items:
            self.add_after(key, None, delay)
        for item in items:
            self.add_after(key, item, delay)
        return delay

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        """Reset the backoff of ``key``."""
        self._failures.pop(key, None)

    async def get(self) -> tuple[str, list[V]]:
        """The next key and its items; the key is held until :meth:`done`."""
        while not self._queue:
            if self._shutdown:
                raise ShutDownError(self.name)
            await self._ready.wait()
        key = self._queue.popleft()
        items = self._dirty.pop(key, [])
        self._processing.add(key)
        self._changed()
        return key, items

    def done(self, key: str) -> None:
        """The worker finished ``key``; re-queue it if items arrived meanwhile."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
        self._changed()

    def shutdown(self) -> None:
        """Stop accepting work; waiting :meth:`get` calls raise :class:`ShutDownError`."""
        self._shutdown = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._ready.set()

    @property
    def is_shutdown(self) -> bool:
        return self._shutdown
