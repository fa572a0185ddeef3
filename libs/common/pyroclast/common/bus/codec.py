"""Encoding of bus messages: MessagePack for cache records and decisions, JSON for audit.

Audit events are JSON so that ``nats sub`` and ``vcctl tap`` show them as they are.
Decoders are built once per type and cached.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import msgspec

from pyroclast.common.bus.messages import AuditEvent, Decision, DecisionFailure

__all__ = [
    "DecodeError",
    "decode",
    "decode_audit",
    "decode_decision",
    "decode_failure",
    "encode",
    "encode_audit",
]

T = TypeVar("T")

DecodeError = msgspec.DecodeError
"""Raised for bytes that are not a valid encoding of the expected type."""

_MSGPACK = msgspec.msgpack.Encoder()
_JSON = msgspec.json.Encoder()
_DECISION: msgspec.msgpack.Decoder[Decision] = msgspec.msgpack.Decoder(Decision)
_FAILURE = msgspec.msgpack.Decoder(DecisionFailure)
_AUDIT = msgspec.json.Decoder(AuditEvent)


def encode(message: msgspec.Struct) -> bytes:
    """MessagePack bytes of a record, decision or failure."""
    return _MSGPACK.encode(message)


_DECODERS: dict[type[Any], msgspec.msgpack.Decoder[Any]] = {}


def decode(data: bytes, kind: type[T]) -> T:
    """Decode MessagePack ``data`` as ``kind`` (a record type); raises :data:`DecodeError`."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = msgspec.msgpack.Decoder(kind)
    return cast(T, decoder.decode(data))


def decode_decision(data: bytes) -> Decision:
    """Decode any decision; its ``type`` tag selects the class."""
    return _DECISION.decode(data)


def decode_failure(data: bytes) -> DecisionFailure:
    return _FAILURE.decode(data)


def encode_audit(event: AuditEvent) -> bytes:
    """JSON bytes of an audit event."""
    return _JSON.encode(event)


def decode_audit(data: bytes) -> AuditEvent:
    return _AUDIT.decode(data)
