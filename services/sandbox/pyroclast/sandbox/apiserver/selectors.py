"""Label and field selectors: parsing (kube's grammar) and matching."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .status import ApiError, bad_request


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op == "=":
            return present and labels[self.key] == self.values[0]
        if self.op == "!=":
            return not present or labels[self.key] != self.values[0]
        if self.op == "in":
            return present and labels[self.key] in self.values
        if self.op == "notin":
            return not present or labels[self.key] not in self.values
        return False


_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise ValueError(f"unable to parse requirement: {text!r}")
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _check_key(key: str) -> None:
    name = key.split("/", 1)[-1]
    if not re.fullmatch(_KEY, key) or len(name) > 63:
        raise ValueError(f"invalid label key {key!r}: name part must consist of alphanumeric characters")


def _check_value(value: str) -> None:
    if len(value) > 63 or not re.fullmatch(_VALUE, value):
        raise ValueError(
            f"invalid label value: {value!r}: a valid label must be an empty string or consist of "
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse ``a=b,c!=d,e in (f,g),h notin (i),j,!k``; raise ApiError(400) if malformed."""
    try:
        return _parse_labels(text)
    except ValueError as exc:
        raise bad_request(f"unable to parse requirement: {exc}") from None


def _parse_labels(text: str) -> list[Requirement]:
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0
    while i < len(toks):
        if toks[i] == "!":
            if i + 1 >= len(toks):
                raise ValueError("found '', expected: identifier")
            _check_key(toks[i + 1])
            reqs.append(Requirement(toks[i + 1], "!"))
            i += 2
        else:
            key = toks[i]
            _check_key(key)
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append(Requirement(key, "exists"))
            elif toks[i] in ("=", "==", "!="):
                op = "!=" if toks[i] == "!=" else "="
                i += 1
                value = ""
                if i < len(toks) and toks[i] != ",":
                    value = toks[i]
                    i += 1
                _check_value(value)
                reqs.append(Requirement(key, op, (value,)))
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                i += 1
                if i >= len(toks) or toks[i] != "(":
                    raise ValueError(f"found '{toks[i] if i < len(toks) else ''}', expected: '('")
                i += 1
                values: list[str] = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] != ",":
                        _check_value(toks[i])
                        values.append(toks[i])
                    i += 1
                if i >= len(toks):
                    raise ValueError("found '', expected: ')'")
                i += 1
                reqs.append(Requirement(key, op, tuple(sorted(values))))
            else:
                raise ValueError(f"found '{toks[i]}', expected: in, notin, =, ==, !=, ',' or end of string")
        if i < len(toks):
            if toks[i] != ",":
                raise ValueError(f"found '{toks[i]}', expected: ',' or end of string")
            i += 1
    return reqs


def match_labels(reqs: list[Requirement], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in reqs)


def selector_from_label_selector(sel: dict[str, Any] | None) -> list[Requirement] | None:
    """Convert a metav1.LabelSelector (matchLabels/matchExpressions); None matches nothing."""
    if sel is None:
        return None
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or ():
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(
            expr.get("operator", "")
        )
        if op is None:
            return None
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return reqs


# ---- field selectors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str


def parse_field_selector(text: str) -> list[FieldRequirement]:
    reqs: list[FieldRequirement] = []
    for part in _split_unescaped(text):
        part = part.strip()
        if not part:
            continue
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                reqs.append(
                    FieldRequirement(key.strip(), "!=" if op == "!=" else "=", _unescape(value.strip()))
                )
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
    return reqs


def _split_unescaped(text: str) -> list[str]:
    parts, cur, escaped = [], [], False
    for ch in text:
        if escaped:
            cur.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _involved(field_name: str) -> Callable[[dict[str, Any]], str]:
    return lambda o: str((o.get("involvedObject") or {}).get(field_name, "") or "")


# Fields each kind supports in field selectors, besides metadata.name and metadata.namespace.
FIELD_GETTERS: dict[str, dict[str, Callable[[dict[str, Any]], str]]] = {
    "Pod": {
        "spec.nodeName": lambda o: str(o.get("spec", {}).get("nodeName", "") or ""),
        "spec.restartPolicy": lambda o: str(o.get("spec", {}).get("restartPolicy", "") or ""),
        "spec.schedulerName": lambda o: str(o.get("spec", {}).get("schedulerName", "") or ""),
        "spec.serviceAccountName": lambda o: str(o.get("spec", {}).get("serviceAccountName", "") or ""),
        "spec.hostNetwork": lambda o: "true" if o.get("spec", {}).get("hostNetwork") else "false",
        "status.phase": lambda o: str(o.get("status", {}).get("phase", "") or ""),
        "status.podIP": lambda o: str(o.get("status", {}).get("podIP", "") or ""),
        "status.nominatedNodeName": lambda o: str(o.get("status", {}).get("nominatedNodeName", "") or ""),
    },
    "Event": {
        **{
            f"involvedObject.{f}": _involved(f)
            for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
        },
        **{
            f"regarding.{f}": _involved(f)
            for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
        },
        "reportingController": lambda o: str(o.get("reportingComponent", "") or ""),
        "reason": lambda o: str(o.get("reason", "") or ""),
        "reportingComponent": lambda o: str(o.get("reportingComponent", "") or ""),
        "source": lambda o: str((o.get("source") or {}).get("component", "") or ""),
        "type": lambda o: str(o.get("type", "") or ""),
    },
    "Node": {"spec.unschedulable": lambda o: "true" if o.get("spec", {}).get("unschedulable") else "false"},
    "Namespace": {"status.phase": lambda o: str(o.get("status", {}).get("phase", "") or "")},
    "Secret": {"type": lambda o: str(o.get("type", "") or "")},
    "ReplicaSet": {"status.replicas": lambda o: str(o.get("status", {}).get("replicas", 0) or 0)},
    "Job": {"status.successful": lambda o: str(o.get("status", {}).get("succeeded", 0) or 0)},
}


def field_getter(kind: str, field_name: str) -> Callable[[dict[str, Any]], str] | None:
    if field_name == "metadata.name":
        return lambda o: str(o.get("metadata", {}).get("name", ""))
    if field_name == "metadata.namespace":
        return lambda o: str(o.get("metadata", {}).get("namespace", ""))
    return FIELD_GETTERS.get(kind, {}).get(field_name)


def compile_field_selector(
    kind: str, api_version: str, reqs: list[FieldRequirement]
) -> Callable[[dict[str, Any]], bool]:
    checks: list[tuple[Callable[[dict[str, Any]], str], str, str]] = []
    for r in reqs:
        getter = field_getter(kind, r.field)
        if getter is None:
            raise ApiError(
                400,
                "BadRequest",
                f"field label not supported: {r.field}",
            )
        checks.append((getter, r.op, r.value))

    def match(obj: dict[str, Any]) -> bool:
        for getter, op, value in checks:
            actual = getter(obj)
            if (actual == value) != (op == "="):
                return False
        return True

    return match
