"""Builders of raw manifests and a runner for single admission rules."""

from __future__ import annotations

import copy
from typing import Any

from pyroclast.webhook.admission import AdmissionConfig, AdmissionInput, Operation, StaticCluster, Verdict
from pyroclast.webhook.admission.registry import BY_PATH, decode
from pyroclast.webhook.admission.request import DEFAULT_CONFIG

BATCH = "batch.volcano.sh/v1alpha1"
SCHEDULING = "scheduling.volcano.sh/v1beta1"
FLOW = "flow.volcano.sh/v1alpha1"


def container(name: str = "main", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.24", **extra}


def task(name: str | None = "task-1", replicas: int | None = 1, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"template": {"spec": {"containers": [container()]}}}
    if name is not None:
        out["name"] = name
    if replicas is not None:
        out["replicas"] = replicas
    out.update(extra)
    return out


def job(name: str = "job-1", *, tasks: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "queue": "default",
        "minAvailable": 1,
        "tasks": tasks if tasks is not None else [task()],
    }
    body.update(spec)
    return {"apiVersion": BATCH, "kind": "Job", "metadata": {"name": name, "namespace": "ns"}, "spec": body}


def queue(
    name: str, *, state: str | None = "Open", annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": SCHEDULING,
        "kind": "Queue",
        "metadata": {"name": name},
        "spec": spec,
    }
    if annotations is not None:
        out["metadata"]["annotations"] = annotations
    if state is not None:
        out["status"] = {"state": state}
    return out


def cluster(*queues: dict[str, Any], namespaces: dict[str, dict[str, str]] | None = None) -> StaticCluster:
    decoded = [decode(q) for q in queues]
    return StaticCluster.of([q for q in decoded if q is not None], namespaces)  # type: ignore[misc]


OPEN_DEFAULT = cluster(queue("default"))


def run(
    path: str,
    raw: dict[str, Any] | None,
    *,
    operation: Operation = Operation.CREATE,
    old: dict[str, Any] | None = None,
    view: StaticCluster = OPEN_DEFAULT,
    config: AdmissionConfig = DEFAULT_CONFIG,
    name: str = "",
    namespace: str = "",
) -> Verdict:
    """The verdict of the rule at Volcano webhook ``path`` on raw manifests."""
    request = AdmissionInput(
        operation, decode(raw), decode(old), copy.deepcopy(raw), name, namespace, view, config, old
    )
    return BY_PATH[path].func(request)
