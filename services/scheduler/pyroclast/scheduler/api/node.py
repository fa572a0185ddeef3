"""NodeInfo: a node's resources and the tasks placed on it (Volcano's ``api.NodeInfo``).

Vectorisation note: a later step keeps ``idle``/``releasing``/``pipelined`` of every node
as rows of int64 matrices (``ResourceSpace``) so the resource fit of a task over all nodes
is one comparison; these scalar methods stay as the oracle that matrix is tested against.
"""

from __future__ import annotations

from pyroclast.common.bus.messages import NodeRecord
from pyroclast.common.resources import Resource
from pyroclast.scheduler.api.task import TaskInfo, resource_of
from pyroclast.scheduler.api.types import TaskStatus

__all__ = ["NodeInfo", "SchedulingError"]


class SchedulingError(Exception):
    """An operation on the session's view that cannot be applied (the view is unchanged)."""


class NodeInfo:
    """A node: allocatable, idle, used, releasing and pipelined resources, and its tasks.

    ``idle`` = allocatable minus every task but pipelined ones; ``releasing`` is what
    deleting pods still hold; ``pipelined`` is what tasks waiting for it have claimed.
    Change them only through ``add_task``/``remove_task``/``update_task`` (``future_idle``
    is cached between changes).
    """

    __slots__ = (
        "_future_idle",
        "allocatable",
        "capacity",
        "idle",
        "name",
        "pipelined",
        "record",
        "releasing",
        "tasks",
        "used",
    )

    def __init__(self, record: NodeRecord) -> None:
        self.record = record
        self.name = record.name
        self.allocatable = resource_of(record.allocatable)
        self.capacity = resource_of(record.capacity) if record.capacity else self.allocatable
        self.idle = self.allocatable
        self.used = Resource()
        self.releasing = Resource()
        self.pipelined = Resource()
        self.tasks: dict[str, TaskInfo] = {}
        self._future_idle: Resource | None = None

    def future_idle(self) -> Resource:
        """Idle plus releasing minus pipelined (may be negative); cached until the node changes."""
        if self._future_idle is None:
            self._future_idle = self.idle.add(self.releasing).sub_without_assert(self.pipelined)
        return self._future_idle

    def _charge(self, task: TaskInfo) -> None:
        self._future_idle = None
        status = task.status
        if status is TaskStatus.RELEASING:
            self.idle = self.idle.sub_without_assert(task.resreq)
            self.releasing = self.releasing.add(task.resreq)
            self.used = self.used.add(task.resreq)
        elif status is TaskStatus.PIPELINED:
            self.pipelined = self.pipelined.add(task.resreq)
        else:
            self.idle = self.idle.sub_without_assert(task.resreq)
            self.used = self.used.add(task.resreq)

    def add_task(self, task: TaskInfo) -> None:
        """Place a copy of ``task`` here; raises :class:`SchedulingError` and changes nothing on failure."""
        if task.node_name and task.node_name != self.name:
            raise SchedulingError(f"task <{task.key}> already on different node <{task.node_name}>")
        key = task.key
        if key in self.tasks:
            raise SchedulingError(f"task <{key}> already on node <{self.name}>")
        if task.status is TaskStatus.BINDING and not task.resreq.less_equal(self.idle):
            missing = task.resreq.insufficient(self.idle)
            raise SchedulingError(
                f"node {self.name} resources {missing} are not enough to put task <{key}>, "
                f"idle: {self.idle}, req: {task.resreq}"
            )
        copy = task.clone()
        self._charge(copy)
        task.node_name = self.name
        copy.node_name = self.name
        self.tasks[key] = copy

    def remove_task(self, task: TaskInfo) -> None:
        held = self.tasks.pop(task.key, None)
        if held is None:
            return
        self._future_idle = None
        if held.status is TaskStatus.RELEASING:
            self.releasing = self.releasing.sub_without_assert(held.resreq)
            self.idle = self.idle.add(held.resreq)
            self.used = self.used.sub_without_assert(held.resreq)
        elif held.status is TaskStatus.PIPELINED:
            self.pipelined = self.pipelined.sub_without_assert(held.resreq)
        else:
            self.idle = self.idle.add(held.resreq)
            self.used = self.used.sub_without_assert(held.resreq)

    def update_task(self, task: TaskInfo) -> None:
        self.remove_task(task)
        self.add_task(task)

    def clone(self) -> NodeInfo:
        node = NodeInfo(self.record)  # (its record and name; the rest is copied)
        node.allocatable = self.allocatable
        node.capacity = self.capacity
        node.idle = self.idle
        node.used = self.used
        node.releasing = self.releasing
        node.pipelined = self.pipelined
        node.tasks = {k: t.clone() for k, t in self.tasks.items()}
        node._future_idle = None
        return node

    def __repr__(self) -> str:
        return f"NodeInfo({self.name}, idle=<{self.idle}>, tasks={len(self.tasks)})"
