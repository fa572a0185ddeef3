"""What every part of the demo shares: names, the sandbox it talks to, and the summary tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

DEMO_NAMESPACE = "demo"
RUN_SECONDS = "sandbox.pyroclast.dev/run-seconds"
EXIT_CODE = "sandbox.pyroclast.dev/exit-code"
VOLCANO_JOBS = "batch.volcano.sh/v1alpha1"
JOB_NAME_LABEL = "volcano.sh/job-name"
POLL_SECONDS = 0.25
PHASE_STYLES = {
    "Running": "cyan",
    "Completed": "green",
    "Succeeded": "green",
    "Succeed": "green",
    "Failed": "red",
    "Pending": "yellow",
}

Check = tuple[str, str, str, bool]
"""``(object, expected, observed, ok)``: one row of a part's summary table."""

Part = tuple[str, str, float, bool]
"""``(part, outcome, seconds, ok)``: one row of the final summary."""


@dataclass(frozen=True)
class Cluster:
    """How the demo reaches its sandbox: the API server (kubeconfig) and NATS."""

    kubeconfig: Path
    nats_url: str


def job_phase(job: dict[str, Any] | None) -> str:
    """``status.state.phase`` of a Volcano Job (or JobFlow), ``""`` if it has none yet."""
    return str((((job or {}).get("status") or {}).get("state") or {}).get("phase") or "")


def phase_text(phase: str) -> Text:
    return Text(phase, style=PHASE_STYLES.get(phase, "magenta"))


def shorten(text: str, limit: int = 72) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summary_table(title: str, checks: Sequence[Check]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("object", "expected", "observed", ""):
        table.add_column(column, overflow="fold")
    for name, want, got, passed in checks:
        table.add_row(
            name, want, got, Text("ok", style="green") if passed else Text("MISSED", style="bold red")
        )
    return table


def parts_table(parts: Sequence[Part], total: float) -> Table:
    table = Table(title="Demo summary", title_justify="left")
    for column in ("part", "outcome", "seconds", ""):
        table.add_column(column, overflow="fold")
    for name, outcome, seconds, passed in parts:
        mark = Text("ok", style="green") if passed else Text("FAILED", style="bold red")
        table.add_row(name, outcome, f"{seconds:.1f}", mark)
    table.add_row(Text("total", style="bold"), "", f"{total:.1f}", "")
    return table


def passed(checks: Sequence[Check]) -> str:
    """``"n/m as expected"`` for the final summary."""
    return f"{sum(1 for *_, ok in checks if ok)}/{len(checks)} as expected"
