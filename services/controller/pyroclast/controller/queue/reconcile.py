"""One request on one queue: the handlers of Volcano's queue controller as a `Plan`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyroclast.common.models import Command, OwnerReference, PodGroup, Queue, QueueAction, QueueState
from pyroclast.common.models.enums import QueueEvent
from pyroclast.common.models.scheduling import SCHEDULING_API_VERSION
from pyroclast.controller.queue.bootstrap import ROOT_QUEUE
from pyroclast.controller.queue.plan import (
    AnnotationPatch,
    ApplyState,
    DeleteCommand,
    Enqueue,
    ParentPatch,
    Plan,
    RecordEvent,
)
from pyroclast.controller.queue.state import Handler, StateFn, is_valid_state, transition
from pyroclast.controller.queue.status import count_podgroups

CLOSED_BY_PARENT_KEY = "volcano.sh/closed-by-parent"
_TRUE, _FALSE = "true", "false"
_SHUT = (QueueState.CLOSED.value, QueueState.CLOSING.value)


@dataclass(frozen=True)
class QueueWorld:
    """Read-only view: every queue by name, and every podgroup (any namespace)."""

    queues: Mapping[str, Queue] = field(default_factory=dict)
    podgroups: Mapping[str, PodGroup] = field(default_factory=dict)
    """Keyed ``namespace/name``; a podgroup belongs to the queue its ``spec.queue`` names."""

    def podgroups_of(self, queue: str) -> list[PodGroup]:
        return [pg for pg in self.podgroups.values() if ((pg.spec.queue if pg.spec else None) or "") == queue]


def _name(queue: Queue) -> str:
    return (queue.metadata.name if queue.metadata else None) or ""


def _state(queue: Queue) -> str:
    return (queue.status.state if queue.status else None) or ""


def _parent(queue: Queue) -> str:
    return (queue.spec.parent if queue.spec else None) or ""


def _annotations(queue: Queue) -> dict[str, str]:
    return dict((queue.metadata.annotations if queue.metadata else None) or {})


def annotation_patch(queue: Queue, key: str, value: str) -> AnnotationPatch | None:
    """The JSON patch setting ``key`` to ``value``; None when it already has that value."""
    annotations = _annotations(queue)
    if annotations.get(key) == value:
        return None
    if not annotations:
        ops = [{"op": "add", "path": "/metadata/annotations", "value": {key: value}}]
    else:
        path = "/metadata/annotations/" + key.replace("~", "~0").replace("/", "~1")
        ops = [{"op": "add", "path": path, "value": value}]
    return AnnotationPatch(_name(queue), key, value, ops)


def reconcile_queue(queue: Queue, world: QueueWorld, action: str = QueueAction.SYNC_QUEUE) -> Plan:
    """The plan of running ``action`` (SyncQueue, OpenQueue, CloseQueue) on ``queue``."""
    state = _state(queue)
    if not is_valid_state(state):
        return Plan(error=f"queue {_name(queue)} state {state} is invalid")
    step = transition(state, action)
    if step.handler is Handler.OPEN:
        return _open(queue, world, step.new_state)
    if step.handler is Handler.CLOSE:
        return _close(queue, world, step.new_state)
    return _sync(queue, world, step.new_state)


def _sync(queue: Queue, world: QueueWorld, new_state: StateFn) -> Plan:
    plan = Plan()
    name = _name(queue)
    if name != ROOT_QUEUE and not _parent(queue):
        plan.ops.append(ParentPatch(name, [{"op": "add", "path": "/spec/parent", "value": ROOT_QUEUE}]))
    pgs = world.podgroups_of(name)
    plan.counts = count_podgroups(pgs)
    plan.state = new_state(len(pgs))
    if plan.state != _state(queue):
        plan.ops.append(ApplyState(name, plan.state))
    _sync_hierarchy(queue, _parent(queue) or ROOT_QUEUE, plan.state, world, plan)
    return plan


def _sync_hierarchy(queue: Queue, parent_name: str, state: str, world: QueueWorld, plan: Plan) -> None:
    """Follow the parent: close with it (marking closed-by-parent), reopen with it."""
    name = _name(queue)
    if name == ROOT_QUEUE:
        return
    parent = world.queues.get(parent_name)
    if parent is None:
        plan.error = f"failed to get parent queue {parent_name} of queue {name}"
        return
    parent_state = _state(parent)
    if parent_state in _SHUT and state not in _SHUT:
        patch = annotation_patch(queue, CLOSED_BY_PARENT_KEY, _TRUE)
        if patch:
            plan.ops.append(patch)
        plan.ops.append(Enqueue(name, QueueAction.CLOSE_QUEUE))
    elif (
        parent_state == QueueState.OPEN
        and state in _SHUT
        and _annotations(queue).get(CLOSED_BY_PARENT_KEY) == _TRUE
    ):
        plan.ops.append(Enqueue(name, QueueAction.OPEN_QUEUE))


def _children(world: QueueWorld, name: str) -> list[Queue]:
    return [q for _, q in sorted(world.queues.items()) if _parent(q) == name]


def _open(queue: Queue, world: QueueWorld, new_state: StateFn) -> Plan:
    plan = Plan()
    name = _name(queue)
    if _state(queue) != QueueState.OPEN:
        parent_name = _parent(queue)
        if parent_name not in ("", ROOT_QUEUE):
            parent = world.queues.get(parent_name)
            if parent is None:
                plan.error = f"Failed to get parent queue {parent_name} of queue {name}"
                return plan
            if _state(parent) in _SHUT:
                plan.error = (
                    f"Failed to open queue {name} because its parent queue {parent_name} "
                    "is closing or closed. Open the parent queue first."
                )
                return plan
        for child in _children(world, name):
            if _annotations(child).get(CLOSED_BY_PARENT_KEY) == _TRUE:
                plan.ops.append(Enqueue(_name(child), QueueAction.OPEN_QUEUE))
    plan.state = new_state(0)
    if plan.state != _state(queue):
        plan.ops.append(ApplyState(name, plan.state))
    patch = annotation_patch(queue, CLOSED_BY_PARENT_KEY, _FALSE)
    if patch:
        plan.ops.append(patch)
    return plan


def _close(queue: Queue, world: QueueWorld, new_state: StateFn) -> Plan:
    plan = Plan()
    name = _name(queue)
    if _state(queue) not in _SHUT:
        if name == ROOT_QUEUE:
            return plan  # the root queue cannot be closed
        for child in _children(world, name):
            if _state(child) not in _SHUT:
                patch = annotation_patch(child, CLOSED_BY_PARENT_KEY, _TRUE)
                if patch:
                    plan.ops.append(patch)
                plan.ops.append(Enqueue(_name(child), QueueAction.CLOSE_QUEUE))
    plan.state = new_state(len(world.podgroups_of(name)))
    if plan.state != _state(queue):
        plan.ops.append(ApplyState(name, plan.state))
        plan.ops.append(RecordEvent(name, "Normal", QueueAction.CLOSE_QUEUE, "Close queue succeed"))
    return plan


def is_queue_reference(ref: OwnerReference | None) -> bool:
    """Whether a Command targets a Queue (the queue controller only sees those)."""
    return ref is not None and ref.api_version == SCHEDULING_API_VERSION and ref.kind == "Queue"


def handle_command(command: Command) -> Plan:
    """Delete the command, then queue its action for the target queue."""
    meta = command.metadata
    namespace, name = (meta.namespace if meta else None) or "", (meta.name if meta else None) or ""
    plan = Plan(ops=[DeleteCommand(namespace, name)])
    target = (command.target.name if command.target else None) or ""
    plan.ops.append(Enqueue(target, command.action or "", QueueEvent.COMMAND_ISSUED))
    return plan


def queue_update_needs_sync(old: Queue, new: Queue) -> bool:
    """Queue updates only trigger a sync when ``spec.parent`` changed (adds always do)."""
    return _parent(old) != _parent(new)


def podgroup_update_needs_sync(old: PodGroup, new: PodGroup) -> bool:
    """PodGroup updates trigger a sync of its queue only when the phase changed."""
    return (old.status.phase if old.status else None) != (new.status.phase if new.status else None)
