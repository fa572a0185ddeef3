"""Predicates: filter nodes for a task as Volcano's ``predicates`` plugin does.

Order and short-circuit follow Volcano's ``Predicate``: the pod-count check (not
aborting), then the stable filters NodeUnschedulable, NodeAffinity, TaintToleration
(each failure is UnschedulableAndUnresolvable and stops), then NodePorts (Unschedulable,
continues) and InterPodAffinity. Every failing status is kept in the FitError, so the
job's message counts each reason. Resource fit is allocate's own (framework).

Arguments: ``predicate.NodeAffinityEnable``, ``predicate.NodePortsEnable``,
``predicate.TaintTolerationEnable``, ``predicate.PodAffinityEnable`` (all default true).
Volume, topology-spread and DRA filters have nothing to check in the records.

The inter-pod affinity counts are computed once per task and cluster state (a counter
bumped by allocate/deallocate events invalidates them); placed pods are the session's
node tasks, so tasks placed earlier in the session count, as Volcano's event handler
makes them count. Existing pods' required anti-affinity is read only on the nodes that
had such pods when the session opened (Volcano's per-session node list); the plugin
counts the pods with required anti-affinity on those nodes (recounting a node when such a
pod moves on or off it), so a pod with no terms of its own skips the filter in O(1) when
there are none. The vector form (:mod:`.predicates_vector`) gives the same verdicts as
masks; :meth:`statuses` is its oracle.
"""

from __future__ import annotations

from pyroclast.scheduler.api import FitError, NodeInfo, Status, TaskInfo
from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.framework import Event, EventHandler, Plugin, Session, register_plugin
from pyroclast.scheduler.framework.vector import NodeMatrix
from pyroclast.scheduler.framework.vector_forms import register_vector_predicate
from pyroclast.scheduler.plugins.affinity import required_node_names
from pyroclast.scheduler.plugins.predicate_checks import (
    InterPodState,
    check_inter_pod_affinity,
    check_node_affinity,
    check_node_ports,
    check_node_unschedulable,
    check_pod_count,
    check_taint_toleration,
    inter_pod_state,
    required_affinity_terms,
    required_anti_affinity_terms,
)

__all__ = [
    "NODE_AFFINITY_ENABLE",
    "NODE_PORTS_ENABLE",
    "POD_AFFINITY_ENABLE",
    "TAINT_TOLERATION_ENABLE",
    "PredicatesPlugin",
]

NODE_AFFINITY_ENABLE = "predicate.NodeAffinityEnable"
NODE_PORTS_ENABLE = "predicate.NodePortsEnable"
TAINT_TOLERATION_ENABLE = "predicate.TaintTolerationEnable"
POD_AFFINITY_ENABLE = "predicate.PodAffinityEnable"
ERR_AFFINITY_CONFLICT = "pod affinity terms conflict"


class PredicatesPlugin(Plugin):
    name = "predicates"

    def __init__(self, arguments: Arguments | None = None) -> None:
        super().__init__(arguments)
        args = self.arguments
        self.node_affinity = args.get_bool(NODE_AFFINITY_ENABLE, True)
        self.node_ports = args.get_bool(NODE_PORTS_ENABLE, True)
        self.taint_toleration = args.get_bool(TAINT_TOLERATION_ENABLE, True)
        self.pod_affinity = args.get_bool(POD_AFFINITY_ENABLE, True)
        self._version = 0
        self._inter_pod: dict[str, tuple[int, InterPodState]] = {}
        self._anti_on_node: dict[str, int] = {}
        self._placed_anti = 0
        self._ssn: Session | None = None
        self.anti_nodes: set[str] | None = None

    def on_session_open(self, ssn: Session) -> None:
        self._ssn = ssn
        self._anti_on_node = {}
        for n in ssn.nodes.values():
            count = _anti_count(n)
            if count:
                self._anti_on_node[n.name] = count
        anti_nodes = self.anti_nodes = set(self._anti_on_node)
        self._placed_anti = sum(self._anti_on_node.values())

        def changed(event: Event) -> None:
            self._version += 1
            task = event.task
            if task.node_name in anti_nodes and required_anti_affinity_terms(task.pod):
                self._recount(task.node_name)

        ssn.add_event_handler(EventHandler(allocate=changed, deallocate=changed))
        ssn.add_pre_predicate_fn(self.name, self.pre_predicate)
        ssn.add_predicate_fn(self.name, self.predicate)

    def on_session_close(self, ssn: Session) -> None:
        self._inter_pod.clear()
        self._ssn = None

    # -- the filter chain ---------------------------------------------------------------
    def pre_predicate(self, task: TaskInfo) -> str | None:
        """NodeAffinity's pre-filter: required terms pinning node names that cannot all hold."""
        if not self.node_affinity:
            return None
        aff = task.pod.affinity
        na = aff.node_affinity if aff is not None else None
        required = na.required_during_scheduling_ignored_during_execution if na is not None else None
        if required is None:
            return None
        names = required_node_names(required.node_selector_terms or [])
        if names is not None and not names:
            return f"plugin NodeAffinity pre-predicates failed {ERR_AFFINITY_CONFLICT}"
        return None

    def inter_pod_state_for(self, task: TaskInfo) -> InterPodState:
        cached = self._inter_pod.get(task.uid)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        nodes = self._ssn.nodes.values() if self._ssn is not None else ()
        placed = ((n.record, [t.pod for t in n.tasks.values()]) for n in nodes)
        state = inter_pod_state(task.pod, placed, self.anti_nodes)
        self._inter_pod[task.uid] = (self._version, state)
        return state

    @property
    def version(self) -> int:
        """Bumped by every allocation and deallocation event of the session."""
        return self._version

    def _recount(self, node_name: str) -> None:
        """Recount one node's pods with required anti-affinity after one of them moved."""
        node = self._ssn.nodes.get(node_name) if self._ssn is not None else None
        count = _anti_count(node) if node is not None else 0
        self._placed_anti += count - self._anti_on_node.get(node_name, 0)
        self._anti_on_node[node_name] = count

    def placed_anti_count(self) -> int:
        """Pods with required anti-affinity on the nodes that had such pods at open."""
        return self._placed_anti

    def needs_inter_pod(self, task: TaskInfo) -> bool:
        """Skip the filter (Kubernetes' pre-filter Skip) when nothing could fail it."""
        if required_affinity_terms(task.pod) or required_anti_affinity_terms(task.pod):
            return True
        return self._placed_anti > 0

    def statuses(self, task: TaskInfo, node: NodeInfo) -> list[Status]:
        """The failing statuses of ``task`` on ``node``, in Volcano's order and short-circuit."""
        pod, rec = task.pod, node.record
        out: list[Status] = []
        count = check_pod_count(node)
        if count is not None:
            out.append(count)
        stable = [check_node_unschedulable]
        if self.node_affinity:
            stable.append(check_node_affinity)
        if self.taint_toleration:
            stable.append(check_taint_toleration)
        for check in stable:
            st = check(pod, rec)
            if st is not None:
                out.append(st)
                return out
        if self.node_ports:
            st = check_node_ports(pod, (t.pod for t in node.tasks.values()))
            if st is not None:
                out.append(st)
        if self.pod_affinity and self.needs_inter_pod(task):
            st = check_inter_pod_affinity(self.inter_pod_state_for(task), rec)
            if st is not None:
                out.append(st)
        return out

    def predicate(self, task: TaskInfo, node: NodeInfo) -> FitError | None:
        statuses = self.statuses(task, node)
        if not statuses:
            return None
        return FitError.of(task, node, *statuses)


def _anti_count(node: NodeInfo) -> int:
    return sum(1 for t in node.tasks.values() if required_anti_affinity_terms(t.pod))


def _vector_form(plugin: PredicatesPlugin, ssn: Session, matrix: NodeMatrix) -> object:
    from pyroclast.scheduler.plugins.predicates_vector import PredicatesForm

    return PredicatesForm(plugin, ssn, matrix)


register_plugin(PredicatesPlugin.name, PredicatesPlugin)
register_vector_predicate(PredicatesPlugin.name, _vector_form)
