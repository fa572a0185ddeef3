"""Part 3's Volcano jobs: their manifests, and the live table of jobs, PodGroups and pods."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Group
from rich.table import Table
from rich.text import Text

from pyroclast.cli.demo.common import DEMO_NAMESPACE, RUN_SECONDS, VOLCANO_JOBS, job_phase

EXAMPLE_RUN_SECONDS = "3"
FIRST_GANG, SECOND_GANG = "gang-first", "gang-second"


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
