"""The shared cache: typed writes to and watches of the KV buckets.

The controller writes records with :class:`CacheWriter`; the scheduler follows a bucket with
:class:`CacheWatcher`, which yields the current records, a ``SYNCED`` marker, then every
change, resuming after the last revision it delivered when the connection or the server
comes back. Records are addressed by their Kubernetes reference, ``namespace/name`` or
``name``; the KV key encoding is in :mod:`pyroclast.common.bus.names`.
"""

# Helpers take a plain ``timeout`` in seconds, as nats-py does.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, NamedTuple, TypeVar

import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api

from pyroclast.common.bus import codec
from pyroclast.common.bus.messages import (
    ExplanationRecord,
    NodeRecord,
    PodGroupRecord,
    PodRecord,
    PriorityClassRecord,
    QueueRecord,
    Record,
)
from pyroclast.common.bus.names import BusNames, CacheKind, key_to_ref, ref_to_key
from pyroclast.common.bus.pull import OrderedReader, PullSettings, ResumeGapError, StartAt, aclose_if_idle
from pyroclast.common.logging import get_logger

__all__ = [
    "BUCKETS",
    "EXPLANATIONS",
    "NODES",
    "PODGROUPS",
    "PODS",
    "PRIORITY_CLASSES",
    "QUEUES",
    "TOMBSTONE_TTL",
    "BucketSpec",
    "CacheWatcher",
    "CacheWriter",
    "ResumeGapError",
    "RevisionConflict",
    "WatchEvent",
    "WatchOp",
]

log = get_logger(__name__)

R = TypeVar("R", bound=Record)

TOMBSTONE_TTL = 24 * 3600.0
"""Seconds a delete marker stays in a bucket. Buckets do not fill up with the markers of
deleted pods; in exchange a watcher cut off for longer than this cannot resume (it raises
:class:`ResumeGapError`) and must start over from the current records."""

KV_OPERATION = "KV-Operation"
KV_DELETE = "DEL"
KV_PURGE = "PURGE"
_MARKER_REASON = "Nats-Marker-Reason"
_WRONG_LAST_SEQUENCE = (10071, 10164)


class RevisionConflict(Exception):
    """A conditional put found a different revision than expected."""


@dataclass(frozen=True, slots=True)
class BucketSpec(Generic[R]):
    """A cache bucket: which records it holds and whether they are namespaced."""

    kind: CacheKind
    record_type: type[R]
    namespaced: bool


NODES = BucketSpec(CacheKind.NODES, NodeRecord, namespaced=False)
PODS = BucketSpec(CacheKind.PODS, PodRecord, namespaced=True)
PODGROUPS = BucketSpec(CacheKind.PODGROUPS, PodGroupRecord, namespaced=True)
QUEUES = BucketSpec(CacheKind.QUEUES, QueueRecord, namespaced=False)
PRIORITY_CLASSES = BucketSpec(CacheKind.PRIORITY_CLASSES, PriorityClassRecord, namespaced=False)
EXPLANATIONS = BucketSpec(CacheKind.EXPLANATIONS, ExplanationRecord, namespaced=True)
BUCKETS: tuple[BucketSpec[Any], ...] = (NODES, PODS, PODGROUPS, QUEUES, PRIORITY_CLASSES, EXPLANATIONS)


class WatchOp(StrEnum):
    PUT = "put"
    DELETE = "delete"
    SYNCED = "synced"
    """Every record present when the watch started has been delivered (sent once)."""


class WatchEvent(NamedTuple, Generic[R]):
    """One change: ``(op, key, record, revision)``.

    ``key`` is the reference (``namespace/name`` or ``name``); ``record`` is ``None`` for
    ``DELETE`` and ``SYNCED``; ``revision`` is the bucket revision of the change (for
    ``SYNCED``, of the last change delivered before it).
    """

    op: WatchOp
    key: str
    record: R | None
    revision: int


class CacheWriter(Generic[R]):
    """Puts and deletes the records of one bucket."""

    def __init__(
        self,
        nc: Client,
        names: BusNames,
        spec: BucketSpec[R],
        *,
        timeout: float = 5.0,
        tombstone_ttl: float = TOMBSTONE_TTL,
    ) -> None:
        self._nc = nc
        self._names = names
        self._spec = spec
        self._timeout = timeout
        self._tombstone_headers = {KV_OPERATION: KV_DELETE, api.Header.MSG_TTL.value: str(int(tombstone_ttl))}
        self._js = nc.jetstream(timeout=timeout)

    def _subject(self, ref: str) -> str:
        return self._names.kv_subject(self._spec.kind, ref_to_key(ref))

    async def put(
        self, record: R, *, expected_revision: int | None = None, timeout: float | None = None
    ) -> int:
        """Store ``record`` under its reference; returns the new revision.

        With ``expected_revision`` the put only succeeds if the key is at that revision
        (``0``: the key must not exist) and raises :class:`RevisionConflict` otherwise.
        """
        headers = None
        if expected_revision is not None:
            headers = {api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE.value: str(expected_revision)}
        try:
            ack = await self._js.publish(
                self._subject(record.ref),
                codec.encode(record),
                timeout=timeout or self._timeout,
                headers=headers,
            )
        except nats.js.errors.APIError as err:
            if err.err_code in _WRONG_LAST_SEQUENCE:
                raise RevisionConflict(f"{record.ref}: {err.description}") from err
            raise
        return ack.seq

    async def delete(self, ref: str, *, timeout: float | None = None) -> int:
        """Delete the record ``ref`` (a no-op for watchers if it never existed); the delete
        marker expires after the tombstone TTL."""
        ack = await self._js.publish(
            self._subject(ref), b"", timeout=timeout or self._timeout, headers=dict(self._tombstone_headers)
        )
        return ack.seq

    async def get(self, ref: str, *, timeout: float | None = None) -> tuple[R, int] | None:
        """The current record ``ref`` and its revision, or ``None``."""
        js = self._js if timeout is None else self._nc.jetstream(timeout=timeout)
        try:
            raw = await js.get_msg(
                self._names.kv_stream(self._spec.kind), subject=self._subject(ref), direct=True
            )
        except nats.js.errors.NotFoundError:
            return None
        if raw.headers and raw.headers.get(KV_OPERATION) in (KV_DELETE, KV_PURGE):
            return None
        return codec.decode(raw.data or b"", self._spec.record_type), raw.seq or 0


class CacheWatcher(Generic[R]):
    """Follows one bucket (or one namespace of it): current records, ``SYNCED``, changes.

    ``DELETE`` is only reported for keys this watcher reported a ``PUT`` for. Iterate once;
    :meth:`close` (or leaving ``async with``) ends the iteration. If the watcher loses the
    server for longer than ``max_outage`` seconds, delete markers may have expired, so the
    iteration raises :class:`ResumeGapError`: rebuild from a new watcher.
    """

    def __init__(
        self,
        nc: Client,
        names: BusNames,
        spec: BucketSpec[R],
        *,
        namespace: str | None = None,
        settings: PullSettings | None = None,
        batch: int = 256,
        max_outage: float = TOMBSTONE_TTL,
    ) -> None:
        if namespace is not None and not spec.namespaced:
            raise ValueError(f"bucket {spec.kind.value} is not namespaced")
        self._names = names
        self._spec = spec
        self._prefix = names.kv_subject_prefix(spec.kind)
        self._reader = OrderedReader(
            nc,
            names.kv_stream(spec.kind),
            [names.kv_filter(spec.kind, namespace)],
            StartAt.last_per_subject(),
            name_prefix=names.watcher_consumer_prefix(spec.kind),
            settings=settings,
            batch=batch,
            max_gap=max_outage,
        )
        self._known: set[str] = set()
        self._generator: AsyncGenerator[WatchEvent[R], None] | None = None
        self.synced = asyncio.Event()
        """Set once the records present at the start have all been delivered."""

    @property
    def revision(self) -> int:
        """Revision of the last change delivered (0 before the first)."""
        return self._reader.last_sequence

    async def close(self) -> None:
        await self._reader.close()
        await aclose_if_idle(self._generator)

    async def __aenter__(self) -> CacheWatcher[R]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[WatchEvent[R]]:
        self._generator = self._run()
        return self._generator

    async def _run(self) -> AsyncGenerator[WatchEvent[R], None]:
        try:
            async for msg in self._reader:
                if msg is None:
                    self.synced.set()
                    yield WatchEvent(WatchOp.SYNCED, "", None, self._reader.last_sequence)
                    continue
                event = self._event(msg)
                if event is not None:
                    yield event
        finally:
            await self._reader.close()

    def _event(self, msg: Msg) -> WatchEvent[R] | None:
        revision = msg.metadata.sequence.stream
        try:
            ref = key_to_ref(msg.subject[len(self._prefix) :])
        except ValueError:
            log.warning("ignoring a KV key Pyroclast did not write", subject=msg.subject)
            return None
        headers = msg.headers or {}
        if headers.get(KV_OPERATION) in (KV_DELETE, KV_PURGE) or _MARKER_REASON in headers:
            if ref not in self._known:
                return None
            self._known.discard(ref)
            return WatchEvent(WatchOp.DELETE, ref, None, revision)
        try:
            record = codec.decode(msg.data, self._spec.record_type)
        except codec.DecodeError as err:
            log.error(
                "undecodable cache record skipped", bucket=self._spec.kind.value, key=ref, error=str(err)
            )
            return None
        self._known.add(ref)
        return WatchEvent(WatchOp.PUT, ref, record, revision)
