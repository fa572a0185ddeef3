"""The bucket publisher's level-triggered writes, with an in-memory bucket."""
# ruff: noqa: ASYNC110

from __future__ import annotations

import asyncio
import json
from typing import Any

from pyroclast.common.bus import kv
from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.models import Pod
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.informer import Cache, Informer
from pyroclast.controller.project import project_pod
from pyroclast.controller.publisher import BucketPublisher


class MemoryWriter:
    def __init__(self) -> None:
        self.data: dict[str, PodRecord] = {}
        self.ops: list[tuple[str, str]] = []
        self.fail = False

    async def put(self, record: PodRecord, **_: Any) -> int:
        if self.fail:
            raise TimeoutError
        self.data[record.ref] = record
        self.ops.append(("put", record.ref))
        return len(self.ops)

    async def delete(self, ref: str, **_: Any) -> int:
        self.data.pop(ref, None)
        self.ops.append(("delete", ref))
        return len(self.ops)


def pod(name: str, rv: int) -> Pod:
    return resources.PODS.decode(
        json.dumps({"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}).encode()
    )


def make(held: dict[str, PodRecord]) -> tuple[BucketPublisher[Pod, PodRecord], MemoryWriter, Cache[Pod]]:
    informer: Informer[Pod] = Informer(None, resources.PODS)  # type: ignore[arg-type]
    writer = MemoryWriter()
    writer.data = dict(held)
    publisher = BucketPublisher(informer, writer, kv.PODS, project_pod, None, BusNames())  # type: ignore[arg-type]

    async def load() -> dict[str, PodRecord]:
        return dict(writer.data)

    publisher.load_bucket = load  # type: ignore[method-assign]
    return publisher, writer, informer.cache


async def test_resync_writes_changed_deletes_stale_and_skips_equal() -> None:
    same, changed = pod("same", 1), pod("changed", 2)
    held = {
        "ns/same": project_pod(same),
        "ns/changed": project_pod(pod("changed", 1)),
        "ns/stale": PodRecord(namespace="ns", name="stale"),
    }
    publisher, writer, cache = make(held)
    cache.replace([same, changed, pod("new", 3)], "3")
    await publisher.resync()
    assert await publisher.flush()
    assert sorted(writer.ops) == [("delete", "ns/stale"), ("put", "ns/changed"), ("put", "ns/new")]
    assert writer.data == {
        k: project_pod(p)
        for k, p in {"ns/same": same, "ns/changed": changed, "ns/new": pod("new", 3)}.items()
    }


async def test_events_coalesce_per_key_and_failed_writes_stay_dirty() -> None:
    publisher, writer, cache = make({})
    cache.replace([], "1")
    await publisher.resync()
    for rv in (2, 3, 4):
        cache.apply("MODIFIED" if rv > 2 else "ADDED", pod("a", rv))
    cache.apply("ADDED", pod("b", 5))
    cache.apply("DELETED", pod("b", 6))
    writer.fail = True
    assert not await publisher.flush()
    assert set(publisher.dirty) == {"ns/a"}
    writer.fail = False
    assert await publisher.flush()
    assert writer.ops == [("put", "ns/a")]
    assert writer.data["ns/a"].resource_version == "4"


async def test_run_resyncs_then_follows_changes() -> None:
    publisher, writer, cache = make({})
    cache.replace([pod("a", 1)], "1")
    stop = asyncio.Event()
    task = asyncio.create_task(publisher.run(stop))
    async with asyncio.timeout(2):
        await publisher.resynced.wait()
        cache.apply("DELETED", pod("a", 2))
        while "ns/a" in writer.data:
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert writer.ops == [("put", "ns/a"), ("delete", "ns/a")]
