"""Polling helpers for the bus integration tests (never a fixed sleep)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def wait_until(condition: Callable[[], bool], within: float = 10.0, every: float = 0.01) -> None:
    """Return once ``condition()`` holds; ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the condition is plain state, not an event
            await asyncio.sleep(every)


async def retrying(call: Callable[[], Awaitable[object]], within: float = 15.0, every: float = 0.05) -> None:
    """Run ``call`` until it succeeds (right after a restart JetStream may still be recovering)."""
    async with asyncio.timeout(within):
        while True:
            try:
                await call()
                return
            except Exception:
                await asyncio.sleep(every)
