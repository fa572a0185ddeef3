"""The real ``kubectl`` and ``vcctl`` run against the demo's sandbox, as a user would run them."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from pyroclast.cli.demo.common import DEMO_NAMESPACE, Cluster

TAP_LINES = 4
"""``vcctl tap`` prints its first and last few lines; the middle is counted."""


def kubectl_binary() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


def vcctl_binary() -> str | None:
    beside = Path(sys.executable).parent / "vcctl"
    return str(beside) if beside.exists() else None


async def _run(binary: str, args: tuple[str, ...], env: dict[str, str], merge: bool) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge else asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace"), (err or b"").decode(errors="replace")


async def kubectl(kubeconfig: Path, *args: str) -> tuple[int, str, str]:
    """Run the real kubectl against the sandbox: ``(exit code, stdout, stderr)``."""
    binary = kubectl_binary()
    assert binary is not None
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}
    return await _run(binary, args, env, merge=False)


async def vcctl(cluster: Cluster, *args: str) -> tuple[int, str]:
    """Run this installation's vcctl against the sandbox: ``(exit code, stdout and stderr)``.

    It reaches the API server through ``KUBECONFIG`` and NATS through
    ``PYROCLAST_NATS_SERVERS``, as the README tells a user to set them.
    """
    binary = vcctl_binary()
    assert binary is not None
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "PYROCLAST_NATS_SERVERS": cluster.nats_url}
    code, out, _ = await _run(binary, args, env, merge=True)
    return code, out


def print_output(console: Console, command: str, output: str) -> None:
    console.print(f"$ {command}", highlight=False, markup=False)
    console.print(output.rstrip(), highlight=False, markup=False, soft_wrap=True)


async def show_vcctl(console: Console, cluster: Cluster) -> None:
    """Print ``vcctl job list`` and ``vcctl queue list`` as run against the sandbox."""
    if vcctl_binary() is None:
        console.print("[yellow]note:[/yellow] vcctl is not installed beside this Python: skipped")
        return
    for args in (["job", "list", "-n", DEMO_NAMESPACE], ["queue", "list"]):
        _, out = await vcctl(cluster, *args)
        print_output(console, f"vcctl {' '.join(args)}", out)


async def show_tap(console: Console, cluster: Cluster, since: datetime) -> None:
    """Replay the audit trail of the demo's jobs with ``vcctl tap``, trimmed to a few lines."""
    if vcctl_binary() is None:
        return
    args = ["tap", "--since", since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    args += ["--no-follow", "--kind", "job", "-n", DEMO_NAMESPACE]
    code, out = await vcctl(cluster, *args)
    lines = out.rstrip().splitlines()
    if code == 0 and len(lines) > 2 * TAP_LINES + 1:
        skipped = len(lines) - 2 * TAP_LINES
        lines = [*lines[:TAP_LINES], f"  … {skipped} more events …", *lines[-TAP_LINES:]]
    print_output(console, f"vcctl {' '.join(args)}", "\n".join(lines))
