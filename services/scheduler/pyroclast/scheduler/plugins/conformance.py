"""Conformance: never evict kube-system pods or pods of the system-critical priority classes."""

from __future__ import annotations

from pyroclast.scheduler.api import TaskInfo
from pyroclast.scheduler.framework import PERMIT, Plugin, Session

__all__ = ["CRITICAL_PRIORITY_CLASSES", "ConformancePlugin"]

CRITICAL_PRIORITY_CLASSES = frozenset({"system-cluster-critical", "system-node-critical"})


def evictable(evictor: TaskInfo, evictees: list[TaskInfo]) -> tuple[list[TaskInfo], int]:
    """The evictees that are neither critical nor in ``kube-system``."""
    del evictor
    victims = [
        t
        for t in evictees
        if t.priority_class_name not in CRITICAL_PRIORITY_CLASSES and t.namespace != "kube-system"
    ]
    return victims, PERMIT


class ConformancePlugin(Plugin):
    name = "conformance"

    def on_session_open(self, ssn: Session) -> None:
        ssn.add_preemptable_fn(self.name, evictable)
        ssn.add_reclaimable_fn(self.name, evictable)
