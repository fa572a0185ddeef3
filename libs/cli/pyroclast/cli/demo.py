"""``pyroclast demo`` (``make demo``): what Pyroclast does today, in under a minute.

1. Decode every Volcano example manifest (``shared/volcano-examples`` beside the repository)
   with Pyroclast's models and summarise the result.
2. Start the sandbox in a temporary folder, run a small workload on its simulated nodes (a
   Deployment of three replicas, then scaled to one, and standalone pods that exit 0, exit 2,
   run for an annotated time, or do not fit their node), show the pods live, check every
   outcome.
3. In the same sandbox, Volcano jobs: the invalid examples are denied by the webhook with
   Volcano's messages; Volcano's example job (``job.yaml``, given a run time) is admitted with
   Volcano's defaults, gets its PodGroup and pods, is enqueued and bound as a gang and runs to
   Completed; a gang that does not fit beside another job waits with its PodGroup
   Unschedulable, then runs once the first one has finished. ``vcctl job list`` and ``vcctl
   queue list`` show the result; then everything is torn down.

Parts that need the examples are skipped, with a note, when the folder is absent. The exit
code is 0 only if every expected outcome happened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
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


# --- part 3: Volcano jobs -----------------------------------------------------------------------

JOBS_TIMEOUT = 60.0
EXAMPLE_RUN_SECONDS = "3"
VOLCANO_JOBS = "batch.volcano.sh/v1alpha1"
JOB_NAME_LABEL = "volcano.sh/job-name"
FIRST_GANG, SECOND_GANG = "gang-first", "gang-second"
DENIALS = {
    "duplicatedPolicyEvent-webhook-deny.yaml": "duplicate event PodFailed  across different policy",
    "duplicatedTaskName-webhook-deny.yaml": "duplicated task name task-1",
    "minAvailable-webhook-deny.yaml": "job 'minAvailable' should not be greater than total replicas in tasks",
}
"""Volcano's message for each invalid example; a file not listed here only has to be denied."""

Check = tuple[str, str, str, bool]
"""``(object, expected, observed, ok)``: one row of a summary table."""


def example_job(root: Path) -> dict[str, Any]:
    """``job.yaml`` as the user wrote it, in the demo namespace, each pod running a few seconds."""
    manifest: dict[str, Any] = yaml.safe_load((root / "job.yaml").read_text(encoding="utf-8"))
    manifest["metadata"]["namespace"] = DEMO_NAMESPACE
    for task in manifest["spec"]["tasks"]:
        metadata = task["template"].setdefault("metadata", {})
        metadata.setdefault("annotations", {})[RUN_SECONDS] = EXAMPLE_RUN_SECONDS
    return manifest


def gang_job(name: str, replicas: int, cpu: str, seconds: int) -> dict[str, Any]:
    """A job whose ``replicas`` pods of ``cpu`` each must all run at once (``sleep seconds``)."""
    return {
        "apiVersion": VOLCANO_JOBS,
        "kind": "Job",
        "metadata": {"name": name, "namespace": DEMO_NAMESPACE},
        "spec": {
            "minAvailable": replicas,
            "schedulerName": "volcano",
            "queue": "default",
            "tasks": [
                {
                    "name": "worker",
                    "replicas": replicas,
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [
                                {
                                    "name": "main",
                                    "image": "busybox",
                                    "command": ["sh", "-c", f"sleep {seconds}"],
                                    "resources": {"requests": {"cpu": cpu}},
                                }
                            ],
                        }
                    },
                }
            ],
        },
    }


def gang_jobs() -> tuple[dict[str, Any], dict[str, Any]]:
    """On nodes of 8 CPUs: three 5-CPU pods take a node each and leave 3 CPUs on every node, so
    the two 4-CPU pods of the second gang fit nowhere until the first job has finished (the
    cluster as a whole has room for them, so the second gang is enqueued and its pods wait)."""
    return gang_job(FIRST_GANG, 3, "5", 8), gang_job(SECOND_GANG, 2, "4", 2)


def job_phase(job: dict[str, Any] | None) -> str:
    return str((((job or {}).get("status") or {}).get("state") or {}).get("phase") or "")


def podgroup_of(podgroups: list[dict[str, Any]], job: str) -> dict[str, Any] | None:
    for pg in podgroups:
        owners = pg["metadata"].get("ownerReferences") or []
        if any(o.get("kind") == "Job" and o.get("name") == job for o in owners):
            return pg
    return None


def unschedulable(pg: dict[str, Any] | None) -> dict[str, Any] | None:
    conditions = ((pg or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Unschedulable"), None)


@dataclass
class JobsView:
    """What the demo has seen of its Volcano jobs, refreshed on every poll."""

    jobs: dict[str, dict[str, Any]]
    podgroups: list[dict[str, Any]]
    pods: list[dict[str, Any]]


def jobs_table(view: JobsView, order: list[str], stage: str, started: float) -> Group:
    table = Table(title=f"Volcano jobs in namespace {DEMO_NAMESPACE!r}", title_justify="left")
    for column in ("job", "phase", "min", "running", "succeeded", "podgroup", "podgroup condition"):
        table.add_column(column)
    styles = {"Running": "cyan", "Completed": "green", "Failed": "red", "Pending": "yellow"}
    for name in order:
        job = view.jobs.get(name)
        status = (job or {}).get("status") or {}
        phase = job_phase(job) or ("-" if job is None else "New")
        pg = podgroup_of(view.podgroups, name)
        pg_phase = ((pg or {}).get("status") or {}).get("phase") or ("-" if pg is None else "(none)")
        if pg is None and phase in ("Completed", "Failed"):
            pg_phase = "deleted"
        condition = unschedulable(pg)
        table.add_row(
            name,
            Text(phase, style=styles.get(phase, "magenta")),
            str(((job or {}).get("spec") or {}).get("minAvailable", "-")),
            str(status.get("running", 0)),
            str(status.get("succeeded", 0)),
            pg_phase,
            Text("Unschedulable", style="yellow") if condition else "",
        )
    pods = Table(title="their pods", title_justify="left")
    for column in ("pod", "phase", "node"):
        pods.add_column(column)
    pod_styles = {"Running": "cyan", "Succeeded": "green", "Failed": "red", "Pending": "yellow"}
    for pod in sorted(view.pods, key=lambda p: p["metadata"]["name"]):
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        pods.add_row(
            pod["metadata"]["name"],
            Text(phase, style=pod_styles.get(phase, "magenta")),
            (pod.get("spec") or {}).get("nodeName") or "-",
        )
    line = Text(f"{stage} · {time.monotonic() - started:.1f}s")
    return Group(table, pods, line)


def kubectl_binary() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


async def kubectl(kubeconfig: Path, *args: str) -> tuple[int, str, str]:
    """Run the real kubectl against the sandbox: ``(exit code, stdout, stderr)``."""
    binary = kubectl_binary()
    assert binary is not None
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)}
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def show_vcctl(console: Console, kubeconfig: Path) -> None:
    """Print ``vcctl job list`` and ``vcctl queue list`` as run against the sandbox."""
    binary = Path(sys.executable).parent / "vcctl"
    if not binary.exists():
        console.print("[yellow]note:[/yellow] vcctl is not installed beside this Python: skipped")
        return
    for args in (["job", "list", "-n", DEMO_NAMESPACE], ["queue", "list"]):
        process = await asyncio.create_subprocess_exec(
            str(binary),
            *args,
            "--kubeconfig",
            str(kubeconfig),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        console.print(f"$ vcctl {' '.join(args)}")
        console.print(out.decode(errors="replace").rstrip(), highlight=False, markup=False, soft_wrap=True)


def shorten(text: str, limit: int = 72) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


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


async def run_jobs(console: Console, kubeconfig: Path, root: Path | None) -> tuple[bool, list[Check]]:
    """Run the Volcano jobs (the example if ``root`` is given, then the two gangs) live."""
    from pyroclast.sandbox.kubeclient import KubeClient, api_path, load_kubeconfig

    checks: list[Check] = []
    if root is not None:
        checks += await deny_invalid_jobs(console, kubeconfig, root)
    first, second = gang_jobs()
    order = (["test-job"] if root is not None else []) + [FIRST_GANG, SECOND_GANG]
    jobs_path = api_path(VOLCANO_JOBS, "jobs", DEMO_NAMESPACE)
    pgs_path = api_path("scheduling.volcano.sh/v1beta1", "podgroups", DEMO_NAMESPACE)
    access = await asyncio.to_thread(load_kubeconfig, kubeconfig)
    view = JobsView({}, [], [])
    seen_pg: dict[str, dict[str, Any]] = {}
    waiting: dict[str, Any] | None = None  # gang-second's Unschedulable condition, seen while gang-first ran
    waiting_phase = ""  # and gang-second's phase at that moment
    times: dict[str, float] = {}
    submitted: dict[str, Any] = {}  # the example job as admitted (with the webhook's defaults)
    started = time.monotonic()
    async with KubeClient(access) as client:
        if root is not None:
            submitted = await client.create(jobs_path, example_job(root))
            stage = "test-job (Volcano's job.yaml) submitted"
        else:
            await client.create(jobs_path, first)
            stage = f"{FIRST_GANG} submitted"
        times[f"{order[0]} submitted"] = time.monotonic()
        with Live(console=console, refresh_per_second=8, transient=False) as live:
            while time.monotonic() - started < JOBS_TIMEOUT:
                listing = (await client.get(jobs_path)).get("items") or []
                view.jobs = {j["metadata"]["name"]: j for j in listing}
                view.podgroups = (await client.get(pgs_path)).get("items") or []
                pods = (await client.get(api_path("v1", "pods", DEMO_NAMESPACE))).get("items") or []
                view.pods = [p for p in pods if JOB_NAME_LABEL in (p["metadata"].get("labels") or {})]
                for name in order:
                    pg = podgroup_of(view.podgroups, name)
                    if pg is not None:
                        seen_pg.setdefault(name, pg)
                live.update(jobs_table(view, order, stage, started))
                phases = {name: job_phase(view.jobs.get(name)) for name in order}
                if root is not None and FIRST_GANG not in view.jobs and phases["test-job"] == "Completed":
                    times["test-job Completed"] = time.monotonic()
                    await client.create(jobs_path, first)
                    times[f"{FIRST_GANG} submitted"] = time.monotonic()
                    stage = f"test-job Completed; {FIRST_GANG} submitted"
                    continue
                if phases[FIRST_GANG] == "Running" and SECOND_GANG not in view.jobs:
                    await client.create(jobs_path, second)
                    times[f"{SECOND_GANG} submitted"] = time.monotonic()
                    stage = f"{FIRST_GANG} Running; {SECOND_GANG} submitted: it cannot fit beside it"
                    continue
                condition = unschedulable(podgroup_of(view.podgroups, SECOND_GANG))
                if condition and phases[FIRST_GANG] == "Running" and waiting is None:
                    waiting, waiting_phase = condition, phases[SECOND_GANG]
                    times[f"{SECOND_GANG} Unschedulable"] = time.monotonic()
                    stage = f"{SECOND_GANG} waits: PodGroup Unschedulable ({condition.get('reason')})"
                if phases[FIRST_GANG] == "Running" and f"{FIRST_GANG} Running" not in times:
                    times[f"{FIRST_GANG} Running"] = time.monotonic()
                if phases[FIRST_GANG] == "Completed" and f"{FIRST_GANG} Completed" not in times:
                    times[f"{FIRST_GANG} Completed"] = time.monotonic()
                    stage = f"{FIRST_GANG} Completed: {SECOND_GANG} can run"
                if any(phase in ("Failed", "Aborted", "Terminated") for phase in phases.values()):
                    break
                if all(phase == "Completed" for phase in phases.values()):
                    times["all Completed"] = time.monotonic()
                    break
                await asyncio.sleep(0.25)
    console.print()
    if root is not None:
        checks.append(_example_check(view, seen_pg, submitted))
    checks += _gang_checks(view, waiting, waiting_phase)
    for what, when in sorted(times.items(), key=lambda item: item[1]):
        console.print(f"  [dim]{when - started:5.1f}s  {what}[/dim]")
    if kubectl_binary() is not None:
        _, out, _ = await kubectl(kubeconfig, "get", "vcjob", "-n", DEMO_NAMESPACE)
        console.print(f"$ kubectl get vcjob -n {DEMO_NAMESPACE}")
        console.print(out.rstrip(), highlight=False, markup=False)
    return all(ok for *_, ok in checks), checks


def _example_check(view: JobsView, seen_pg: dict[str, dict[str, Any]], submitted: dict[str, Any]) -> Check:
    job = view.jobs.get("test-job")
    status = (job or {}).get("status") or {}
    tasks = (submitted.get("spec") or {}).get("tasks") or [{}]
    defaulted = tasks[0].get("minAvailable")
    pg = seen_pg.get("test-job")
    pods = [p for p in view.pods if p["metadata"]["labels"].get(JOB_NAME_LABEL) == "test-job"]
    nodes = {(p.get("spec") or {}).get("nodeName") for p in pods}
    phase = job_phase(job) or "missing"
    observed = (
        f"task minAvailable {defaulted}, PodGroup {'created' if pg else 'missing'}, "
        f"{status.get('succeeded', 0)}/6 pods Succeeded on {len(nodes)} nodes, {phase}"
    )
    ok = defaulted == 6 and pg is not None and status.get("succeeded") == 6 and phase == "Completed"
    return (
        "job test-job (job.yaml)",
        "task minAvailable 6, PodGroup, 6/6 Succeeded, Completed",
        observed,
        ok,
    )


def _gang_checks(view: JobsView, waiting: dict[str, Any] | None, waiting_phase: str) -> list[Check]:
    first_phase = job_phase(view.jobs.get(FIRST_GANG)) or "missing"
    second_phase = job_phase(view.jobs.get(SECOND_GANG)) or "missing"
    by_job: dict[str, list[dict[str, Any]]] = {}
    for pod in view.pods:
        by_job.setdefault(pod["metadata"]["labels"].get(JOB_NAME_LABEL, ""), []).append(pod)
    finished = [_finished_at(p) for p in by_job.get(FIRST_GANG, [])]
    starts = [(p.get("status") or {}).get("startTime") or "" for p in by_job.get(SECOND_GANG, [])]
    after = bool(finished and starts and all(finished) and all(starts) and min(starts) >= max(finished))
    message = str((waiting or {}).get("message", "")).split(":", 1)[0]
    return [
        (f"job {FIRST_GANG}", "3 pods of 5 CPUs, Completed", first_phase, first_phase == "Completed"),
        (
            f"job {SECOND_GANG} while {FIRST_GANG} runs",
            "Pending, PodGroup Unschedulable",
            f"{waiting_phase}, Unschedulable ({message})" if waiting else "never Unschedulable",
            waiting is not None
            and waiting.get("reason") == "NotEnoughResources"
            and waiting_phase == "Pending",
        ),
        (
            f"job {SECOND_GANG}",
            f"Completed, started after {FIRST_GANG} finished",
            f"{second_phase}" + (", started after" if after else ", not after"),
            second_phase == "Completed" and after,
        ),
    ]


def _finished_at(pod: dict[str, Any]) -> str:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (cs.get("state") or {}).get("terminated")
        if terminated:
            return str(terminated.get("finishedAt") or "")
    return ""


def summary_table(title: str, checks: Sequence[Check]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("object", "expected", "observed", ""):
        table.add_column(column, overflow="fold")
    for name, want, got, passed in checks:
        table.add_row(
            name, want, got, Text("ok", style="green") if passed else Text("MISSED", style="bold red")
        )
    return table


Part = tuple[str, str, float, bool]
"""``(part, outcome, seconds, ok)``: one row of the final summary."""


async def sandbox_demo(console: Console, keep: bool, root: Path | None, parts: list[Part]) -> bool:
    """Parts 2 and 3 in one sandbox; ``parts`` receives a row per step for the final summary."""
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

        started = time.monotonic()
        workload_ok, checks = await run_workload(console, supervisor.kubeconfig)
        console.print(summary_table("What happened", checks))
        passed = sum(1 for *_, good in checks if good)
        parts.append(
            (
                "2. pods and a Deployment",
                f"{passed}/{len(checks)} as expected",
                time.monotonic() - started,
                workload_ok,
            )
        )

        console.rule("3. Volcano jobs")
        if root is None:
            console.print(
                "[yellow]note:[/yellow] no shared/volcano-examples folder beside the repository: "
                "the example job and the invalid jobs are skipped"
            )
        started = time.monotonic()
        jobs_ok, checks = await run_jobs(console, supervisor.kubeconfig, root)
        console.print(summary_table("What happened to the Volcano jobs", checks))
        passed = sum(1 for *_, good in checks if good)
        parts.append(
            ("3. Volcano jobs", f"{passed}/{len(checks)} as expected", time.monotonic() - started, jobs_ok)
        )
        ok = workload_ok and jobs_ok
        await show_vcctl(console, supervisor.kubeconfig)
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


def parts_table(parts: Sequence[Part], total: float) -> Table:
    table = Table(title="Demo summary", title_justify="left")
    for column in ("part", "outcome", "seconds", ""):
        table.add_column(column, overflow="fold")
    for name, outcome, seconds, passed in parts:
        mark = Text("ok", style="green") if passed else Text("FAILED", style="bold red")
        table.add_row(name, outcome, f"{seconds:.1f}", mark)
    table.add_row(Text("total", style="bold"), "", f"{total:.1f}", "")
    return table


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
    parts: list[Part] = []

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
        outcome = f"{len(reports)} files, {valid} documents decoded, {len(errors)} rejected"
        parts.append(("1. Volcano examples", outcome, time.monotonic() - started, True))

    if not args.skip_sandbox:
        console.rule("2. The sandbox")
        try:
            import pyroclast.sandbox.supervisor  # noqa: F401
        except ImportError as exc:
            console.print(f"[red]the sandbox is not installed here ({exc})[/red]")
            return 1
        ok = asyncio.run(sandbox_demo(console, args.keep, root, parts))
    total = time.monotonic() - started
    if parts:
        console.print(parts_table(parts, total))
    verdict = "[green]demo passed[/green]" if ok else "[bold red]demo failed[/bold red]"
    console.print(f"{verdict} in {total:.1f}s")
    return 0 if ok else 1
