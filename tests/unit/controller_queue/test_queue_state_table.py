"""Queue state machine per state and action, as Volcano's queue controller runs it."""

from __future__ import annotations

import pytest

from pyroclast.common.models import (
    ObjectMeta,
    PodGroup,
    PodGroupSpec,
    PodGroupStatus,
    Queue,
    QueueSpec,
    QueueStatus,
)
from pyroclast.controller.queue import (
    AnnotationPatch,
    ApplyState,
    Enqueue,
    ParentPatch,
    QueueWorld,
    RecordEvent,
    reconcile_queue,
)
from pyroclast.controller.queue.state import Handler, transition

SYNC, OPEN, CLOSE = "SyncQueue", "OpenQueue", "CloseQueue"


def queue(
    name: str = "q", state: str | None = None, parent: str | None = "root", **annotations: str
) -> Queue:
    return Queue(
        metadata=ObjectMeta(name=name, annotations=annotations or None),
        spec=QueueSpec(weight=1, parent=parent),
        status=QueueStatus(state=state),
    )


def podgroups(queue_name: str, n: int, phase: str = "Running") -> dict[str, PodGroup]:
    return {
        f"ns/pg{i}": PodGroup(
            metadata=ObjectMeta(name=f"pg{i}", namespace="ns"),
            spec=PodGroupSpec(queue=queue_name),
            status=PodGroupStatus(phase=phase),
        )
        for i in range(n)
    }


def _name(q: Queue) -> str:
    return (q.metadata.name if q.metadata else None) or ""


def world(q: Queue, n_pgs: int = 0, *others: Queue) -> QueueWorld:
    queues = {"root": queue("root", "Open", parent=None)}
    for other in (q, *others):
        queues[_name(other)] = other
    return QueueWorld(queues=queues, podgroups=podgroups(_name(q), n_pgs))


# (state, action, podgroups in the queue) -> (handler, state after)
TABLE = [
    ("", SYNC, 0, Handler.SYNC, "Open"),
    ("", CLOSE, 2, Handler.CLOSE, "Closing"),
    ("Open", SYNC, 3, Handler.SYNC, "Open"),
    ("Open", OPEN, 0, Handler.SYNC, "Open"),
    ("Open", CLOSE, 0, Handler.CLOSE, "Closed"),
    ("Open", CLOSE, 3, Handler.CLOSE, "Closing"),
    ("Closed", SYNC, 2, Handler.SYNC, "Closed"),
    ("Closed", OPEN, 2, Handler.OPEN, "Open"),
    ("Closed", CLOSE, 2, Handler.SYNC, "Closed"),
    ("Closing", SYNC, 1, Handler.SYNC, "Closing"),
    ("Closing", SYNC, 0, Handler.SYNC, "Closed"),
    ("Closing", OPEN, 1, Handler.OPEN, "Open"),
    ("Closing", CLOSE, 1, Handler.SYNC, "Closing"),
    ("Closing", CLOSE, 0, Handler.SYNC, "Closed"),
    ("Unknown", SYNC, 0, Handler.SYNC, "Unknown"),
    ("Unknown", OPEN, 0, Handler.OPEN, "Open"),
    ("Unknown", CLOSE, 0, Handler.CLOSE, "Closed"),
    ("Unknown", CLOSE, 4, Handler.CLOSE, "Closing"),
]


@pytest.mark.parametrize(("state", "action", "n_pgs", "handler", "after"), TABLE)
def test_queue_transition_table(state: str, action: str, n_pgs: int, handler: Handler, after: str) -> None:
    step = transition(state, action)
    assert step.handler is handler
    assert step.new_state(n_pgs) == after
    plan = reconcile_queue(queue(state=state or None), world(queue(state=state or None), n_pgs), action)
    assert plan.error is None
    assert plan.state == after
    applied = plan.of(ApplyState)
    if after != state:
        assert applied == [ApplyState("q", after)]
    else:
        assert applied == []


def test_queue_close_records_event_only_when_state_changes() -> None:
    plan = reconcile_queue(queue(state="Open"), world(queue(state="Open"), 1), CLOSE)
    assert plan.of(RecordEvent) == [RecordEvent("q", "Normal", "CloseQueue", "Close queue succeed")]
    plan = reconcile_queue(queue(state="Closed"), world(queue(state="Closed"), 1), CLOSE)
    assert plan.of(RecordEvent) == []


def test_queue_closing_becomes_closed_when_last_podgroup_is_gone() -> None:
    q = queue(state="Closing")
    assert reconcile_queue(q, world(q, 1)).state == "Closing"
    assert reconcile_queue(q, world(q, 0)).state == "Closed"


def test_queue_completed_podgroups_still_hold_a_closing_queue() -> None:
    q = queue(state="Closing")
    w = QueueWorld(
        queues={"root": queue("root", "Open", None), "q": q}, podgroups=podgroups("q", 2, "Completed")
    )
    plan = reconcile_queue(q, w)
    assert plan.state == "Closing"
    assert plan.counts is not None
    assert plan.counts.completed == 2


def test_queue_open_handler_marks_not_closed_by_parent() -> None:
    q = queue(state="Closed")
    plan = reconcile_queue(q, world(q), OPEN)
    patches = plan.of(AnnotationPatch)
    assert [(p.key, p.value) for p in patches] == [("volcano.sh/closed-by-parent", "false")]
    assert patches[0].patch == [
        {"op": "add", "path": "/metadata/annotations", "value": {"volcano.sh/closed-by-parent": "false"}}
    ]


def test_queue_invalid_state_is_an_error() -> None:
    q = queue(state="Weird")
    plan = reconcile_queue(q, world(q))
    assert plan.error
    assert "invalid" in plan.error
    assert plan.ops == []


def test_queue_sync_adds_root_parent_first() -> None:
    q = queue(state="Open", parent=None)
    plan = reconcile_queue(q, world(q))
    assert plan.ops[0] == ParentPatch("q", [{"op": "add", "path": "/spec/parent", "value": "root"}])


def test_queue_root_gets_no_parent_and_no_hierarchy() -> None:
    root = queue("root", "Open", parent=None)
    plan = reconcile_queue(root, QueueWorld(queues={"root": root}))
    assert plan.ops == []
    assert plan.state == "Open"


def test_queue_sync_counts_every_phase() -> None:
    q = queue(state="Open")
    pgs: dict[str, PodGroup] = {}
    for phase, n in (("Pending", 1), ("Running", 2), ("Inqueue", 3), ("Completed", 4), ("Unknown", 5)):
        for k, v in podgroups("q", n, phase).items():
            pgs[f"{phase}-{k}"] = v
    pgs["other"] = PodGroup(metadata=ObjectMeta(name="x"), spec=PodGroupSpec(queue="other"))
    w = QueueWorld(queues={"root": queue("root", "Open", None), "q": q}, podgroups=pgs)
    counts = reconcile_queue(q, w).counts
    assert counts is not None
    assert (counts.pending, counts.running, counts.inqueue, counts.completed, counts.unknown) == (
        1,
        2,
        3,
        4,
        5,
    )


def test_queue_sync_without_known_parent_is_an_error() -> None:
    q = queue(state="Open", parent="missing")
    plan = reconcile_queue(q, world(q))
    assert plan.error
    assert "missing" in plan.error


def test_queue_enqueue_is_plain_data() -> None:
    assert Enqueue("a", CLOSE) == Enqueue("a", CLOSE, "")
