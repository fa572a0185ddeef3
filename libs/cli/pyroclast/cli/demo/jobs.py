"""Part 3: Volcano jobs, followed live in the sandbox.

The invalid examples are denied by the webhook with Volcano's messages; Volcano's example job
(``job.yaml``, given a run time) is admitted with Volcano's defaults, gets its PodGroup and pods,
is enqueued and bound as a gang and runs to Completed; a gang that does not fit beside another
job waits with its PodGroup Unschedulable (``vcctl job why`` names the reason meanwhile), then
runs once the first one has finished.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from pyroclast.cli.demo.common import (
    DEMO_NAMESPACE,
    JOB_NAME_LABEL,
    POLL_SECONDS,
    VOLCANO_JOBS,
    Check,
    Cluster,
    job_phase,
)
from pyroclast.cli.demo.invalid import deny_invalid_jobs
from pyroclast.cli.demo.shell import kubectl, kubectl_binary
from pyroclast.cli.demo.volcano import (
    FIRST_GANG,
    SECOND_GANG,
    JobsView,
    example_job,
    gang_jobs,
    jobs_table,
    podgroup_of,
    unschedulable,
)
from pyroclast.cli.demo.why import WhyProbe

JOBS_TIMEOUT = 60.0


async def run_jobs(console: Console, cluster: Cluster, root: Path | None) -> tuple[bool, list[Check]]:
    """Run the Volcano jobs (the example if ``root`` is given, then the two gangs) live."""
    from pyroclast.sandbox.kubeclient import KubeClient, api_path, load_kubeconfig

    kubeconfig = cluster.kubeconfig
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
    why = WhyProbe(console, cluster, SECOND_GANG)
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
                if waiting is not None and not why.started:
                    why.start()  # its answer is printed above the live table
                if phases[FIRST_GANG] == "Running" and f"{FIRST_GANG} Running" not in times:
                    times[f"{FIRST_GANG} Running"] = time.monotonic()
                if phases[FIRST_GANG] == "Completed" and f"{FIRST_GANG} Completed" not in times:
                    times[f"{FIRST_GANG} Completed"] = time.monotonic()
                    stage = f"{FIRST_GANG} Completed: {SECOND_GANG} can run"
                    why.stop()
                if any(phase in ("Failed", "Aborted", "Terminated") for phase in phases.values()):
                    break
                if all(phase == "Completed" for phase in phases.values()):
                    times["all Completed"] = time.monotonic()
                    break
                await asyncio.sleep(POLL_SECONDS)
            await why.finish()
    console.print()
    if root is not None:
        checks.append(_example_check(view, seen_pg, submitted))
    checks += _gang_checks(view, waiting, waiting_phase)
    why_check = why.check()
    if why_check is not None:
        checks.insert(len(checks) - 1, why_check)
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
