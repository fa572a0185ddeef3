"""The demo from end to end: the parts in order, one sandbox for parts 2 to 4, the summary."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from pyroclast.cli.demo.common import Check, Cluster, Part, parts_table, passed, summary_table
from pyroclast.cli.demo.examples import NO_EXAMPLES, run_examples
from pyroclast.cli.demo.flows import run_flow
from pyroclast.cli.demo.jobs import run_jobs
from pyroclast.cli.demo.shell import show_tap, show_vcctl
from pyroclast.cli.demo.workload import run_workload


async def run_part(
    console: Console,
    parts: list[Part],
    name: str,
    title: str,
    body: Callable[[], Awaitable[tuple[bool, list[Check]]]],
) -> bool:
    """Run one part, print its checks under ``title`` and add its row to the summary."""
    started = time.monotonic()
    ok, checks = await body()
    console.print(summary_table(title, checks))
    parts.append((name, passed(checks), time.monotonic() - started, ok))
    return ok


async def sandbox_parts(
    console: Console, cluster: Cluster, root: Path | None, parts: list[Part], since: datetime
) -> bool:
    """Parts 2, 3 and 4 against a running sandbox, then what vcctl shows of them (its audit
    trail replayed from ``since``, when the demo started)."""
    ok = await run_part(
        console,
        parts,
        "2. pods and a Deployment",
        "What happened",
        lambda: run_workload(console, cluster.kubeconfig),
    )

    console.rule("3. Volcano jobs")
    if root is None:
        console.print(
            f"[yellow]note:[/yellow] {NO_EXAMPLES}: the example job and the invalid jobs are skipped"
        )
    ok = (
        await run_part(
            console,
            parts,
            "3. Volcano jobs",
            "What happened to the Volcano jobs",
            lambda: run_jobs(console, cluster, root),
        )
        and ok
    )

    console.rule("4. JobFlow")
    if root is None:
        console.print(f"[yellow]note:[/yellow] {NO_EXAMPLES}: the JobFlow example is skipped")
    else:
        flow_root = root
        ok = (
            await run_part(
                console,
                parts,
                "4. JobFlow",
                "What happened to the JobFlow",
                lambda: run_flow(console, cluster, flow_root),
            )
            and ok
        )

    await show_vcctl(console, cluster)
    await show_tap(console, cluster, since)
    return ok


async def sandbox_demo(
    console: Console, keep: bool, root: Path | None, parts: list[Part], since: datetime
) -> bool:
    """Parts 2 to 4 in one sandbox; ``parts`` receives a row per step for the final summary."""
    from pyroclast.common.logging import configure_logging
    from pyroclast.sandbox.config import Flags, build_config
    from pyroclast.sandbox.supervisor import StartError, Supervisor

    data_dir = Path(tempfile.mkdtemp(prefix="pyroclast-demo-"))
    # Nodes of 8 CPUs: Volcano's job.yaml asks for 6 pods of 1 CPU, and the gangs of part 3
    # are sized against this shape.
    config = build_config(None, Flags(data_dir=str(data_dir), nodes=3, node_cpu="8", node_memory="32Gi"))
    (data_dir / "run").mkdir(parents=True, exist_ok=True)
    log_stream = (data_dir / "run" / "demo.log").open("a", encoding="utf-8", buffering=1)
    configure_logging("demo", stream=log_stream)
    supervisor = Supervisor(config, on_event=lambda message: console.print(f"  [dim]{message}[/dim]"))
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: main_task.cancel() if main_task else None)
    ok = False
    try:
        console.print(f"Starting the sandbox in {data_dir} ...")
        started = time.monotonic()
        try:
            await supervisor.start()
        except StartError as exc:
            console.print(f"[red]the sandbox did not start:[/red] {exc}")
            parts.append(("sandbox up", "failed to start", time.monotonic() - started, False))
            return False
        took = time.monotonic() - started
        console.print(f"Sandbox up in {took:.1f}s: {config.node_count} nodes, API {supervisor.state.api_url}")
        parts.append(("sandbox up", f"{config.node_count} nodes, services ready", took, True))
        cluster = Cluster(supervisor.kubeconfig, supervisor.state.nats_url)
        ok = await sandbox_parts(console, cluster, root, parts, since)
    except asyncio.CancelledError:
        console.print("interrupted")
        ok = False
    finally:
        console.print("Stopping the sandbox ...")
        started = time.monotonic()
        await supervisor.stop()
        parts.append(("sandbox down", "every process stopped", time.monotonic() - started, True))
        log_stream.close()
        if keep:
            console.print(f"kept {data_dir} (logs in {data_dir / 'run'})")
        else:
            if not ok:
                console.print("[dim]run `pyroclast demo --keep` to keep the sandbox's logs[/dim]")
            shutil.rmtree(data_dir, ignore_errors=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return ok


def main(argv: list[str]) -> int:
    from pyroclast.cli import demo

    parser = argparse.ArgumentParser(
        prog="pyroclast demo", description=demo.__doc__.splitlines()[0] if demo.__doc__ else None
    )
    parser.add_argument("--skip-sandbox", action="store_true", help="only validate the examples")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox's temporary folder")
    args = parser.parse_args(argv)
    console = Console()
    started, since = time.monotonic(), datetime.now(UTC)
    ok = True
    parts: list[Part] = []

    console.rule("1. Volcano examples")
    root = run_examples(console, parts)

    if not args.skip_sandbox:
        console.rule("2. The sandbox")
        try:
            import pyroclast.sandbox.supervisor  # noqa: F401
        except ImportError as exc:
            console.print(f"[red]the sandbox is not installed here ({exc})[/red]")
            return 1
        ok = asyncio.run(sandbox_demo(console, args.keep, root, parts, since))
    total = time.monotonic() - started
    if parts:
        console.print(parts_table(parts, total))
    verdict = "[green]demo passed[/green]" if ok else "[bold red]demo failed[/bold red]"
    console.print(f"{verdict} in {total:.1f}s")
    return 0 if ok else 1
