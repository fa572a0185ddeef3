"""PodDisruptionBudgets: the disruption controller (keeps PDB status current) and the budget
check of the pods/eviction subresource (429 when an eviction would violate a budget)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import TYPE_CHECKING, Any

import structlog

from .selectors import match_labels, selector_from_label_selector
from .status import ApiError, Cause
from .store import Event, Obj, ObjectStore, deep_copy

if TYPE_CHECKING:
    from .registry import Registry

log = structlog.get_logger("pyroclast.sandbox.apiserver.disruption")
PDBS = "policy/poddisruptionbudgets"
PODS = "core/pods"


def _healthy(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _counted(pod: Obj) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return not pod["metadata"].get("deletionTimestamp") and phase not in ("Succeeded", "Failed")


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = float(value[:-1])
        except ValueError:
            return 0
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def budget(store: ObjectStore, pdb: Obj) -> tuple[list[Obj], Obj]:
    """The pods a PDB selects and the status the disruption controller would report."""
    spec = pdb.get("spec") or {}
    ns = pdb["metadata"].get("namespace", "")
    reqs = selector_from_label_selector(spec.get("selector"))
    pods = (
        [p for p in store.select(PODS, ns) if _counted(p) and match_labels(reqs, p["metadata"].get("labels"))]
        if reqs
        else []
    )
    expected = len(pods)
    healthy = sum(1 for p in pods if _healthy(p))
    if spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected, round_up=True))
    else:
        desired = _scaled(spec.get("minAvailable", 0), expected, round_up=True)
    status = {
        "observedGeneration": pdb["metadata"].get("generation", 1),
        "disruptionsAllowed": max(0, healthy - desired),
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [
            {
                "type": "DisruptionAllowed",
                "status": "True" if healthy > desired else "False",
                "reason": "SufficientPods" if healthy > desired else "InsufficientPods",
                "message": "",
                "observedGeneration": pdb["metadata"].get("generation", 1),
                "lastTransitionTime": pdb["metadata"].get("creationTimestamp"),
            }
        ],
    }
    return pods, status


def check_eviction(store: ObjectStore, pod: Obj) -> None:
    """Raise the errors kube's eviction REST answers when a budget forbids evicting ``pod``."""
    if not _counted(pod):
        return
    ns = pod["metadata"].get("namespace", "")
    labels = pod["metadata"].get("labels")
    matching = []
    for pdb in store.select(PDBS, ns):
        reqs = selector_from_label_selector((pdb.get("spec") or {}).get("selector"))
        if reqs and match_labels(reqs, labels):
            matching.append(pdb)
    if not matching:
        return
    if len(matching) > 1:
        raise ApiError(
            500,
            "InternalError",
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not "
            "support.",
        )
    pdb = matching[0]
    _, status = budget(store, pdb)
    policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy", "IfHealthyBudget")
    if not _healthy(pod):
        if policy == "AlwaysAllow" or status["currentHealthy"] >= status["desiredHealthy"]:
            return
    elif status["disruptionsAllowed"] > 0:
        return
    name = pdb["metadata"]["name"]
    raise ApiError(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
        {},
        [
            Cause(
                "DisruptionBudget",
                f"The disruption budget {name} needs {status['desiredHealthy']} healthy pods and has "
                f"{status['currentHealthy']} currently",
            )
        ],
    )


class DisruptionController:
    """Recomputes the status of the PDBs of a namespace whenever its pods or PDBs change."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.store = registry.store
        self.pending: set[str] = set()
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.store.listeners.append(self._on_event)
        for pdb in self.store.select(PDBS):
            self.pending.add(pdb["metadata"].get("namespace", ""))
        self.wake.set()
        self._task = asyncio.create_task(self._run(), name="apiserver-disruption")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.listeners.remove(self._on_event)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_event(self, event: Event) -> None:
        if event.resource == PDBS or (event.resource == PODS and self.store.select(PDBS, event.namespace)):
            self.pending.add(event.namespace)
            self.wake.set()

    async def _run(self) -> None:
        rt = self.registry.types.get("policy", "v1", "poddisruptionbudgets")
        assert rt is not None
        while True:
            await self.wake.wait()
            self.wake.clear()
            await asyncio.sleep(0.05)  # coalesce bursts of pod changes
            namespaces, self.pending = self.pending, set()
            for ns in namespaces:
                for pdb in self.store.select(PDBS, ns):
                    _, status = budget(self.store, pdb)
                    old = pdb.get("status") or {}
                    same = {k: v for k, v in old.items() if k != "conditions"} == {
                        k: v for k, v in status.items() if k != "conditions"
                    }
                    if same:
                        continue
                    new = deep_copy(pdb)
                    new["status"] = status
                    try:
                        await self.registry.update(rt, ns, pdb["metadata"]["name"], new, subresource="status")
                    except ApiError as exc:
                        if exc.code == 409:
                            self.pending.add(ns)
                            self.wake.set()
                        elif exc.code != 404:
                            log.warning("pdb status update failed", key=f"{PDBS}/{ns}", error=exc.message)
