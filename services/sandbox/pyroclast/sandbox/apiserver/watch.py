"""Watch streams: chunked JSON events with resume, bookmarks, selectors and 410 Gone."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from . import media, status, tables
from .store import Event, Gone, Obj, encode

if TYPE_CHECKING:
    from .registry import Registry
    from .rest import Target

log = structlog.get_logger("pyroclast.sandbox.apiserver.watch")

BOOKMARK_INTERVAL = 5.0
MAX_BATCH = 500
"""Most events written to a watch at once."""
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


async def serve_watch(request: web.Request, registry: Registry, target: Target) -> web.StreamResponse:
    from .rest import Filters

    rt = target.rt
    if "watch" not in rt.verbs:
        raise status.method_not_allowed()
    q = request.query
    neg = media.negotiate(request.headers.get("Accept", ""), allow_table=True)
    if neg is None:
        raise status.not_acceptable(["application/json"])
    filters = Filters(rt, q)
    if target.name:
        name = target.name
        inner = filters.fields

        def by_name(o: Obj) -> bool:
            return o.get("metadata", {}).get("name") == name and (inner is None or inner(o))

        filters.fields = by_name
    rv_text = q.get("resourceVersion", "")
    send_initial = q.get("sendInitialEvents") == "true"
    bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
    try:
        timeout = (
            float(q.get("timeoutSeconds", "")) if q.get("timeoutSeconds") else 1800 * (1 + random.random())
        )
    except ValueError:
        raise status.bad_request(f"invalid timeoutSeconds: {q.get('timeoutSeconds')}") from None
    store = registry.store
    namespace = target.namespace if rt.namespaced and target.namespace else None

    since: int | None = None
    if rv_text not in ("", "0") and not send_initial:
        try:
            since = int(rv_text)
        except ValueError:
            raise status.bad_request(f"invalid resource version: {rv_text}") from None

    if since is not None and since > store.rv:
        # A resourceVersion from the future (e.g. the data dir was reset): wait briefly as kube does.
        for _ in range(30):
            await asyncio.sleep(0.1)
            if store.rv >= since:
                break
        else:
            raise status.too_large_resource_version(since, store.rv)

    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    response.headers["Transfer-Encoding"] = "chunked"
    response.headers["Cache-Control"] = "no-cache, private"

    include = q.get("includeObject", "Metadata")
    as_table = neg.kind == "table"
    first = True

    def render(obj: Obj) -> Any:
        nonlocal first
        obj = registry.present(rt, obj)
        if as_table:
            table = tables.to_table(
                rt,
                [obj],
                include,
                {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                headers=first,
            )
            first = False
            return table
        if neg.kind == "partial":
            return tables.partial(obj)
        return obj

    async def send(kind: str, obj: Any) -> None:
        await response.write(encode({"type": kind, "object": obj}) + b"\n")

    plain = not as_table and neg.kind != "partial"

    def line(event: Event, kind: str) -> bytes:
        """One watch event line; the object's JSON is encoded once for every watcher."""
        if plain and event.obj.get("apiVersion") == rt.api_version and event.obj.get("kind") == rt.kind:
            if event.encoded is None:
                event.encoded = encode(event.obj)
            return b'{"type":"' + kind.encode() + b'","object":' + event.encoded + b"}\n"
        return encode({"type": kind, "object": render(event.obj)}) + b"\n"

    async def write(lines: list[bytes]) -> None:
        """Several events in one write (one chunk, one TLS record) instead of one each."""
        if lines:
            await response.write(b"".join(lines))

    async def deliver_all(events: list[Event]) -> None:
        await write([line(event, kind) for event in events if (kind := _kind(event, filters)) is not None])

    try:
        watcher, replay = store.subscribe(rt.key, namespace, since)
    except Gone as exc:
        await response.prepare(request)
        err = status.gone(str(exc))
        await send("ERROR", err.to_status())
        await response.write_eof()
        return response

    initial: list[Obj] = []
    if since is None:
        initial = [o for o in store.select(rt.key, namespace) if filters.match(o)]
    start_rv = store.rv
    key = f"{rt.key}/{namespace or ''}"
    log.debug("watch started", key=key, since=rv_text)
    try:
        await response.prepare(request)
        for start in range(0, len(initial), MAX_BATCH):
            added = initial[start : start + MAX_BATCH]
            await write([encode({"type": "ADDED", "object": render(obj)}) + b"\n" for obj in added])
        if send_initial or (bookmarks and since is None and q.get("resourceVersionMatch") == "NotOlderThan"):
            await send(
                "BOOKMARK",
                _bookmark(rt.api_version, rt.kind, start_rv, {INITIAL_EVENTS_END: "true"}),
            )
        for start in range(0, len(replay), MAX_BATCH):
            await deliver_all(replay[start : start + MAX_BATCH])
        deadline = time.monotonic() + timeout
        last_rv = start_rv
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                wait = min(remaining, BOOKMARK_INTERVAL) if bookmarks else remaining
                next_event = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if bookmarks:
                    await send("BOOKMARK", _bookmark(rt.api_version, rt.kind, max(last_rv, store.rv)))
                continue
            if next_event is None:
                break
            last_rv = next_event.rv
            # Drain whatever else is queued, and write it at once.
            batch = [next_event]
            closed = False
            while not watcher.queue.empty() and len(batch) < MAX_BATCH:
                more = watcher.queue.get_nowait()
                if more is None:
                    closed = True
                    break
                last_rv = more.rv
                batch.append(more)
            await deliver_all(batch)
            if closed:
                return response
    except ConnectionResetError:
        pass
    finally:
        store.unsubscribe(watcher)
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response


def _bookmark(api_version: str, kind: str, rv: int, annotations: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"resourceVersion": str(rv)}
    if annotations:
        meta["annotations"] = annotations
    return {"kind": kind, "apiVersion": api_version, "metadata": meta}


def _kind(event: Event, filters: Any) -> str | None:
    """The type of the watch event ``event`` is for a watcher with ``filters`` (None: none)."""
    now_matches = filters.match(event.obj)
    if event.type == "MODIFIED" and event.prev is not None:
        before = filters.match(event.prev)
        if before and now_matches:
            return "MODIFIED"
        if now_matches:
            return "ADDED"
        if before:
            return "DELETED"
        return None
    return event.type if now_matches else None
