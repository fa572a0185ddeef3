"""A de-duplicating work queue of object keys, as client-go's: a key is handled by one worker at
a time, and a key added while it is being handled is handled again afterwards."""

from __future__ import annotations

import asyncio


class WorkQueue:
    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: set[str] = set()
        self._processing: set[str] = set()
        self._dirty: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._failures: dict[str, int] = {}

    def add(self, key: str) -> None:
        if key in self._processing:
            self._dirty.add(key)
        elif key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: str, seconds: float) -> None:
        """Add ``key`` in ``seconds`` (an earlier pending timer for it is replaced)."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.get_running_loop().call_later(max(0.0, seconds), self._fire, key)

    def retry(self, key: str) -> float:
        """Add ``key`` back after a failure, waiting longer each time (50 ms doubling to 10 s)."""
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        delay = min(0.05 * 2.0 ** (count - 1), 10.0)
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        """``key`` succeeded: its next failure starts the back-off from the beginning."""
        self._failures.pop(key, None)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def get(self) -> str:
        key = await self._queue.get()
        self._pending.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def __len__(self) -> int:
        return len(self._pending)
