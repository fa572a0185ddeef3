"""Build ``protoschema.json`` (message field numbers, names and types) from Kubernetes'
``generated.proto`` files, for decoding protobuf request bodies (protobuf.py).

Usage: python -m pyroclast.sandbox.apiserver.protogen OUT.json FILE.proto...
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

FIELD = re.compile(
    r"^\s*(optional|repeated|required)?\s*(map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;"
)


def parse(text: str) -> tuple[str, dict[str, dict[str, list[str]]]]:
    package = re.search(r"^package\s+([\w.]+);", text, re.M)
    pkg = package.group(1) if package else ""
    messages: dict[str, dict[str, list[str]]] = {}
    current: str | None = None
    depth = 0
    for raw in text.splitlines():
        line = raw.split("//", 1)[0]
        if not line.strip():
            continue
        m = re.match(r"^\s*message\s+(\w+)\s*\{", line)
        if m and depth == 0:
            current = f"{pkg}.{m.group(1)}"
            messages[current] = {}
            depth = 1
            continue
        if current is not None and depth == 1:
            f = FIELD.match(line)
            if f:
                label, type_, map_key, map_value, name, number = f.groups()
                if map_key:
                    entry = [name, _qualify(map_value, pkg), "map"]
                else:
                    entry = [name, _qualify(type_, pkg), "repeated" if label == "repeated" else "optional"]
                messages[current][number] = entry
        depth += line.count("{") - line.count("}")
        if depth <= 0:
            current, depth = None, 0
    return pkg, messages


SCALARS = {
    "string",
    "bytes",
    "int32",
    "int64",
    "uint32",
    "uint64",
    "bool",
    "double",
    "float",
    "fixed32",
    "fixed64",
}


def _qualify(type_: str, pkg: str) -> str:
    if type_ in SCALARS:
        return type_
    if type_.startswith("."):
        return type_[1:]
    return f"{pkg}.{type_}"


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    table: dict[str, dict[str, list[str]]] = {}
    for path in argv[1:]:
        _, messages = parse(Path(path).read_text())
        table.update(messages)
    out.write_text(json.dumps(table, separators=(",", ":"), sort_keys=True))
    print(f"{len(table)} messages -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
