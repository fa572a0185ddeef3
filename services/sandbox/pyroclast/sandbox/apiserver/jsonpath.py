"""A small JSONPath evaluator covering what printer columns use (kubectl's dialect)."""

from __future__ import annotations

import re
from typing import Any

_MISSING = object()


class JsonPathError(ValueError):
    pass


def _split(path: str) -> list[str]:
    """Tokenize ``.a.b[0]['c'][*][?(@.x=="y")]`` into steps."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    steps: list[str] = []
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == ".":
            if path[i : i + 2] == "..":
                steps.append("..")
                i += 2
                continue
            i += 1
            m = re.match(r"[^.\[]+", path[i:])
            if m:
                steps.append(m.group(0))
                i += m.end()
        elif ch == "[":
            depth, j = 0, i
            while j < len(path):
                if path[j] == "[":
                    depth += 1
                elif path[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(path):
                raise JsonPathError(f"unterminated [ in {path!r}")
            steps.append(path[i : j + 1])
            i = j + 1
        else:
            m = re.match(r"[^.\[]+", path[i:])
            if not m:
                raise JsonPathError(f"unexpected {ch!r} in {path!r}")
            steps.append(m.group(0))
            i += m.end()
    return steps


def _filter_matches(item: Any, expr: str) -> bool:
    m = re.fullmatch(r"\s*@((?:\.[\w\-/]+)+)\s*(==|!=|>=|<=|>|<)?\s*(.*?)\s*", expr)
    if not m:
        raise JsonPathError(f"unsupported filter {expr!r}")
    values = evaluate(item, m.group(1))
    if not m.group(2):
        return bool(values)
    if not values:
        return False
    raw = m.group(3)
    target: Any
    if (raw.startswith('"') and raw.endswith('"')) or (raw.startswith("'") and raw.endswith("'")):
        target = raw[1:-1]
    else:
        try:
            target = float(raw) if "." in raw else int(raw)
        except ValueError:
            target = raw
    actual = values[0]
    op = m.group(2)
    try:
        if op == "==":
            return bool(actual == target or str(actual) == str(target))
        if op == "!=":
            return bool(actual != target and str(actual) != str(target))
        if op == ">":
            return bool(actual > target)
        if op == "<":
            return bool(actual < target)
        if op == ">=":
            return bool(actual >= target)
        return bool(actual <= target)
    except TypeError:
        return False


def _descend(value: Any) -> list[Any]:
    out = [value]
    if isinstance(value, dict):
        for v in value.values():
            out += _descend(v)
    elif isinstance(value, list):
        for v in value:
            out += _descend(v)
    return out


def evaluate(obj: Any, path: str) -> list[Any]:
    """All values ``path`` selects in ``obj`` (empty when nothing matches)."""
    current = [obj]
    for step in _split(path):
        nxt: list[Any] = []
        if step == "..":
            for value in current:
                nxt += _descend(value)
        elif step.startswith("["):
            inner = step[1:-1].strip()
            for value in current:
                if inner == "*":
                    if isinstance(value, list):
                        nxt += value
                    elif isinstance(value, dict):
                        nxt += list(value.values())
                elif inner.startswith("?(") and inner.endswith(")"):
                    if isinstance(value, list):
                        nxt += [v for v in value if _filter_matches(v, inner[2:-1])]
                elif inner[:1] in "'\"":
                    key = inner[1:-1]
                    if isinstance(value, dict) and key in value:
                        nxt.append(value[key])
                elif ":" in inner:
                    if isinstance(value, list):
                        parts = [int(p) if p.strip() else None for p in inner.split(":")]
                        nxt += value[slice(*parts)]
                else:
                    try:
                        idx = int(inner)
                    except ValueError:
                        raise JsonPathError(f"invalid index {inner!r}") from None
                    if isinstance(value, list) and -len(value) <= idx < len(value):
                        nxt.append(value[idx])
        elif step == "*":
            for value in current:
                if isinstance(value, dict):
                    nxt += list(value.values())
                elif isinstance(value, list):
                    nxt += value
        else:
            for value in current:
                if isinstance(value, dict) and step in value:
                    nxt.append(value[step])
        current = nxt
    return current
