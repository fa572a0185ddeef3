"""QueueInfo: a Volcano queue (Volcano's ``api.QueueInfo``); the uid is the queue name."""

from __future__ import annotations

from pyroclast.common.bus.messages import QueueRecord
from pyroclast.common.resources import Resource
from pyroclast.scheduler.api.task import resource_of

__all__ = ["QueueInfo"]


class QueueInfo:
    """A queue with its weight, capability, guarantee and deserved resources."""

    __slots__ = ("capability", "deserved", "guarantee", "name", "record", "uid", "weight")

    def __init__(self, record: QueueRecord) -> None:
        self.record = record
        self.uid = record.name
        self.name = record.name
        self.weight = record.weight
        self.capability: Resource | None = resource_of(record.capability) if record.capability else None
        self.deserved: Resource | None = resource_of(record.deserved) if record.deserved else None
        self.guarantee: Resource | None = resource_of(record.guarantee) if record.guarantee else None

    @property
    def reclaimable(self) -> bool:
        return self.record.reclaimable

    @property
    def state(self) -> str:
        return self.record.state

    @property
    def parent(self) -> str:
        return self.record.parent

    def clone(self) -> QueueInfo:
        return QueueInfo(self.record)

    def __repr__(self) -> str:
        return f"QueueInfo({self.name}, weight={self.weight})"
