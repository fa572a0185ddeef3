"""Queue status figures: podgroups per phase, and resources allocated to each queue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyroclast.common.models import Pod, PodGroup, PodGroupPhase, Queue
from pyroclast.common.models import labels as keys
from pyroclast.common.resources import CPU, MEMORY, PODS, format_amount
from pyroclast.controller.project import pod_requests

ROOT = "root"


@dataclass
class PhaseCounts:
    """Podgroups of one queue by phase (a podgroup with no known phase is not counted)."""

    pending: int = 0
    running: int = 0
    unknown: int = 0
    inqueue: int = 0
    completed: int = 0


_FIELD = {
    PodGroupPhase.PENDING.value: "pending",
    PodGroupPhase.RUNNING.value: "running",
    PodGroupPhase.UNKNOWN.value: "unknown",
    PodGroupPhase.INQUEUE.value: "inqueue",
    PodGroupPhase.COMPLETED.value: "completed",
}


def count_podgroups(podgroups: Iterable[PodGroup]) -> PhaseCounts:
    counts = PhaseCounts()
    for pg in podgroups:
        name = _FIELD.get((pg.status.phase if pg.status else None) or "")
        if name:
            setattr(counts, name, getattr(counts, name) + 1)
    return counts


def _is_allocated(pod: Pod) -> bool:
    """Volcano's AllocatedStatus for a pod seen from the API: Bound or Running, not releasing."""
    phase = pod.status.phase if pod.status else None
    if pod.metadata and pod.metadata.deletion_timestamp:
        return False
    if phase == "Running":
        return True
    return phase == "Pending" and bool(pod.spec and pod.spec.node_name)


def _key(namespace: str | None, name: str | None) -> str:
    return f"{namespace or ''}/{name or ''}"


def queue_allocated(
    queues: Mapping[str, Queue],
    podgroups: Iterable[PodGroup],
    pods: Iterable[Pod],
    default_queue: str = keys.DEFAULT_QUEUE,
) -> dict[str, dict[str, str]]:
    """``status.allocated`` of every queue, as Volcano's scheduler writes it at session close.

    Each bound or running pod of a podgroup adds its request (containers, init containers,
    overhead, one ``pods``) to the podgroup's queue and, when a ``root`` queue exists, to
    every ancestor up to ``root``. cpu and memory are always listed.
    """
    queue_of: dict[str, str] = {}
    for pg in podgroups:
        meta = pg.metadata
        queue_of[_key(meta.namespace if meta else None, meta.name if meta else None)] = (
            pg.spec.queue if pg.spec and pg.spec.queue else default_queue
        )
    totals: dict[str, dict[str, int]] = {name: {} for name in queues}
    for pod in pods:
        annotations = (pod.metadata.annotations if pod.metadata else None) or {}
        group = annotations.get(keys.KUBE_GROUP_NAME_ANNOTATION_KEY)
        queue = queue_of.get(_key(pod.metadata.namespace if pod.metadata else None, group)) if group else None
        if queue is None or queue not in totals or not _is_allocated(pod):
            continue
        request = dict(pod_requests(pod))
        request[PODS] = request.get(PODS, 0) + 1000
        for name in _chain(queues, queue):
            total = totals[name]
            for res, amount in request.items():
                total[res] = total.get(res, 0) + amount
    return {name: _as_list(total) for name, total in totals.items()}


def _chain(queues: Mapping[str, Queue], queue: str) -> list[str]:
    """The queue, then its ancestors up to ``root`` (only when ``root`` exists)."""
    out = [queue]
    if ROOT not in queues:
        return out
    current = queues.get(queue)
    while current is not None and len(out) <= len(queues):
        parent = (current.spec.parent if current.spec else None) or ROOT
        if parent not in queues:
            break
        out.append(parent)
        if parent == ROOT:
            break
        current = queues[parent]
    return out


def _as_list(total: Mapping[str, int]) -> dict[str, str]:
    out = {CPU: format_amount(CPU, total.get(CPU, 0)), MEMORY: format_amount(MEMORY, total.get(MEMORY, 0))}
    for name, amount in sorted(total.items()):
        if name not in out:
            out[name] = format_amount(name, amount)
    return out
