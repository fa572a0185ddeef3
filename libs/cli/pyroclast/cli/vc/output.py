"""Printing: column tables (rich), YAML and JSON documents, ages as Kubernetes prints them."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import yaml
from rich.console import Console
from rich.table import Table

from pyroclast.cli.vc.errors import VcctlError

FORMATS = ("yaml", "json")


def console(file: TextIO | None = None) -> Console:
    """A console on stdout; wide enough that tables never wrap when stdout is not a terminal."""
    out = file or sys.stdout
    terminal = out.isatty()
    width = shutil.get_terminal_size((200, 24)).columns if terminal else 1000
    return Console(file=out, width=width, highlight=False, soft_wrap=False, emoji=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A borderless table with left-aligned columns, like Volcano's fixed-width output."""
    result = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 3, 0, 0))
    for header in headers:
        result.add_column(header, no_wrap=True, header_style="bold")
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a table: styled on a terminal, plain aligned columns otherwise."""
    if sys.stdout.isatty():
        console().print(table(headers, rows))
    else:
        sys.stdout.write(render_table(headers, rows) + "\n")
    sys.stdout.flush()


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The table as plain text (for tests and for line-by-line watching)."""
    out = Console(width=1000, highlight=False, color_system=None, soft_wrap=False)
    with out.capture() as capture:
        plain = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 3, 0, 0))
        for header in headers:
            plain.add_column(header, no_wrap=True)
        for row in rows:
            plain.add_row(*(str(cell) for cell in row))
        out.print(plain)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without ``metadata.managedFields`` (as Volcano's describe prints it)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def dump(data: Any, fmt: str) -> str:
    """``data`` as ``yaml`` or ``json`` text."""
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "yaml":
        return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    raise VcctlError(f"--output: expected yaml or json, got {fmt!r}")


def print_objects(items: list[dict[str, Any]], fmt: str, *, list_kind: str | None = None) -> None:
    """One object as itself, several as a ``v1 List`` (as kubectl prints them)."""
    if list_kind is None and len(items) == 1:
        data: Any = clean(items[0])
    else:
        data = {"apiVersion": "v1", "kind": "List", "items": [clean(i) for i in items]}
    sys.stdout.write(dump(data, fmt))
    sys.stdout.flush()


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 timestamp as the API server writes it, or ``None``."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """Kubernetes' ``HumanDuration``: ``45s``, ``3m20s``, ``15m``, ``5h10m``, ``3d4h``, ``2y10d``."""
    total = int(seconds)
    if total < -1:
        return "<invalid>"
    if total < 0:
        return "0s"
    if total < 120:
        return f"{total}s"
    minutes = total // 60
    if minutes < 10:
        rest = total % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = total // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return f"{hours // 24 // 365}y{(hours // 24) % 365}d"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """How long ago ``timestamp`` was, or ``<unknown>``."""
    when = parse_time(timestamp)
    if when is None:
        return "<unknown>"
    return human_duration(((now or datetime.now(UTC)) - when).total_seconds())


def date(timestamp: str | None) -> str:
    """The day of ``timestamp`` (``2006-01-02``), as Volcano's job list prints Creation."""
    when = parse_time(timestamp)
    return when.strftime("%Y-%m-%d") if when else ""
