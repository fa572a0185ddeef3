"""Decoding of Kubernetes protobuf request bodies."""

from __future__ import annotations

import pytest

from pyroclast.sandbox.apiserver.protobuf import ProtobufError, decode_body


def varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(n: int, payload: bytes) -> bytes:
    return varint(n << 3 | 2) + varint(len(payload)) + payload


def vi(n: int, v: int) -> bytes:
    return varint(n << 3) + varint(v)


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = ld(1, api_version.encode()) + ld(2, kind.encode())
    return b"k8s\x00" + ld(1, type_meta) + ld(2, raw) + ld(4, b"application/vnd.kubernetes.protobuf")


def test_configmap_with_labels_and_empty_values() -> None:
    meta = ld(1, b"cm1") + ld(11, ld(1, b"app") + ld(2, b"web")) + ld(8, b"") + vi(7, 0)
    cm = ld(1, meta) + ld(2, ld(1, b"k") + ld(2, b"v")) + ld(2, ld(1, b"empty"))
    assert decode_body(envelope("v1", "ConfigMap", cm)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm1", "labels": {"app": "web"}},
        "data": {"k": "v", "empty": ""},
    }


def test_service_ports_int_or_string_and_time() -> None:
    port_int = ld(1, b"http") + ld(2, b"TCP") + vi(3, 80) + ld(4, vi(1, 0) + vi(2, 8080))
    port_str = vi(3, 443) + ld(4, vi(1, 1) + ld(3, b"https"))
    spec = ld(1, port_int) + ld(1, port_str) + ld(4, b"ClusterIP")
    meta = ld(1, b"svc") + ld(9, vi(1, 1_700_000_000))
    svc = decode_body(envelope("v1", "Service", ld(1, meta) + ld(2, spec)))
    assert svc["spec"]["ports"] == [
        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
        {"port": 443, "targetPort": "https"},
    ]
    assert svc["metadata"]["deletionTimestamp"] == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize(
    "body",
    [
        b"not protobuf",
        b"k8s\x00\x0a\xff",
        envelope("v1", "Gizmo", b""),
        envelope("example.com/v1", "Thing", b""),
    ],
)
def test_bad_bodies(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_body(body)
