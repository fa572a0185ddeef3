"""Components run until the stop event, drain, and a failing one stops the others."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from pyroclast.common.runtime import run_until_stopped


async def test_sigterm_stops_and_drains() -> None:
    drained: list[str] = []

    async def worker(stop: asyncio.Event) -> None:
        await stop.wait()
        drained.append("worker")

    async def send_term(stop: asyncio.Event) -> None:
        await asyncio.sleep(0)
        os.kill(os.getpid(), signal.SIGTERM)
        await stop.wait()

    async with asyncio.timeout(5):
        await run_until_stopped([worker, send_term])
    assert drained == ["worker"]


async def test_failure_cancels_siblings() -> None:
    async def worker(stop: asyncio.Event) -> None:
        await stop.wait()

    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("component failed")

    with pytest.raises(ExceptionGroup) as info:
        async with asyncio.timeout(5):
            await run_until_stopped([worker, broken])
    assert info.group_contains(RuntimeError, match="component failed")
