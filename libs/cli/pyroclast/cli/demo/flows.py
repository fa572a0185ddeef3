"""Part 4: Volcano's JobFlow example, followed live until the flow has succeeded.

The JobTemplates a..e of ``jobflow/JobTemplate.yaml`` (their ``sleep 10s`` cut to ``sleep 1s``)
and the JobFlow ``test`` of ``jobflow/JobFlow.yaml`` (a -> b -> (c, d) -> e), both in the demo
namespace: the jobflow controller creates each job ``test-<template>`` only once the jobs it
depends on are Completed, the flow ends Succeed, and (``jobRetainPolicy: delete``) its jobs
are deleted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pyroclast.cli.demo.common import (
    DEMO_NAMESPACE,
    POLL_SECONDS,
    VOLCANO_JOBS,
    Check,
    Cluster,
    job_phase,
    phase_text,
)
from pyroclast.cli.demo.shell import print_output, vcctl, vcctl_binary

FLOWS = "flow.volcano.sh/v1alpha1"
FLOW_TIMEOUT = 45.0
SLEEP, SHORT_SLEEP = "sleep 10s", "sleep 1s"


@dataclass
class FlowView:
    """What the demo has seen of the flow and its jobs (which are deleted once it succeeds)."""

    name: str
    steps: list[tuple[str, list[str]]]
    """``(job, the jobs it depends on)`` in the flow's order."""
    flow: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, str] = field(default_factory=dict)
    """The last phase seen of each job."""
    created: dict[str, float] = field(default_factory=dict)
    """When each job was first seen (monotonic)."""
    ready: dict[str, bool] = field(default_factory=dict)
    """Whether every job it depends on was Completed when the job was first seen."""
    order: list[list[str]] = field(default_factory=list)
    """The jobs first seen together, poll after poll."""
    gone: set[str] = field(default_factory=set)
    """The jobs seen, then deleted."""

    def observe(self, jobs: dict[str, dict[str, Any]], now: float) -> None:
        new = [job for job, _ in self.steps if job in jobs and job not in self.created]
        for job, depends in self.steps:
            if job in new:
                self.created[job] = now
                self.ready[job] = all(self._phase(jobs, d) == "Completed" for d in depends)
            if job in jobs:
                self.phases[job] = job_phase(jobs[job]) or "New"
            elif job in self.created:
                # Gone (jobRetainPolicy: delete): the flow's status keeps its last phase.
                self.gone.add(job)
                recorded = ((self.flow.get("status") or {}).get("conditions") or {}).get(job) or {}
                self.phases[job] = str(recorded.get("phase") or self.phases.get(job, ""))
        if new:
            self.order.append(new)

    def _phase(self, jobs: dict[str, dict[str, Any]], job: str) -> str:
        """The job's phase in this listing, else (deleted since) the last one seen."""
        return job_phase(jobs[job]) if job in jobs else self.phases.get(job, "")

    @property
    def phase(self) -> str:
        return job_phase(self.flow)


def flow_manifests(root: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The example's JobTemplates (each ``sleep 10s`` cut to ``sleep 1s``) and its JobFlow, in
    the demo namespace."""
    text = (root / "jobflow" / "JobTemplate.yaml").read_text(encoding="utf-8")
    templates = [d for d in yaml.safe_load_all(text.replace(SLEEP, SHORT_SLEEP)) if d]
    flow: dict[str, Any] = yaml.safe_load((root / "jobflow" / "JobFlow.yaml").read_text(encoding="utf-8"))
    for manifest in (*templates, flow):
        manifest["metadata"]["namespace"] = DEMO_NAMESPACE
    return templates, flow


def flow_steps(flow: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """``(job, the jobs it depends on)``: the flow's job for template ``t`` is ``<flow>-t``."""
    name = flow["metadata"]["name"]
    return [
        (
            f"{name}-{step['name']}",
            [f"{name}-{t}" for t in (step.get("dependsOn") or {}).get("targets") or []],
        )
        for step in flow["spec"]["flows"]
    ]


def flow_table(view: FlowView, started: float) -> Group:
    table = Table(title=f"JobFlow {view.name!r} in namespace {DEMO_NAMESPACE!r}", title_justify="left")
    for column in ("job", "depends on", "phase", "created at"):
        table.add_column(column)
    for job, depends in view.steps:
        phase = view.phases.get(job, "-")
        created = view.created.get(job)
        cell = phase_text(phase) if job in view.phases else Text("-", style="dim")
        if job in view.gone:
            cell.append(" (deleted)", style="dim")
        table.add_row(
            job,
            ", ".join(depends) or "-",
            cell,
            f"{created - started:.1f}s" if created is not None else "-",
        )
    phase = view.phase or "-"
    line = Text.assemble(f"jobflow {view.name}: ", phase_text(phase), f" · {time.monotonic() - started:.1f}s")
    return Group(table, line)


async def run_flow(console: Console, cluster: Cluster, root: Path) -> tuple[bool, list[Check]]:
    """Apply the JobFlow example and follow it live until it has succeeded (or failed)."""
    from pyroclast.sandbox.kubeclient import KubeClient, api_path, load_kubeconfig

    templates, flow = flow_manifests(root)
    view = FlowView(flow["metadata"]["name"], flow_steps(flow))
    access = await asyncio.to_thread(load_kubeconfig, cluster.kubeconfig)
    jobs_path = api_path(VOLCANO_JOBS, "jobs", DEMO_NAMESPACE)
    flow_path = api_path(FLOWS, "jobflows", DEMO_NAMESPACE, view.name)
    async with KubeClient(access) as client:
        for template in templates:
            await client.create(api_path(FLOWS, "jobtemplates", DEMO_NAMESPACE), template)
        names = ", ".join(t["metadata"]["name"] for t in templates)
        console.print(
            f"  applied jobflow/JobTemplate.yaml: JobTemplates {names} ({SLEEP} cut to {SHORT_SLEEP})"
        )
        await client.create(api_path(FLOWS, "jobflows", DEMO_NAMESPACE), flow)
        console.print(f"  applied jobflow/JobFlow.yaml: JobFlow {view.name}, {describe(view.steps)}")
        started = time.monotonic()
        with Live(console=console, refresh_per_second=8, transient=False) as live:
            while time.monotonic() - started < FLOW_TIMEOUT:
                # The flow first: the jobs listed after it are at least as recent as its status.
                view.flow = await client.get(flow_path)
                listing = (await client.get(jobs_path)).get("items") or []
                view.observe({j["metadata"]["name"]: j for j in listing}, time.monotonic())
                live.update(flow_table(view, started))
                if view.phase in ("Succeed", "Failed"):
                    break
                await asyncio.sleep(POLL_SECONDS)
    took = time.monotonic() - started
    console.print()
    for group in view.order:
        depends = sorted({d for job, deps in view.steps if job in group for d in deps})
        after = f" (after {', '.join(depends)} Completed)" if depends else ""
        console.print(
            f"  [dim]{view.created[group[0]] - started:5.1f}s  {', '.join(group)} created{after}[/dim]"
        )
    console.print(f"  [dim]{took:5.1f}s  jobflow {view.name} {view.phase or 'not finished'}[/dim]")
    if vcctl_binary() is not None:
        _, out = await vcctl(cluster, "jobflow", "list", "-n", DEMO_NAMESPACE)
        print_output(console, f"vcctl jobflow list -n {DEMO_NAMESPACE}", out)
    checks = flow_checks(view)
    return all(ok for *_, ok in checks), checks


def describe(steps: list[tuple[str, list[str]]]) -> str:
    """``test-b after test-a; ...``: the dependencies, in words."""
    return "; ".join(f"{job} after {' and '.join(deps)}" for job, deps in steps if deps)


def flow_checks(view: FlowView) -> list[Check]:
    status = view.flow.get("status") or {}
    completed = sorted(status.get("completedJobs") or [])
    jobs = [job for job, _ in view.steps]
    phase = view.phase or "missing"
    early = [job for job in jobs if not view.ready.get(job, False)]
    order = " → ".join(", ".join(group) for group in view.order) or "no job seen"
    return [
        (
            f"jobflow {view.name} (JobFlow.yaml)",
            f"Succeed, its {len(jobs)} jobs Completed",
            f"{phase}, {len(completed)}/{len(jobs)} jobs Completed",
            phase == "Succeed" and completed == sorted(jobs),
        ),
        (
            f"jobflow {view.name}: its jobs",
            "each created once the jobs it depends on are Completed",
            order if not early else f"{order}; too early or never: {', '.join(early)}",
            not early,
        ),
    ]
