"""``vcctl job why``: explanations written to the NATS bucket as the scheduler writes them,
podgroups, nodes and queues staged in the sandbox API server."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import yaml
from apiserver_fixture import ApiServerHandle
from nats.aio.client import Client
from nats_fixture import NatsServer
from vcctl_helpers import fresh_names, one_line_error, run_vcctl, with_bus

from pyroclast.common.bus.kv import EXPLANATIONS, CacheWriter
from pyroclast.common.bus.messages import ExplanationRecord
from pyroclast.common.bus.names import BusNames

pytestmark = pytest.mark.integration

Vc = Callable[..., tuple[int, str, str]]
SELECTOR_REASON = "node(s) didn't match Pod's node affinity/selector"


def apply(apiserver: ApiServerHandle, obj: dict[str, object]) -> None:
    apiserver.kubectl("apply", "-f", "-", input=yaml.safe_dump(obj))


def patch_status(
    apiserver: ApiServerHandle, resource: str, name: str, status: dict[str, object], *ns: str
) -> None:
    apiserver.kubectl(
        "patch",
        resource,
        name,
        *ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )


@pytest.fixture(scope="module")
def cluster(apiserver: ApiServerHandle) -> ApiServerHandle:
    """Two nodes with 4 cpu each and a queue whose capability is used up."""
    for name in ("n1", "n2"):
        apply(
            apiserver,
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"zone": "a"}}},
        )
        patch_status(apiserver, "node", name, {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}})
    apply(apiserver, {
        "apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue",
        "metadata": {"name": "q-full"}, "spec": {"weight": 1, "capability": {"cpu": "8"}},
    })  # fmt: skip
    patch_status(
        apiserver, "queues.scheduling.volcano.sh", "q-full", {"state": "Open", "allocated": {"cpu": "8"}}
    )
    return apiserver


def stage_job(
    apiserver: ApiServerHandle,
    name: str,
    *,
    replicas: int,
    cpu: str,
    queue: str = "default",
    selector: dict[str, str] | None = None,
    message: str = "",
) -> str:
    """A job and its podgroup (``<job>-<uid>``, owned by the job, Pending); the podgroup name."""
    pod_spec: dict[str, object] = {
        "containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu}}}]
    }
    if selector:
        pod_spec["nodeSelector"] = selector
    apply(apiserver, {
        "apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"minAvailable": replicas, "queue": queue,
                 "tasks": [{"name": "worker", "replicas": replicas, "template": {"spec": pod_spec}}]},
    })  # fmt: skip
    job = json.loads(apiserver.kubectl("get", "jobs.batch.volcano.sh", name, "-o", "json").stdout)
    uid = job["metadata"]["uid"]
    pg_name = f"{name}-{uid}"
    apply(apiserver, {
        "apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
        "metadata": {"name": pg_name, "namespace": "default", "ownerReferences": [{
            "apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "name": name, "uid": uid,
            "controller": True}]},
        "spec": {"minMember": replicas, "queue": queue},
        "status": {"phase": "Pending", "conditions": [{
            "type": "Unschedulable", "status": "True", "reason": "NotEnoughResources", "message": message,
            "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    })  # fmt: skip
    patch_status(apiserver, "jobs.batch.volcano.sh", name, {"state": {"phase": "Pending"}}, "-n", "default")
    return pg_name


def write_explanation(url: str, names: BusNames, record: ExplanationRecord) -> None:
    async def put(nc: Client) -> None:
        await CacheWriter(nc, names, EXPLANATIONS).put(record)

    with_bus(url, names, put)


def record(
    pg: str,
    *,
    queue: str = "default",
    message: str,
    nodes: dict[str, int],
    reason: str = "NotEnoughResources",
) -> ExplanationRecord:
    return ExplanationRecord(
        namespace="default", name=pg, queue=queue, reason=reason, message=message,
        task_reasons={"worker": f"Unschedulable: {message}"}, node_reasons=nodes,
        session="s-1", time=datetime.now(UTC),
    )  # fmt: skip


def why(vc: Vc, nats: NatsServer, names: BusNames, job: str) -> str:
    code, out, err = vc("job", "why", job, "--nats-servers", nats.url, "--cluster-prefix", names.prefix)
    assert code == 0, err
    return out


def test_gang_too_big(vc: Vc, cluster: ApiServerHandle, nats_server: NatsServer) -> None:
    names = fresh_names()
    message = "2/4 tasks in gang unschedulable: 0/2 nodes are unavailable: 2 Insufficient cpu."
    pg = stage_job(cluster, "big", replicas=4, cpu="3", message=message)
    write_explanation(nats_server.url, names, record(pg, message=message, nodes={"Insufficient cpu": 2}))
    out = why(vc, nats_server, names, "big")
    lines = out.splitlines()
    assert lines[0] == f"Job default/big is Pending (podgroup {pg} Pending, queue default)."
    assert lines[1] == "Why: gang needs 4 pods, 2 fit: 2 nodes lack cpu (need 3, best node has 1)"
    assert f"NotEnoughResources: {message}" in out
    assert "  2 Insufficient cpu" in lines
    assert "Note:" not in out


def test_queue_capability_reached(vc: Vc, cluster: ApiServerHandle, nats_server: NatsServer) -> None:
    names = fresh_names()
    pg = stage_job(cluster, "small", replicas=2, cpu="1", queue="q-full")
    write_explanation(
        nats_server.url, names,
        record(pg, queue="q-full", message="queue quota insufficient", nodes={}, reason="Unschedulable"),
    )  # fmt: skip
    lines = why(vc, nats_server, names, "small").splitlines()
    assert lines[0].endswith("queue q-full).")
    assert lines[1] == "Why: queue q-full at capability cpu 8/8 used, gang needs 2"


def test_node_selector_matches_nothing(vc: Vc, cluster: ApiServerHandle, nats_server: NatsServer) -> None:
    names = fresh_names()
    message = f"1/1 tasks in gang unschedulable: 0/2 nodes are unavailable: 2 {SELECTOR_REASON}."
    pg = stage_job(cluster, "picky", replicas=1, cpu="1", selector={"disktype": "ssd"}, message=message)
    write_explanation(nats_server.url, names, record(pg, message=message, nodes={SELECTOR_REASON: 2}))
    lines = why(vc, nats_server, names, "picky").splitlines()
    assert lines[1] == "Why: gang needs 1 pod, 0 fit: 2 nodes don't match the node selector disktype=ssd"


def test_without_nats_falls_back_to_the_api_server(cluster: ApiServerHandle) -> None:
    message = f"1/1 tasks in gang unschedulable: 0/2 nodes are unavailable: 2 {SELECTOR_REASON}."
    pg = stage_job(cluster, "offline", replicas=1, cpu="1", selector={"disktype": "nvme"}, message=message)
    apply(cluster, {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{pg}.1", "namespace": "default"},
        "involvedObject": {"kind": "PodGroup", "name": pg, "namespace": "default"},
        "type": "Warning", "reason": "Unschedulable", "message": "0/2 nodes are unavailable",
    })  # fmt: skip
    done = run_vcctl(
        "job",
        "why",
        "offline",
        kubeconfig=cluster.kubeconfig,
        env={"PYROCLAST_NATS_SERVERS": "nats://127.0.0.1:1"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "Why: gang needs 1 pod, 0 fit: 2 nodes don't match the node selector disktype=nvme"
    assert lines[2].startswith("Note: cannot reach NATS at nats://127.0.0.1:1")
    assert "the reasons come from the PodGroup conditions" in lines[2]
    assert f"PodGroup condition Unschedulable: NotEnoughResources: {message}" in lines
    assert pg in lines[0]
    assert "Event Unschedulable: 0/2 nodes are unavailable" in lines


def test_running_job_has_nothing_holding_it(
    vc: Vc, cluster: ApiServerHandle, nats_server: NatsServer
) -> None:
    stage_job(cluster, "happy", replicas=2, cpu="1")
    patch_status(
        cluster,
        "jobs.batch.volcano.sh",
        "happy",
        {"state": {"phase": "Running"}, "running": 2},
        "-n",
        "default",
    )
    lines = why(vc, nats_server, fresh_names(), "happy").splitlines()
    assert lines[0].startswith("Job default/happy is Running")
    assert lines[1] == "Nothing holds it: 2 pod(s) running, the gang needs 2."
    patch_status(cluster, "jobs.batch.volcano.sh", "happy", {"state": {"phase": "Aborted"}}, "-n", "default")
    lines = why(vc, nats_server, fresh_names(), "happy").splitlines()
    assert lines[1] == "It was suspended (Aborted): resume it with `vcctl job resume -N happy -n default`."


def test_missing_job(vc: Vc, cluster: ApiServerHandle) -> None:
    code, _, err = vc("job", "why", "nobody", "-n", "default", "--nats-servers", "nats://127.0.0.1:1")
    assert code == 1
    assert one_line_error(err) == 'vcctl: job "nobody" not found in namespace "default"'
