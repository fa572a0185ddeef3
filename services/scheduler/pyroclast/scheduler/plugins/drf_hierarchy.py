"""Hierarchical DRF (Volcano's drf with ``enableHierarchy``): queues form a weighted tree.

A queue's path comes from its ``volcano.sh/hierarchy`` annotation (``root/eng/dev``) and
the weights of the path's nodes from ``volcano.sh/hierarchy-weights`` (``100/50/50``;
below 1 or unparsable reads 1). Jobs are leaves under their queue's path. An inner node's
allocation is its children's, each non-saturated child rescaled to the smallest dominant
share among them (saturated children count as they are); a node is saturated when all its
children are, a job when it holds all it requests of a resource or asks for one nobody
can get any more of. Queues compare top-down by ``share / weight``, non-saturated first.

Inner allocations are floats (the rescaling is fractional, as in Volcano); job leaves keep
the integer allocations of :class:`~pyroclast.scheduler.plugins.drf.DrfAttr`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import JobInfo, QueueInfo, TaskInfo
from pyroclast.scheduler.framework import PERMIT
from pyroclast.scheduler.plugins.drf import DrfAttr, DrfPlugin, calculate_share, share

__all__ = [
    "HIERARCHY_ANNOTATION",
    "HIERARCHY_WEIGHTS_ANNOTATION",
    "HNode",
    "HierarchicalDrf",
    "HierarchyTree",
    "resource_saturated",
]

HIERARCHY_ANNOTATION = "volcano.sh/hierarchy"
HIERARCHY_WEIGHTS_ANNOTATION = "volcano.sh/hierarchy-weights"

Amounts = dict[str, float]


def _amounts(r: Resource) -> Amounts:
    return {name: float(v) for name, v in r}


def _share_of(alloc: Amounts, total: Resource) -> tuple[str, float]:
    res, dominant = 0.0, ""
    for name in total.names():
        s = share(alloc.get(name, 0.0), total.get(name))
        if s > res:
            res, dominant = s, name
    return dominant, res


def resource_saturated(allocated: Amounts, request: Resource, demanding: set[str]) -> bool:
    """Volcano's ``resourceSaturated`` over the resources the job holds."""
    for name, amount in allocated.items():
        if amount <= 0:
            continue
        req = request.get(name)
        if amount != 0 and req != 0 and amount >= req:
            return True
        if name not in demanding and req != 0:
            return True
    return False


@dataclass
class HNode:
    """A node of the tree; leaves (``children is None``) are jobs and point at their DrfAttr."""

    name: str
    weight: float = 1.0
    children: dict[str, HNode] | None = field(default_factory=dict)
    job_attr: DrfAttr | None = None
    request: Resource = field(default_factory=Resource)
    allocated: Amounts = field(default_factory=dict)
    share: float = 0.0
    saturated: bool = False

    def alloc(self) -> Amounts:
        return _amounts(self.job_attr.allocated) if self.job_attr is not None else self.allocated

    def node_share(self) -> float:
        return self.job_attr.share if self.job_attr is not None else self.share

    def clone(self) -> HNode:
        attr = None
        if self.job_attr is not None:
            a = self.job_attr
            attr = DrfAttr(a.allocated, a.share, a.dominant_resource)
        children = None if self.children is None else {k: c.clone() for k, c in self.children.items()}
        return HNode(
            self.name,
            self.weight,
            children,
            attr,
            self.request,
            dict(self.allocated),
            self.share,
            self.saturated,
        )


def _weight(raw: str) -> float:
    try:
        w = float(raw)
    except ValueError:
        w = 0.0
    return w if w >= 1 else 1.0


class HierarchyTree:
    """The hierarchical shares of one session."""

    def __init__(self, total: Resource) -> None:
        self.total = total
        self.total_allocated = Resource()
        self.root = HNode("root")

    def clone(self) -> HierarchyTree:
        tree = HierarchyTree(self.total)
        tree.total_allocated = self.total_allocated
        tree.root = self.root.clone()
        return tree

    def _insert(self, job_uid: str, attr: DrfAttr, request: Resource, hierarchy: str, weights: str) -> None:
        node = self.root
        paths, ws = hierarchy.split("/"), weights.split("/")
        for i in range(1, len(paths)):
            assert node.children is not None
            child = node.children.get(paths[i])
            if child is None:
                child = HNode(paths[i], _weight(ws[i]) if i < len(ws) else 1.0)
                node.children[paths[i]] = child
            node = child
        assert node.children is not None
        node.children[job_uid] = HNode(job_uid, 1.0, None, attr, request)

    def _update(self, node: HNode, demanding: set[str]) -> None:
        if node.children is None:
            assert node.job_attr is not None
            node.saturated = resource_saturated(node.alloc(), node.request, demanding)
            return
        mdr = 1.0
        for child in node.children.values():
            self._update(child, demanding)
            if child.node_share() != 0 and not child.saturated:
                mdr = min(mdr, _share_of(child.alloc(), self.total)[1])
        alloc: Amounts = {}
        saturated = True
        for child in node.children.values():
            if not child.saturated:
                saturated = False
            s = child.node_share()
            if s == 0:
                continue
            scale = 1.0 if child.saturated else mdr / s
            for name, amount in child.alloc().items():
                alloc[name] = alloc.get(name, 0.0) + amount * scale
        node.allocated = alloc
        node.share = _share_of(alloc, self.total)[1]
        node.saturated = saturated

    def update(self, job_uid: str, attr: DrfAttr, request: Resource, hierarchy: str, weights: str) -> None:
        """Volcano's ``UpdateHierarchicalShare``: (re)place the job's leaf, recompute the tree."""
        demanding = {n for n in self.total.names() if self.total_allocated.get(n) < self.total.get(n)}
        self._insert(job_uid, attr, request, hierarchy, weights)
        self._update(self.root, demanding)

    def compare_queues(self, lpath: str, rpath: str) -> float:
        """Negative when the left queue should go first."""
        lnode: HNode | None = self.root
        rnode: HNode | None = self.root
        lp, rp = lpath.split("/"), rpath.split("/")
        depth = min(len(lp), len(rp))
        for i in range(depth):
            if lnode is None or rnode is None:
                return 0.0
            if not lnode.saturated and rnode.saturated:
                return -1.0
            if lnode.saturated and not rnode.saturated:
                return 1.0
            lv, rv = lnode.node_share() / lnode.weight, rnode.node_share() / rnode.weight
            if lv != rv:
                return lv - rv
            if i < depth - 1:
                lnode = lnode.children.get(lp[i + 1]) if lnode.children else None
                rnode = rnode.children.get(rp[i + 1]) if rnode.children else None
        return 0.0


def leaf_attr(allocated: Resource, total: Resource) -> DrfAttr:
    dominant, value = calculate_share(allocated, total)
    return DrfAttr(allocated, value, dominant)


def queue_paths(annotations: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """(hierarchy, weights) from a queue's annotations."""
    ann = dict(annotations)
    return ann.get(HIERARCHY_ANNOTATION, ""), ann.get(HIERARCHY_WEIGHTS_ANNOTATION, "")


class HierarchicalDrf:
    """The hierarchy-enabled part of the drf plugin: queue order, reclaim, share updates."""

    def __init__(self, drf: DrfPlugin, jobs: dict[str, JobInfo], queues: dict[str, QueueInfo]) -> None:
        self.drf, self.jobs, self.queues = drf, jobs, queues
        self.tree = HierarchyTree(drf.total)
        for uid, job in jobs.items():
            attr = drf.job_attrs[uid]
            self.tree.total_allocated = self.tree.total_allocated.add(attr.allocated)
            self.tree.update(uid, attr, job.total_request, *self._paths(job.queue))

    def _paths(self, queue: str) -> tuple[str, str]:
        q = self.queues.get(queue)
        return queue_paths(q.record.annotations.items()) if q is not None else ("", "")

    def queue_order(self, lv: QueueInfo, rv: QueueInfo) -> int:
        ret = self.tree.compare_queues(self._paths(lv.uid)[0], self._paths(rv.uid)[0])
        return -1 if ret < 0 else (1 if ret > 0 else 0)

    def on_event(self, task: TaskInfo, sign: int) -> None:
        job = self.jobs.get(task.job)
        if job is None or job.queue not in self.queues:
            return
        tree = self.tree
        if sign > 0:
            tree.total_allocated = tree.total_allocated.add(task.resreq)
        else:
            tree.total_allocated = tree.total_allocated.sub_without_assert(task.resreq)
        tree.update(job.uid, self.drf.job_attrs[job.uid], job.total_request, *self._paths(job.queue))

    def reclaimable(self, reclaimer: TaskInfo, reclaimees: list[TaskInfo]) -> tuple[list[TaskInfo], int]:
        """Reclaimees whose queue, after losing the task, still ranks after the reclaimer's
        queue having gained the reclaimer (computed on a copy of the tree)."""
        tree = self.tree.clone()
        total = self.drf.total
        ljob = self.jobs.get(reclaimer.job)
        lattr0 = self.drf.job_attrs.get(ljob.uid) if ljob is not None else None
        if ljob is None or lattr0 is None or ljob.queue not in self.queues:
            return [], PERMIT
        lpath, lweights = self._paths(ljob.queue)
        tree.total_allocated = tree.total_allocated.add(reclaimer.resreq)
        tree.update(
            ljob.uid,
            leaf_attr(lattr0.allocated.add(reclaimer.resreq), total),
            ljob.total_request,
            lpath,
            lweights,
        )
        victims: list[TaskInfo] = []
        for reclaimee in reclaimees:
            rjob = self.jobs.get(reclaimee.job)
            rattr0 = self.drf.job_attrs.get(rjob.uid) if rjob is not None else None
            if rjob is None or rattr0 is None or rjob.queue not in self.queues:
                continue
            rpath, rweights = self._paths(rjob.queue)
            tree.total_allocated = tree.total_allocated.sub_without_assert(reclaimee.resreq)
            lost = rattr0.allocated.sub_without_assert(reclaimee.resreq)
            tree.update(rjob.uid, leaf_attr(lost, total), rjob.total_request, rpath, rweights)
            ret = tree.compare_queues(lpath, rpath)
            tree.total_allocated = tree.total_allocated.add(reclaimee.resreq)
            tree.update(rjob.uid, leaf_attr(rattr0.allocated, total), rjob.total_request, rpath, rweights)
            if ret < 0:
                victims.append(reclaimee)
        return victims, PERMIT
