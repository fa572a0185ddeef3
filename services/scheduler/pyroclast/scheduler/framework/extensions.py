"""Extension points: what plugins register, and how the tiers combine them.

Combination rules follow Volcano's ``session_plugins.go``. A plugin's function is used
only when the plugin's switch for that point is on in the conf (``job_valid`` and the
victim queue order have no switch). Within the tiers, in order:

* order functions (job, queue, task, victim queue): the first non-zero comparison wins,
  else a fixed fallback (creation time, then uid or name);
* ``job_ready``, ``allocatable``, ``preemptive``, ``predicate``, ``pre_predicate``:
  every function must pass (the first failure is returned);
* ``overused``: any function saying so;
* ``job_valid``: the first failing result;
* ``job_pipelined``, ``job_enqueueable``: votes; any reject rejects; a tier with a permit
  decides; no permit at all allows;
* ``job_starving``: the first tier with a function decides (all must agree), else false;
* ``preemptable``, ``reclaimable``: the intersection of victims within the first tier
  that decides; a plugin returning no victims ends its tier undecided, and an empty
  intersection lets the next plugin start afresh (Go's nil slice);
* ``node_order``, ``batch_node_order``: scores are summed;
* ``best_node``: the first non-empty answer wins; ``target_job``: the first function answers;
* ``victim_tasks``: the union within the first tier that names any.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from pyroclast.scheduler.api import FitError, JobInfo, NodeInfo, QueueInfo, TaskInfo, ValidateResult
from pyroclast.scheduler.conf import ExtensionPoint, Tier

__all__ = [
    "ABSTAIN",
    "PERMIT",
    "REJECT",
    "BatchNodeOrderFn",
    "BestNodeFn",
    "CompareFn",
    "Event",
    "EventHandler",
    "EvictableFn",
    "Extensions",
    "NodeOrderFn",
    "PrePredicateFn",
    "PredicateFn",
    "compare_task",
]

PERMIT, ABSTAIN, REJECT = 1, 0, -1

T = TypeVar("T")
CompareFn = Callable[[T, T], int]
ValidateFn = Callable[[JobInfo], bool]
VoteFn = Callable[[JobInfo], int]
ValidateExFn = Callable[[JobInfo], ValidateResult | None]
PredicateFn = Callable[[TaskInfo, NodeInfo], FitError | None]
PrePredicateFn = Callable[[TaskInfo], FitError | str | None]
NodeOrderFn = Callable[[TaskInfo, NodeInfo], float]
BatchNodeOrderFn = Callable[[TaskInfo, Sequence[NodeInfo]], dict[str, float]]
BestNodeFn = Callable[[TaskInfo, dict[float, list[NodeInfo]]], NodeInfo | None]
EvictableFn = Callable[[TaskInfo, list[TaskInfo]], tuple[list[TaskInfo], int]]
AllocatableFn = Callable[[QueueInfo, TaskInfo], bool]
PreemptiveFn = Callable[[QueueInfo, list[TaskInfo]], bool]
VictimCompareFn = Callable[[QueueInfo, QueueInfo, QueueInfo], int]
VictimTasksFn = Callable[[list[TaskInfo]], list[TaskInfo]]
TargetJobFn = Callable[[list[JobInfo]], JobInfo | None]


@dataclass
class Event:
    """A task (de)allocated in the session; a handler may set ``err`` to refuse an allocation."""

    task: TaskInfo
    err: str = ""

    # (written out: the compiled core compiles it, not so the one dataclass would generate)
    def __init__(self, task: TaskInfo, err: str = "") -> None:
        self.task = task
        self.err = err


@dataclass
class EventHandler:
    allocate: Callable[[Event], None] | None = None
    deallocate: Callable[[Event], None] | None = None


def compare_task(lv: TaskInfo, rv: TaskInfo) -> bool:
    """Volcano's default task order: pod index (``a-b-<n>``), then creation time, then uid."""
    li, ri = lv.pod_index, rv.pod_index
    if li is None or ri is None or li == ri:
        if lv.creation_timestamp == rv.creation_timestamp:
            return lv.uid < rv.uid
        return lv.creation_timestamp < rv.creation_timestamp
    return li < ri


def _job_less(fns: Sequence[CompareFn[JobInfo]], lv: JobInfo, rv: JobInfo) -> bool:
    """The job order: the first plugin comparison that decides, else creation time, then uid."""
    for fn in fns:
        j = fn(lv, rv)
        if j != 0:
            return j < 0
    if lv.creation_timestamp == rv.creation_timestamp:
        return lv.uid < rv.uid
    return lv.creation_timestamp < rv.creation_timestamp


def _task_less(fns: Sequence[CompareFn[TaskInfo]], lv: TaskInfo, rv: TaskInfo) -> bool:
    """The task order: the first plugin comparison that decides, else :func:`compare_task`."""
    for fn in fns:
        j = fn(lv, rv)
        if j != 0:
            return j < 0
    return compare_task(lv, rv)


class Extensions:
    """The registries of plugin functions and their tier-wise combination."""

    def __init__(self, tiers: Sequence[Tier]) -> None:
        self.tiers = tuple(tiers)
        self._fns: dict[str, dict[str, Any]] = {}
        self._chains: dict[tuple[str, ExtensionPoint | None], list[list[Any]]] = {}
        self._flats: dict[tuple[str, ExtensionPoint | None], list[Any]] = {}
        self.event_handlers: list[EventHandler] = []

    # -- registration -------------------------------------------------------
    def _add(self, kind: str, plugin: str, fn: Any) -> None:
        self._fns.setdefault(kind, {})[plugin] = fn
        self._chains.clear()
        self._flats.clear()

    def add_job_order_fn(self, plugin: str, fn: CompareFn[JobInfo]) -> None:
        self._add("job_order", plugin, fn)

    def add_queue_order_fn(self, plugin: str, fn: CompareFn[QueueInfo]) -> None:
        self._add("queue_order", plugin, fn)

    def add_victim_queue_order_fn(self, plugin: str, fn: VictimCompareFn) -> None:
        self._add("victim_queue_order", plugin, fn)

    def add_task_order_fn(self, plugin: str, fn: CompareFn[TaskInfo]) -> None:
        self._add("task_order", plugin, fn)

    def add_job_valid_fn(self, plugin: str, fn: ValidateExFn) -> None:
        self._add("job_valid", plugin, fn)

    def add_job_ready_fn(self, plugin: str, fn: ValidateFn) -> None:
        self._add("job_ready", plugin, fn)

    def add_job_pipelined_fn(self, plugin: str, fn: VoteFn) -> None:
        self._add("job_pipelined", plugin, fn)

    def add_job_starving_fn(self, plugin: str, fn: ValidateFn) -> None:
        self._add("job_starving", plugin, fn)

    def add_job_enqueueable_fn(self, plugin: str, fn: VoteFn) -> None:
        self._add("job_enqueueable", plugin, fn)

    def add_job_enqueued_fn(self, plugin: str, fn: Callable[[JobInfo], None]) -> None:
        self._add("job_enqueued", plugin, fn)

    def add_overused_fn(self, plugin: str, fn: Callable[[QueueInfo], bool]) -> None:
        self._add("overused", plugin, fn)

    def add_allocatable_fn(self, plugin: str, fn: AllocatableFn) -> None:
        self._add("allocatable", plugin, fn)

    def add_preemptive_fn(self, plugin: str, fn: PreemptiveFn) -> None:
        self._add("preemptive", plugin, fn)

    def add_predicate_fn(self, plugin: str, fn: PredicateFn) -> None:
        self._add("predicate", plugin, fn)

    def add_pre_predicate_fn(self, plugin: str, fn: PrePredicateFn) -> None:
        self._add("pre_predicate", plugin, fn)

    def add_node_order_fn(self, plugin: str, fn: NodeOrderFn) -> None:
        self._add("node_order", plugin, fn)

    def add_batch_node_order_fn(self, plugin: str, fn: BatchNodeOrderFn) -> None:
        self._add("batch_node_order", plugin, fn)

    def add_best_node_fn(self, plugin: str, fn: BestNodeFn) -> None:
        self._add("best_node", plugin, fn)

    def add_preemptable_fn(self, plugin: str, fn: EvictableFn) -> None:
        self._add("preemptable", plugin, fn)

    def add_reclaimable_fn(self, plugin: str, fn: EvictableFn) -> None:
        self._add("reclaimable", plugin, fn)

    def add_victim_tasks_fns(self, plugin: str, fns: list[VictimTasksFn]) -> None:
        self._add("victim_tasks", plugin, fns)

    def add_target_job_fn(self, plugin: str, fn: TargetJobFn) -> None:
        self._add("target_job", plugin, fn)

    def add_reserved_nodes_fn(self, plugin: str, fn: Callable[[], None]) -> None:
        self._add("reserved_nodes", plugin, fn)

    def add_event_handler(self, handler: EventHandler) -> None:
        self.event_handlers.append(handler)

    # -- lookup ---------------------------------------------------------------
    def _tiers(self, kind: str, point: ExtensionPoint | None) -> list[list[Any]]:
        """Per tier, the registered functions of the plugins enabled for ``point``."""
        key = (kind, point)
        chain = self._chains.get(key)
        if chain is None:
            fns = self._fns.get(kind, {})
            chain = [
                [fns[p.name] for p in tier.plugins if p.name in fns and (point is None or p.enabled(point))]
                for tier in self.tiers
            ]
            self._chains[key] = chain
        return chain

    def _flat(self, kind: str, point: ExtensionPoint | None) -> list[Any]:
        """All tiers' functions in order (for points where tiers do not matter)."""
        key = (kind, point)
        flat = self._flats.get(key)
        if flat is None:
            flat = [fn for tier in self._tiers(kind, point) for fn in tier]
            self._flats[key] = flat
        return flat

    def has_fns(self, kind: str) -> bool:
        return bool(self._fns.get(kind))

    # -- orders -----------------------------------------------------------------
    def job_order_compare(self, lv: JobInfo, rv: JobInfo) -> int:
        for fn in self._flat("job_order", ExtensionPoint.JOB_ORDER):
            j: int = fn(lv, rv)
            if j != 0:
                return j
        return 0

    def job_order_fn(self, lv: JobInfo, rv: JobInfo) -> bool:
        return _job_less(self._flat("job_order", ExtensionPoint.JOB_ORDER), lv, rv)

    def queue_order_fn(self, lv: QueueInfo, rv: QueueInfo) -> bool:
        """Plugins first; then by name (records carry no creation time, Volcano's first key)."""
        for fn in self._flat("queue_order", ExtensionPoint.QUEUE_ORDER):
            j: int = fn(lv, rv)
            if j != 0:
                return j < 0
        return lv.uid < rv.uid

    def victim_queue_order_fn(self, lv: QueueInfo, rv: QueueInfo, preemptor: QueueInfo) -> bool:
        for fn in self._flat("victim_queue_order", None):
            j: int = fn(lv, rv, preemptor)
            if j != 0:
                return j < 0
        return not self.queue_order_fn(lv, rv)

    def task_compare(self, lv: TaskInfo, rv: TaskInfo) -> int:
        for fn in self._flat("task_order", ExtensionPoint.TASK_ORDER):
            j: int = fn(lv, rv)
            if j != 0:
                return j
        return 0

    def task_order_fn(self, lv: TaskInfo, rv: TaskInfo) -> bool:
        return _task_less(self._flat("task_order", ExtensionPoint.TASK_ORDER), lv, rv)

    def job_less(self) -> Callable[[JobInfo, JobInfo], bool]:
        """:meth:`job_order_fn` with the plugins' functions looked up once (see :meth:`task_less`)."""
        return partial(_job_less, self._flat("job_order", ExtensionPoint.JOB_ORDER))

    def task_less(self) -> Callable[[TaskInfo, TaskInfo], bool]:
        """:meth:`task_order_fn` with the plugins' functions looked up once (for a queue
        filled and drained while no plugin registers: registration replaces the list)."""
        return partial(_task_less, self._flat("task_order", ExtensionPoint.TASK_ORDER))

    # -- job verdicts -------------------------------------------------------------
    def job_valid(self, job: JobInfo) -> ValidateResult | None:
        for fn in self._flat("job_valid", None):
            vr: ValidateResult | None = fn(job)
            if vr is not None and not vr.passed:
                return vr
        return None

    def job_ready(self, job: JobInfo) -> bool:
        return all(fn(job) for fn in self._flat("job_ready", ExtensionPoint.JOB_READY))

    def _vote(self, kind: str, point: ExtensionPoint, job: JobInfo) -> bool:
        for tier in self._tiers(kind, point):
            permitted = False
            for fn in tier:
                res: int = fn(job)
                if res < 0:
                    return False
                if res > 0:
                    permitted = True
            if permitted:
                return True
        return True

    def job_pipelined(self, job: JobInfo) -> bool:
        return self._vote("job_pipelined", ExtensionPoint.JOB_PIPELINED, job)

    def job_enqueueable(self, job: JobInfo) -> bool:
        return self._vote("job_enqueueable", ExtensionPoint.JOB_ENQUEUED, job)

    def job_enqueued(self, job: JobInfo) -> None:
        for fn in self._flat("job_enqueued", ExtensionPoint.JOB_ENQUEUED):
            fn(job)

    def job_starving(self, job: JobInfo) -> bool:
        for tier in self._tiers("job_starving", ExtensionPoint.JOB_STARVING):
            if tier:
                return all(fn(job) for fn in tier)
        return False

    # -- queues ---------------------------------------------------------------
    def overused(self, queue: QueueInfo) -> bool:
        return any(fn(queue) for fn in self._flat("overused", ExtensionPoint.OVERUSED))

    def allocatable(self, queue: QueueInfo, task: TaskInfo) -> bool:
        return all(fn(queue, task) for fn in self._flat("allocatable", ExtensionPoint.ALLOCATABLE))

    def preemptive(self, queue: QueueInfo, candidates: list[TaskInfo]) -> bool:
        return all(fn(queue, candidates) for fn in self._flat("preemptive", ExtensionPoint.PREEMPTIVE))

    # -- nodes ----------------------------------------------------------------
    def predicate(self, task: TaskInfo, node: NodeInfo) -> FitError | None:
        for fn in self._flat("predicate", ExtensionPoint.PREDICATE):
            err: FitError | None = fn(task, node)
            if err is not None:
                return err
        return None

    def pre_predicate(self, task: TaskInfo) -> FitError | str | None:
        for fn in self._flat("pre_predicate", ExtensionPoint.PREDICATE):
            err: FitError | str | None = fn(task)
            if err:
                return err
        return None

    def node_order(self, task: TaskInfo, node: NodeInfo) -> float:
        return float(sum(fn(task, node) for fn in self._flat("node_order", ExtensionPoint.NODE_ORDER)))

    def batch_node_order(self, task: TaskInfo, nodes: Sequence[NodeInfo]) -> dict[str, float]:
        scores: dict[str, float] = {}
        for fn in self._flat("batch_node_order", ExtensionPoint.NODE_ORDER):
            for name, score in fn(task, nodes).items():
                scores[name] = scores.get(name, 0.0) + score
        return scores

    def best_node(self, task: TaskInfo, scores: dict[float, list[NodeInfo]]) -> NodeInfo | None:
        for fn in self._flat("best_node", ExtensionPoint.BEST_NODE):
            node: NodeInfo | None = fn(task, scores)
            if node is not None:
                return node
        return None

    # -- eviction ---------------------------------------------------------------
    def _victims(
        self, kind: str, point: ExtensionPoint, evictor: TaskInfo, evictees: list[TaskInfo]
    ) -> list[TaskInfo] | None:
        victims: list[TaskInfo] | None = None
        for tier in self._tiers(kind, point):
            for fn in tier:
                candidates, abstain = fn(evictor, evictees)
                if abstain == 0:
                    continue
                if not candidates:
                    victims = None
                    break
                if victims is None:
                    victims = list(candidates)
                else:
                    uids = {c.uid for c in candidates}
                    # An empty intersection is Go's nil slice: the next plugin starts afresh.
                    victims = [v for v in victims if v.uid in uids] or None
            if victims is not None:
                return victims
        return victims

    def preemptable(self, preemptor: TaskInfo, preemptees: list[TaskInfo]) -> list[TaskInfo] | None:
        """Tasks every deciding plugin lets ``preemptor`` evict; ``None`` when no tier decides."""
        return self._victims("preemptable", ExtensionPoint.PREEMPTABLE, preemptor, preemptees)

    def reclaimable(self, reclaimer: TaskInfo, reclaimees: list[TaskInfo]) -> list[TaskInfo] | None:
        return self._victims("reclaimable", ExtensionPoint.RECLAIMABLE, reclaimer, reclaimees)

    def victim_tasks(self, tasks: list[TaskInfo]) -> list[TaskInfo]:
        for tier in self._tiers("victim_tasks", ExtensionPoint.VICTIM):
            found: dict[str, TaskInfo] = {}
            for fns in tier:
                for fn in fns:
                    for victim in fn(tasks):
                        found[victim.uid] = victim
            if found:
                return list(found.values())
        return []

    def target_job(self, jobs: list[JobInfo]) -> JobInfo | None:
        for fn in self._flat("target_job", ExtensionPoint.TARGET_JOB):
            job: JobInfo | None = fn(jobs)
            return job
        return None

    def reserved_nodes(self) -> None:
        for fn in self._flat("reserved_nodes", ExtensionPoint.RESERVED_NODES):
            fn()
