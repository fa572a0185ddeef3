"""The binder's kubernetes_asyncio calls against the sandbox API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from apiserver_fixture import ApiServerHandle
from kubernetes_asyncio import client as k8s

from pyroclast.common.bus.decisions import PermanentDecisionError
from pyroclast.common.bus.messages import BindDecision, EvictDecision, PodGroupStatusDecision
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.controller.binder.api import ApiFailure
from pyroclast.controller.binder.apply import Applier
from pyroclast.controller.binder.kube import KubeBinderApi, binder_client

pytestmark = pytest.mark.integration
NS = "default"


@pytest.fixture
async def api(apiserver: ApiServerHandle) -> AsyncIterator[tuple[KubeBinderApi, k8s.CoreV1Api]]:
    async with (
        await binder_client(str(apiserver.kubeconfig), timeout=5.0) as kube,
        apiserver.api_client() as client,
    ):
        yield KubeBinderApi(kube), k8s.CoreV1Api(client)


async def make_pod(core: k8s.CoreV1Api, name: str) -> str:
    body: Any = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "annotations": {"scheduling.k8s.io/group-name": "api-pg"},
        },
        "spec": {"schedulerName": "volcano", "containers": [{"name": "main", "image": "busybox"}]},
    }
    created = await core.create_namespaced_pod(NS, body)
    return str(created.metadata.uid)


def bind(name: str, uid: str, node: str) -> BindDecision:
    return BindDecision(id=f"b/{name}/{node}", namespace=NS, name=name, uid=uid, node_name=node)


async def test_bind_is_idempotent_and_conflicts_are_permanent(
    api: tuple[KubeBinderApi, k8s.CoreV1Api],
) -> None:
    binder, core = api
    uid = await make_pod(core, "api-bind")
    applier = Applier(binder)
    await applier(bind("api-bind", uid, "n1"))
    await applier(bind("api-bind", uid, "n1"))  # redelivered: already done
    assert (await core.read_namespaced_pod("api-bind", NS)).spec.node_name == "n1"
    with pytest.raises(PermanentDecisionError, match="already bound to node n1"):
        await applier(bind("api-bind", uid, "n2"))
    with pytest.raises(PermanentDecisionError, match="not found"):
        await applier(bind("api-missing", "x", "n1"))
    with pytest.raises(ApiFailure) as err:
        await binder.bind_pod(NS, "api-bind", uid, "n2")  # the server's own refusal, mapped
    assert err.value.status == 409
    await applier.flush()
    events = await core.list_namespaced_event(NS)
    assert [e.message for e in events.items if e.involved_object.name == "api-bind"] == [
        "Successfully assigned default/api-bind to n1"
    ]


async def test_repeated_events_are_counted_into_one_event(api: tuple[KubeBinderApi, k8s.CoreV1Api]) -> None:
    binder, core = api
    applier = Applier(binder)
    pod = {"metadata": {"namespace": NS, "name": "api-events", "uid": "u1"}}
    applier.events.record(pod, "Warning", "FailedScheduling", "waiting")
    await applier.flush()
    applier.events.record(pod, "Warning", "FailedScheduling", "waiting")
    applier.events.record(pod, "Warning", "FailedScheduling", "waiting")
    await applier.flush()
    listed = await core.list_namespaced_event(NS)
    events = [e for e in listed.items if e.involved_object.name == "api-events"]
    assert [(e.message, e.count) for e in events] == [("waiting", 3)]


async def test_evict_removes_the_pod_and_gone_is_done(api: tuple[KubeBinderApi, k8s.CoreV1Api]) -> None:
    binder, core = api
    uid = await make_pod(core, "api-evict")
    evict = EvictDecision(id="e/api-evict", namespace=NS, name="api-evict", uid=uid, reason="preempted")
    await Applier(binder)(evict)
    pod = await binder.get_pod(NS, "api-evict")
    assert pod is None or pod["metadata"].get("deletionTimestamp")
    await Applier(binder)(evict)


async def test_podgroup_status_is_patched_on_the_main_resource(
    apiserver: ApiServerHandle, api: tuple[KubeBinderApi, k8s.CoreV1Api]
) -> None:
    binder, core = api
    custom = k8s.CustomObjectsApi(core.api_client)  # type: ignore[attr-defined]
    body = {
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "PodGroup",
        "metadata": {"name": "api-pg", "namespace": NS},
        "spec": {"minMember": 1},
    }
    pg = await custom.create_namespaced_custom_object(
        "scheduling.volcano.sh", "v1beta1", NS, "podgroups", body
    )
    cond = PodGroupCondition(type="Scheduled", status="True", transition_id="s1", reason="tasks ready")
    decision = PodGroupStatusDecision(
        id="s1/pg", namespace=NS, name="api-pg", uid=pg["metadata"]["uid"], phase="Running", conditions=[cond]
    )
    decision.running = 1
    await Applier(binder)(decision)
    got = await custom.get_namespaced_custom_object(
        "scheduling.volcano.sh", "v1beta1", NS, "podgroups", "api-pg"
    )
    assert got["status"]["phase"] == "Running"
    assert got["status"]["running"] == 1
    assert [(c["type"], c["status"], c["reason"]) for c in got["status"]["conditions"]] == [
        ("Scheduled", "True", "tasks ready")
    ]
    assert got["spec"]["minMember"] == 1
