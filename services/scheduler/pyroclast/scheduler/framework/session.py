"""Session: one scheduling cycle over a cloned snapshot, its plugins and its decisions."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyroclast.common.bus.messages import (
    BindDecision,
    Decision,
    EvictDecision,
    ExplanationRecord,
)
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import ClusterSnapshot, JobInfo, NodeInfo, QueueInfo, SchedulingError, TaskInfo
from pyroclast.scheduler.api.types import TaskStatus
from pyroclast.scheduler.conf import ExtensionPoint, SchedulerConf
from pyroclast.scheduler.framework.extensions import Event, Extensions
from pyroclast.scheduler.framework.nodes import NodeSearch
from pyroclast.scheduler.framework.registry import (
    ACTIONS,
    PLUGINS,
    Action,
    ActionBuilder,
    Plugin,
    PluginBuilder,
)
from pyroclast.scheduler.framework.statement import Statement
from pyroclast.scheduler.framework.vector import VECTORISED_DEFAULT, VectorState

__all__ = ["Session", "SessionResult", "close_session", "gc_paused", "open_session", "run_session"]


@dataclass(frozen=True, slots=True)
class OldStatus:
    """A job's PodGroup status as the session found it (what closing compares against)."""

    phase: str
    conditions: list[PodGroupCondition]
    running: int = 0
    succeeded: int = 0
    failed: int = 0

    # (written out: the compiled core compiles it, not so the one dataclass would generate)
    def __init__(
        self,
        phase: str,
        conditions: list[PodGroupCondition],
        running: int = 0,
        succeeded: int = 0,
        failed: int = 0,
    ) -> None:
        object.__setattr__(self, "phase", phase)
        object.__setattr__(self, "conditions", conditions)
        object.__setattr__(self, "running", running)
        object.__setattr__(self, "succeeded", succeeded)
        object.__setattr__(self, "failed", failed)

    @classmethod
    def of(cls, job: JobInfo) -> OldStatus:
        pg = job.podgroup
        if pg is None:
            return cls(job.phase, list(job.conditions))
        return cls(job.phase, list(job.conditions), pg.running, pg.succeeded, pg.failed)


@dataclass
class SessionResult:
    """What a session decided: binds, evictions and podgroup statuses, and why jobs wait."""

    session: str
    decisions: list[Decision] = field(default_factory=list)
    explanations: list[ExplanationRecord] = field(default_factory=list)

    def binds(self) -> dict[str, str]:
        """``namespace/name`` of each bound pod to its node."""
        return {f"{d.namespace}/{d.name}": d.node_name for d in self.decisions if isinstance(d, BindDecision)}


class Session(Extensions):
    """The mutable view a cycle schedules on, plus the plugin functions of its conf."""

    def __init__(
        self,
        snap: ClusterSnapshot,
        conf: SchedulerConf,
        *,
        uid: str = "",
        now: datetime | None = None,
        node_search: NodeSearch | None = None,
        vectorised: bool | None = None,
    ):
        super().__init__(conf.tiers)
        self.vectorised = VECTORISED_DEFAULT if vectorised is None else vectorised
        self.vector: VectorState | None = VectorState(self) if self.vectorised else None
        self.node_search = node_search if node_search is not None else NodeSearch()
        self.uid = uid or uuid.uuid4().hex
        self.now = now or datetime.now(UTC)
        self.conf = conf
        self.jobs: dict[str, JobInfo] = snap.jobs
        self.nodes: dict[str, NodeInfo] = snap.nodes
        self.node_list: list[NodeInfo] = list(snap.nodes.values())
        self.queues: dict[str, QueueInfo] = snap.queues
        self.total_resource: Resource = snap.total_resource()
        self.plugins: dict[str, Plugin] = {}
        self.enqueue_enabled = "enqueue" in conf.actions
        self.decisions: list[Decision] = []
        self.dirty_jobs: set[str] = set()
        self.old_status: dict[str, OldStatus] = {uid: OldStatus.of(job) for uid, job in self.jobs.items()}

    # -- plumbing for actions ---------------------------------------------------
    def statement(self) -> Statement:
        return Statement(self)

    def _notify(self, task: TaskInfo, *, allocate: bool) -> None:
        for eh in self.event_handlers:
            fn = eh.allocate if allocate else eh.deallocate
            if fn is not None:
                fn(Event(task))

    def _job_of(self, task: TaskInfo) -> JobInfo:
        job = self.jobs.get(task.job)
        if job is None:
            raise SchedulingError(f"failed to find job {task.job}")
        return job

    def _node(self, name: str) -> NodeInfo:
        node = self.nodes.get(name)
        if node is None:
            raise SchedulingError(f"failed to find node {name}")
        return node

    def allocate(self, task: TaskInfo, node: NodeInfo) -> None:
        """Allocate outside a statement (backfill); binds the job's allocations once it is ready."""
        job = self._job_of(task)
        target = self._node(node.name)
        job.update_task_status(task, TaskStatus.ALLOCATED)
        task.node_name = node.name
        try:
            target.add_task(task)
        except SchedulingError:
            job.update_task_status(task, TaskStatus.PENDING)
            task.node_name = ""
            raise
        self._notify(task, allocate=True)
        if self.job_ready(job):
            for t in list(job.tasks_in(TaskStatus.ALLOCATED).values()):
                self.dispatch(t)

    def pipeline(self, task: TaskInfo, node_name: str) -> None:
        job = self._job_of(task)
        node = self._node(node_name)
        job.update_task_status(task, TaskStatus.PIPELINED)
        task.node_name = node_name
        node.add_task(task)
        self._notify(task, allocate=True)

    def evict(self, task: TaskInfo, reason: str) -> None:
        """Evict at once (outside a statement)."""
        self.record_eviction(task, reason)
        self._job_of(task).update_task_status(task, TaskStatus.RELEASING)
        node = self.nodes.get(task.node_name)
        if node is not None:
            node.update_task(task)
        self._notify(task, allocate=False)

    def dispatch(self, task: TaskInfo) -> None:
        """Emit the bind of an allocated task and mark it Binding."""
        job = self._job_of(task)
        self.decisions.append(
            BindDecision(
                id=f"{self.uid}/bind/{task.key}",
                session=self.uid,
                time=self.now,
                namespace=task.namespace,
                name=task.name,
                uid=task.pod.uid,
                node_name=task.node_name,
                pod_group=job.name,
            )
        )
        job.update_task_status(task, TaskStatus.BINDING)

    def record_eviction(self, task: TaskInfo, reason: str, preemptor: str = "") -> None:
        self.decisions.append(
            EvictDecision(
                id=f"{self.uid}/evict/{task.key}",
                session=self.uid,
                time=self.now,
                namespace=task.namespace,
                name=task.name,
                uid=task.pod.uid,
                reason=reason,
                preemptor=preemptor,
            )
        )

    def update_pod_group_condition(self, job: JobInfo, cond: PodGroupCondition) -> None:
        """Replace the job's condition of the same type, or add it."""
        for i, c in enumerate(job.conditions):
            if c.type == cond.type:
                job.conditions[i] = cond
                return
        job.conditions.append(cond)

    def mark_job_dirty(self, uid: str) -> None:
        self.dirty_jobs.add(uid)

    def release(self) -> None:
        """Drop the session's view and functions (after closing it). Plugins and event
        handlers refer back to the session, a cycle only the garbage collector would undo:
        without these references the session's objects are freed as soon as it goes."""
        self.jobs, self.nodes, self.node_list, self.queues = {}, {}, [], {}
        self.plugins = {}
        self.vector = None
        self.event_handlers = []
        self._fns, self._chains, self._flats = {}, {}, {}
        self.decisions = []
        self.old_status = {}
        self.dirty_jobs = set()

    def registered_plugins(self, kind: str, point: ExtensionPoint) -> list[str]:
        """Plugins with a ``kind`` function (``"predicate"``, ...) switched on, in tier order."""
        fns = self._fns.get(kind, {})
        return [p.name for tier in self.tiers for p in tier.plugins if p.name in fns and p.enabled(point)]

    def hierarchy_enabled(self, plugin: str) -> bool:
        for tier in self.tiers:
            for p in tier.plugins:
                if p.name == plugin:
                    return p.enable_hierarchy
        return False

    def __repr__(self) -> str:
        return f"Session({self.uid}, jobs={len(self.jobs)}, nodes={len(self.nodes)})"


def open_session(
    snap: ClusterSnapshot,
    conf: SchedulerConf,
    *,
    uid: str = "",
    now: datetime | None = None,
    plugins: Mapping[str, PluginBuilder] | None = None,
    clone: bool = True,
    node_search: NodeSearch | None = None,
    vectorised: bool | None = None,
) -> Session:
    """Open a session on (a clone of) ``snap``: build each plugin of the conf, in tier order.

    ``vectorised`` picks the vectorised node search or the scalar reference
    (default: :data:`~.vector.VECTORISED_DEFAULT`).
    """
    view = snap.clone() if clone else snap
    ssn = Session(view, conf, uid=uid, now=now, node_search=node_search, vectorised=vectorised)
    registry = PLUGINS if plugins is None else plugins
    for tier in conf.tiers:
        for option in tier.plugins:
            builder = registry.get(option.name)
            if builder is None:
                raise SchedulingError(f'plugin "{option.name}" is not available')
            plugin = builder(option.arguments)
            ssn.plugins[option.name] = plugin
            plugin.on_session_open(ssn)
    return ssn


def close_session(ssn: Session) -> SessionResult:
    """Let plugins write back (conditions), then produce podgroup statuses and explanations."""
    from pyroclast.scheduler.framework.closing import job_updates

    for plugin in ssn.plugins.values():
        plugin.on_session_close(ssn)
    statuses, explanations = job_updates(ssn)
    return SessionResult(session=ssn.uid, decisions=[*ssn.decisions, *statuses], explanations=explanations)


def run_session(
    snap: ClusterSnapshot,
    conf: SchedulerConf,
    *,
    uid: str = "",
    now: datetime | None = None,
    plugins: Mapping[str, PluginBuilder] | None = None,
    actions: Mapping[str, ActionBuilder] | None = None,
    node_search: NodeSearch | None = None,
    vectorised: bool | None = None,
    clone: bool = True,
) -> SessionResult:
    """Open a session, run the conf's actions in order, close it.

    ``clone=False`` schedules on ``snap`` itself (for a snapshot built for this session only).
    The cyclic garbage collector is paused for the session (see :func:`gc_paused`).
    """
    with gc_paused():
        return _run_session(
            snap,
            conf,
            uid=uid,
            now=now,
            plugins=plugins,
            actions=actions,
            node_search=node_search,
            vectorised=vectorised,
            clone=clone,
        )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (restored after): a session allocates many objects
    it keeps until its end, over which every collection would walk for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_session(
    snap: ClusterSnapshot,
    conf: SchedulerConf,
    *,
    uid: str,
    now: datetime | None,
    plugins: Mapping[str, PluginBuilder] | None,
    actions: Mapping[str, ActionBuilder] | None,
    node_search: NodeSearch | None,
    vectorised: bool | None,
    clone: bool,
) -> SessionResult:
    ssn = open_session(
        snap,
        conf,
        uid=uid,
        now=now,
        plugins=plugins,
        clone=clone,
        node_search=node_search,
        vectorised=vectorised,
    )
    registry = ACTIONS if actions is None else actions
    steps: list[Action] = []
    for name in conf.actions:
        builder = registry.get(name)
        if builder is None:
            raise SchedulingError(f'action "{name}" is not available')
        steps.append(builder())
    try:
        for action in steps:
            action.execute(ssn)
        return close_session(ssn)
    finally:
        ssn.release()
