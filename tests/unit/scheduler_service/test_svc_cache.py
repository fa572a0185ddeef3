"""The scheduler cache: records by key, readiness, assumed decisions, snapshots."""

from __future__ import annotations

from svc_support import Clock, delete, node, pod, podgroup, put, queue, synced_cache

from pyroclast.common.bus.kv import WatchEvent, WatchOp
from pyroclast.common.bus.messages import (
    BindDecision,
    DecisionFailure,
    EvictDecision,
    PodGroupStatusDecision,
)
from pyroclast.common.bus.names import BusNames, CacheKind
from pyroclast.scheduler.api import TaskStatus
from pyroclast.scheduler.service.cache import SchedulerCache


def bind(name: str, node_name: str, sid: str = "s1") -> BindDecision:
    return BindDecision(
        id=f"{sid}/bind/ns/{name}", namespace="ns", name=name, uid=f"uid-{name}", node_name=node_name
    )


def cluster(cache: SchedulerCache) -> None:
    put(cache, node("n1"), queue(), podgroup("pg", 1), pod("p1", "pg"))


def task_of(cache: SchedulerCache, name: str) -> tuple[TaskStatus, str]:
    snap = cache.snapshot()
    job = snap.jobs["ns/pg"]
    task = next(t for t in job.tasks.values() if t.name == name)
    return task.status, task.node_name


def test_ready_only_after_every_bucket_synced() -> None:
    cache = SchedulerCache(None, BusNames("t"))
    assert cache.ready() is not True
    for kind in (CacheKind.NODES, CacheKind.PODS, CacheKind.PODGROUPS, CacheKind.QUEUES):
        cache.apply(kind, WatchEvent(WatchOp.SYNCED, "", None, 0))
    assert "priorityclasses" in str(cache.ready())
    cache.apply(CacheKind.PRIORITY_CLASSES, WatchEvent(WatchOp.SYNCED, "", None, 0))
    assert cache.ready() is True


def test_put_and_delete_by_key() -> None:
    cache = synced_cache()
    put(cache, node("n1"), node("n2"), node("n1", cpu="8"))
    assert sorted(cache.records[CacheKind.NODES]) == ["n1", "n2"]
    assert cache.snapshot().nodes["n1"].allocatable.cpu_milli == 8000
    delete(cache, CacheKind.NODES, "n2")
    assert list(cache.snapshot().nodes) == ["n1"]


def test_assumed_bind_counts_as_bound_until_the_pod_record_confirms_it() -> None:
    cache = synced_cache()
    cluster(cache)
    assert task_of(cache, "p1") == (TaskStatus.PENDING, "")
    cache.assume([bind("p1", "n1")])
    assert task_of(cache, "p1") == (TaskStatus.BOUND, "n1")
    assert cache.snapshot().nodes["n1"].used.cpu_milli == 1000
    assert cache.records[CacheKind.PODS]["ns/p1"].node_name == ""  # the records stay as published
    put(cache, pod("p1", "pg", node_name="n1"))
    assert cache.assumed_binds() == {}
    assert task_of(cache, "p1") == (TaskStatus.BOUND, "n1")


def test_assumed_bind_dropped_on_failure_of_that_decision_only() -> None:
    cache = synced_cache()
    cluster(cache)
    cache.assume([bind("p1", "n1", sid="s2")])
    other = DecisionFailure(decision=bind("p1", "n1", sid="s1"), reason="Permanent")
    cache.on_failure(other)
    assert cache.assumed_binds() == {"ns/p1": "n1"}
    cache.on_failure(DecisionFailure(decision=bind("p1", "n1", sid="s2"), reason="Permanent", message="gone"))
    assert cache.assumed_binds() == {}
    assert task_of(cache, "p1") == (TaskStatus.PENDING, "")
    assert cache.failures_seen == 2


def test_assumed_bind_times_out() -> None:
    clock = Clock()
    cache = synced_cache(clock, assume_timeout=5)
    cluster(cache)
    cache.assume([bind("p1", "n1")])
    clock.now += 4.9
    assert task_of(cache, "p1") == (TaskStatus.BOUND, "n1")
    clock.now += 0.2
    assert task_of(cache, "p1") == (TaskStatus.PENDING, "")


def test_assumed_bind_dropped_when_pod_bound_elsewhere_deleted_or_recreated() -> None:
    cache = synced_cache()
    put(
        cache,
        node("n1"),
        node("n2"),
        queue(),
        podgroup("pg", 1),
        pod("a", "pg"),
        pod("b", "pg"),
        pod("c", "pg"),
    )
    cache.assume([bind("a", "n1"), bind("b", "n1"), bind("c", "n1")])
    put(cache, pod("a", "pg", node_name="n2"))
    delete(cache, CacheKind.PODS, "ns/b")
    put(cache, pod("c", "pg", uid="uid-new"))
    assert cache.assumed_binds() == {}
    snap = cache.snapshot()
    assert snap.nodes["n1"].used.cpu_milli == 0
    assert snap.nodes["n2"].used.cpu_milli == 1000


def test_bind_not_assumed_when_the_pod_is_already_bound() -> None:
    cache = synced_cache()
    put(cache, node("n1"), node("n2"), queue(), podgroup("pg", 1), pod("p1", "pg", node_name="n2"))
    cache.assume([bind("p1", "n1")])
    assert cache.assumed_binds() == {}


def test_assumed_eviction_marks_the_pod_releasing_until_it_goes() -> None:
    cache = synced_cache()
    put(cache, node("n1"), queue(), podgroup("pg", 1), pod("p1", "pg", node_name="n1"))
    evict = EvictDecision(id="s1/evict/ns/p1", namespace="ns", name="p1", uid="uid-p1", reason="preempt")
    cache.assume([evict])
    assert task_of(cache, "p1") == (TaskStatus.RELEASING, "n1")
    delete(cache, CacheKind.PODS, "ns/p1")
    assert cache.assumed_count() == 0


def test_assumed_podgroup_status_overlays_until_the_podgroup_changes() -> None:
    cache = synced_cache()
    cluster(cache)
    status = PodGroupStatusDecision(
        id="s1/podgroup-status/pg", namespace="ns", name="pg", phase="Running", running=1, succeeded=2
    )
    cache.assume([status])
    job = cache.snapshot().jobs["ns/pg"]
    assert job.phase == "Running"
    # The counts written count as written too: the next session does not write them again.
    assert job.podgroup is not None
    assert (job.podgroup.running, job.podgroup.succeeded, job.podgroup.failed) == (1, 2, 0)
    put(cache, podgroup("pg", 1, version="1"))  # same version: a replay, not the write
    assert cache.assumed_count() == 1
    put(cache, podgroup("pg", 1, version="2"))
    assert cache.assumed_count() == 0
    assert cache.snapshot().jobs["ns/pg"].phase == "Inqueue"


def test_replace_swaps_a_bucket_and_rechecks_assumptions() -> None:
    cache = synced_cache()
    cluster(cache)
    cache.assume([bind("p1", "n1")])
    fresh = pod("p1", "pg", node_name="n1")
    cache.replace(CacheKind.PODS, {"ns/p1": fresh})
    assert cache.assumed_binds() == {}
    assert cache.records[CacheKind.PODS] == {"ns/p1": fresh}


def test_snapshots_are_independent_of_later_changes() -> None:
    cache = synced_cache()
    cluster(cache)
    first = cache.snapshot()
    put(cache, node("n2"), pod("p2", "pg"))
    cache.assume([bind("p1", "n1")])
    assert list(first.nodes) == ["n1"]
    assert len(first.jobs["ns/pg"].tasks) == 1
    assert first.nodes["n1"].used.cpu_milli == 0
    second = cache.snapshot()
    assert list(second.nodes) == ["n1", "n2"]
    assert second.nodes["n1"].used.cpu_milli == 1000
