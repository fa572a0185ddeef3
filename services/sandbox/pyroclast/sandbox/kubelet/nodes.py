"""The API objects a simulated node publishes about itself: its Node, its Lease, its addresses.

Pure builders: given a node's configuration and the time, the JSON to send.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pyroclast.sandbox.config import NodeSpec
from pyroclast.sandbox.kubelet.lifecycle import NodeView
from pyroclast.sandbox.resources import EPHEMERAL_STORAGE, GPU, parse_resource_list
from pyroclast.sandbox.timeutil import format_micro_time, format_time

KUBELET_VERSION = "v1.32.0"
LEASE_NAMESPACE = "kube-node-lease"
POOL_LABEL = "sandbox.pyroclast.dev/pool"
HOSTNAME_LABEL = "kubernetes.io/hostname"

# Node conditions a healthy kubelet reports: (type, status, reason, message).
_HEALTHY = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def host_ip(index: int) -> str:
    """The node's InternalIP: 172.18.0.2, 172.18.0.3, ..."""
    return str(ipaddress.IPv4Address("172.18.0.2") + index)


def pod_cidr(index: int) -> str:
    """The node's pod network: 10.244.<index>.0/24 (a /24 per node, as kubeadm hands them out)."""
    return str(ipaddress.IPv4Network("10.244.0.0/24").network_address + 256 * index) + "/24"


def capacity(spec: NodeSpec) -> dict[str, str]:
    pool = spec.pool
    out = {
        "cpu": pool.cpu,
        "memory": pool.memory,
        "pods": str(pool.pods),
        EPHEMERAL_STORAGE: pool.ephemeral_storage,
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
    }
    if pool.gpus:
        out[GPU] = str(pool.gpus)
    return out


def labels(spec: NodeSpec) -> dict[str, str]:
    out = {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        HOSTNAME_LABEL: spec.name,
        "node.kubernetes.io/instance-type": spec.pool.instance_type,
        POOL_LABEL: spec.pool.name,
    }
    if spec.pool.gpus:
        out["nvidia.com/gpu.present"] = "true"
        out["nvidia.com/gpu.count"] = str(spec.pool.gpus)
    out.update(spec.pool.labels)
    return out


def node_view(spec: NodeSpec) -> NodeView:
    return NodeView(
        name=spec.name,
        host_ip=host_ip(spec.index),
        allocatable=parse_resource_list(capacity(spec)),
        labels=labels(spec),
    )


def node_object(spec: NodeSpec, now: datetime) -> dict[str, Any]:
    """The Node to create for ``spec``, status included."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": spec.name,
            "labels": labels(spec),
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {
            "podCIDR": pod_cidr(spec.index),
            "podCIDRs": [pod_cidr(spec.index)],
            "providerID": f"sandbox://{spec.name}",
            "taints": [taint.to_api() for taint in spec.pool.taints],
        },
        "status": node_status(spec, now, {}),
    }


def node_status(spec: NodeSpec, now: datetime, previous: Mapping[str, Any]) -> dict[str, Any]:
    """A ready node's status; a condition keeps its transition time if its status is unchanged."""
    old = {c.get("type"): c for c in previous.get("conditions") or []}
    conditions = []
    for kind, status, reason, message in _HEALTHY:
        before = old.get(kind) or {}
        since = before.get("lastTransitionTime") if before.get("status") == status else None
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": format_time(now),
                "lastTransitionTime": since or format_time(now),
            }
        )
    resources = capacity(spec)
    return {
        "capacity": dict(resources),
        "allocatable": dict(resources),
        "conditions": conditions,
        "addresses": [
            {"type": "InternalIP", "address": host_ip(spec.index)},
            {"type": "Hostname", "address": spec.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": f"sandbox-{spec.name}",
            "systemUUID": f"sandbox-{spec.name}",
            "bootID": f"sandbox-{spec.name}",
            "kernelVersion": "6.1.0-sandbox",
            "osImage": "Pyroclast sandbox",
            "containerRuntimeVersion": "sandbox://0.1.0",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "phase": "Running",
    }


def lease_object(
    node_name: str, node_uid: str | None, duration_seconds: int, now: datetime
) -> dict[str, Any]:
    """The node's heartbeat Lease in ``kube-node-lease``, owned by its Node."""
    metadata: dict[str, Any] = {"name": node_name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        metadata["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}
        ]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": node_name,
            "leaseDurationSeconds": duration_seconds,
            "renewTime": format_micro_time(now),
        },
    }


class AddressPool:
    """Pod IPs of one node's CIDR, handed out lowest first and given back when a pod ends."""

    def __init__(self, cidr: str) -> None:
        network = ipaddress.IPv4Network(cidr)
        self._free = [str(ip) for ip in list(network.hosts())[1:]]  # .1 is the node's bridge
        self._by_pod: dict[str, str] = {}

    def address(self, pod_uid: str) -> str:
        """The pod's address, assigning one if it has none (re-using addresses when exhausted)."""
        if pod_uid in self._by_pod:
            return self._by_pod[pod_uid]
        taken = set(self._by_pod.values())
        ip = next(
            (ip for ip in self._free if ip not in taken), self._free[len(self._by_pod) % len(self._free)]
        )
        self._by_pod[pod_uid] = ip
        return ip

    def claim(self, pod_uid: str, ip: str) -> None:
        """Record an address a pod already has (after an agent restart)."""
        self._by_pod[pod_uid] = ip

    def release(self, pod_uid: str) -> None:
        self._by_pod.pop(pod_uid, None)
