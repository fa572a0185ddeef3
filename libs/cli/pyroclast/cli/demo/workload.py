"""Part 2: pods and a Deployment on the sandbox's simulated nodes, followed live.

A Deployment of three replicas, scaled to one once they are available, and standalone pods
that exit 0, exit 2, run for an annotated time, or do not fit their node.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pyroclast.cli.demo.common import DEMO_NAMESPACE, EXIT_CODE, POLL_SECONDS, RUN_SECONDS, Check

WORKLOAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class Expectation:
    pod: str
    phase: str
    detail: str  # "exit 0", "exit 2" or a rejection reason


def workload() -> tuple[dict[str, Any], list[dict[str, Any]], list[Expectation]]:
    resources = {"requests": {"cpu": "250m", "memory": "256Mi"}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": DEMO_NAMESPACE},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "resources": resources}]},
            },
        },
    }

    def pod(
        name: str, command: list[str], annotations: dict[str, str] | None = None, **spec: Any
    ) -> dict[str, Any]:
        container = {"name": "main", "image": "busybox", "command": command, "resources": resources}
        container.update(spec.pop("container", {}))
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": DEMO_NAMESPACE, "annotations": annotations or {}},
            "spec": {"restartPolicy": "Never", "containers": [container], **spec},
        }

    pods = [
        pod("train-ok", ["sh", "-c", "echo training; sleep 3; exit 0"]),
        pod("train-fails", ["sh", "-c", "echo training; sleep 4; exit 2"]),
        pod("annotated", ["python", "train.py"], {RUN_SECONDS: "2", EXIT_CODE: "0"}),
        pod(
            "too-big",
            ["sleep", "5"],
            nodeName="node-0",
            container={"resources": {"requests": {"cpu": "64"}}},
        ),
    ]
    expected = [
        Expectation("train-ok", "Succeeded", "exit 0"),
        Expectation("train-fails", "Failed", "exit 2"),
        Expectation("annotated", "Succeeded", "exit 0"),
        Expectation("too-big", "Failed", "OutOfcpu"),
    ]
    return deployment, pods, expected


def pod_detail(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    if status.get("reason"):
        return str(status["reason"])
    for cs in status.get("containerStatuses") or []:
        terminated = (cs.get("state") or {}).get("terminated")
        if terminated:
            return f"exit {terminated.get('exitCode')}"
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return str(waiting.get("reason"))
    return ""


def pods_table(pods: list[dict[str, Any]], deployment: dict[str, Any] | None, started: float) -> Group:
    table = Table(title=f"pods in namespace {DEMO_NAMESPACE!r}", title_justify="left")
    for column in ("pod", "phase", "node", "age", "detail"):
        table.add_column(column)
    now = datetime.now(UTC)
    styles = {"Running": "cyan", "Succeeded": "green", "Failed": "red", "Pending": "yellow"}
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        meta, status = pod["metadata"], pod.get("status") or {}
        phase = status.get("phase") or "Pending"
        if meta.get("deletionTimestamp"):
            phase = "Terminating"
        created = meta.get("creationTimestamp")
        age = "-"
        if created:
            seconds = (now - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
            age = f"{max(0, int(seconds))}s"
        table.add_row(
            meta["name"],
            Text(phase, style=styles.get(phase, "magenta")),
            (pod.get("spec") or {}).get("nodeName") or "-",
            age,
            pod_detail(pod),
        )
    status = (deployment or {}).get("status") or {}
    wanted = ((deployment or {}).get("spec") or {}).get("replicas", "?")
    line = (
        f"deployment web: {status.get('readyReplicas', 0)}/{wanted} ready, "
        f"{status.get('availableReplicas', 0)} available · {time.monotonic() - started:.1f}s"
    )
    return Group(table, Text(line))


async def run_workload(console: Console, kubeconfig: Path) -> tuple[bool, list[Check]]:
    """Apply the workload, follow it live, and check every outcome: ``(ok, rows)``."""
    from pyroclast.sandbox.kubeclient import ApiError, KubeClient, api_path, load_kubeconfig

    deployment, pods, expected = workload()
    access = await asyncio.to_thread(load_kubeconfig, kubeconfig)
    checks: list[Check] = []
    async with KubeClient(access) as client:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DEMO_NAMESPACE}}
        try:
            await client.create(api_path("v1", "namespaces"), namespace)
        except ApiError as exc:
            if exc.status != 409:
                raise
        await client.create(api_path("apps/v1", "deployments", DEMO_NAMESPACE), deployment)
        for pod in pods:
            await client.create(api_path("v1", "pods", DEMO_NAMESPACE), pod)
        deploy_path = api_path("apps/v1", "deployments", DEMO_NAMESPACE, "web")
        started = time.monotonic()
        scaled = False
        listing: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        done = False
        with Live(console=console, refresh_per_second=8, transient=False) as live:
            while time.monotonic() - started < WORKLOAD_TIMEOUT:
                listing = (await client.get(api_path("v1", "pods", DEMO_NAMESPACE))).get("items") or []
                current = await client.get(deploy_path)
                live.update(pods_table(listing, current, started))
                by_name = {p["metadata"]["name"]: p for p in listing}
                finished = all(
                    ((by_name.get(e.pod) or {}).get("status") or {}).get("phase") in ("Succeeded", "Failed")
                    for e in expected
                )
                available = _available(current, 3 if not scaled else 1)
                if finished and available and not scaled:
                    await client.patch(deploy_path, {"spec": {"replicas": 1}})
                    scaled = True
                    continue
                web_pods = [p for p in listing if (p["metadata"].get("labels") or {}).get("app") == "web"]
                if scaled and finished and len(web_pods) == 1 and _available(current, 1):
                    done = True
                    break
                await asyncio.sleep(POLL_SECONDS)
        console.print()
        by_name = {p["metadata"]["name"]: p for p in listing}
        for e in expected:
            pod = by_name.get(e.pod) or {}
            phase = (pod.get("status") or {}).get("phase") or "missing"
            detail = pod_detail(pod)
            checks.append(
                (
                    e.pod,
                    f"{e.phase}, {e.detail}",
                    f"{phase}, {detail}",
                    phase == e.phase and detail == e.detail,
                )
            )
        status = (current or {}).get("status") or {}
        web = [p for p in listing if (p["metadata"].get("labels") or {}).get("app") == "web"]
        checks.append(
            (
                "deployment web",
                "3 available, then scaled to 1",
                f"{len(web)} pod(s), {status.get('availableReplicas', 0)} available",
                done,
            )
        )
    return all(ok for *_, ok in checks) and done, checks


def _available(deployment: dict[str, Any] | None, replicas: int) -> bool:
    status = (deployment or {}).get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return (
        status.get("availableReplicas") == replicas
        and status.get("replicas") == replicas
        and conditions.get("Available") == "True"
        and status.get("observedGeneration") == (deployment or {}).get("metadata", {}).get("generation")
    )
