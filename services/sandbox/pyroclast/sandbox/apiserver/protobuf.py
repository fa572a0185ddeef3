"""Decoding of Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``).

Typed client-go clients (kubectl create, drain, ...) send protobuf. Bodies are the ``k8s\\0``
magic followed by a runtime.Unknown envelope whose ``raw`` holds the object; field numbers come
from protoschema.json, generated from the upstream generated.proto files by protogen.py.
Answers are always JSON, which those clients accept.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import struct
from pathlib import Path
from typing import Any

MAGIC = b"k8s\x00"
META = "k8s.io.apimachinery.pkg.apis.meta.v1."
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
GROUP_PACKAGES = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "policy": "policy",
    "autoscaling": "autoscaling",
    "coordination.k8s.io": "coordination",
    "scheduling.k8s.io": "scheduling",
    "networking.k8s.io": "networking",
    "admissionregistration.k8s.io": "admissionregistration",
    "events.k8s.io": "events",
    "authorization.k8s.io": "authorization",
    "authentication.k8s.io": "authentication",
}
META_KINDS = {"DeleteOptions", "Status", "List", "WatchEvent"}


class ProtobufError(ValueError):
    pass


@functools.cache
def _schema() -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = json.loads(
        (Path(__file__).parent / "protoschema.json").read_text()
    )
    return data


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value = buf[pos : pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value = buf[pos : pos + length]
            if len(value) != length:
                raise ProtobufError("truncated field")
            pos += length
        elif wire == 5:
            value = buf[pos : pos + 4]
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(v: int, bits: int = 64) -> int:
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def _time(buf: bytes, micro: bool) -> str | None:
    seconds = nanos = 0
    parts = _fields(buf)
    if not parts:  # Go's zero time marshals as an empty message: unset
        return None
    for number, _, value in parts:
        if number == 1:
            seconds = _signed(value)
        elif number == 2:
            nanos = _signed(value, 32)
    if seconds <= -62135596800:  # Go's zero time: unset
        return None
    t = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar(type_: str, wire: int, value: Any) -> Any:
    if type_ == "string":
        return bytes(value).decode("utf-8")
    if type_ == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if type_ == "bool":
        return bool(value)
    if type_ in ("int64", "int32"):
        return _signed(value, 64)
    if type_ in ("uint32", "uint64"):
        return value
    if type_ == "double":
        return struct.unpack("<d", value)[0]
    if type_ == "float":
        return struct.unpack("<f", value)[0]
    if type_ == "fixed32":
        return struct.unpack("<I", value)[0]
    if type_ == "fixed64":
        return struct.unpack("<Q", value)[0]
    raise ProtobufError(f"unknown scalar {type_}")


def _value(type_: str, wire: int, value: Any) -> Any:
    if type_ in (
        "string",
        "bytes",
        "bool",
        "int64",
        "int32",
        "uint32",
        "uint64",
        "double",
        "float",
        "fixed32",
        "fixed64",
    ):
        return _scalar(type_, wire, value)
    buf = bytes(value)
    if type_ == META + "Time":
        return _time(buf, micro=False)
    if type_ == META + "MicroTime":
        return _time(buf, micro=True)
    if type_ == META + "Duration":
        ns = next((_signed(v) for n, _, v in _fields(buf) if n == 1), 0)
        return f"{ns / 1e9:g}s"
    if type_ == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        parts = {n: v for n, _, v in _fields(buf)}
        if parts.get(1, 0) == 1:
            return bytes(parts.get(3, b"")).decode()
        return _signed(parts.get(2, 0), 64)
    if type_ == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return next((bytes(v).decode() for n, _, v in _fields(buf) if n == 1), "0")
    if type_ in ("k8s.io.apimachinery.pkg.runtime.RawExtension", META + "FieldsV1"):
        raw = next((bytes(v) for n, _, v in _fields(buf) if n == 1), b"")
        return json.loads(raw) if raw else None
    return decode_message(type_, buf)


def decode_message(type_: str, buf: bytes) -> dict[str, Any]:
    fields = _schema().get(type_)
    if fields is None:
        raise ProtobufError(f"unknown message {type_}")
    out: dict[str, Any] = {}
    for number, wire, value in _fields(buf):
        spec = fields.get(str(number))
        if spec is None:
            continue
        name, ftype, label = spec
        if label == "map":
            entry = {n: (w, v) for n, w, v in _fields(bytes(value))}
            key = bytes(entry[1][1]).decode() if 1 in entry else ""
            val: Any = _value(ftype, *entry[2]) if 2 in entry else ("" if ftype == "string" else None)
            out.setdefault(name, {})[key] = val
        elif label == "repeated":
            if wire == 2 and ftype in ("int32", "int64", "uint32", "uint64", "bool"):
                pos, packed, items = 0, bytes(value), []
                while pos < len(packed):
                    v, pos = _varint(packed, pos)
                    items.append(_scalar(ftype, 0, v))
                out.setdefault(name, []).extend(items)
            else:
                out.setdefault(name, []).append(_value(ftype, wire, value))
        else:
            decoded = _value(ftype, wire, value)
            if decoded is None or decoded == "" or decoded is False:
                continue
            if type(decoded) is int and decoded == 0 and _omit_zero(name):
                continue
            out[name] = decoded
    return out


def _omit_zero(name: str) -> bool:
    """Zero integers a Go client marshals but JSON would omit (non-pointer omitempty fields)."""
    return name in {
        "generation",
        "deletionGracePeriodSeconds",
        "observedGeneration",
        "restartCount",
        "hostPort",
        "minReadySeconds",
    }


def message_type(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if kind in META_KINDS:
        return META + kind
    package = GROUP_PACKAGES.get(group)
    if package is None:
        raise ProtobufError(f"no protobuf schema for {api_version}")
    return f"k8s.io.api.{package}.{version}.{kind}"


def decode_body(data: bytes) -> dict[str, Any]:
    """Decode a ``k8s\\0``-framed protobuf body into the JSON-shaped object."""
    if not data.startswith(MAGIC):
        raise ProtobufError("missing protobuf magic prefix")
    envelope = {n: v for n, _, v in _fields(data[len(MAGIC) :])}
    type_meta = {n: bytes(v).decode() for n, _, v in _fields(bytes(envelope.get(1, b"")))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    obj = decode_message(message_type(api_version, kind), bytes(envelope.get(2, b"")))
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj
