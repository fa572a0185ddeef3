"""The queue cache: ready only after the initial sync, follows puts and deletes, feeds the rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyroclast.common.bus.kv import WatchEvent, WatchOp
from pyroclast.common.bus.messages import QueueRecord
from pyroclast.webhook import cluster
from pyroclast.webhook.admission import Operation, review
from pyroclast.webhook.admission.request import children_by_parent
from pyroclast.webhook.cluster import QueueCache, queue_from_record


def _put(record: QueueRecord, revision: int = 1) -> WatchEvent[QueueRecord]:
    return WatchEvent(WatchOp.PUT, record.ref, record, revision)


def test_ready_only_after_the_initial_sync() -> None:
    cache = QueueCache()
    assert not cache.ready
    assert cache.readiness() == "queue cache not synced"
    cache.apply(_put(QueueRecord(name="default")))
    assert not cache.ready
    assert cache.queue("default") is not None
    cache.apply(WatchEvent(WatchOp.SYNCED, "", None, 1))
    assert cache.ready
    assert cache.readiness() is True


def test_puts_and_deletes() -> None:
    cache = QueueCache()
    cache.apply(_put(QueueRecord(name="a", state="Open")))
    cache.apply(_put(QueueRecord(name="a", state="Closed"), 2))
    cache.apply(_put(QueueRecord(name="b", parent="a"), 3))
    found = cache.queue("a")
    assert found is not None
    assert found.status is not None
    assert found.status.state == "Closed"
    assert sorted(q.metadata.name or "" for q in cache.queues() if q.metadata) == ["a", "b"]
    cache.apply(WatchEvent(WatchOp.DELETE, "a", None, 4))
    assert cache.queue("a") is None
    assert cache.namespace_annotations("default") is None


def test_records_become_queue_objects() -> None:
    record = QueueRecord(
        name="q",
        uid="u1",
        weight=3,
        capability={"cpu": 2000, "memory": 2**30},
        deserved={"cpu": 500},
        guarantee={"nvidia.com/gpu": 1000},
        reclaimable=False,
        state="Open",
        parent="root",
        priority=7,
        annotations={"a": "b"},
    )
    queue = queue_from_record(record)
    assert queue.metadata is not None
    assert queue.spec is not None
    assert queue.status is not None
    assert (queue.metadata.name, queue.metadata.uid, queue.metadata.annotations) == ("q", "u1", {"a": "b"})
    assert queue.spec.capability == {"cpu": "2", "memory": "1Gi"}
    assert queue.spec.deserved == {"cpu": "500m"}
    assert queue.spec.guarantee is not None
    assert queue.spec.guarantee.resource == {"nvidia.com/gpu": "1"}
    assert (queue.spec.weight, queue.spec.reclaimable, queue.spec.parent, queue.spec.priority) == (
        3,
        False,
        "root",
        7,
    )
    assert queue.status.state == "Open"
    bare = queue_from_record(QueueRecord(name="bare"))
    assert bare.spec is not None
    assert bare.spec.capability is None
    assert bare.spec.guarantee is None


def test_rules_see_the_cache() -> None:
    cache = QueueCache()
    cache.replace([QueueRecord(name="default"), QueueRecord(name="closed", state="Closed")])
    spec: dict[str, Any] = {
        "minAvailable": 1,
        "queue": "closed",
        "tasks": [
            {
                "name": "t",
                "replicas": 1,
                "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}},
            }
        ],
    }
    job = {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": "j", "namespace": "ns"},
        "spec": spec,
    }
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, job, cluster=cache)
    assert not verdict.allowed
    assert "queue `closed` status is `Closed`" in verdict.message
    spec["queue"] = "default"
    assert review("batch.volcano.sh", "jobs", Operation.CREATE, job, cluster=cache).allowed


NAMES = ["a", "b", "c", "d", "e"]
_STEPS = st.lists(
    st.tuples(st.sampled_from(NAMES), st.one_of(st.none(), st.sampled_from(["", *NAMES]))),
    max_size=40,
)
"""Puts (name, parent; "" for a root queue) and deletes (name, None) of a few queues."""


@settings(max_examples=200, deadline=None)
@given(initial=_STEPS, steps=_STEPS)
def test_the_children_index_follows_puts_and_deletes_like_a_full_rebuild(
    initial: list[tuple[str, str | None]], steps: list[tuple[str, str | None]]
) -> None:
    cache = QueueCache()
    cache.replace(QueueRecord(name=name, parent=parent) for name, parent in initial if parent is not None)
    cache.children("a")  # the index is built: from here on it is updated in place
    for revision, (name, parent) in enumerate(steps, start=1):
        if parent is None:
            cache.apply(WatchEvent(WatchOp.DELETE, name, None, revision))
        else:
            cache.apply(_put(QueueRecord(name=name, parent=parent, weight=revision), revision))
        rebuilt = children_by_parent(cache.queues())
        assert cache._children == rebuilt
        for queue in ["", *NAMES]:
            assert tuple(cache.children(queue)) == rebuilt.get(queue, ())


def test_a_queue_change_does_not_rebuild_the_children_index(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[int] = []

    def counting(queues: Any) -> Any:
        builds.append(1)
        return children_by_parent(queues)

    monkeypatch.setattr(cluster, "children_by_parent", counting)
    cache = QueueCache()
    cache.replace([QueueRecord(name="root"), QueueRecord(name="a", parent="root")])
    assert [q.metadata.name for q in cache.children("root") if q.metadata] == ["a"]
    cache.apply(_put(QueueRecord(name="b", parent="root"), 2))
    cache.apply(_put(QueueRecord(name="a", parent="b"), 3))
    cache.apply(WatchEvent(WatchOp.DELETE, "root", None, 4))
    assert [q.metadata.name for q in cache.children("root") if q.metadata] == ["b"]
    assert [q.metadata.name for q in cache.children("b") if q.metadata] == ["a"]
    assert len(builds) == 1
