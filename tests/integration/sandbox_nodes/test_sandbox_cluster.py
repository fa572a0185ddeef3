"""The simulated nodes and built-in controllers against the real sandbox API server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from sandbox_nodes_cluster import Cluster
from sandbox_waits import eventually

from pyroclast.sandbox.controllers.nodelifecycle import UNKNOWN_MESSAGE, UNREACHABLE
from pyroclast.sandbox.kubeclient import ApiError, KubeClient, api_path
from pyroclast.sandbox.kubelet.workload import EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION

pytestmark = pytest.mark.integration
NS = "default"


def pod_manifest(name: str, **spec: Any) -> dict[str, Any]:
    annotations = spec.pop("annotations", {})
    cpu = spec.pop("cpu", "100m")
    command = spec.pop("command", None)
    container: dict[str, Any] = {"name": "main", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}
    if command:
        container["command"] = command
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


async def get_pod(client: KubeClient, name: str) -> dict[str, Any] | None:
    try:
        return await client.get(api_path("v1", "pods", NS, name))
    except ApiError as exc:
        if exc.not_found:
            return None
        raise


async def phases_until_done(client: KubeClient, name: str, within: float) -> tuple[list[str], dict[str, Any]]:
    """Every phase seen (polling) until the pod ends."""
    seen: list[str] = []

    async def probe() -> dict[str, Any] | None:
        pod = await get_pod(client, name)
        phase = ((pod or {}).get("status") or {}).get("phase") or "-"
        if not seen or seen[-1] != phase:
            seen.append(phase)
        return pod if phase in ("Succeeded", "Failed") else None

    pod = await eventually(probe, within, f"pod {name} to finish", every=0.05)
    return seen, pod


async def bind(client: KubeClient, name: str, node: str) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": NS},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }
    await client.create(api_path("v1", "pods", NS, name, "binding"), body)


async def test_nodes_register_with_capacity_and_leases(client: KubeClient) -> None:
    async def ready_nodes() -> list[dict[str, Any]] | None:
        items = (await client.get(api_path("v1", "nodes"))).get("items") or []
        ready = [n for n in items if n["metadata"]["name"].startswith("node-") and _ready(n) == "True"]
        return ready if len(ready) == 2 else None

    nodes = await eventually(ready_nodes, 15, "two Ready nodes")
    node = nodes[0]
    assert node["status"]["allocatable"]["cpu"] == "4"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == node["metadata"]["name"]
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.")
    lease_path = api_path("coordination.k8s.io/v1", "leases", "kube-node-lease", "node-0")

    async def lease() -> dict[str, Any] | None:
        try:
            return await client.get(lease_path)
        except ApiError as exc:
            if exc.not_found:
                return None
            raise

    first = await eventually(lease, 10, "node-0's lease")
    assert first["spec"]["holderIdentity"] == "node-0"

    async def renewed() -> bool:
        again = await lease()
        return again is not None and again["spec"]["renewTime"] != first["spec"]["renewTime"]

    await eventually(renewed, 10, "the lease to be renewed")


async def test_bound_pod_runs_then_ends_with_the_annotated_exit_code(client: KubeClient) -> None:
    await _wait_ready_nodes(client)
    for name, code, phase in (("annotated-ok", "0", "Succeeded"), ("annotated-fail", "3", "Failed")):
        manifest = pod_manifest(
            name,
            schedulerName="volcano",
            annotations={RUN_SECONDS_ANNOTATION: "2", EXIT_CODE_ANNOTATION: code},
        )
        await client.create(api_path("v1", "pods", NS), manifest)
        await bind(client, name, "node-1")
        seen, pod = await phases_until_done(client, name, 20)
        assert "Running" in seen, seen
        assert seen[-1] == phase
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert terminated["exitCode"] == int(code)
        assert terminated["reason"] == ("Completed" if code == "0" else "Error")
        assert pod["status"]["podIP"].startswith("10.244.1.")
        assert pod["status"]["hostIP"] == "172.18.0.3"


async def test_pods_arriving_together_are_admitted_against_each_other(client: KubeClient) -> None:
    """The node's pods are synced concurrently; admission still counts every earlier one."""
    await _wait_ready_nodes(client)
    names = [f"together-{i}" for i in range(3)]
    path = api_path("v1", "pods", NS)
    await asyncio.gather(*(client.create(path, pod_manifest(n, nodeName="node-0", cpu="3")) for n in names))

    async def settled() -> list[dict[str, Any]] | None:
        pods = [await get_pod(client, n) for n in names]
        phases = [((p or {}).get("status") or {}).get("phase") for p in pods]
        return [p for p in pods if p] if all(ph in ("Running", "Failed") for ph in phases) else None

    pods = await eventually(settled, 20, "the pods to be admitted or rejected")
    failed = [p for p in pods if p["status"]["phase"] == "Failed"]
    assert len(failed) >= 2  # 4 CPUs hold one pod of 3 at most
    assert all(p["status"]["reason"] == "OutOfcpu" for p in failed)
    for n in names:
        await client.delete(api_path("v1", "pods", NS, n), grace_period_seconds=0)


async def test_pod_that_does_not_fit_is_rejected_out_of_cpu(client: KubeClient) -> None:
    await _wait_ready_nodes(client)
    await client.create(api_path("v1", "pods", NS), pod_manifest("too-big", nodeName="node-0", cpu="6"))

    async def rejected() -> dict[str, Any] | None:
        pod = await get_pod(client, "too-big")
        return pod if ((pod or {}).get("status") or {}).get("phase") == "Failed" else None

    pod = await eventually(rejected, 15, "the pod to be rejected")
    assert pod["status"]["reason"] == "OutOfcpu"
    assert pod["status"]["message"].startswith(
        "Pod Node didn't have enough resource: cpu, requested: 6000, used: "
    )
    assert pod["status"]["message"].endswith("capacity: 4000")


async def test_deployment_becomes_available_and_scales_down(client: KubeClient) -> None:
    await _wait_ready_nodes(client)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx", "resources": {"requests": {"cpu": "100m"}}}
                    ]
                },
            },
        },
    }
    await client.create(api_path("apps/v1", "deployments", NS), deployment)
    path = api_path("apps/v1", "deployments", NS, "web")

    async def available() -> dict[str, Any] | None:
        d = await client.get(path)
        status = d.get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        ok = status.get("availableReplicas") == 3 and conditions.get("Available") == "True"
        return d if ok and status.get("observedGeneration") == d["metadata"]["generation"] else None

    await eventually(available, 20, "3 available replicas")
    pods = await _pods(client, "app=web")
    assert len(pods) == 3
    rs_name = pods[0]["metadata"]["ownerReferences"][0]["name"]
    assert all(p["metadata"]["name"].startswith(f"{rs_name}-") for p in pods)
    assert all(p["metadata"]["labels"]["pod-template-hash"] == rs_name.rsplit("-", 1)[1] for p in pods)
    rs = await client.get(api_path("apps/v1", "replicasets", NS, rs_name))
    owner = rs["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "Deployment",
        "web",
        True,
        True,
    )

    async def reasons() -> set[str] | None:
        listing = await client.get(api_path("v1", "events", NS))
        found = {
            e["reason"] for e in listing.get("items") or [] if e["involvedObject"]["name"].startswith("web")
        }
        wanted = {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started"}
        return found if wanted <= found else None

    await eventually(reasons, 10, "the controllers' and kubelet's events")

    await client.patch(path, {"spec": {"replicas": 1}})

    async def one_left() -> list[dict[str, Any]] | None:
        left = await _pods(client, "app=web")
        return left if len(left) == 1 else None

    survivors = await eventually(one_left, 20, "the deployment to scale down to one pod")
    assert survivors[0]["metadata"]["name"] in {p["metadata"]["name"] for p in pods}
    await eventually(
        lambda: _status_field(client, path, "replicas", 1), 10, "the deployment status to report 1 replica"
    )


async def test_rolling_update_replaces_the_pods(client: KubeClient) -> None:
    await _wait_ready_nodes(client)
    path = api_path("apps/v1", "deployments", NS, "roll")
    template = {
        "metadata": {"labels": {"app": "roll"}},
        "spec": {
            "containers": [{"name": "web", "image": "nginx:1", "resources": {"requests": {"cpu": "100m"}}}]
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "roll", "namespace": NS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "roll"}}, "template": template},
    }
    await client.create(api_path("apps/v1", "deployments", NS), deployment)
    await eventually(lambda: _status_field(client, path, "availableReplicas", 2), 20, "2 available")
    await client.patch(
        path, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    )

    async def rolled() -> list[dict[str, Any]] | None:
        pods = await _pods(client, "app=roll")
        images = {p["spec"]["containers"][0]["image"] for p in pods}
        ready = all(_ready(p) == "True" for p in pods)
        return pods if images == {"nginx:2"} and len(pods) == 2 and ready else None

    await eventually(rolled, 30, "the pods to be replaced by nginx:2 ones")
    listing = await client.get(api_path("apps/v1", "replicasets", NS), {"labelSelector": "app=roll"})
    replicas = sorted(rs["spec"]["replicas"] for rs in listing["items"])
    assert replicas == [0, 2]


async def test_a_crashing_container_restarts_with_back_off(client: KubeClient) -> None:
    await _wait_ready_nodes(client)
    manifest = pod_manifest("crashy", restartPolicy="Always", command=["sh", "-c", "sleep 1; exit 1"])
    await client.create(api_path("v1", "pods", NS), manifest)

    async def restarted() -> dict[str, Any] | None:
        pod = await get_pod(client, "crashy")
        statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or [{}]
        return pod if int(statuses[0].get("restartCount", 0)) >= 2 else None

    pod = await eventually(restarted, 20, "two restarts")
    assert pod["status"]["phase"] == "Running"
    cs = pod["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    previous = await client.session.get(
        api_path("v1", "pods", NS, "crashy", "log"),
        params={"previous": "true"},
        timeout=aiohttp.ClientTimeout(10),
    )
    assert "exited with code 1" in await previous.text()
    await client.delete(api_path("v1", "pods", NS, "crashy"), grace_period_seconds=0)


async def test_a_status_patched_by_a_test_is_respected(client: KubeClient) -> None:
    await _wait_ready_nodes(client)
    await client.create(api_path("v1", "pods", NS), pod_manifest("made-to-fail", command=["sleep", "600"]))

    async def running() -> dict[str, Any] | None:
        pod = await get_pod(client, "made-to-fail")
        return pod if ((pod or {}).get("status") or {}).get("phase") == "Running" else None

    pod = await eventually(running, 15, "the pod to run")
    statuses = pod["status"]["containerStatuses"]
    statuses[0]["state"] = {
        "terminated": {"exitCode": 3, "reason": "Error", "finishedAt": "2026-01-01T00:00:00Z"}
    }
    statuses[0]["ready"] = False
    patch = {"status": {"phase": "Failed", "containerStatuses": statuses}}
    await client.patch(api_path("v1", "pods", NS, "made-to-fail", "status"), patch)
    await asyncio.sleep(1.5)  # the agent has had time to react: it must leave the pod alone
    after = await get_pod(client, "made-to-fail")
    assert after is not None
    assert after["status"]["phase"] == "Failed"
    assert after["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


async def test_deleting_a_running_pod_terminates_it_gracefully(client: KubeClient) -> None:
    await _wait_ready_nodes(client)
    await client.create(api_path("v1", "pods", NS), pod_manifest("long-runner", command=["sleep", "3600"]))

    async def running() -> dict[str, Any] | None:
        pod = await get_pod(client, "long-runner")
        return pod if ((pod or {}).get("status") or {}).get("phase") == "Running" else None

    pod = await eventually(running, 15, "the pod to run")
    seen: list[dict[str, Any]] = []

    async def watch_until_deleted() -> None:
        params = {
            "fieldSelector": "metadata.name=long-runner",
            "resourceVersion": pod["metadata"]["resourceVersion"],
        }
        async for event in client.watch(api_path("v1", "pods", NS), params, seconds=20):
            seen.append(event)
            if event["type"] == "DELETED":
                return

    watcher = asyncio.create_task(watch_until_deleted())
    await asyncio.sleep(0.2)
    await client.delete(api_path("v1", "pods", NS, "long-runner"))  # default grace period
    await asyncio.wait_for(watcher, 20)
    terminating = [e["object"] for e in seen if e["object"]["metadata"].get("deletionTimestamp")]
    assert terminating, "the pod was deleted without a graceful phase"
    last = seen[-1]["object"]
    assert seen[-1]["type"] == "DELETED"
    state = last["status"]["containerStatuses"][0]["state"]
    assert state["terminated"]["exitCode"] == 137
    assert last["status"]["phase"] == "Failed"


async def test_a_stopped_node_process_goes_not_ready(
    cluster: Cluster, client: KubeClient, tmp_path: Path
) -> None:
    config = {
        "dataDir": str(tmp_path),
        "nodes": {
            "name": "edge",
            "count": 1,
            "taints": [{"key": "test", "value": "edge", "effect": "NoSchedule"}],
        },
        "kubelet": {"leaseDurationSeconds": 2, "renewIntervalSeconds": 0.5, "statusIntervalSeconds": 1},
    }
    config_file = tmp_path / "edge.yaml"
    config_file.write_text(yaml.safe_dump(config))
    argv = [
        "-m",
        "pyroclast.sandbox.kubelet",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--config",
        str(config_file),
    ]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        await eventually(lambda: _node_ready(client, "edge-0", "True"), 20, "edge-0 to be Ready")
        tolerations = [
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 1},
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 1,
            },
        ]
        manifest = pod_manifest(
            "on-edge", schedulerName="volcano", tolerations=tolerations, command=["sleep", "600"]
        )
        await client.create(api_path("v1", "pods", NS), manifest)
        await bind(client, "on-edge", "edge-0")

        async def running() -> bool:
            pod = await get_pod(client, "on-edge")
            return ((pod or {}).get("status") or {}).get("phase") == "Running"

        await eventually(running, 15, "the pod on edge-0 to run")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
        node = await eventually(lambda: _node_ready(client, "edge-0", "Unknown"), 20, "edge-0 to be NotReady")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["reason"], ready["message"]) == ("NodeStatusUnknown", UNKNOWN_MESSAGE)

        async def tainted() -> dict[str, Any] | None:
            n = await client.get(api_path("v1", "nodes", name="edge-0"))
            keys = {(t["key"], t["effect"]) for t in (n.get("spec") or {}).get("taints") or []}
            return n if {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")} <= keys else None

        await eventually(tainted, 10, "the unreachable taints")

        async def evicted() -> bool:
            pod = await get_pod(client, "on-edge")
            return pod is None or bool(pod["metadata"].get("deletionTimestamp"))

        await eventually(evicted, 10, "the pod to be evicted once its toleration ran out")
        await client.delete(api_path("v1", "pods", NS, "on-edge"), grace_period_seconds=0)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 5)


# --- helpers ---------------------------------------------------------------------------------


def _ready(obj: dict[str, Any]) -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status"))
    return None


async def _wait_ready_nodes(client: KubeClient) -> None:
    async def probe() -> bool:
        items = (await client.get(api_path("v1", "nodes"))).get("items") or []
        return sum(1 for n in items if n["metadata"]["name"].startswith("node-") and _ready(n) == "True") == 2

    await eventually(probe, 15, "the nodes to be Ready")


async def _node_ready(client: KubeClient, name: str, status: str) -> dict[str, Any] | None:
    try:
        node = await client.get(api_path("v1", "nodes", name=name))
    except ApiError:
        return None
    return node if _ready(node) == status else None


async def _pods(client: KubeClient, selector: str) -> list[dict[str, Any]]:
    listing = await client.get(api_path("v1", "pods", NS), {"labelSelector": selector})
    return [p for p in listing.get("items") or [] if not p["metadata"].get("deletionTimestamp")]


async def _status_field(client: KubeClient, path: str, field: str, value: int) -> bool:
    obj = await client.get(path)
    return (obj.get("status") or {}).get(field) == value
