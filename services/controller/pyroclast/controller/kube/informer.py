"""List-then-watch caches of API objects, one shared cache per resource.

:class:`Cache` is the pure part: it holds the objects by key, applies watch events and full
relists, tracks the last resourceVersion and calls the registered handlers. :class:`Informer`
drives it from the API: list, then watch from the list's resourceVersion with bookmarks,
resume after a closed stream from the last version seen, relist on 410 Gone, and reconnect
with capped exponential backoff when the server is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiohttp
import msgspec

from pyroclast.common.bus.connect import Backoff
from pyroclast.common.logging import get_logger
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.resources import ResourceType

T = TypeVar("T", bound=msgspec.Struct)

log = get_logger(__name__)


def object_key(obj: Any) -> str:
    """``namespace/name``, or ``name`` for a cluster-scoped object."""
    meta = obj.metadata
    namespace = (meta.namespace if meta else None) or ""
    name = (meta.name if meta else None) or ""
    return f"{namespace}/{name}" if namespace else name


def resource_version(obj: Any) -> str:
    meta = obj.metadata
    return (meta.resource_version if meta else None) or ""


def newer(candidate: str, current: str) -> bool:
    """Whether ``candidate`` is a later resourceVersion than ``current`` (numeric when both are)."""
    if candidate.isdigit() and current.isdigit():
        return int(candidate) > int(current)
    return candidate != current


@dataclass
class Handlers(Generic[T]):
    """Callbacks run on the event loop for every change the cache applies."""

    on_add: Callable[[T], None] | None = None
    on_update: Callable[[T, T], None] | None = None
    on_delete: Callable[[T], None] | None = None


class _WatchLine(msgspec.Struct):
    type: str
    object: msgspec.Raw


_WATCH_LINE = msgspec.json.Decoder(_WatchLine)


class _ErrorStatus(msgspec.Struct):
    code: int = 0
    reason: str = ""
    message: str = ""


class _BookmarkMeta(msgspec.Struct, rename="camel"):
    resource_version: str = ""


class _Bookmark(msgspec.Struct):
    metadata: _BookmarkMeta | None = None


class GoneError(Exception):
    """The watch's resourceVersion is too old: relist."""


class Cache(Generic[T]):
    """The objects of one resource by key, kept current by list and watch events."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[str, T] = {}
        self._written: dict[str, T] = {}
        self._handlers: list[Handlers[T]] = []
        self.resource_version = ""
        self.synced = asyncio.Event()

    def add_handlers(self, handlers: Handlers[T]) -> None:
        self._handlers.append(handlers)

    def get(self, key: str) -> T | None:
        """The object as last seen, or as this process last wrote it when that is newer."""
        obj = self._items.get(key)
        written = self._written.get(key)
        if written is None:
            return obj
        if obj is None or newer(resource_version(written), resource_version(obj)):
            return written
        del self._written[key]
        return obj

    def keys(self) -> list[str]:
        return list(self._items)

    def values(self) -> list[T]:
        return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def _notify(self, event: str, *args: T) -> None:
        for handlers in self._handlers:
            callback = getattr(handlers, event)
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception:
                log.exception("informer handler failed", informer=self.name, handler_event=event)

    def replace(self, items: list[T], version: str) -> None:
        """A full relist: adds, updates and deletes against what the cache held."""
        fresh = {object_key(obj): obj for obj in items}
        for key, old in list(self._items.items()):
            if key not in fresh:
                del self._items[key]
                self._written.pop(key, None)
                self._notify("on_delete", old)
        for key, obj in fresh.items():
            old_obj = self._items.get(key)
            self._items[key] = obj
            if old_obj is None:
                self._notify("on_add", obj)
            elif resource_version(old_obj) != resource_version(obj):
                self._notify("on_update", old_obj, obj)
        self.resource_version = version
        self.synced.set()

    def apply(self, event_type: str, obj: T) -> None:
        """One watch event: ADDED, MODIFIED or DELETED."""
        key = object_key(obj)
        old = self._items.get(key)
        if event_type == "DELETED":
            self._items.pop(key, None)
            self._written.pop(key, None)
            self._notify("on_delete", obj)
        elif old is None:
            self._items[key] = obj
            self._notify("on_add", obj)
        else:
            self._items[key] = obj
            self._notify("on_update", old, obj)
        version = resource_version(obj)
        if version:
            self.resource_version = version

    def bookmark(self, version: str) -> None:
        if version:
            self.resource_version = version

    def note_written(self, obj: T) -> None:
        """Remember an object this process just wrote: :meth:`get` returns it until the
        watch delivers that version or a later one. Handlers still see the watch's change."""
        key = object_key(obj)
        current = self.get(key)
        if current is None or newer(resource_version(obj), resource_version(current)):
            self._written[key] = obj

    def decode_line(self, rt: ResourceType[T], line: bytes) -> None:
        """Apply one line of a watch stream; raises :class:`GoneError` on 410."""
        event = _WATCH_LINE.decode(line)
        if event.type == "ERROR":
            status = msgspec.json.decode(event.object, type=_ErrorStatus)
            if status.code == 410:
                raise GoneError(status.message)
            raise ApiError(status.code, status.reason, status.message)
        if event.type == "BOOKMARK":
            mark = msgspec.json.decode(event.object, type=_Bookmark)
            self.bookmark(mark.metadata.resource_version if mark.metadata else "")
            return
        try:
            obj = rt.decode(event.object)
        except msgspec.ValidationError as err:
            log.error("undecodable object in watch skipped", informer=self.name, error=str(err))
            return
        self.apply(event.type, obj)


class Informer(Generic[T]):
    """Keeps a :class:`Cache` of ``rt`` (optionally one namespace, label-selected) current."""

    def __init__(
        self,
        kube: KubeClient,
        rt: ResourceType[T],
        *,
        namespace: str = "",
        label_selector: str = "",
        watch_seconds: int = 300,
        page_size: int = 500,
        backoff: Backoff | None = None,
    ) -> None:
        self.kube = kube
        self.rt = rt
        self.namespace = namespace
        self.label_selector = label_selector
        self.watch_seconds = watch_seconds
        self.page_size = page_size
        self.backoff = backoff or Backoff(initial=0.2, maximum=10.0)
        self.cache: Cache[T] = Cache(rt.plural)
        self.relists = 0

    async def list(self) -> None:
        """A consistent list in pages of ``page_size``; replaces the cache's contents."""
        items: list[T] = []
        token = ""
        while True:
            raw = await self.kube.list_raw(
                self.rt,
                self.namespace,
                labelSelector=self.label_selector,
                limit=self.page_size,
                **{"continue": token},
            )
            version, page, errors, token = self.rt.decode_page(raw)
            items.extend(page)
            for error in errors:
                log.error("undecodable object in list skipped", informer=self.cache.name, error=error)
            if not token:
                break
        self.cache.replace(items, version)
        self.relists += 1
        log.info("informer listed", informer=self.cache.name, count=len(items), resource_version=version)

    async def watch(self) -> None:
        """One watch request from the cache's resourceVersion until the server closes it."""
        query = {
            "watch": "true",
            "resourceVersion": self.cache.resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": self.watch_seconds,
            "labelSelector": self.label_selector,
        }
        stream = self.kube.stream(
            self.rt.path(self.namespace),
            query,
            timeout=self.watch_seconds + 30,
            idle_timeout=90.0,
        )
        async for line in stream:
            self.cache.decode_line(self.rt, line)

    async def run(self, stop: asyncio.Event) -> None:
        """List and watch until ``stop`` is set."""
        attempt = 0
        need_list = True
        while not stop.is_set():
            try:
                if need_list:
                    await self.list()
                    need_list = False
                await _until_stopped(self.watch(), stop)
                attempt = 0
            except (GoneError, ApiError) as err:
                if isinstance(err, GoneError) or err.gone:
                    log.info("watch expired; relisting", informer=self.cache.name)
                    need_list = True
                    continue
                log.warning("informer request failed", informer=self.cache.name, error=str(err))
                await _sleep(stop, self.backoff.delay(attempt))
                attempt += 1
            except (aiohttp.ClientError, TimeoutError, OSError, msgspec.DecodeError) as err:
                log.warning("informer connection lost", informer=self.cache.name, error=repr(err))
                await _sleep(stop, self.backoff.delay(attempt))
                attempt += 1
            except Exception:
                log.exception("informer failed unexpectedly; relisting", informer=self.cache.name)
                need_list = True
                await _sleep(stop, self.backoff.delay(attempt))
                attempt += 1

    async def wait_synced(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await self.cache.synced.wait()


async def _sleep(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


async def _until_stopped(work: Any, stop: asyncio.Event) -> None:
    """Run ``work`` until it ends or ``stop`` is set (then cancel it)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
    finally:
        for pending in (task, stopper):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
