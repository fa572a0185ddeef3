"""The vector form of the predicates plugin: one pass/fail mask over the session's nodes.

Node labels, taints and cordons do not change within a session, so the stable filters
(NodeUnschedulable, NodeAffinity, TaintToleration) give a mask that depends only on the
pod's node selector, node affinity and tolerations; it is computed once per distinct set
of those and reused (the tasks of a gang usually share it). The pod count is a vector
comparison on the matrix's task counts. Host ports and inter-pod affinity, which depend
on the placed pods, are checked per node by the scalar filters, only for pods that use
them. Error codes are built from the same parts: the pod-count failure, the stable
filters' first failing status per node (kept with the stable mask), and the dynamic
checks on the nodes the stable filters pass; :meth:`PredicatesPlugin.statuses` is the
oracle of both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import numpy as np
from numpy.typing import NDArray

from pyroclast.common.bus.messages import PodRecord
from pyroclast.common.resources import PODS
from pyroclast.scheduler.api import Status, StatusCode, TaskInfo
from pyroclast.scheduler.framework.vector import BoolArray, IndexArray, NodeMatrix
from pyroclast.scheduler.framework.vector_cache import ColumnCache
from pyroclast.scheduler.framework.vector_errors import ErrorTable
from pyroclast.scheduler.plugins.predicate_checks import (
    ERR_POD_NUMBER_EXCEEDED,
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

#: The shape key of a pod with no node selector, node affinity or tolerations.
_PLAIN = msgspec.json.encode(({}, None, []))
_POD_COUNT = Status(StatusCode.UNSCHEDULABLE, ERR_POD_NUMBER_EXCEEDED, "predicates")


class _Stable:
    """The stable filters' verdict for one pod shape: a fail mask and, per node, the index
    of its first failing status in ``statuses`` (-1: passes)."""

    __slots__ = ("fail", "first", "statuses")

    def __init__(self, first: NDArray[np.int64], statuses: list[Status]) -> None:
        self.first = first
        self.statuses = statuses
        self.fail: BoolArray = first >= 0


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
        self._stable_by_shape: dict[bytes, _Stable] = {}
        # by the pod's id, the pod kept alongside (so the id stays its own)
        self._stable_by_pod: dict[int, tuple[PodRecord, _Stable]] = {}
        # the pod whose filters were looked up last, and their result
        self._last_stable: tuple[PodRecord, _Stable] | None = None
        # Static masks by id of their _Stable (kept in _stable_by_shape for the session).
        self._static: ColumnCache[np.bool_] = ColumnCache(matrix)
        # The last mask: it changes only with the placed pods, i.e. with the plugin's version.
        self._last: tuple[str, int, BoolArray] | None = None
        # Error codes by id of a _Stable: the table they are codes of, the per-node base, the lut.
        self._luts: dict[int, tuple[ErrorTable, NDArray[np.int64], NDArray[np.int64]]] = {}

    def _stable(self, pod: PodRecord) -> _Stable:
        known = self._stable_by_pod.get(id(pod))
        if known is not None and known[0] is pod:
            return known[1]
        aff = pod.affinity.node_affinity if pod.affinity is not None else None
        last = self._last_stable
        if last is not None:
            lp = last[0]
            la = lp.affinity.node_affinity if lp.affinity is not None else None
            # (struct equality: the same fields, so the same key below)
            same = lp.node_selector == pod.node_selector and list(lp.node_selector) == list(pod.node_selector)
            if same and la == aff and lp.tolerations == pod.tolerations:
                self._stable_by_pod[id(pod)] = (pod, last[1])
                return last[1]
        if not pod.node_selector and aff is None and not pod.tolerations:
            key = _PLAIN
        else:
            key = msgspec.json.encode((pod.node_selector, aff, pod.tolerations))
        found = self._stable_by_shape.get(key)
        if found is None:
            p = self.plugin
            checks = [check_node_unschedulable]
            if p.node_affinity:
                checks.append(check_node_affinity)
            if p.taint_toleration:
                checks.append(check_taint_toleration)
            statuses: list[Status] = []
            index: dict[Status, int] = {}
            first = np.full(len(self.matrix.nodes), -1, dtype=np.int64)
            for i, n in enumerate(self.matrix.nodes):
                for check in checks:
                    st = check(pod, n.record)
                    if st is not None:
                        code = index.get(st)
                        if code is None:
                            code = index[st] = len(statuses)
                            statuses.append(st)
                        first[i] = code
                        break
            found = self._stable_by_shape[key] = _Stable(first, statuses)
        self._stable_by_pod[id(pod)] = (pod, found)
        self._last_stable = (pod, found)
        return found

    def _dynamic(self, task: TaskInfo) -> tuple[bool, bool]:
        """Whether the host-port and the inter-pod filters have anything to check for ``task``."""
        p = self.plugin
        ports = p.node_ports and any(hp.port > 0 for hp in task.pod.host_ports)
        return ports, p.pod_affinity and p.needs_inter_pod(task)

    def mask(self, task: TaskInfo) -> BoolArray:
        """Nodes the task passes (read-only: kept until the next allocation event)."""
        m, p, pod = self.matrix, self.plugin, task.pod
        last = self._last
        if last is not None and last[0] == task.uid and last[1] == p.version:
            return last[2]
        m.sync()
        stable = self._stable(pod)
        dynamic_ports, dynamic_affinity = self._dynamic(task)
        if not (dynamic_ports or dynamic_affinity):
            # the stable filters and the pod count: kept per shape, patched on changed nodes
            ntasks, max_tasks, fail = m.ntasks, self.max_tasks, stable.fail
            passing = self._static.get(
                id(stable),
                lambda at: self._static_mask(stable, at),
                lambda i: not (fail[i] or ntasks[i] >= max_tasks[i]),
            )
            self._last = (task.uid, p.version, passing)
            return passing
        fail = stable.fail | (m.ntasks >= self.max_tasks)
        if dynamic_ports or dynamic_affinity:
            state = p.inter_pod_state_for(task) if dynamic_affinity else None
            for i in (~fail).nonzero()[0].tolist():
                node = m.nodes[i]
                ports = check_node_ports(pod, (t.pod for t in node.tasks.values())) if dynamic_ports else None
                affinity = check_inter_pod_affinity(state, node.record) if state is not None else None
                fail[i] = ports is not None or affinity is not None
        out: BoolArray = ~fail
        out.flags.writeable = False
        self._last = (task.uid, p.version, out)
        return out

    def _static_mask(self, stable: _Stable, idx: IndexArray) -> BoolArray:
        """Nodes ``idx`` that pass the stable filters and have room for one more pod."""
        out: BoolArray = ~(stable.fail[idx] | (self.matrix.ntasks[idx] >= self.max_tasks[idx]))
        return out

    def _code_lut(self, stable: _Stable, table: ErrorTable) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Per node ``2 * first failing status`` (``2 * len(statuses)``: none), and the code of
        each such value plus the pod-count failure (0 or 1); kept per shape and table."""
        found = self._luts.get(id(stable))
        if found is not None and found[0] is table:
            return found[1], found[2]
        n = len(stable.statuses)
        base = np.where(stable.first >= 0, 2 * stable.first, 2 * n)
        lut = np.empty(2 * n + 2, dtype=np.int64)
        for c in range(n):
            lut[2 * c] = table.status_code((stable.statuses[c],))
            lut[2 * c + 1] = table.status_code((_POD_COUNT, stable.statuses[c]))
        lut[2 * n] = table.status_code(())
        lut[2 * n + 1] = table.status_code((_POD_COUNT,))
        self._luts[id(stable)] = (table, base, lut)
        return base, lut

    def codes(self, task: TaskInfo, idx: IndexArray, table: ErrorTable) -> NDArray[np.int64]:
        """The codes of the statuses :meth:`PredicatesPlugin.statuses` gives on nodes ``idx``."""
        m, p, pod = self.matrix, self.plugin, task.pod
        m.sync()
        stable = self._stable(pod)
        count = m.ntasks[idx] >= self.max_tasks[idx]
        dynamic_ports, dynamic_affinity = self._dynamic(task)
        if not (dynamic_ports or dynamic_affinity):
            # (pod count, first stable failure) -> code, looked up (the same codes as below)
            base, lut = self._code_lut(stable, table)
            fast: NDArray[np.int64] = lut[base[idx] + count]
            return fast
        first = stable.first[idx]
        out = np.empty(len(idx), dtype=np.int64)
        # Nodes a stable filter rejects: the pod count (if it fails), then that filter.
        hit = first >= 0
        if hit.any():
            combo = first[hit] * 2 + count[hit]
            lut = np.full(2 * len(stable.statuses), -1, dtype=np.int64)
            for c in np.bincount(combo, minlength=len(lut)).nonzero()[0].tolist():
                lut[c] = table.status_code(((_POD_COUNT,) if c & 1 else ()) + (stable.statuses[c >> 1],))
            out[hit] = lut[combo]
        rest = ~hit
        if not rest.any():
            return out
        state = p.inter_pod_state_for(task) if dynamic_affinity else None
        nodes = m.nodes
        for j in rest.nonzero()[0].tolist():
            node = nodes[int(idx[j])]
            statuses: list[Status] = [_POD_COUNT] if count[j] else []
            if dynamic_ports:
                st = check_node_ports(pod, (t.pod for t in node.tasks.values()))
                if st is not None:
                    statuses.append(st)
            if state is not None:
                st = check_inter_pod_affinity(state, node.record)
                if st is not None:
                    statuses.append(st)
            out[j] = table.status_code(tuple(statuses))
        return out
