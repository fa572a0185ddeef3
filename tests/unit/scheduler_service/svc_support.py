"""Record builders and fakes for the scheduler service's unit tests."""

from __future__ import annotations

from collections.abc import Sequence

from pyroclast.common.bus.kv import WatchEvent, WatchOp
from pyroclast.common.bus.messages import (
    BindDecision,
    Decision,
    ExplanationRecord,
    NodeRecord,
    PodGroupRecord,
    PodRecord,
    QueueRecord,
)
from pyroclast.common.bus.names import BusNames, CacheKind
from pyroclast.common.resources import canonical_amount
from pyroclast.scheduler.service.cache import SchedulerCache

# The conf of the plugins registered today (the default names plugins still to come).
TEST_CONF = """\
actions: "enqueue, allocate, backfill"
tiers:
- plugins:
  - name: priority
  - name: gang
  - name: conformance
"""


def node(name: str, cpu: str = "2", memory: str = "4Gi") -> NodeRecord:
    allocatable = {
        "cpu": canonical_amount("cpu", cpu),
        "memory": canonical_amount("memory", memory),
        "pods": canonical_amount("pods", 110),
    }
    return NodeRecord(name=name, allocatable=allocatable, ready=True)


def pod(
    name: str, group: str = "", cpu: str = "1", *, ns: str = "ns", node_name: str = "", uid: str = ""
) -> PodRecord:
    return PodRecord(
        namespace=ns,
        name=name,
        uid=uid or f"uid-{name}",
        pod_group=group,
        requests={"cpu": canonical_amount("cpu", cpu), "memory": canonical_amount("memory", "1Gi")},
        node_name=node_name,
        scheduler_name="volcano",
    )


def podgroup(name: str, min_member: int = 1, *, ns: str = "ns", version: str = "1") -> PodGroupRecord:
    return PodGroupRecord(
        namespace=ns,
        name=name,
        uid=f"pg-{name}",
        min_member=min_member,
        phase="Inqueue",
        resource_version=version,
    )


def queue(name: str = "default") -> QueueRecord:
    return QueueRecord(name=name)


KINDS = {
    NodeRecord: CacheKind.NODES,
    PodRecord: CacheKind.PODS,
    PodGroupRecord: CacheKind.PODGROUPS,
    QueueRecord: CacheKind.QUEUES,
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def put(cache: SchedulerCache, *records: NodeRecord | PodRecord | PodGroupRecord | QueueRecord) -> None:
    for rec in records:
        cache.apply(KINDS[type(rec)], WatchEvent(WatchOp.PUT, rec.ref, rec, 0))


def delete(cache: SchedulerCache, kind: CacheKind, ref: str) -> None:
    cache.apply(kind, WatchEvent(WatchOp.DELETE, ref, None, 0))


def synced_cache(clock: Clock | None = None, assume_timeout: float = 30.0) -> SchedulerCache:
    cache = SchedulerCache(None, BusNames("t"), assume_timeout=assume_timeout, clock=clock or Clock())
    for kind in (
        CacheKind.NODES,
        CacheKind.PODS,
        CacheKind.PODGROUPS,
        CacheKind.QUEUES,
        CacheKind.PRIORITY_CLASSES,
    ):
        cache.apply(kind, WatchEvent(WatchOp.SYNCED, "", None, 0))
    return cache


class FakePublisher:
    def __init__(self) -> None:
        self.batches: list[list[Decision]] = []
        self.fail = 0

    async def publish_all(
        self,
        decisions: Sequence[Decision],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[int]:
        if self.fail:
            self.fail -= 1
            raise TimeoutError("no ack")
        self.batches.append(list(decisions))
        return list(range(len(decisions)))

    def binds(self) -> dict[str, str]:
        """Every bind published so far: pod ``namespace/name`` -> node."""
        return {
            f"{d.namespace}/{d.name}": d.node_name
            for batch in self.batches
            for d in batch
            if isinstance(d, BindDecision)
        }


class FakeExplanations:
    def __init__(self) -> None:
        self.records: dict[str, ExplanationRecord] = {}
        self.puts = 0
        self.deletes = 0

    async def put(self, record: ExplanationRecord) -> int:
        self.puts += 1
        self.records[record.ref] = record
        return self.puts

    async def delete(self, ref: str) -> int:
        self.deletes += 1
        self.records.pop(ref, None)
        return self.deletes
