"""The vector form of the predicates plugin: one pass/fail mask over the session's nodes.

Node labels, taints and cordons do not change within a session, so the stable filters
(NodeUnschedulable, NodeAffinity, TaintToleration) give a mask that depends only on the
pod's node selector, node affinity and tolerations; it is computed once per distinct set
of those and reused (the tasks of a gang usually share it). The pod count is a vector
comparison on the matrix's task counts. Host ports and inter-pod affinity, which depend
on the placed pods, are checked per node by the scalar filters, only for pods that use
them. Error codes come from :meth:`PredicatesPlugin.statuses`, the oracle of the mask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import numpy as np
from numpy.typing import NDArray

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.resources import PODS
from pyroclast.scheduler.api import TaskInfo
from pyroclast.scheduler.framework.vector import BoolArray, IndexArray, NodeMatrix
from pyroclast.scheduler.framework.vector_errors import ErrorTable
from pyroclast.scheduler.plugins.predicate_checks import (
    check_inter_pod_affinity,
    check_node_affinity,
    check_node_ports,
    check_node_unschedulable,
    check_taint_toleration,
)

if TYPE_CHECKING:
    from pyroclast.scheduler.framework import Session
    from pyroclast.scheduler.plugins.predicates import PredicatesPlugin

__all__ = ["PredicatesForm"]


class PredicatesForm:
    """Masks and error codes of :class:`PredicatesPlugin` over matrix nodes."""

    def __init__(self, plugin: PredicatesPlugin, ssn: Session, matrix: NodeMatrix) -> None:
        del ssn
        self.plugin = plugin
        self.matrix = matrix
        names = matrix.space.names
        if PODS in names:
            self.max_tasks: NDArray[np.int64] = matrix.allocatable[names.index(PODS)] // 1000
        else:
            self.max_tasks = np.zeros(len(matrix.nodes), dtype=np.int64)
        self._stable: dict[bytes, BoolArray] = {}

    def _stable_fail(self, pod: PodRecord) -> BoolArray:
        aff = pod.affinity.node_affinity if pod.affinity is not None else None
        key = msgspec.json.encode((pod.node_selector, aff, pod.tolerations))
        fail = self._stable.get(key)
        if fail is None:
            p = self.plugin
            checks = [check_node_unschedulable]
            if p.node_affinity:
                checks.append(check_node_affinity)
            if p.taint_toleration:
                checks.append(check_taint_toleration)
            fail = np.array(
                [any(c(pod, n.record) is not None for c in checks) for n in self.matrix.nodes], dtype=np.bool_
            )
            self._stable[key] = fail
        return fail

    def mask(self, task: TaskInfo) -> BoolArray:
        m, p, pod = self.matrix, self.plugin, task.pod
        m.sync()
        fail = self._stable_fail(pod) | (m.ntasks >= self.max_tasks)
        dynamic_ports = p.node_ports and any(hp.port > 0 for hp in pod.host_ports)
        dynamic_affinity = p.pod_affinity and p.needs_inter_pod(task)
        if dynamic_ports or dynamic_affinity:
            state = p.inter_pod_state_for(task) if dynamic_affinity else None
            for i in np.flatnonzero(~fail).tolist():
                node = m.nodes[i]
                ports = check_node_ports(pod, (t.pod for t in node.tasks.values())) if dynamic_ports else None
                affinity = check_inter_pod_affinity(state, node.record) if state is not None else None
                fail[i] = ports is not None or affinity is not None
        out: BoolArray = ~fail
        return out

    def codes(self, task: TaskInfo, idx: IndexArray, table: ErrorTable) -> NDArray[np.int64]:
        nodes = self.matrix.nodes
        return np.array(
            [
                table.code(task.namespace, task.name, tuple(self.plugin.statuses(task, nodes[i])))
                for i in idx.tolist()
            ],
            dtype=np.int64,
        )
