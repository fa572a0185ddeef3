"""The result of an admission rule, and RFC 6902 JSON patches over raw objects."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

PatchOp: TypeAlias = dict[str, Any]
"""One RFC 6902 operation: ``{"op": "add", "path": "/spec/queue", "value": "default"}``."""


@dataclass(frozen=True)
class Verdict:
    """Allowed or denied; a denial carries Volcano's message, an allowance may carry a patch."""

    allowed: bool
    message: str = ""
    patch: tuple[PatchOp, ...] = field(default=())
    source: str = ""
    """The path of the rule that denied, when a chain of rules ran (see ``registry.review``)."""

    @classmethod
    def allow(cls, patch: Sequence[PatchOp] = ()) -> Verdict:
        return cls(True, "", tuple(patch))

    @classmethod
    def deny(cls, message: str) -> Verdict:
        return cls(False, message)


ALLOW = Verdict.allow()


class PatchError(ValueError):
    """A patch operation that does not apply to the document."""


def spec_parent(raw: Any) -> list[PatchOp]:
    """An ``add /spec {}`` operation when the raw object has no spec for later ``/spec/...`` adds."""
    if isinstance(raw, dict) and not isinstance(raw.get("spec"), dict):
        return [{"op": "add", "path": "/spec", "value": {}}]
    return []


def escape(token: str) -> str:
    """A JSON pointer reference token (``~`` -> ``~0``, ``/`` -> ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return node


def apply_patch(doc: Any, ops: Sequence[PatchOp]) -> Any:
    """A copy of ``doc`` with ``add``/``replace``/``remove`` operations applied in order."""
    result = copy.deepcopy(doc)
    for op in ops:
        path = op["path"]
        tokens = _tokens(path)
        if not tokens:
            if op["op"] in ("add", "replace"):
                result = copy.deepcopy(op["value"])
                continue
            raise PatchError("cannot remove the whole document")
        parent, last = _parent(result, tokens, path), tokens[-1]
        kind = op["op"]
        if isinstance(parent, dict):
            if kind in ("replace", "remove") and last not in parent:
                raise PatchError(f"path {path!r} does not exist")
            if kind == "remove":
                del parent[last]
            else:
                parent[last] = copy.deepcopy(op["value"])
        elif isinstance(parent, list):
            index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
            if index < 0 or index > len(parent) or (kind != "add" and index == len(parent)):
                raise PatchError(f"path {path!r} does not exist")
            if kind == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            elif kind == "replace":
                parent[index] = copy.deepcopy(op["value"])
            else:
                del parent[index]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return result
