"""The API operations one queue decision amounts to, applied in list order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyroclast.controller.queue.status import PhaseCounts

JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class ParentPatch:
    """JSON patch adding ``/spec/parent: root`` to a queue that names no parent."""

    queue: str
    patch: list[dict[str, Any]]
    content_type: str = JSON_PATCH


@dataclass(frozen=True)
class AnnotationPatch:
    """JSON patch setting one annotation on a queue (this one or a child)."""

    queue: str
    key: str
    value: str
    patch: list[dict[str, Any]]
    content_type: str = JSON_PATCH


@dataclass(frozen=True)
class ApplyState:
    """Server-side apply of ``status.state`` (field manager ``queue-controller``)."""

    queue: str
    state: str
    field_manager: str = "queue-controller"

    def body(self) -> dict[str, Any]:
        return {
            "apiVersion": "scheduling.volcano.sh/v1beta1",
            "kind": "Queue",
            "metadata": {"name": self.queue},
            "status": {"state": self.state},
        }


@dataclass(frozen=True)
class DeleteCommand:
    namespace: str
    name: str


@dataclass(frozen=True)
class Enqueue:
    """A follow-up request for the queue work queue (rate limits do not apply)."""

    queue: str
    action: str
    event: str = ""


@dataclass(frozen=True)
class RecordEvent:
    queue: str
    type: str
    reason: str
    message: str


Operation = ParentPatch | AnnotationPatch | ApplyState | DeleteCommand | Enqueue | RecordEvent


@dataclass
class Plan:
    """Operations in order; ``error`` set means: apply them, then retry the request later."""

    ops: list[Operation] = field(default_factory=list)
    counts: PhaseCounts | None = None
    """Podgroups of the queue per phase (Volcano exports them as metrics only)."""
    state: str | None = None
    """The queue's state after the plan; None when the request changed nothing."""
    error: str | None = None

    def of(self, kind: type[Any]) -> list[Any]:
        return [op for op in self.ops if isinstance(op, kind)]
