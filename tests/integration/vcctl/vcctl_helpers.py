"""Helpers of the vcctl tests: running the console script and in-process ``main``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from nats.aio.client import Client

from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.setup import ensure_jetstream

T = TypeVar("T")

CRDS = Path(__file__).resolve().parents[3] / "deploy" / "crds"
VCCTL = Path(sys.executable).parent / "vcctl"

DEFAULT_QUEUE = """
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: default}
spec: {weight: 1, reclaimable: true}
"""


def run_vcctl(
    *args: str, kubeconfig: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The console script as a user runs it (``KUBECONFIG`` pointing at the test server)."""
    full_env = dict(os.environ, **(env or {}))
    if kubeconfig is not None:
        full_env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run(
        [str(VCCTL), *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def popen_vcctl(
    *args: str, kubeconfig: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    full_env = dict(os.environ, **(env or {}))
    if kubeconfig is not None:
        full_env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.Popen(
        [str(VCCTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env
    )


def fresh_names() -> BusNames:
    return BusNames(f"v{uuid.uuid4().hex[:10]}")


def with_bus(url: str, names: BusNames, work: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``work`` with a connection on which the prefix's JetStream objects exist."""

    async def go() -> T:
        nc = await connect(url, "vcctl-test", backoff=Backoff(initial=0.05, maximum=0.5), max_attempts=3)
        try:
            await ensure_jetstream(nc.jetstream(), names)
            return await work(nc)
        finally:
            await close(nc)

    return asyncio.run(go())


def one_line_error(stderr: str) -> str:
    """The single ``vcctl: ...`` line (asserting there is no traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("vcctl: "), stderr
    return lines[0]


def table(stdout: str) -> list[list[str]]:
    """Rows of a printed table, split on runs of spaces."""
    return [line.split() for line in stdout.splitlines() if line.strip()]


def manifest(kind: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name}, **fields}
