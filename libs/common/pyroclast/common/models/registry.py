"""Kinds by (apiVersion, kind), and decoding of manifests into them.

Every failure on bad input is a `ManifestError` naming the document, the field path in
Kubernetes style (``spec.tasks[0].replicas``) and the rule that was broken.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
import yaml

from pyroclast.common.models import batch, commands, flow, scheduling
from pyroclast.common.models.core import CORE_KINDS

KINDS: dict[tuple[str, str], type[msgspec.Struct]] = {
    **CORE_KINDS,
    (batch.BATCH_API_VERSION, "Job"): batch.Job,
    (batch.BATCH_API_VERSION, "JobList"): batch.JobList,
    (batch.BATCH_API_VERSION, "CronJob"): batch.CronJob,
    (batch.BATCH_API_VERSION, "CronJobList"): batch.CronJobList,
    (scheduling.SCHEDULING_API_VERSION, "PodGroup"): scheduling.PodGroup,
    (scheduling.SCHEDULING_API_VERSION, "PodGroupList"): scheduling.PodGroupList,
    (scheduling.SCHEDULING_API_VERSION, "Queue"): scheduling.Queue,
    (scheduling.SCHEDULING_API_VERSION, "QueueList"): scheduling.QueueList,
    (commands.BUS_API_VERSION, "Command"): commands.Command,
    (commands.BUS_API_VERSION, "CommandList"): commands.CommandList,
    (flow.FLOW_API_VERSION, "JobFlow"): flow.JobFlow,
    (flow.FLOW_API_VERSION, "JobFlowList"): flow.JobFlowList,
    (flow.FLOW_API_VERSION, "JobTemplate"): flow.JobTemplate,
    (flow.FLOW_API_VERSION, "JobTemplateList"): flow.JobTemplateList,
}
"""Every modelled top-level kind, keyed by (apiVersion, kind)."""


class ManifestError(ValueError):
    """A manifest that cannot be decoded; ``str()`` reads ``document: path: rule``."""

    def __init__(self, rule: str, *, path: str = "", document: str | None = None) -> None:
        self.rule = rule
        self.path = path
        self.document = document
        super().__init__(": ".join(part for part in (document, path, rule) if part))


# --- YAML -------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader that keeps timestamps as text, as the API server does."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str, *, source: str | None = None) -> list[Any]:
    """Parse multi-document YAML into builtins, dropping empty documents."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(f"{where}invalid YAML: {problem}", document=source) from None
    return [doc for doc in documents if doc is not None]


def load_manifests(text: str, *, source: str | None = None) -> list[msgspec.Struct]:
    """Decode every non-empty document of a multi-document YAML text."""
    label = f"{source} " if source else ""
    return [
        decode_object(doc, document=f"{label}document {index}")
        for index, doc in enumerate(parse_yaml(text, source=source), start=1)
    ]


# --- decoding ---------------------------------------------------------------------------

_TYPE_NAMES = {
    "int": "an integer",
    "str": "a string",
    "float": "a number",
    "bool": "a boolean",
    "null": "null",
    "array": "a list",
    "object": "an object",
}
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]*)`, got `(?P<got>[^`]*)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`")
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_TOKEN = re.compile(r"\.(?P<name>[^.\[]+)|\[(?P<index>\d+|\.\.\.)\]")


def _describe(types: str) -> str:
    names = [t.strip() for t in types.split("|")]
    if len(names) > 1:
        names = [n for n in names if n != "null"]
    words = [_TYPE_NAMES.get(n, f"`{n}`") for n in dict.fromkeys(names)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _replace(data: Any, trail: list[str | int], new: Any) -> Any:
    """A copy of ``data`` with the value at ``trail`` replaced (only the path is copied)."""
    if not trail:
        return new
    head, rest = trail[0], trail[1:]
    if isinstance(data, dict):
        return {**data, head: _replace(data[head], rest, new)}
    copy = list(data)
    copy[head] = _replace(data[head], rest, new)  # type: ignore[index]
    return copy


def _name_keys(path: str, message: str, data: Any, cls: type[msgspec.Struct]) -> str:
    """Replace msgspec's ``[...]`` map-key markers with the offending keys.

    For each marker, the map is narrowed to one key at a time until the same error recurs.
    """
    resolved: list[str] = []
    trail: list[str | int] = []
    node, narrowed = data, data
    for token in _TOKEN.finditer(path):
        name, index = token["name"], token["index"]
        if name is not None and isinstance(node, dict) and name in node:
            resolved.append("." + name)
            trail.append(name)
            node = node[name]
        elif index is not None and index != "..." and isinstance(node, list) and int(index) < len(node):
            resolved.append(f"[{index}]")
            trail.append(int(index))
            node = node[int(index)]
        elif index == "..." and isinstance(node, dict):
            for key, value in node.items():
                trial = _replace(narrowed, trail, {key: value})
                try:
                    msgspec.convert(trial, cls)
                except msgspec.ValidationError as exc:
                    if str(exc) == message:
                        break
            else:
                return path
            narrowed = _replace(narrowed, trail, {key: value})
            resolved.append(f"[{key}]")
            trail.append(key)
            node = value
        else:
            return path
    return "".join(resolved)


def _from_validation(
    exc: msgspec.ValidationError, document: str | None, data: Any = None, cls: Any = None
) -> ManifestError:
    text = str(exc)
    path = ""
    if at := _AT.search(text):
        path = at["path"]
        if "[...]" in path and cls is not None:
            path = _name_keys(path, text, data, cls)
        path = path.removeprefix(".")
        text = text[: at.start()]
    if m := _EXPECTED.match(text):
        rule = f"expected {_describe(m['want'])}, got {_describe(m['got'])}"
    elif m := _UNKNOWN.match(text):
        path, rule = _join(path, m["field"]), "unknown field"
    elif m := _MISSING.match(text):
        path, rule = _join(path, m["field"]), "required field is missing"
    else:
        rule = text[:1].lower() + text[1:]
    return ManifestError(rule, path=path, document=document)


def kind_of(data: Any, *, document: str | None = None) -> type[msgspec.Struct]:
    """The model type for a parsed manifest, from its apiVersion and kind."""
    if not isinstance(data, dict):
        raise ManifestError(f"expected an object, got {_describe(_wire_name(data))}", document=document)
    for field in ("apiVersion", "kind"):
        value = data.get(field)
        if value is None:
            raise ManifestError("required field is missing", path=field, document=document)
        if not isinstance(value, str):
            raise ManifestError(
                f"expected a string, got {_describe(_wire_name(value))}", path=field, document=document
            )
    key = (data["apiVersion"], data["kind"])
    try:
        return KINDS[key]
    except KeyError:
        raise ManifestError(
            f"unknown kind {key[1]!r} for apiVersion {key[0]!r}", path="kind", document=document
        ) from None


def _wire_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def decode_object(data: dict[str, Any], *, document: str | None = None) -> msgspec.Struct:
    """Decode one parsed manifest into the struct its apiVersion and kind name."""
    cls = kind_of(data, document=document)
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as exc:
        raise _from_validation(exc, document, data, cls) from None


def encode_object(obj: msgspec.Struct) -> dict[str, Any]:
    """Builtins (dicts, lists, strings, numbers) ready for YAML or JSON output."""
    data = msgspec.to_builtins(obj)
    if not isinstance(data, dict):
        raise TypeError(f"{type(obj).__name__} does not encode to an object")
    return data


# --- JSON -------------------------------------------------------------------------------


class _TypeMeta(msgspec.Struct, rename="camel"):
    api_version: Any = None
    kind: Any = None


_TYPE_META = msgspec.json.Decoder(_TypeMeta)


@functools.cache
def _json_decoder(cls: type[msgspec.Struct]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(cls)


def decode_json(raw: bytes | str, *, document: str | None = None) -> msgspec.Struct:
    """Decode a JSON object (as served by the API) straight into its struct."""
    try:
        head = _TYPE_META.decode(raw)
        cls = kind_of({"apiVersion": head.api_version, "kind": head.kind}, document=document)
        result: msgspec.Struct = _json_decoder(cls).decode(raw)
    except msgspec.ValidationError as exc:
        if "[...]" in str(exc):  # decode again as builtins to name the map key
            return decode_object(msgspec.json.decode(raw), document=document)
        raise _from_validation(exc, document) from None
    except msgspec.DecodeError as exc:
        raise ManifestError(f"invalid JSON: {exc}", document=document) from None
    return result


def encode_json(obj: msgspec.Struct) -> bytes:
    """Compact JSON of a struct."""
    return msgspec.json.encode(obj)
