"""Waiting for a condition with a deadline, for the sandbox's integration and e2e tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float, what: str, every: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {within}s waiting for {what} (last: {last!r})")
