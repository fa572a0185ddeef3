"""The podgroup controller against the sandbox API server: a Deployment of the volcano
scheduler (its ReplicaSet and pods made by the sandbox's built-in controllers) gets
``podgroup-<ReplicaSet uid>``, a standalone pod ``podgroup-<pod uid>``; pods of other
schedulers get none."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import FAST_SHELL, ShellHarness, eventually, plain_pod

from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.podgroups.controller import PodGroupController

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

GROUP_NAME = "scheduling.k8s.io/group-name"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def deployment(namespace: str, replicas: int) -> dict[str, Any]:
    """Volcano's ``deployment/deployment.yaml``, with a replica count."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "deploy-with-volcano", "namespace": namespace, "labels": {"app": "nginx"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {
                    "labels": {"app": "nginx"},
                    "annotations": {"scheduling.volcano.sh/queue-name": "test"},
                },
                "spec": {
                    "schedulerName": "volcano",
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:latest",
                            "ports": [{"containerPort": 80}],
                            "resources": {"requests": {"cpu": "300m"}},
                        }
                    ],
                },
            },
        },
    }


@pytest.fixture(scope="module")
def kube_controllers(apiserver: ApiServerHandle) -> Iterator[subprocess.Popen[bytes]]:
    """The sandbox's Deployment and ReplicaSet controllers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyroclast.sandbox.controllers", "--kubeconfig", str(apiserver.kubeconfig)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
async def podgroups(kube: KubeClient) -> AsyncIterator[ShellHarness]:
    harness = await ShellHarness(kube, lambda k, f, _r: PodGroupController(k, f, FAST_SHELL)).start()
    try:
        yield harness
    finally:
        await harness.close()


async def namespace(kube: KubeClient) -> str:
    name = unique("pg")
    await kube.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "metadata": {"name": name}})
    return name


async def listed(kube: KubeClient, rt: Any, namespace: str) -> list[Any]:
    _, items, _ = rt.decode_list(await kube.list_raw(rt, namespace))
    return list(items)


async def test_a_deployment_of_volcano_gets_one_podgroup_per_replicaset(
    kube: KubeClient, podgroups: ShellHarness, kube_controllers: subprocess.Popen[bytes]
) -> None:
    ns = await namespace(kube)
    await kube.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body=deployment(ns, replicas=2))

    async def replicaset() -> Any:
        found = await listed(kube, resources.REPLICASETS, ns)
        return found[0] if found else None

    rs = await eventually(replicaset, 20, what="the deployment's ReplicaSet")
    expected = f"podgroup-{rs.metadata.uid}"

    async def annotated_pods() -> list[Any] | None:
        pods = await listed(kube, resources.PODS, ns)
        done = [p for p in pods if (p.metadata.annotations or {}).get(GROUP_NAME) == expected]
        return done if len(done) == 2 and len(pods) == 2 else None

    await eventually(annotated_pods, 20, what=f"both pods annotated with {expected}")
    groups = await listed(kube, resources.PODGROUPS, ns)
    assert [g.metadata.name for g in groups] == [expected]
    pg = groups[0]
    assert pg.spec.min_member == 1
    assert pg.spec.queue == "test"
    assert (pg.spec.min_resources or {}).get("cpu") == "300m"
    owners = pg.metadata.owner_references or []
    assert [(o.kind, o.name, o.uid, o.controller) for o in owners] == [
        ("ReplicaSet", rs.metadata.name, rs.metadata.uid, True)
    ]

    # Scaled to zero, the ReplicaSet's podgroup goes.
    await kube.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{ns}/deployments/deploy-with-volcano",
        body={"spec": {"replicas": 0}},
        content_type="application/merge-patch+json",
    )

    async def podgroup_gone() -> bool:
        return await kube.get_or_none(resources.PODGROUPS, ns, expected) is None

    await eventually(podgroup_gone, 20, what=f"{expected} deleted after scaling to zero")


async def test_a_standalone_pod_gets_its_own_podgroup(kube: KubeClient, podgroups: ShellHarness) -> None:
    ns = await namespace(kube)
    pod = await kube.create(resources.PODS, plain_pod(ns, "solo"), ns)
    expected = f"podgroup-{pod.metadata.uid}" if pod.metadata else ""

    async def annotated() -> bool:
        got = await kube.get(resources.PODS, ns, "solo")
        return (got.metadata.annotations or {}).get(GROUP_NAME) == expected if got.metadata else False

    await eventually(annotated, 20, what=f"pod annotated with {expected}")
    pg = await kube.get(resources.PODGROUPS, ns, expected)
    assert pg.spec is not None
    assert pg.spec.min_member == 1
    assert (pg.spec.min_resources or {}).get("cpu") == "100m"
    owners = (pg.metadata.owner_references if pg.metadata else None) or []
    assert [(o.kind, o.name, o.controller) for o in owners] == [("Pod", "solo", True)]


async def test_pods_of_other_schedulers_get_no_podgroup(kube: KubeClient, podgroups: ShellHarness) -> None:
    ns = await namespace(kube)
    pod = plain_pod(ns, "other")
    assert pod.spec is not None
    pod.spec.scheduler_name = "default-scheduler"
    await kube.create(resources.PODS, pod, ns)
    marker = plain_pod(ns, "marker")
    await kube.create(resources.PODS, marker, ns)

    async def marker_done() -> bool:
        got = await kube.get(resources.PODS, ns, "marker")
        return bool(got.metadata and (got.metadata.annotations or {}).get(GROUP_NAME))

    await eventually(marker_done, 20, what="the volcano pod handled")
    other = await kube.get(resources.PODS, ns, "other")
    assert not ((other.metadata.annotations if other.metadata else None) or {}).get(GROUP_NAME)
    assert len(await listed(kube, resources.PODGROUPS, ns)) == 1
