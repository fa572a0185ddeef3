"""``pyroclast demo`` (``make demo``): what Pyroclast does today, in under a minute.

1. Decode every Volcano example manifest (``shared/volcano-examples`` beside the repository)
   with Pyroclast's models and summarise the result.
2. Start the sandbox in a temporary folder, run a small workload on its simulated nodes (a
   Deployment of three replicas, then scaled to one, and standalone pods that exit 0, exit 2,
   run for an annotated time, or do not fit their node), show the pods live, check every
   outcome, and tear everything down.

The exit code is 0 only if every expected outcome happened.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

DEMO_NAMESPACE = "demo"
WORKLOAD_TIMEOUT = 60.0
RUN_SECONDS = "sandbox.pyroclast.dev/run-seconds"
EXIT_CODE = "sandbox.pyroclast.dev/exit-code"


# --- part 1: the Volcano examples ----------------------------------------------------------------


@dataclass
class FileReport:
    path: str
    kinds: list[str]
    documents: int = 0
    valid: int = 0
    skipped: int = 0
    errors: list[str] | None = None


def examples_dir() -> Path | None:
    """``shared/volcano-examples`` beside the repository this package runs from."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").exists() and (parent / "libs").is_dir():
            candidate = parent.parent / "shared" / "volcano-examples"
            return candidate if candidate.is_dir() else None
    return None


def validate_examples(root: Path) -> list[FileReport]:
    """Decode each example; documents of kinds Pyroclast does not model are skipped.

    A file whose kinds are all modelled is decoded whole with ``load_manifests``; a file that
    mixes in other kinds (Argo workflows, Spark applications) is decoded document by document.
    """
    from pyroclast.common.models import KINDS, ManifestError, decode_object, load_manifests, parse_yaml

    reports: list[FileReport] = []
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        relative = str(path.relative_to(root))
        report = FileReport(path=relative, kinds=[], errors=[])
        reports.append(report)
        text = path.read_text(encoding="utf-8")
        try:
            documents = parse_yaml(text, source=relative)
        except ManifestError as exc:
            report.errors = [str(exc)]
            continue
        known = [isinstance(d, dict) and (d.get("apiVersion"), d.get("kind")) in KINDS for d in documents]
        report.documents = len(documents)
        report.kinds = [str(d.get("kind")) if isinstance(d, dict) else "?" for d in documents]
        report.skipped = known.count(False)
        errors: list[str] = []
        if all(known):
            try:
                report.valid = len(load_manifests(text, source=relative))
            except ManifestError as exc:
                errors.append(str(exc))
        else:
            for index, (document, modelled) in enumerate(zip(documents, known, strict=True), start=1):
                if not modelled:
                    continue
                try:
                    decode_object(document, document=f"{relative} document {index}")
                    report.valid += 1
                except ManifestError as exc:
                    errors.append(str(exc))
        report.errors = errors
    return reports


def examples_table(reports: Sequence[FileReport]) -> Table:
    table = Table(title="Volcano examples decoded with pyroclast.common.models", title_justify="left")
    for column in ("file", "kinds", "docs", "result"):
        table.add_column(column, overflow="fold")
    for report in reports:
        kinds = ", ".join(sorted(set(report.kinds))) or "-"
        if report.errors:
            result = Text(f"error ({len(report.errors)})", style="red")
        elif report.valid and report.skipped:
            result = Text(f"valid, {report.skipped} skipped", style="green")
        elif report.valid:
            result = Text("valid", style="green")
        else:
            result = Text("skipped", style="dim")
        table.add_row(report.path, kinds, str(report.documents), result)
    return table


# --- part 2: the sandbox ------------------------------------------------------------------------


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


async def run_workload(console: Console, kubeconfig: Path) -> tuple[bool, list[tuple[str, str, str, bool]]]:
    """Apply the workload, follow it live, and check every outcome: ``(ok, rows)``."""
    from pyroclast.sandbox.kubeclient import ApiError, KubeClient, api_path, load_kubeconfig

    deployment, pods, expected = workload()
    access = await asyncio.to_thread(load_kubeconfig, kubeconfig)
    checks: list[tuple[str, str, str, bool]] = []
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
                await asyncio.sleep(0.25)
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


async def sandbox_demo(console: Console, keep: bool) -> bool:
    from pyroclast.common.logging import configure_logging
    from pyroclast.sandbox.config import Flags, build_config
    from pyroclast.sandbox.supervisor import StartError, Supervisor

    data_dir = Path(tempfile.mkdtemp(prefix="pyroclast-demo-"))
    config = build_config(None, Flags(data_dir=str(data_dir), nodes=3, node_cpu="4", node_memory="16Gi"))
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
            return False
        console.print(
            f"Sandbox up in {time.monotonic() - started:.1f}s: "
            f"{config.node_count} nodes, API {supervisor.state.api_url}"
        )
        ok, checks = await run_workload(console, supervisor.kubeconfig)
        summary = Table(title="What happened", title_justify="left")
        for column in ("object", "expected", "observed", ""):
            summary.add_column(column)
        for name, want, got, passed in checks:
            summary.add_row(
                name, want, got, Text("ok", style="green") if passed else Text("MISSED", style="bold red")
            )
        console.print(summary)
    except asyncio.CancelledError:
        console.print("interrupted")
        ok = False
    finally:
        console.print("Stopping the sandbox ...")
        await supervisor.stop()
        log_stream.close()
        if keep:
            console.print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="pyroclast demo", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--skip-sandbox", action="store_true", help="only validate the examples")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox's temporary folder")
    args = parser.parse_args(argv)
    console = Console()
    started = time.monotonic()
    ok = True

    console.rule("1. Volcano examples")
    root = examples_dir()
    try:
        import pyroclast.common.models
    except ImportError as exc:
        console.print(f"[yellow]skipped:[/yellow] the models are not available ({exc})")
        root = None
    if root is None:
        console.print(
            "[yellow]note:[/yellow] no shared/volcano-examples folder beside the repository: skipped"
        )
    else:
        reports = validate_examples(root)
        console.print(examples_table(reports))
        console.print("[dim]skipped: kinds Pyroclast does not model (Argo, Spark, ...)[/dim]")
        valid = sum(r.valid for r in reports)
        skipped = sum(r.skipped for r in reports)
        errors = [e for r in reports for e in r.errors or []]
        console.print(
            f"{len(reports)} files: {valid} documents decoded, "
            f"{skipped} of kinds not modelled, {len(errors)} rejected"
        )
        for error in errors:
            console.print(f"  [red]rejected[/red] {error}", highlight=False)

    if not args.skip_sandbox:
        console.rule("2. The sandbox")
        try:
            import pyroclast.sandbox.supervisor  # noqa: F401
        except ImportError as exc:
            console.print(f"[red]the sandbox is not installed here ({exc})[/red]")
            return 1
        ok = asyncio.run(sandbox_demo(console, args.keep))
    verdict = "[green]demo passed[/green]" if ok else "[bold red]demo failed[/bold red]"
    console.print(f"{verdict} in {time.monotonic() - started:.1f}s")
    return 0 if ok else 1
