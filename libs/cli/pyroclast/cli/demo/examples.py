"""Part 1: every Volcano example manifest decoded with Pyroclast's models."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pyroclast.cli.demo.common import Part

NO_EXAMPLES = "no shared/volcano-examples folder beside the repository"


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


def run_examples(console: Console, parts: list[Part]) -> Path | None:
    """Decode the examples and print the result; the examples folder, or None if absent."""
    started = time.monotonic()
    root = examples_dir()
    try:
        import pyroclast.common.models  # noqa: F401
    except ImportError as exc:
        console.print(f"[yellow]skipped:[/yellow] the models are not available ({exc})")
        root = None
    if root is None:
        console.print(f"[yellow]note:[/yellow] {NO_EXAMPLES}: skipped")
        return None
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
    return root
