"""The sandbox API server driven by kubernetes_asyncio and raw HTTP: concurrency, watch, restart,
bad input."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from apiserver_fixture import WIDGET_CRD, ApiServerHandle, start_server
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

pytestmark = pytest.mark.integration


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def v1_cm(name: str, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


class Raw:
    """Plain HTTPS requests with the admin token (for checking exact status codes and bodies)."""

    def __init__(self, server: ApiServerHandle) -> None:
        self.server = server
        self.ssl = ssl.create_default_context(cafile=str(server.data_dir / "pki" / "ca.crt"))

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        hdrs = {"Authorization": f"Bearer {self.server.token if token is None else token}", **(headers or {})}
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        if data is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/json"
        timeout = aiohttp.ClientTimeout(total=20)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, self.server.url + path, data=data, headers=hdrs, ssl=self.ssl) as resp,
        ):
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def watch(self, path: str, until: int, limit: float = 10) -> list[dict[str, Any]]:
        """Collect watch events until ``until`` events arrived (or ``limit`` seconds passed)."""
        events: list[dict[str, Any]] = []
        hdrs = {"Authorization": f"Bearer {self.server.token}"}
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit)) as session,
            session.get(self.server.url + path, headers=hdrs, ssl=self.ssl) as resp,
        ):
            assert resp.status == 200
            async for line in resp.content:
                if line.strip():
                    events.append(json.loads(line))
                if len(events) >= until:
                    break
        return events


async def test_kubernetes_asyncio_crud(apiserver: ApiServerHandle) -> None:
    async with apiserver.api_client() as api:
        core = client.CoreV1Api(api)
        created = await core.create_namespaced_config_map("default", v1_cm("crud", a="1"))
        assert created.metadata.uid
        assert created.metadata.resource_version
        got = await core.read_namespaced_config_map("crud", "default")
        assert got.data == {"a": "1"}
        got.data["b"] = "2"
        updated = await core.replace_namespaced_config_map("crud", "default", got)
        assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
        listed = await core.list_namespaced_config_map("default", label_selector="")
        assert "crud" in [i.metadata.name for i in listed.items]
        await core.delete_namespaced_config_map("crud", "default")
        with pytest.raises(ApiException) as exc:
            await core.read_namespaced_config_map("crud", "default")
        assert exc.value.status == 404
        assert json.loads(exc.value.body or b"{}")["message"] == 'configmaps "crud" not found'


async def test_concurrent_updates_race_to_one_conflict(apiserver: ApiServerHandle) -> None:
    async with apiserver.api_client() as api:
        core = client.CoreV1Api(api)
        await core.create_namespaced_config_map("default", v1_cm("race", v="0"))
        a = await core.read_namespaced_config_map("race", "default")
        b = await core.read_namespaced_config_map("race", "default")
        a.data["v"], b.data["v"] = "a", "b"
        results = await asyncio.gather(
            core.replace_namespaced_config_map("race", "default", a),
            core.replace_namespaced_config_map("race", "default", b),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, ApiException)]
        assert len(errors) == 1
        assert errors[0].status == 409
        body = json.loads(errors[0].body or b"{}")
        assert body["reason"] == "Conflict"
        assert body["message"] == (
            'Operation cannot be fulfilled on configmaps "race": the object has been modified; '
            "please apply your changes to the latest version and try again"
        )


async def test_watch_resume_replays_every_change_once_in_order(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    code, first = await raw.request("POST", "/api/v1/namespaces/default/configmaps", cm("resume", n="0"))
    assert code == 201
    start_rv = first["metadata"]["resourceVersion"]
    rvs = []
    for i in range(1, 6):
        code, obj = await raw.request(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/resume",
            {"data": {"n": str(i)}},
            {"Content-Type": "application/merge-patch+json"},
        )
        assert code == 200
        rvs.append(obj["metadata"]["resourceVersion"])
    await raw.request("DELETE", "/api/v1/namespaces/default/configmaps/resume")
    events = await raw.watch(
        f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={start_rv}&fieldSelector=metadata.name%3Dresume",
        until=6,
    )
    assert [e["type"] for e in events] == ["MODIFIED"] * 5 + ["DELETED"]
    assert [e["object"]["data"]["n"] for e in events[:5]] == ["1", "2", "3", "4", "5"]
    assert [e["object"]["metadata"]["resourceVersion"] for e in events[:5]] == rvs
    observed = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert observed == sorted(observed)
    assert len(set(observed)) == len(observed)


async def test_watch_replay_and_initial_events_follow_the_selector(apiserver: ApiServerHandle) -> None:
    """Replayed changes in and out of a label selector read as ADDED, MODIFIED, DELETED; a watch
    without a resourceVersion starts with every matching object."""
    raw = Raw(apiserver)
    base = "/api/v1/namespaces/default/configmaps"
    merge = {"Content-Type": "application/merge-patch+json"}
    code, first = await raw.request("POST", base, cm("replay-sel", n="0"))
    assert code == 201
    start_rv = first["metadata"]["resourceVersion"]
    for patch in (
        {"metadata": {"labels": {"replay": "in"}}},  # enters the selector: ADDED
        {"data": {"n": "1"}},  # MODIFIED
        {"metadata": {"labels": {"replay": None}}},  # leaves it: DELETED
        {"data": {"n": "2"}},  # outside: nothing
    ):
        code, _ = await raw.request("PATCH", f"{base}/replay-sel", patch, merge)
        assert code == 200
    tagged = cm("replay-other")
    tagged["metadata"]["labels"] = {"replay": "in"}
    assert (await raw.request("POST", base, tagged))[0] == 201
    events = await raw.watch(f"{base}?watch=1&resourceVersion={start_rv}&labelSelector=replay%3Din", until=4)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "replay-sel"),
        ("MODIFIED", "replay-sel"),
        ("DELETED", "replay-sel"),
        ("ADDED", "replay-other"),
    ]
    assert [e["object"]["data"].get("n") for e in events[:3]] == ["0", "1", "1"]
    for i in range(3):
        extra = cm(f"replay-more-{i}")
        extra["metadata"]["labels"] = {"replay": "in"}
        assert (await raw.request("POST", base, extra))[0] == 201
    initial = await raw.watch(f"{base}?watch=1&labelSelector=replay%3Din", until=4)
    assert {e["type"] for e in initial} == {"ADDED"}
    names = {e["object"]["metadata"]["name"] for e in initial}
    assert names == {"replay-other", "replay-more-0", "replay-more-1", "replay-more-2"}
    assert all(e["object"]["kind"] == "ConfigMap" for e in initial)


async def test_watch_with_kubernetes_asyncio(apiserver: ApiServerHandle) -> None:
    from kubernetes_asyncio import watch

    async with apiserver.api_client() as api:
        core = client.CoreV1Api(api)
        listed = await core.list_namespaced_config_map("default")
        w = watch.Watch()
        seen: list[tuple[str, str]] = []

        async def consume() -> None:
            async with w.stream(
                core.list_namespaced_config_map,
                "default",
                resource_version=listed.metadata.resource_version,
                timeout_seconds=10,
            ) as stream:
                async for event in stream:
                    seen.append((event["type"], event["object"].metadata.name))
                    if len(seen) == 2:
                        return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        await core.create_namespaced_config_map("default", v1_cm("watched-1"))
        await core.delete_namespaced_config_map("watched-1", "default")
        await asyncio.wait_for(task, 10)
        assert seen == [("ADDED", "watched-1"), ("DELETED", "watched-1")]


async def test_bookmarks_and_initial_events(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    await raw.request("POST", "/api/v1/namespaces/default/configmaps", cm("bm"))
    events = await raw.watch(
        "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        "&allowWatchBookmarks=true&fieldSelector=metadata.name%3Dbm",
        until=2,
    )
    assert events[0]["type"] == "ADDED"
    assert events[0]["object"]["metadata"]["name"] == "bm"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_restart_keeps_objects_and_resource_versions(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    raw = Raw(server)
    try:
        names = [f"keep-{i}" for i in range(50)]
        results = await asyncio.gather(
            *(raw.request("POST", "/api/v1/namespaces/default/configmaps", cm(n, i=n)) for n in names)
        )
        assert all(code == 201 for code, _ in results)
        crd = yaml.safe_load(WIDGET_CRD)
        assert (await raw.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd))[
            0
        ] == 201
        widget = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": 1},
        }
        for _ in range(50):  # the CRD is served once established
            code, _ = await raw.request("POST", "/apis/example.com/v1/namespaces/default/widgets", widget)
            if code == 201:
                break
            await asyncio.sleep(0.05)
        assert code == 201
        code, listed = await raw.request("GET", "/api/v1/namespaces/default/configmaps")
        rv_before = int(listed["metadata"]["resourceVersion"])
    finally:
        server.stop()
    server = start_server(tmp_path, port=0)
    raw = Raw(server)
    try:
        code, listed = await raw.request("GET", "/api/v1/namespaces/default/configmaps")
        kept = [i["metadata"]["name"] for i in listed["items"] if i["metadata"]["name"].startswith("keep-")]
        assert sorted(kept) == sorted(names)
        assert int(listed["metadata"]["resourceVersion"]) >= rv_before
        code, widget = await raw.request("GET", "/apis/example.com/v1/namespaces/default/widgets/w")
        assert code == 200
        assert widget["spec"] == {"size": 1, "color": "red"}
        code, obj = await raw.request("POST", "/api/v1/namespaces/default/configmaps", cm("after"))
        assert code == 201
        assert int(obj["metadata"]["resourceVersion"]) > rv_before
        # The event log survives too: a watch from before the restart replays the new change.
        events = await raw.watch(
            f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv_before}", until=1
        )
        assert events[0]["type"] == "ADDED"
        assert events[0]["object"]["metadata"]["name"] == "after"
    finally:
        server.stop()


async def test_too_old_resource_version_is_gone(tmp_path: Path) -> None:
    from pyroclast.sandbox.apiserver.testing import ApiServerThread

    server = ApiServerThread(tmp_path, event_log_size=10).start()
    raw = Raw(server)
    try:
        for i in range(30):
            await raw.request("POST", "/api/v1/namespaces/default/configmaps", cm(f"old-{i}"))
        events = await raw.watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2", until=1)
        assert events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["code"] == 410
        assert status["reason"] == "Expired"
        assert status["message"].startswith("too old resource version: 2 (")
    finally:
        server.stop()


async def test_bad_input_gets_kube_status(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    base = "/api/v1/namespaces/default/configmaps"
    code, body = await raw.request("POST", base, b"{not json")
    assert code == 400
    assert body["reason"] == "BadRequest"
    code, body = await raw.request("POST", base, b"a: [1", {"Content-Type": "application/yaml"})
    assert code == 400
    assert body["kind"] == "Status"
    code, body = await raw.request("POST", "/api/v1/namespaces/default/gizmos", cm("x"))
    assert code == 404
    assert body["message"] == "the server could not find the requested resource"
    code, body = await raw.request("GET", "/apis/nothere.example.com/v1/things")
    assert code == 404
    code, body = await raw.request("POST", "/api/v1/namespaces/nope/configmaps", cm("x"))
    assert code == 404
    assert body["message"] == 'namespaces "nope" not found'
    code, body = await raw.request("POST", base, cm("Bad_Name"))
    assert code == 422
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    code, body = await raw.request("POST", base, cm("big", blob="x" * (3 * 1024 * 1024 + 10)))
    assert code == 413
    assert body["reason"] == "RequestEntityTooLarge"
    code, body = await raw.request("POST", base, cm("ct"), {"Content-Type": "text/plain"})
    assert code == 415
    assert body["reason"] == "UnsupportedMediaType"
    code, body = await raw.request("PATCH", base + "/missing", {}, {"Content-Type": "application/x-unknown"})
    assert code == 415
    code, body = await raw.request("PUT", base, cm("x"))
    assert code == 405
    assert body["reason"] == "MethodNotAllowed"
    code, body = await raw.request("GET", base, token="wrong")
    assert code == 401
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    code, body = await raw.request("GET", base + "?labelSelector=a%20in%20(b")
    assert code == 400
    code, body = await raw.request("GET", base + "?fieldSelector=spec.nope%3D1")
    assert code == 400
    assert body["message"] == "field label not supported: spec.nope"
    code, _ = await raw.request("GET", "/version")
    assert code == 200  # still serving


async def test_pod_graceful_deletion_and_binding(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    base = "/api/v1/namespaces/default/pods"
    pod = {"metadata": {"name": "graceful"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    code, _ = await raw.request("POST", base, pod)
    assert code == 201
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "graceful"},
        "target": {"name": "node-1"},
    }
    code, _ = await raw.request("POST", base + "/graceful/binding", binding)
    assert code == 201
    code, body = await raw.request("POST", base + "/graceful/binding", binding)
    assert code == 409
    assert body["message"] == (
        'Operation cannot be fulfilled on pods/binding "graceful": '
        'pod graceful is already assigned to node "node-1"'
    )
    code, obj = await raw.request("DELETE", base + "/graceful")
    assert code == 202
    assert obj["metadata"]["deletionTimestamp"]
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30
    code, obj = await raw.request("GET", base + "/graceful")
    assert code == 200
    # The kubelet confirms with a zero grace period.
    code, _ = await raw.request("DELETE", base + "/graceful", {"gracePeriodSeconds": 0})
    assert code == 200
    code, _ = await raw.request("GET", base + "/graceful")
    assert code == 404


async def test_finalizers_hold_deletion(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    base = "/api/v1/namespaces/default/configmaps"
    obj = cm("held")
    obj["metadata"]["finalizers"] = ["example.com/hold"]
    await raw.request("POST", base, obj)
    code, marked = await raw.request("DELETE", base + "/held")
    assert code == 202
    assert marked["metadata"]["deletionTimestamp"]
    code, _ = await raw.request(
        "PATCH",
        base + "/held",
        {"metadata": {"finalizers": None}},
        {"Content-Type": "application/merge-patch+json"},
    )
    assert code == 200
    code, _ = await raw.request("GET", base + "/held")
    assert code == 404


async def test_status_subresource_separation(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    base = "/apis/apps/v1/namespaces/default/deployments"
    dep = {
        "metadata": {"name": "sep"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
        "status": {"replicas": 99},
    }
    code, created = await raw.request("POST", base, dep)
    assert code == 201
    assert created["status"].get("replicas") is None
    merge = {"Content-Type": "application/merge-patch+json"}
    code, obj = await raw.request(
        "PATCH", base + "/sep/status", {"spec": {"replicas": 5}, "status": {"replicas": 1}}, merge
    )
    assert code == 200
    assert obj["spec"]["replicas"] == 1
    assert obj["status"]["replicas"] == 1
    code, obj = await raw.request(
        "PATCH", base + "/sep", {"spec": {"replicas": 3}, "status": {"replicas": 7}}, merge
    )
    assert obj["spec"]["replicas"] == 3
    assert obj["status"]["replicas"] == 1
    assert obj["metadata"]["generation"] == 2
    code, scale = await raw.request("GET", base + "/sep/scale")
    assert code == 200
    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 3


async def test_list_pagination(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    await raw.request("POST", "/api/v1/namespaces", {"metadata": {"name": "paged"}})
    for i in range(7):
        await raw.request("POST", "/api/v1/namespaces/paged/configmaps", cm(f"p{i}"))
    names: list[str] = []
    token = ""
    while True:
        code, page = await raw.request("GET", f"/api/v1/namespaces/paged/configmaps?limit=3&continue={token}")
        assert code == 200
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert names == ["kube-root-ca.crt"] + [f"p{i}" for i in range(7)]


async def test_generate_name_and_aggregated_discovery(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    code, obj = await raw.request(
        "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"generateName": "gen-"}}
    )
    assert code == 201
    assert obj["metadata"]["name"].startswith("gen-")
    assert len(obj["metadata"]["name"]) == 9
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    code, doc = await raw.request("GET", "/apis", headers={"Accept": accept})
    assert doc["kind"] == "APIGroupDiscoveryList"
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["shortNames"] == ["deploy"]
    assert deploy["scope"] == "Namespaced"


async def test_wrong_types_are_client_errors(apiserver: ApiServerHandle) -> None:
    """Every field of a pod replaced by values of the wrong type: 4xx answers, never a 5xx."""
    raw = Raw(apiserver)
    sample: dict[str, Any] = {
        "metadata": {"name": "typed", "labels": {"a": "b"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "i",
                    "ports": [{"containerPort": 80}],
                    "resources": {"requests": {"cpu": "1"}},
                }
            ]
        },
    }

    def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        out = [prefix]
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, child in items:
            out += paths(child, (*prefix, key))
        return out

    def replaced(path: tuple[Any, ...], value: Any) -> Any:
        if not path:
            return value
        body = json.loads(json.dumps(sample))
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return body

    codes = set()
    for path in paths(sample):
        for value in ("x", 7, [], {}, True, [1], {"k": 1}):
            code, body = await raw.request("POST", "/api/v1/namespaces/default/pods", replaced(path, value))
            assert code < 500, (path, value, body)
            codes.add(code)
    assert 400 in codes
    code, body = await raw.request(
        "POST", "/api/v1/namespaces/default/pods", replaced(("spec", "containers", 0, "image"), 5)
    )
    assert code == 400
    assert body["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field '
        "Container.spec.containers.image of type string"
    )
    # Quantities given as YAML numbers are normalized to strings.
    pod = replaced(("spec", "containers", 0, "resources"), {"limits": {"cpu": 2}})
    pod["metadata"]["name"] = "quantities"
    code, body = await raw.request("POST", "/api/v1/namespaces/default/pods", pod)
    assert code == 201
    assert body["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "2"}


async def test_eviction_respects_disruption_budget(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    base = "/api/v1/namespaces/default/pods"
    ready = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    for name in ("guarded-a", "guarded-b"):
        pod = {
            "metadata": {"name": name, "labels": {"app": "guarded"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        }
        assert (await raw.request("POST", base, pod))[0] == 201
        code, _ = await raw.request(
            "PATCH", f"{base}/{name}/status", ready, {"Content-Type": "application/merge-patch+json"}
        )
        assert code == 200
    pdb = {
        "metadata": {"name": "guard"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "guarded"}}},
    }
    assert (await raw.request("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", pdb))[
        0
    ] == 201
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "guarded-a"}}
    code, body = await raw.request("POST", f"{base}/guarded-a/eviction", eviction)
    assert code == 429
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"][0]["reason"] == "DisruptionBudget"
    status: dict[str, Any] = {}
    for _ in range(50):  # the disruption controller reports the budget
        _, current = await raw.request("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/guard")
        status = current.get("status") or {}
        if status.get("expectedPods") == 2:
            break
        await asyncio.sleep(0.05)
    assert status["currentHealthy"] == 2
    assert status["disruptionsAllowed"] == 0
    code, _ = await raw.request(
        "PATCH",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets/guard",
        {"spec": {"minAvailable": 1}},
        {"Content-Type": "application/merge-patch+json"},
    )
    assert code == 200
    code, body = await raw.request("POST", f"{base}/guarded-a/eviction", eviction)
    assert code == 201
    assert body["status"] == "Success"


async def test_events_k8s_io_is_a_view_of_core_events(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "modern.1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
        "note": "hello from events.k8s.io",
        "reason": "Tested",
        "type": "Normal",
        "action": "Test",
        "reportingController": "pyroclast/test",
        "reportingInstance": "test-1",
    }
    code, created = await raw.request("POST", "/apis/events.k8s.io/v1/namespaces/default/events", event)
    assert code == 201
    assert created["note"] == "hello from events.k8s.io"
    code, core = await raw.request("GET", "/api/v1/namespaces/default/events/modern.1")
    assert code == 200
    assert core["message"] == "hello from events.k8s.io"
    assert core["involvedObject"]["name"] == "p"
    assert core["reportingComponent"] == "pyroclast/test"
    code, listed = await raw.request(
        "GET", "/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dp"
    )
    assert [e["metadata"]["name"] for e in listed["items"]] == ["modern.1"]
    assert listed["items"][0]["regarding"]["kind"] == "Pod"


async def test_pods_of_a_deleted_node_are_collected(apiserver: ApiServerHandle) -> None:
    raw = Raw(apiserver)
    assert (await raw.request("POST", "/api/v1/nodes", {"metadata": {"name": "doomed-node"}}))[0] == 201
    pod = {
        "metadata": {"name": "on-doomed-node"},
        "spec": {"nodeName": "doomed-node", "containers": [{"name": "c", "image": "i"}]},
    }
    assert (await raw.request("POST", "/api/v1/namespaces/default/pods", pod))[0] == 201
    code, _ = await raw.request("DELETE", "/api/v1/namespaces/default/pods/on-doomed-node")
    assert code == 202  # bound: graceful, waits for the kubelet
    assert (await raw.request("DELETE", "/api/v1/nodes/doomed-node"))[0] == 200
    for _ in range(50):
        code, _ = await raw.request("GET", "/api/v1/namespaces/default/pods/on-doomed-node")
        if code == 404:
            break
        await asyncio.sleep(0.05)
    assert code == 404


async def test_resource_version_from_the_future(apiserver: ApiServerHandle) -> None:
    """After a reset data dir, clients holding a newer resourceVersion are told to re-list."""
    raw = Raw(apiserver)
    code, body = await raw.request(
        "GET", "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=999999999"
    )
    assert code == 504
    assert body["reason"] == "Timeout"
    assert body["message"].startswith("Too large resource version: 999999999, current: ")
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
