"""Built-in admission plugins and the objects a fresh cluster has.

- Priority: resolves ``spec.priorityClassName`` (or the global default class) into
  ``spec.priority`` and ``spec.preemptionPolicy``; an unknown class is Forbidden.
- ServiceAccount: pods without a service account get ``default``.
- Cluster bootstrap: the ``kubernetes`` Service and Endpoints, the system priority classes, and
  in every namespace the ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap.
"""

from __future__ import annotations

from typing import Any

from . import status
from .store import Obj, ObjectStore

SYSTEM_PRIORITY_CLASSES = (
    (
        "system-node-critical",
        2000001000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2000000000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node "
        "if necessary.",
    ),
)


def admit_pod(store: ObjectStore, pod: Obj) -> None:
    """Apply the Priority and ServiceAccount plugins to a pod being created (in place)."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    name = spec.get("priorityClassName")
    pc: Obj | None = None
    if name:
        pc = store.get("scheduling.k8s.io/priorityclasses", "", name)
        if pc is None:
            raise status.forbidden(
                "", "pods", pod["metadata"].get("name", ""), f"no PriorityClass with name {name} was found"
            )
    else:
        defaults = [c for c in store.select("scheduling.k8s.io/priorityclasses") if c.get("globalDefault")]
        if defaults:
            pc = min(defaults, key=lambda c: int(c.get("value", 0)))
            spec["priorityClassName"] = pc["metadata"]["name"]
    if pc is not None:
        given = spec.get("priority")
        value = int(pc.get("value", 0))
        if given is not None and given != value and given != 0:
            raise status.forbidden(
                "",
                "pods",
                pod["metadata"].get("name", ""),
                "the integer value of priority "
                f"({given}) must not be provided in pod spec; priority admission controller computed {value} "
                "from the given PriorityClass name",
            )
        spec["priority"] = value
        spec["preemptionPolicy"] = pc.get("preemptionPolicy", "PreemptLowerPriority")


def namespace_objects(namespace: str, ca_pem: str) -> list[tuple[str, Obj]]:
    """What the service-account and root-CA publishers put in every namespace."""
    return [
        ("serviceaccounts", {"metadata": {"name": "default", "namespace": namespace}}),
        (
            "configmaps",
            {
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "namespace": namespace,
                    "annotations": {
                        "kubernetes.io/description": "Contains a CA bundle that can be used to verify "
                        "the kube-apiserver when using internal endpoints such as the internal service IP "
                        "or kubernetes.default.svc. No other usage is guaranteed across distributions of "
                        "Kubernetes clusters."
                    },
                },
                "data": {"ca.crt": ca_pem},
            },
        ),
    ]


def cluster_objects(host: str, port: int) -> list[tuple[str, str, Obj]]:
    """(resource, namespace, object) of the objects a new cluster starts with."""
    out: list[tuple[str, str, Obj]] = [
        (
            "services",
            "default",
            {
                "metadata": {
                    "name": "kubernetes",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "clusterIP": "10.96.0.1",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
                },
            },
        ),
        (
            "endpoints",
            "default",
            {
                "metadata": {
                    "name": "kubernetes",
                    "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
                },
                "subsets": [
                    {
                        "addresses": [{"ip": host}],
                        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                    }
                ],
            },
        ),
    ]
    for name, value, description in SYSTEM_PRIORITY_CLASSES:
        pc: dict[str, Any] = {"metadata": {"name": name}, "value": value, "description": description}
        out.append(("priorityclasses", "", pc))
    return out
