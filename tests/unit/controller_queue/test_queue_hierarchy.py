"""Parent and child queues: closing and reopening follow the parent."""

from __future__ import annotations

from pyroclast.common.models import Command, ObjectMeta, OwnerReference, Queue, QueueSpec, QueueStatus
from pyroclast.controller.queue import (
    CLOSED_BY_PARENT_KEY,
    AnnotationPatch,
    ApplyState,
    DeleteCommand,
    Enqueue,
    QueueWorld,
    bootstrap_queues,
    handle_command,
    is_queue_reference,
    queue_update_needs_sync,
    reconcile_queue,
)


def queue(name: str, state: str | None = "Open", parent: str | None = "root", **annotations: str) -> Queue:
    return Queue(
        metadata=ObjectMeta(name=name, annotations=annotations or None),
        spec=QueueSpec(weight=1, parent=parent),
        status=QueueStatus(state=state),
    )


def world(*queues: Queue) -> QueueWorld:
    all_queues = {"root": queue("root", parent=None)}
    all_queues.update({q.metadata.name: q for q in queues if q.metadata and q.metadata.name})
    return QueueWorld(queues=all_queues)


def test_queue_child_closes_with_its_parent() -> None:
    parent, child = queue("eng", "Closed"), queue("dev", "Open", parent="eng", team="a")
    plan = reconcile_queue(child, world(parent, child))
    patch = plan.of(AnnotationPatch)[0]
    assert patch.queue == "dev"
    assert patch.value == "true"
    assert patch.patch == [
        {"op": "add", "path": "/metadata/annotations/volcano.sh~1closed-by-parent", "value": "true"}
    ]
    assert plan.of(Enqueue) == [Enqueue("dev", "CloseQueue")]


def test_queue_child_reopens_with_its_parent_only_if_closed_by_it() -> None:
    parent = queue("eng", "Open")
    by_parent = queue("dev", "Closed", parent="eng", **{CLOSED_BY_PARENT_KEY: "true"})
    by_user = queue("ops", "Closed", parent="eng")
    assert reconcile_queue(by_parent, world(parent, by_parent)).of(Enqueue) == [Enqueue("dev", "OpenQueue")]
    assert reconcile_queue(by_user, world(parent, by_user)).of(Enqueue) == []


def test_queue_closing_a_parent_closes_open_children() -> None:
    parent = queue("eng", "Open")
    a, b = queue("a", "Open", parent="eng"), queue("b", "Closed", parent="eng")
    plan = reconcile_queue(parent, world(parent, a, b), "CloseQueue")
    assert [p.queue for p in plan.of(AnnotationPatch)] == ["a"]
    assert plan.of(Enqueue) == [Enqueue("a", "CloseQueue")]
    assert plan.of(ApplyState) == [ApplyState("eng", "Closed")]


def test_queue_root_cannot_be_closed() -> None:
    root = queue("root", parent=None)
    plan = reconcile_queue(root, QueueWorld(queues={"root": root}), "CloseQueue")
    assert plan.ops == []
    assert plan.state is None
    assert plan.error is None


def test_queue_open_under_closed_parent_fails() -> None:
    parent, child = queue("eng", "Closing"), queue("dev", "Closed", parent="eng")
    plan = reconcile_queue(child, world(parent, child), "OpenQueue")
    assert plan.error
    assert "Open the parent queue first" in plan.error
    assert plan.ops == []


def test_queue_opening_a_parent_reopens_children_it_closed() -> None:
    parent = queue("eng", "Closed")
    a = queue("a", "Closed", parent="eng", **{CLOSED_BY_PARENT_KEY: "true"})
    b = queue("b", "Closed", parent="eng", **{CLOSED_BY_PARENT_KEY: "false"})
    plan = reconcile_queue(parent, world(parent, a, b), "OpenQueue")
    assert plan.of(Enqueue) == [Enqueue("a", "OpenQueue")]
    assert plan.of(ApplyState) == [ApplyState("eng", "Open")]


def test_queue_command_is_deleted_then_queued() -> None:
    cmd = Command(
        metadata=ObjectMeta(name="c1", namespace="default"),
        action="CloseQueue",
        target=OwnerReference(api_version="scheduling.volcano.sh/v1beta1", kind="Queue", name="eng"),
    )
    assert is_queue_reference(cmd.target)
    assert not is_queue_reference(
        OwnerReference(api_version="batch.volcano.sh/v1alpha1", kind="Job", name="j")
    )
    assert not is_queue_reference(None)
    plan = handle_command(cmd)
    assert plan.ops == [DeleteCommand("default", "c1"), Enqueue("eng", "CloseQueue", "CommandIssued")]


def test_queue_update_syncs_only_on_parent_change() -> None:
    assert queue_update_needs_sync(queue("a"), queue("a", parent="eng"))
    assert not queue_update_needs_sync(queue("a"), queue("a", "Closed"))


def test_queue_bootstrap_creates_root_then_default() -> None:
    made = bootstrap_queues(set())
    assert [q.metadata.name for q in made if q.metadata] == ["root", "default"]
    root, default = made
    assert root.spec is not None
    assert root.spec.weight == 1
    assert root.spec.reclaimable is False
    assert default.spec is not None
    assert default.spec.weight == 1
    assert default.spec.reclaimable is True
    assert [q.metadata.name for q in bootstrap_queues({"root"}) if q.metadata] == ["default"]
    assert bootstrap_queues({"root", "default"}) == []
    assert [q.metadata.name for q in bootstrap_queues(set(), "batch") if q.metadata] == ["root", "batch"]


def test_queue_annotation_patch_skips_when_already_set() -> None:
    from pyroclast.controller.queue.reconcile import annotation_patch

    q = queue("a", **{CLOSED_BY_PARENT_KEY: "true"})
    assert annotation_patch(q, CLOSED_BY_PARENT_KEY, "true") is None
    patch = annotation_patch(q, CLOSED_BY_PARENT_KEY, "false")
    assert patch is not None
    assert patch.patch[0]["path"] == "/metadata/annotations/volcano.sh~1closed-by-parent"


def test_queue_open_action_on_open_queue_does_not_touch_annotations() -> None:
    q = queue("a", "Open", **{CLOSED_BY_PARENT_KEY: "true"})
    plan = reconcile_queue(q, world(q), "OpenQueue")
    assert plan.of(AnnotationPatch) == []
    assert plan.state == "Open"
