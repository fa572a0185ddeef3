"""The scheduling framework: sessions, statements, the plugin and action registries.

A cycle is ``run_session(snapshot, conf)``: the snapshot is cloned, each plugin of the
conf is built from :data:`PLUGINS` and its ``on_session_open`` registers functions on the
session; the conf's actions run in order (from :data:`ACTIONS`); ``close_session`` calls
each plugin's ``on_session_close`` and returns a :class:`SessionResult` (bind, evict and
podgroup-status decisions, and explanations for jobs left waiting).

Writing a plugin::

    class MyPlugin(Plugin):
        name = "myplugin"

        def on_session_open(self, ssn: Session) -> None:
            ssn.add_job_order_fn(self.name, lambda l, r: ...)   # -1 / 0 / 1

    register_plugin(MyPlugin.name, MyPlugin)   # builder: Arguments -> Plugin

then add the module to ``pyroclast.scheduler.plugins`` so it is registered on import.

Extension points (``Session.add_*``; the conf switch that gates each in brackets;
how tiers combine them is in :mod:`.extensions`):

* ``job_order_fn`` [enableJobOrder], ``queue_order_fn`` [enableQueueOrder],
  ``task_order_fn`` [enableTaskOrder]: ``(l, r) -> int``;
  ``victim_queue_order_fn`` (no switch): ``(l, r, preemptor_queue) -> int``;
* ``job_valid_fn`` (no switch): ``job -> ValidateResult | None``;
* ``job_ready_fn`` [enableJobReady], ``job_starving_fn`` [enableJobStarving]: ``job -> bool``;
* ``job_pipelined_fn`` [enableJobPipelined], ``job_enqueueable_fn`` [enableJobEnqueued]:
  ``job -> PERMIT | ABSTAIN | REJECT``; ``job_enqueued_fn`` [enableJobEnqueued]: ``job -> None``;
* ``overused_fn`` [enabledOverused]: ``queue -> bool``;
  ``allocatable_fn`` [enabledAllocatable]: ``(queue, task) -> bool``;
  ``preemptive_fn`` [enablePreemptive]: ``(queue, candidates) -> bool``;
* ``predicate_fn`` [enablePredicate]: ``(task, node) -> FitError | None``;
  ``pre_predicate_fn`` [enablePredicate]: ``task -> FitError | str | None``;
* ``node_order_fn`` [enableNodeOrder]: ``(task, node) -> float``;
  ``batch_node_order_fn`` [enableNodeOrder]: ``(task, nodes) -> {node: score}``;
  ``best_node_fn`` [enableBestNode]: ``(task, {score: [nodes]}) -> node | None``;
* ``preemptable_fn`` [enablePreemptable], ``reclaimable_fn`` [enableReclaimable]:
  ``(evictor, evictees) -> (victims, ABSTAIN or not)``; ``victim_tasks_fns`` [enabledVictim];
  ``target_job_fn`` [enableTargetJob]; ``reserved_nodes_fn`` [enableReservedNodes];
* ``add_event_handler(EventHandler(allocate=..., deallocate=...))``: called whenever a
  task is allocated or pipelined, or deallocated (discard, evict), e.g. to keep shares.

What a plugin may read: ``ssn.jobs`` (:class:`~pyroclast.scheduler.api.JobInfo`: tasks by
status, ``allocated``, ``total_request``, ``min_resources``, ``phase``, ``queue``,
``priority``), ``ssn.nodes``/``ssn.node_list`` (``allocatable``, ``idle``, ``used``,
``releasing``, ``pipelined``, ``future_idle()``, ``tasks``, ``record`` for labels and
taints), ``ssn.queues`` (weight, capability, deserved, guarantee, state),
``ssn.total_resource``, ``ssn.now``, ``ssn.uid`` and ``ssn.conf``. Tasks keep their pod
record in ``task.pod`` (affinity, tolerations, node selector, host ports).

A minimal resource fit (:func:`.nodes.resource_fit`) is part of allocate itself, so tasks
never over-commit a node even before a predicates plugin is configured.
"""

from pyroclast.scheduler.framework.extensions import (
    ABSTAIN,
    PERMIT,
    REJECT,
    Event,
    EventHandler,
    Extensions,
    compare_task,
)
from pyroclast.scheduler.framework.nodes import (
    NodeSearch,
    PredicateHelper,
    predicate_for_allocate,
    prioritize_nodes,
    resource_fit,
    select_best_node,
)
from pyroclast.scheduler.framework.pqueue import PriorityQueue
from pyroclast.scheduler.framework.registry import (
    ACTIONS,
    PLUGINS,
    Action,
    Plugin,
    load_builtins,
    register_action,
    register_plugin,
)
from pyroclast.scheduler.framework.session import (
    Session,
    SessionResult,
    close_session,
    open_session,
    run_session,
)
from pyroclast.scheduler.framework.statement import Operation, OperationKind, Statement

__all__ = [
    "ABSTAIN",
    "ACTIONS",
    "PERMIT",
    "PLUGINS",
    "REJECT",
    "Action",
    "Event",
    "EventHandler",
    "Extensions",
    "NodeSearch",
    "Operation",
    "OperationKind",
    "Plugin",
    "PredicateHelper",
    "PriorityQueue",
    "Session",
    "SessionResult",
    "Statement",
    "close_session",
    "compare_task",
    "load_builtins",
    "open_session",
    "predicate_for_allocate",
    "prioritize_nodes",
    "register_action",
    "register_plugin",
    "resource_fit",
    "run_session",
    "select_best_node",
]
