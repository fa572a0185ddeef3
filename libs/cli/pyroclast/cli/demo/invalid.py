"""Part 3, first step: Volcano's invalid example jobs, each denied by the webhook."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import yaml
from rich.console import Console

from pyroclast.cli.demo.common import DEMO_NAMESPACE, VOLCANO_JOBS, Check, shorten
from pyroclast.cli.demo.shell import kubectl, kubectl_binary

DENIALS = {
    "duplicatedPolicyEvent-webhook-deny.yaml": "duplicate event PodFailed  across different policy",
    "duplicatedTaskName-webhook-deny.yaml": "duplicated task name task-1",
    "minAvailable-webhook-deny.yaml": "job 'minAvailable' should not be greater than total replicas in tasks",
}
"""Volcano's message for each invalid example; a file not listed here only has to be denied."""


def denial_message(text: str) -> str:
    """The webhook's reason from a kubectl error or an API Status message, on one line."""
    marker = "denied the request: "
    reason = text.split(marker, 1)[1] if marker in text else text
    return " ".join(reason.split())


async def deny_invalid_jobs(console: Console, kubeconfig: Path, root: Path) -> list[Check]:
    """Apply each invalid example with kubectl (or the API if kubectl is absent)."""
    from pyroclast.sandbox.kubeclient import ApiError, KubeClient, api_path, load_kubeconfig

    checks: list[Check] = []
    files = sorted((root / "invalid_jobs").glob("*.yaml"))
    access = await asyncio.to_thread(load_kubeconfig, kubeconfig)
    for path in files:
        started = time.monotonic()
        if kubectl_binary() is not None:
            code, _, err = await kubectl(kubeconfig, "apply", "-n", DEMO_NAMESPACE, "-f", str(path))
            denied = code != 0 and 'admission webhook "validatejob.volcano.sh" denied the request' in err
            message = denial_message(err)
        else:
            manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
            try:
                async with KubeClient(access) as client:
                    await client.create(api_path(VOLCANO_JOBS, "jobs", DEMO_NAMESPACE), manifest)
                denied, message = False, "created"
            except ApiError as exc:
                denied, message = "denied the request" in exc.message, denial_message(exc.message)
        want = DENIALS.get(path.name)
        ok = denied and (want is None or " ".join(want.split()) in message)
        console.print(
            f"  kubectl apply -f invalid_jobs/{path.name}: "
            + ("[green]denied[/green]" if denied else "[red]NOT denied[/red]")
            + f" ({time.monotonic() - started:.2f}s)"
        )
        console.print(f"    [dim]{message}[/dim]", highlight=False)
        expected = f"denied: {want}" if want else "denied by validatejob.volcano.sh"
        observed = ("denied: " if denied else "") + shorten(message)
        checks.append((f"invalid_jobs/{path.name}", expected, observed, ok))
    return checks
