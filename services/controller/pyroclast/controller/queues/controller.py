"""The queue controller: queue, podgroup and command events in, one work queue, the core's plans
applied through the API.

Keys are queue names; the items of a key are the actions asked for it (``SyncQueue``,
``OpenQueue``, ``CloseQueue``), handled in order. Commands that target a Queue are deleted
first (so that one runs at most once), then turned into their action, as Volcano does.
State changes are written by server-side apply of ``status.state`` with the field manager
``queue-controller``; a plan with an error is applied, then the request is retried.
"""

from __future__ import annotations

from typing import Any

from pyroclast.common.logging import get_logger
from pyroclast.common.models import Command, ObjectReference, PodGroup, Queue, QueueAction
from pyroclast.common.models.scheduling import SCHEDULING_API_VERSION
from pyroclast.controller.jobs.recorder import EventRecorder
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.informer import Handlers, object_key
from pyroclast.controller.kube.shell import (
    DEFAULT_SETTINGS,
    CacheView,
    KeyedController,
    RetryItems,
    ShellSettings,
)
from pyroclast.controller.queue import (
    AnnotationPatch,
    ApplyState,
    DeleteCommand,
    Enqueue,
    ParentPatch,
    Plan,
    QueueWorld,
    RecordEvent,
    handle_command,
    is_queue_reference,
    podgroup_update_needs_sync,
    queue_update_needs_sync,
    reconcile_queue,
)

log = get_logger(__name__)

APPLY_PATCH = "application/apply-patch+yaml"
COMMAND_PREFIX = "command:"
"""Keys of the work queue that name a Command (``command:<namespace>/<name>``), not a queue."""


class PlanError(Exception):
    """The core returned a plan with an error: retry the request later."""


def _queue_of(pg: PodGroup) -> str:
    return (pg.spec.queue if pg.spec else None) or ""


class QueueController(KeyedController[str]):
    name = "queue"

    def __init__(
        self,
        kube: KubeClient,
        factory: InformerFactory,
        recorder: EventRecorder,
        settings: ShellSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.kube = kube
        self.recorder = recorder
        self.queues = factory.informer(resources.QUEUES)
        self.podgroups = factory.informer(resources.PODGROUPS)
        self.commands = factory.informer(resources.COMMANDS)
        super().__init__([self.queues.cache, self.podgroups.cache, self.commands.cache], settings)
        self.queues.cache.add_handlers(Handlers(self._queue_added, self._queue_updated))
        self.podgroups.cache.add_handlers(
            Handlers(self._podgroup_changed, self._podgroup_updated, self._podgroup_changed)
        )
        self.commands.cache.add_handlers(Handlers(on_add=self._command_added))

    # --- informer handlers ------------------------------------------------------------

    def _sync(self, queue: str) -> None:
        if queue:
            self.queue.add(queue, QueueAction.SYNC_QUEUE.value)

    def _queue_added(self, queue: Queue) -> None:
        self._sync(object_key(queue))

    def _queue_updated(self, old: Queue, new: Queue) -> None:
        if queue_update_needs_sync(old, new):
            self._sync(object_key(new))

    def _podgroup_changed(self, pg: PodGroup) -> None:
        self._sync(_queue_of(pg))

    def _podgroup_updated(self, old: PodGroup, new: PodGroup) -> None:
        if _queue_of(old) != _queue_of(new):
            self._sync(_queue_of(old))
            self._sync(_queue_of(new))
        elif podgroup_update_needs_sync(old, new):
            self._sync(_queue_of(new))

    def _command_added(self, cmd: Command) -> None:
        if is_queue_reference(cmd.target):
            self.queue.add(COMMAND_PREFIX + object_key(cmd))

    # --- work -------------------------------------------------------------------------

    async def handle(self, key: str, items: list[str]) -> None:
        if key.startswith(COMMAND_PREFIX):
            await self._command(key.removeprefix(COMMAND_PREFIX))
            return
        work = items or [QueueAction.SYNC_QUEUE.value]
        for position, action in enumerate(work):
            try:
                await self._reconcile(key, action)
            except Exception as err:
                raise RetryItems(work[position:], err) from err

    async def _reconcile(self, name: str, action: str) -> None:
        queue = self.queues.cache.get(name)
        if queue is None:
            return
        world = QueueWorld(queues=CacheView(self.queues.cache), podgroups=CacheView(self.podgroups.cache))
        plan = reconcile_queue(queue, world, action)
        if plan.ops:
            log.info(
                "applying queue plan",
                key=name,
                action=action,
                state=plan.state,
                ops=[type(op).__name__ for op in plan.ops],
            )
        await self.apply(plan)
        if plan.error:
            raise PlanError(plan.error)

    async def _command(self, key: str) -> None:
        cmd = self.commands.cache.get(key)
        if cmd is None or not is_queue_reference(cmd.target):
            return
        plan = handle_command(cmd)
        log.info(
            "queue command issued", key=key, action=cmd.action, queue=cmd.target.name if cmd.target else ""
        )
        meta = cmd.metadata
        namespace, name = (meta.namespace if meta else None) or "", (meta.name if meta else None) or ""
        try:
            deleted = await self.kube.delete(
                resources.COMMANDS, namespace, name, uid=meta.uid if meta else None
            )
        except ApiError as err:
            if err.status == 409:  # the uid precondition failed: another command by that name
                return
            raise
        if not deleted:
            return
        await self.apply(Plan(ops=[op for op in plan.ops if not isinstance(op, DeleteCommand)]))

    async def apply(self, plan: Plan) -> None:
        """Carry out the plan's operations in order."""
        for op in plan.ops:
            if isinstance(op, ParentPatch | AnnotationPatch):
                await self._patch(op.queue, op.patch, op.content_type)
            elif isinstance(op, ApplyState):
                written = await self.kube.request(
                    "PATCH",
                    resources.QUEUES.path("", op.queue, "status"),
                    query={"fieldManager": op.field_manager, "force": "true"},
                    body=op.body(),
                    content_type=APPLY_PATCH,
                )
                self.queues.cache.note_written(resources.QUEUES.decode(written))
                log.info("queue state set", key=op.queue, state=op.state)
            elif isinstance(op, DeleteCommand):
                await self.kube.delete(resources.COMMANDS, op.namespace, op.name)
            elif isinstance(op, Enqueue):
                self.queue.add(op.queue, op.action or QueueAction.SYNC_QUEUE.value)
            elif isinstance(op, RecordEvent):
                self.recorder.record(self._reference(op.queue), op.type, op.reason, op.message)

    async def _patch(self, name: str, patch: Any, content_type: str) -> None:
        try:
            written = await self.kube.patch(resources.QUEUES, "", name, patch, content_type=content_type)
        except ApiError as err:
            if err.not_found:
                return
            raise
        self.queues.cache.note_written(written)

    def _reference(self, name: str) -> ObjectReference:
        queue = self.queues.cache.get(name)
        meta = queue.metadata if queue else None
        return ObjectReference(
            api_version=SCHEDULING_API_VERSION,
            kind="Queue",
            name=name,
            uid=(meta.uid if meta else None),
            resource_version=(meta.resource_version if meta else None),
        )
