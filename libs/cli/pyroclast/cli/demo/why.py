"""``vcctl job why``, asked in the background while a job waits, as a user would ask it."""

from __future__ import annotations

import asyncio
import contextlib
import time

from rich.console import Console

from pyroclast.cli.demo.common import DEMO_NAMESPACE, Check, Cluster, shorten
from pyroclast.cli.demo.shell import print_output, vcctl, vcctl_binary

WHY_TIMEOUT = 6.0
REASON = "gang needs"
"""What the scheduler's explanation of a gang that does not fit starts with."""


class WhyProbe:
    """Runs ``vcctl job why NAME`` until its answer carries the live scheduler's reason (or
    the time is up, or ``stop`` is called), then prints the last answer."""

    def __init__(self, console: Console, cluster: Cluster, name: str) -> None:
        self.console = console
        self.cluster = cluster
        self.name = name
        self.output = ""
        self.code: int | None = None
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None and vcctl_binary() is not None:
            self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        self._stopped.set()

    async def _run(self) -> None:
        deadline = time.monotonic() + WHY_TIMEOUT
        args = ("job", "why", self.name, "-n", DEMO_NAMESPACE)
        while True:
            self.code, self.output = await vcctl(self.cluster, *args)
            if self.named or self._stopped.is_set() or time.monotonic() > deadline:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), 0.5)
        print_output(self.console, f"vcctl {' '.join(args)}", self.output)

    async def finish(self) -> None:
        """Wait for the last answer (it is printed by then)."""
        self.stop()
        if self._task is not None:
            await self._task

    @property
    def named(self) -> bool:
        return self.code == 0 and REASON in self.output

    def check(self) -> Check | None:
        """The summary row, or None if vcctl is not installed here."""
        if vcctl_binary() is None:
            return None
        why = next((line for line in self.output.splitlines() if line.startswith("Why:")), "")
        if self._task is None:
            observed = "not asked: the job never waited"
        elif self.code != 0:
            observed = f"exit {self.code}: {shorten(self.output.strip())}"
        else:
            observed = shorten(why or self.output.strip() or "no answer")
        return (f"vcctl job why {self.name}", f'names the reason: "{REASON} ..."', observed, self.named)
