"""Informer cache logic: watch lines, relists, bookmarks, 410, own writes; the list/watch loop."""
# ruff: noqa: ASYNC109, ASYNC110

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyroclast.common.models import Pod
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.informer import Cache, GoneError, Handlers, Informer


def pod(name: str, rv: int, phase: str = "Pending", ns: str = "ns") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns, "resourceVersion": str(rv)},
        "status": {"phase": phase},
    }


def line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode()


class Recorder:
    def __init__(self, cache: Cache[Pod]) -> None:
        self.seen: list[tuple[str | None, ...]] = []
        cache.add_handlers(Handlers(on_add=self._add, on_update=self._update, on_delete=self._delete))

    def _add(self, p: Pod) -> None:
        assert p.metadata is not None
        self.seen.append(("add", p.metadata.name))

    def _update(self, o: Pod, n: Pod) -> None:
        assert o.metadata is not None
        assert n.status is not None
        self.seen.append(("update", o.metadata.name, n.status.phase))

    def _delete(self, p: Pod) -> None:
        assert p.metadata is not None
        self.seen.append(("delete", p.metadata.name))


def test_watch_lines_update_the_cache_and_call_handlers() -> None:
    cache: Cache[Pod] = Cache("pods")
    rec = Recorder(cache)
    cache.decode_line(resources.PODS, line("ADDED", pod("a", 5)))
    cache.decode_line(resources.PODS, line("MODIFIED", pod("a", 6, "Running")))
    cache.decode_line(resources.PODS, line("BOOKMARK", {"metadata": {"resourceVersion": "9"}}))
    assert cache.resource_version == "9"
    cache.decode_line(resources.PODS, line("DELETED", pod("a", 10)))
    assert rec.seen == [("add", "a"), ("update", "a", "Running"), ("delete", "a")]
    assert cache.get("ns/a") is None
    assert cache.resource_version == "10"


def test_expired_watch_raises_gone_and_undecodable_objects_are_skipped() -> None:
    cache: Cache[Pod] = Cache("pods")
    with pytest.raises(GoneError):
        cache.decode_line(
            resources.PODS, line("ERROR", {"code": 410, "reason": "Expired", "message": "too old"})
        )
    cache.decode_line(resources.PODS, line("ADDED", {"metadata": {"name": "x"}, "bogus": 1}))
    assert len(cache) == 0


def test_relist_diffs_against_the_cache() -> None:
    cache: Cache[Pod] = Cache("pods")
    for name, rv in (("a", 1), ("b", 2)):
        cache.decode_line(resources.PODS, line("ADDED", pod(name, rv)))
    rec = Recorder(cache)
    fresh = [resources.PODS.decode(json.dumps(p).encode()) for p in (pod("b", 7, "Running"), pod("c", 8))]
    cache.replace(fresh, "8")
    assert sorted(rec.seen) == [("add", "c"), ("delete", "a"), ("update", "b", "Running")]
    assert sorted(cache.keys()) == ["ns/b", "ns/c"]
    assert cache.synced.is_set()


def test_own_writes_are_read_back_until_the_watch_catches_up() -> None:
    cache: Cache[Pod] = Cache("pods")
    rec = Recorder(cache)
    cache.decode_line(resources.PODS, line("ADDED", pod("a", 1)))
    written = resources.PODS.decode(json.dumps(pod("a", 2, "Running")).encode())
    cache.note_written(written)
    assert cache.get("ns/a") is written
    cache.decode_line(resources.PODS, line("MODIFIED", pod("a", 2, "Running")))
    # The watch still reports the change to handlers; the overlay is dropped once caught up.
    assert rec.seen[-1] == ("update", "a", "Running")
    assert cache.get("ns/a") is not written
    older = resources.PODS.decode(json.dumps(pod("a", 1)).encode())
    cache.note_written(older)
    assert cache.get("ns/a").metadata.resource_version == "2"  # type: ignore[union-attr]


class FakeKube:
    """Lists and watch streams scripted per call."""

    def __init__(self, lists: list[dict[str, Any]], watches: list[list[bytes] | Exception]) -> None:
        self.lists = lists
        self.watches = watches
        self.watch_versions: list[str] = []

    async def list_raw(self, rt: Any, namespace: str = "", **query: Any) -> bytes:
        return json.dumps(self.lists.pop(0)).encode()

    async def stream(
        self, path: str, query: Any, *, timeout: float, idle_timeout: float
    ) -> AsyncIterator[bytes]:
        self.watch_versions.append(query["resourceVersion"])
        script = self.watches.pop(0) if self.watches else []
        if isinstance(script, Exception):
            raise script
        for item in script:
            yield item
        if not self.watches:
            await asyncio.Event().wait()


async def test_informer_lists_watches_resumes_and_relists_on_gone() -> None:
    kube = FakeKube(
        lists=[
            {"metadata": {"resourceVersion": "10"}, "items": [pod("a", 3)]},
            {"metadata": {"resourceVersion": "30"}, "items": [pod("c", 30)]},
        ],
        watches=[
            [line("ADDED", pod("b", 11))],  # the server ends the stream: resume from 11
            OSError("connection reset"),  # reconnect with backoff, same version
            [line("ERROR", {"code": 410, "reason": "Expired"})],  # relist
            [line("MODIFIED", pod("c", 31, "Running"))],
        ],
    )
    from pyroclast.common.bus.connect import Backoff

    informer: Informer[Pod] = Informer(kube, resources.PODS, backoff=Backoff(initial=0.01, maximum=0.01))  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(informer.run(stop))
    async with asyncio.timeout(5):
        while informer.cache.resource_version != "31":
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert kube.watch_versions == ["10", "11", "11", "30"]
    assert informer.cache.keys() == ["ns/c"]
    assert informer.relists == 2
