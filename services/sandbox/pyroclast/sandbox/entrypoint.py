"""What every sandbox process shares: argument errors as one line, JSON logs, clean signals."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn

from pyroclast.common.logging import configure_logging
from pyroclast.common.runtime import tune_gc


class UsageError(Exception):
    """A bad command line: reported as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but errors raise :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def run_until_signalled(service: str, work: Callable[[], Awaitable[None]], level: str = "info") -> int:
    """Run ``work()`` with JSON logging until it ends or SIGTERM/SIGINT arrives; exit code 0 on a signal."""
    configure_logging(service, level=level)
    tune_gc()
    return asyncio.run(_main(work))


async def _main(work: Callable[[], Awaitable[None]]) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work())
    stopping = False

    def stop() -> None:
        nonlocal stopping
        stopping = True
        task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        await task
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    return 0


def fail(prog: str, message: str, code: int = 2) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code
