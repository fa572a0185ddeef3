"""The in-memory object cache backed by Storage: resourceVersions, the event log and watchers.

Reads are served from memory. Every change takes the next global resourceVersion synchronously
(so concurrent writers are ordered by the event loop), is appended to the event log, fanned out
to watchers, and then committed to SQLite before the writer gets its answer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

from .storage import Storage, WriteOp

log = structlog.get_logger("pyroclast.sandbox.apiserver.store")

Obj = dict[str, Any]
ObjKey = tuple[str, str, str]  # (resource key, namespace, name)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


def decode(data: bytes) -> Any:
    return _decoder.decode(data)


def deep_copy(obj: Obj) -> Obj:
    """Stored objects are never mutated in place; callers work on copies."""
    result: Obj = _decoder.decode(_encoder.encode(obj))
    return result


@dataclass
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    namespace: str
    name: str
    obj: Obj
    prev: Obj | None = None
    encoded: bytes | None = None
    """``obj`` as JSON, once a watcher has encoded it (stored objects never change)."""


class Gone(Exception):
    """The requested resourceVersion is older than the kept event log."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(eq=False)
class Watcher:
    resource: str
    namespace: str | None
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    max_pending: int = 50000
    closed: bool = False

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= self.max_pending:
            # A consumer that cannot keep up is cut off; it will re-list like with kube.
            self.close()
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class ObjectStore:
    def __init__(self, storage: Storage, event_log_size: int = 20000) -> None:
        self.storage = storage
        self.objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self.rv = 0
        self.compacted_rv = 0
        self.log: deque[Event] = deque()
        self.event_log_size = event_log_size
        self.watchers: dict[str, set[Watcher]] = {}
        self.listeners: list[Callable[[Event], None]] = []
        self.by_uid: dict[str, ObjKey] = {}
        self.dependents: dict[str, set[ObjKey]] = {}

    async def open(self) -> None:
        state = await self.storage.open()
        self.rv = state.rv
        self.compacted_rv = state.compacted_rv
        for resource, ns, name, body in state.objects:
            obj = decode(body)
            self.objects.setdefault(resource, {})[(ns, name)] = obj
            self._index(resource, ns, name, None, obj)
        for op in state.events:
            self.log.append(Event(op.rv, op.type, op.resource, op.namespace, op.name, decode(op.body)))
        if self.log:
            self.compacted_rv = max(self.compacted_rv, self.log[0].rv - 1)
        self._trim()

    async def close(self) -> None:
        for watchers in self.watchers.values():
            for w in list(watchers):
                w.close()
        await self.storage.close()

    # ---- reads ---------------------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self.objects.get(resource, {}).get((namespace, name))

    def select(self, resource: str, namespace: str | None = None) -> list[Obj]:
        bucket = self.objects.get(resource, {})
        if namespace is None:
            items = list(bucket.items())
        else:
            items = [(k, v) for k, v in bucket.items() if k[0] == namespace]
        items.sort(key=lambda kv: kv[0])
        return [v for _, v in items]

    def iter_all(self) -> Iterator[tuple[str, Obj]]:
        for resource, bucket in self.objects.items():
            for obj in list(bucket.values()):
                yield resource, obj

    def get_by_uid(self, uid: str) -> tuple[str, Obj] | None:
        key = self.by_uid.get(uid)
        if key is None:
            return None
        obj = self.get(*key)
        return (key[0], obj) if obj is not None else None

    def dependents_of(self, uid: str) -> list[tuple[str, Obj]]:
        out = []
        for key in sorted(self.dependents.get(uid, ())):
            obj = self.get(*key)
            if obj is not None:
                out.append((key[0], obj))
        return out

    # ---- writes --------------------------------------------------------------------------------

    async def put(self, resource: str, obj: Obj, created: bool) -> Obj:
        """Store ``obj`` (a fresh dict owned by the store from now on) under the next rv."""
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        bucket = self.objects.setdefault(resource, {})
        prev = bucket.get((ns, name))
        bucket[(ns, name)] = obj
        self._index(resource, ns, name, prev, obj)
        body = encode(obj)
        event = Event(self.rv, "ADDED" if created else "MODIFIED", resource, ns, name, obj, prev, body)
        self._publish(event)
        await self.storage.write(WriteOp(self.rv, event.type, resource, ns, name, body))
        return obj

    async def remove(self, resource: str, obj: Obj) -> Obj:
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        bucket = self.objects.get(resource, {})
        prev = bucket.pop((ns, name), None)
        self.rv += 1
        final = dict(obj)
        final["metadata"] = dict(meta, resourceVersion=str(self.rv))
        self._index(resource, ns, name, prev, None)
        body = encode(final)
        event = Event(self.rv, "DELETED", resource, ns, name, final, prev, body)
        self._publish(event)
        await self.storage.write(WriteOp(self.rv, "DELETED", resource, ns, name, body))
        return final

    def _index(self, resource: str, ns: str, name: str, prev: Obj | None, new: Obj | None) -> None:
        key = (resource, ns, name)
        if prev is not None:
            pmeta = prev.get("metadata", {})
            uid = pmeta.get("uid")
            if uid and self.by_uid.get(uid) == key and new is None:
                del self.by_uid[uid]
            for ref in pmeta.get("ownerReferences") or ():
                deps = self.dependents.get(ref.get("uid", ""))
                if deps is not None:
                    deps.discard(key)
                    if not deps:
                        del self.dependents[ref["uid"]]
        if new is not None:
            nmeta = new.get("metadata", {})
            if nmeta.get("uid"):
                self.by_uid[nmeta["uid"]] = key
            for ref in nmeta.get("ownerReferences") or ():
                if ref.get("uid"):
                    self.dependents.setdefault(ref["uid"], set()).add(key)

    def _publish(self, event: Event) -> None:
        self.log.append(event)
        self._trim()
        for w in list(self.watchers.get(event.resource, ())):
            if w.namespace is None or w.namespace == event.namespace:
                w.offer(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("store listener failed", key=f"{event.resource}/{event.namespace}/{event.name}")

    def _trim(self) -> None:
        while len(self.log) > self.event_log_size:
            dropped = self.log.popleft()
            self.compacted_rv = dropped.rv

    # ---- watch ---------------------------------------------------------------------------------

    def subscribe(
        self, resource: str, namespace: str | None, since: int | None
    ) -> tuple[Watcher, list[Event]]:
        """Register a watcher; return it with the logged events after ``since`` (None: none).

        Registration and the replay snapshot happen in one synchronous step, so no event is
        missed or delivered twice.
        """
        if since is not None and since < self.compacted_rv:
            raise Gone(since, self.compacted_rv + 1)
        replay: list[Event] = []
        if since is not None and since < self.rv:
            for event in self._events_after(since):
                if event.resource == resource and (namespace is None or event.namespace == namespace):
                    replay.append(event)
        watcher = Watcher(resource, namespace)
        self.watchers.setdefault(resource, set()).add(watcher)
        return watcher, replay

    def _events_after(self, since: int) -> list[Event]:
        # The log is sorted by rv; binary search for the first event after ``since``.
        lo, hi = 0, len(self.log)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.log[mid].rv <= since:
                lo = mid + 1
            else:
                hi = mid
        return [self.log[i] for i in range(lo, len(self.log))]

    def unsubscribe(self, watcher: Watcher) -> None:
        watcher.closed = True
        self.watchers.get(watcher.resource, set()).discard(watcher)
