"""``--watch``: a live table or live job progress on a terminal (rich Live), change lines
otherwise (so a pipe or a log shows each change as it happens)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn
from rich.text import Text

from pyroclast.cli.vc import output
from pyroclast.cli.vc.kube import Obj, dig

INTERVAL = 1.0
FINISHED = frozenset({"Completed", "Failed", "Terminated", "Aborted"})
COUNTS = ("pending", "running", "succeeded", "failed", "unknown")


async def watch_rows(
    fetch: Callable[[], Awaitable[list[Obj]]],
    headers: Sequence[str],
    row: Callable[[Obj], list[object]],
    *,
    interval: float = INTERVAL,
) -> None:
    """Refresh a table every ``interval`` seconds until interrupted."""
    if sys.stdout.isatty():
        with Live(output.table(headers, []), console=output.console(), auto_refresh=False) as live:
            while True:
                live.update(output.table(headers, [row(obj) for obj in await fetch()]), refresh=True)
                await asyncio.sleep(interval)
    seen: dict[str, list[str]] = {}
    first = True
    while True:
        rows: list[list[str]] = [[str(cell) for cell in row(obj)] for obj in await fetch()]
        changed = [r for r in rows if seen.get("/".join(r[:2])) != r]
        if first:
            sys.stdout.write(output.render_table(headers, rows) + "\n")
            first = False
        elif changed:
            lines = output.render_table(headers, list(changed)).splitlines()[1:]
            sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        seen = {"/".join(r[:2]): r for r in rows}
        await asyncio.sleep(interval)


def status_line(job: Obj) -> str:
    """A one-line summary of a job's progress."""
    status = job.get("status") or {}
    phase = dig(status, "state", "phase", default="Pending") or "Pending"
    counts = " ".join(f"{key}={int(status.get(key) or 0)}" for key in COUNTS)
    total = sum(int(t.get("replicas") or 0) for t in dig(job, "spec", "tasks", default=[]))
    done = int(status.get("running") or 0) + int(status.get("succeeded") or 0)
    return f"phase={phase} {counts} ready={done}/{total}"


def _task_done(job: Obj, task: str) -> int:
    phases = dig(job, "status", "taskStatusCount", task, "phase", default={})
    return int(phases.get("Running") or 0) + int(phases.get("Succeeded") or 0)


def _progress(job: Obj) -> Group:
    progress = Progress(
        TextColumn("{task.description:<20}"), BarColumn(), TextColumn("{task.completed}/{task.total}")
    )
    for task in dig(job, "spec", "tasks", default=[]):
        name = task.get("name") or "default"
        progress.add_task(name, total=int(task.get("replicas") or 0), completed=_task_done(job, name))
    meta = job.get("metadata") or {}
    title = Text(f"Job {meta.get('namespace', '')}/{meta.get('name', '')}: ", style="bold")
    return Group(title + Text(status_line(job)), progress)


async def watch_job(fetch: Callable[[], Awaitable[Obj]], job: Obj, *, interval: float = INTERVAL) -> None:
    """Follow one job until it finishes (or until interrupted)."""
    if sys.stdout.isatty():
        with Live(_progress(job), console=output.console(), auto_refresh=False) as live:
            while dig(job, "status", "state", "phase") not in FINISHED:
                await asyncio.sleep(interval)
                job = await fetch()
                live.update(_progress(job), refresh=True)
        return
    last = ""
    while True:
        line = status_line(job)
        if line != last:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            sys.stdout.write(f"{stamp} {line}\n")
            sys.stdout.flush()
            last = line
        if dig(job, "status", "state", "phase") in FINISHED:
            return
        await asyncio.sleep(interval)
        job = await fetch()
