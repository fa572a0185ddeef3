"""Closing and reopening a parent queue cascades through its children (plans run to quiescence)."""

from __future__ import annotations

from collections import deque

import msgspec

from pyroclast.common.models import ObjectMeta, Queue, QueueSpec, QueueStatus
from pyroclast.controller.queue import (
    CLOSED_BY_PARENT_KEY,
    AnnotationPatch,
    ApplyState,
    Enqueue,
    ParentPatch,
    QueueWorld,
    reconcile_queue,
)


def q(name: str, parent: str | None, state: str = "Open") -> Queue:
    return Queue(
        metadata=ObjectMeta(name=name), spec=QueueSpec(parent=parent), status=QueueStatus(state=state)
    )


def run(queues: dict[str, Queue], start: list[tuple[str, str]]) -> dict[str, Queue]:
    """Handle requests until none is left, applying each plan to ``queues``."""
    work = deque(start)
    for _ in range(200):
        if not work:
            return queues
        name, action = work.popleft()
        plan = reconcile_queue(queues[name], QueueWorld(queues=dict(queues)), action)
        for op in plan.ops:
            target = queues[op.queue] if hasattr(op, "queue") else None
            if isinstance(op, ParentPatch) and target is not None:
                queues[op.queue] = msgspec.structs.replace(target, spec=QueueSpec(parent="root"))
            elif isinstance(op, AnnotationPatch) and target is not None:
                meta = target.metadata or ObjectMeta()
                annotations = {**(meta.annotations or {}), op.key: op.value}
                queues[op.queue] = msgspec.structs.replace(
                    target, metadata=msgspec.structs.replace(meta, annotations=annotations)
                )
            elif isinstance(op, ApplyState) and target is not None:
                queues[op.queue] = msgspec.structs.replace(target, status=QueueStatus(state=op.state))
            elif isinstance(op, Enqueue):
                work.append((op.queue, op.action))
    raise AssertionError("requests did not settle")


def state(queue: Queue) -> str:
    return (queue.status.state if queue.status else None) or ""


def test_queue_close_and_reopen_cascade() -> None:
    queues = {
        "root": q("root", None),
        "eng": q("eng", "root"),
        "dev": q("dev", "eng"),
        "ops": q("ops", "eng", "Closed"),  # closed by its owner, not by eng
        "web": q("web", "dev"),
        "other": q("other", None),
    }
    queues = run(queues, [("eng", "CloseQueue")])
    assert {n: state(x) for n, x in queues.items()} == {
        "root": "Open",
        "eng": "Closed",
        "dev": "Closed",
        "ops": "Closed",
        "web": "Closed",
        "other": "Open",
    }
    for name in ("dev", "web"):
        assert (queues[name].metadata.annotations or {})[CLOSED_BY_PARENT_KEY] == "true"  # type: ignore[union-attr]
    queues = run(queues, [("eng", "OpenQueue")])
    assert {n: state(x) for n, x in queues.items() if n != "ops"} == dict.fromkeys(
        ("root", "eng", "dev", "web", "other"), "Open"
    )
    assert state(queues["ops"]) == "Closed"
    queues = run(queues, [("other", "SyncQueue")])
    assert queues["other"].spec is not None
    assert queues["other"].spec.parent == "root"
