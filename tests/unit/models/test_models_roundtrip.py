"""Every example manifest of a modelled kind decodes and encodes back to the same data.

The manifests come from the shared folder beside the repository: the YAML files of Volcano's
examples, and the manifests quoted in the seed documents (fenced ``yaml`` blocks and YAML
written inline between paragraphs).
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pyroclast.common.models import KINDS, ManifestError, decode_object, encode_object, parse_yaml

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
EXAMPLES = SHARED / "volcano-examples"
SEEDS = SHARED / "seeds"
VOLCANO_GROUPS = ("batch.volcano.sh/", "scheduling.volcano.sh/", "bus.volcano.sh/", "flow.volcano.sh/")

# Upstream manifests with a field Volcano's API does not have; the API server rejects them too.
KNOWN_INVALID = {
    "elastic-job.yaml": {"spec.tasks[0].template.spec.priorityClass: unknown field"},
    "003_9e5790db2ec48453.txt": {"targetObject: unknown field"},
}
MIN_EXAMPLES = 45
MIN_SEEDS = 35

_FENCE = re.compile(r"^[ \t]*```[ \t]*(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^[ \t]*```", re.M | re.S)
_START = re.compile(r"^(?P<indent>[ \t]*)apiVersion:[ \t]*\S")
_KEY = re.compile(r"^[\w.\-/\"']+:(\s|$)|^- |^#|^---|^\.\.\.")


def _continues(line: str, indent: int) -> bool:
    """Whether a non-blank line still belongs to an inline YAML block; prose ends it."""
    first = line.strip()[0]
    if line[:indent].strip() or not (first.isascii() and first.isprintable()):
        return False
    body = line[indent:]
    return body.startswith((" ", "\t")) or _KEY.match(body) is not None


def _inline_yaml(text: str) -> Iterator[str]:
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = _START.match(lines[i])
        i += 1
        if not start:
            continue
        block = [lines[i - 1]]
        while i < len(lines) and (not lines[i].strip() or _continues(lines[i], len(start["indent"]))):
            block.append(lines[i])
            i += 1
        yield textwrap.dedent("\n".join(block).rstrip() + "\n")


def seed_snippets(text: str) -> Iterator[str]:
    """Fenced yaml blocks that hold a manifest, then manifests written inline outside fences."""
    outside = []
    last = 0
    for fence in _FENCE.finditer(text):
        outside.append(text[last : fence.start()])
        last = fence.end()
        if fence["lang"].lower() in ("yaml", "yml", "") and "apiVersion:" in fence["body"]:
            yield textwrap.dedent(fence["body"])
    outside.append(text[last:])
    yield from _inline_yaml("".join(outside))


def without_nulls(value: Any) -> Any:
    """An explicit ``null`` means the same as an absent field to the API server."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@dataclass
class Tally:
    round_tripped: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: set[tuple[str, str]] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    unparsable: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, name: str, text: str) -> None:
        self.names.add(name)
        try:
            documents = parse_yaml(text, source=name)
        except ManifestError as exc:
            self.unparsable.append(str(exc))
            return
        for index, data in enumerate(documents, start=1):
            if not isinstance(data, dict):
                continue
            key = (str(data.get("apiVersion")), str(data.get("kind")))
            if key not in KINDS:
                self.skipped[key] += 1
                if key[0].startswith(VOLCANO_GROUPS):
                    self.failures.append(f"{name} document {index}: {key} is a Volcano kind without a model")
                continue
            try:
                encoded = encode_object(decode_object(data))
            except ManifestError as exc:
                if str(exc) in KNOWN_INVALID.get(name, ()):
                    self.rejected.add((name, str(exc)))
                else:
                    self.failures.append(f"{name} document {index}: {exc}")
                continue
            if encoded != without_nulls(data):
                self.failures.append(f"{name} document {index}: {key} changed on the way back")
            else:
                self.round_tripped[key] += 1

    def expected_rejections(self) -> set[tuple[str, str]]:
        return {(name, msg) for name, msgs in KNOWN_INVALID.items() if name in self.names for msg in msgs}

    def report(self, label: str) -> str:
        lines = [f"{label}: {sum(self.round_tripped.values())} round-tripped"]
        lines += [f"  {api} {kind}: {n}" for (api, kind), n in sorted(self.round_tripped.items())]
        lines += [
            f"  skipped, not modelled: {api} {kind} x{n}" for (api, kind), n in sorted(self.skipped.items())
        ]
        lines += [f"  rejected as known-invalid: {name}: {msg}" for name, msg in sorted(self.rejected)]
        lines += [f"  not YAML: {u}" for u in self.unparsable]
        return "\n".join(lines)


def _need(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")


def test_volcano_examples_round_trip() -> None:
    _need(EXAMPLES)
    tally = Tally()
    for path in sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".yaml", ".yml")):
        tally.check(path.name, path.read_text(encoding="utf-8"))
    print(tally.report("volcano-examples"))
    assert tally.failures == []
    assert tally.unparsable == []
    assert tally.rejected == tally.expected_rejections()
    assert sum(tally.round_tripped.values()) >= MIN_EXAMPLES
    assert tally.round_tripped[("batch.volcano.sh/v1alpha1", "Job")] >= 20
    assert tally.round_tripped[("batch.volcano.sh/v1alpha1", "CronJob")] >= 1
    assert tally.round_tripped[("flow.volcano.sh/v1alpha1", "JobFlow")] >= 1


def test_seed_manifests_round_trip() -> None:
    _need(SEEDS)
    tally = Tally()
    for path in sorted(SEEDS.glob("*.txt")):
        for snippet in seed_snippets(path.read_text(encoding="utf-8")):
            tally.check(path.name, snippet)
    print(tally.report("seeds"))
    assert tally.failures == []
    assert tally.rejected == tally.expected_rejections()
    assert sum(tally.round_tripped.values()) >= MIN_SEEDS
    volcano = sum(n for (api, _), n in tally.round_tripped.items() if api.startswith(VOLCANO_GROUPS))
    assert volcano >= 30


def test_inline_yaml_stops_at_prose() -> None:
    text = "Intro:\n\napiVersion: v1\nkind: Pod\nspec:\n  containers: []\n  • a bullet in prose\nmore\n"
    assert list(seed_snippets(text)) == ["apiVersion: v1\nkind: Pod\nspec:\n  containers: []\n"]
