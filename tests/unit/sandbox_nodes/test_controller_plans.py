"""The sandbox controllers' pure plans: ReplicaSet, Deployment, node lifecycle, binder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pyroclast.sandbox.controllers import binder
from pyroclast.sandbox.controllers.deployment import HASH_LABEL, plan_deployment, template_hash
from pyroclast.sandbox.controllers.nodelifecycle import (
    UNKNOWN_MESSAGE,
    UNREACHABLE,
    plan_node_health,
    plan_taint_evictions,
)
from pyroclast.sandbox.controllers.replicaset import plan_replicaset, pod_from_template
from pyroclast.sandbox.timeutil import format_micro_time, format_time

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx"}], "schedulerName": "default-scheduler"},
}


def replicaset(replicas: int, uid: str = "rs-uid") -> dict[str, Any]:
    return {
        "metadata": {"name": "web-abc", "namespace": "default", "uid": uid, "generation": 2},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
        "status": {},
    }


def pod(i: int, owner: str = "rs-uid", ready: bool = True, node: str = "node-0") -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"web-abc-{i}",
            "namespace": "default",
            "uid": f"pod-{i}",
            "labels": {"app": "web"},
            "creationTimestamp": format_time(NOW + timedelta(seconds=i)),
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "uid": owner, "controller": True}],
        },
        "spec": {"nodeName": node},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def test_replicaset_creates_missing_pods_with_owner_and_generate_name() -> None:
    plan = plan_replicaset(replicaset(3), [pod(0)], NOW)
    assert plan.create == 2
    new = pod_from_template(replicaset(3))
    assert new["metadata"]["generateName"] == "web-abc-"
    ref = new["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["controller"], ref["blockOwnerDeletion"]) == ("ReplicaSet", True, True)
    assert new["spec"]["schedulerName"] == "default-scheduler"


def test_replicaset_deletes_surplus_not_ready_and_newest_first() -> None:
    pods = [pod(0), pod(1, ready=False), pod(2), pod(3)]
    plan = plan_replicaset(replicaset(1), pods, NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["web-abc-1", "web-abc-3", "web-abc-2"]


def test_replicaset_ignores_pods_it_does_not_control_and_is_idempotent() -> None:
    rs = replicaset(2)
    pods = [pod(0), pod(1), pod(2, owner="other")]
    plan = plan_replicaset(rs, pods, NOW)
    assert plan.create == 0
    assert not plan.delete
    assert plan.status is not None
    assert plan.status["replicas"] == 2
    assert plan.status["readyReplicas"] == 2
    assert plan.status["availableReplicas"] == 2
    assert plan.status["observedGeneration"] == 2
    rs["status"] = plan.status
    again = plan_replicaset(rs, pods, NOW)
    assert (again.create, again.delete, again.status) == (0, [], None)


def test_finished_pods_are_replaced() -> None:
    done = pod(0)
    done["status"]["phase"] = "Failed"
    assert plan_replicaset(replicaset(1), [done], NOW).create == 1


def deployment(replicas: int = 3, template: dict[str, Any] | None = None, **strategy: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": template or TEMPLATE,
    }
    if strategy:
        spec["strategy"] = strategy
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
        "spec": spec,
    }


def owned_rs(
    deploy: dict[str, Any], template: dict[str, Any], replicas: int, available: int, revision: int
) -> dict[str, Any]:
    h = template_hash(template)
    return {
        "metadata": {
            "name": f"web-{h}",
            "namespace": "default",
            "labels": {"app": "web", HASH_LABEL: h},
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d-uid", "controller": True}],
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available},
    }


def test_deployment_creates_its_replicaset() -> None:
    plan = plan_deployment(deployment(3), [], NOW)
    assert plan.create is not None
    h = template_hash(TEMPLATE)
    assert plan.create["metadata"]["name"] == f"web-{h}"
    assert plan.create["spec"]["replicas"] == 3
    assert plan.create["spec"]["selector"]["matchLabels"] == {"app": "web", HASH_LABEL: h}
    assert plan.create["spec"]["template"]["metadata"]["labels"][HASH_LABEL] == h
    ref = plan.create["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (
        "Deployment",
        "d-uid",
        True,
        True,
    )


def test_deployment_scales_and_reports_available() -> None:
    d = deployment(1)
    rs = owned_rs(d, TEMPLATE, replicas=3, available=3, revision=1)
    plan = plan_deployment(d, [rs], NOW)
    assert plan.scale == {rs["metadata"]["name"]: 1}
    assert plan.status is not None
    available = next(c for c in plan.status["conditions"] if c["type"] == "Available")
    assert available["status"] == "True"


def test_deployment_complete_status() -> None:
    d = deployment(3)
    rs = owned_rs(d, TEMPLATE, replicas=3, available=3, revision=1)
    plan = plan_deployment(d, [rs], NOW)
    assert plan.scale == {}
    assert plan.status is not None
    assert (plan.status["replicas"], plan.status["updatedReplicas"], plan.status["availableReplicas"]) == (
        3,
        3,
        3,
    )
    progressing = next(c for c in plan.status["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"
    d["status"] = plan.status
    assert plan_deployment(d, [rs], NOW).status is None


def test_rolling_update_surges_new_and_drains_old_within_budget() -> None:
    new_template = {**TEMPLATE, "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
    d = deployment(4, template=new_template)  # 25%: surge 1, unavailable 1
    old = owned_rs(d, TEMPLATE, replicas=4, available=4, revision=1)
    plan = plan_deployment(d, [old], NOW)
    assert plan.create is not None
    assert plan.create["spec"]["replicas"] == 1
    assert plan.create["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    new = owned_rs(d, new_template, replicas=1, available=0, revision=2)
    plan = plan_deployment(d, [old, new], NOW)
    assert plan.scale == {old["metadata"]["name"]: 3}  # one may be unavailable
    old["spec"]["replicas"] = 3
    old["status"].update(replicas=3, availableReplicas=3, readyReplicas=3)
    new["status"].update(availableReplicas=1, readyReplicas=1)
    plan = plan_deployment(d, [old, new], NOW)
    assert plan.scale[new["metadata"]["name"]] == 2


def test_recreate_scales_old_to_zero_first() -> None:
    new_template = {**TEMPLATE, "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
    d = deployment(2, template=new_template, type="Recreate")
    old = owned_rs(d, TEMPLATE, replicas=2, available=2, revision=1)
    plan = plan_deployment(d, [old], NOW)
    assert plan.create is not None
    assert plan.create["spec"]["replicas"] == 0
    assert plan.scale == {old["metadata"]["name"]: 0}


def node(
    ready: str = "True", heartbeat: datetime = NOW, taints: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": "node-0", "labels": {"zone": "a"}},
        "spec": {"taints": taints or []},
        "status": {
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"},
            "conditions": [
                {"type": "Ready", "status": ready, "lastHeartbeatTime": format_time(heartbeat)},
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": format_time(heartbeat)},
            ],
        },
    }


def lease(renewed: datetime) -> dict[str, Any]:
    return {"spec": {"renewTime": format_micro_time(renewed)}}


def test_expired_lease_marks_the_node_unknown_and_unreachable() -> None:
    plan = plan_node_health(
        node(heartbeat=NOW - timedelta(seconds=60)), lease(NOW - timedelta(seconds=30)), NOW, 20
    )
    assert plan.conditions is not None
    ready = next(c for c in plan.conditions if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown",
        "NodeStatusUnknown",
        UNKNOWN_MESSAGE,
    )
    assert plan.taints is not None
    assert {(t["key"], t["effect"]) for t in plan.taints} == {
        (UNREACHABLE, "NoSchedule"),
        (UNREACHABLE, "NoExecute"),
    }


def test_fresh_lease_keeps_the_node_ready_and_clears_taints() -> None:
    tainted = node(
        taints=[{"key": UNREACHABLE, "effect": "NoSchedule"}, {"key": "mine", "effect": "NoSchedule"}]
    )
    plan = plan_node_health(tainted, lease(NOW - timedelta(seconds=5)), NOW, 20)
    assert plan.conditions is None
    assert plan.taints == [{"key": "mine", "effect": "NoSchedule"}]
    assert plan.recheck_at == NOW + timedelta(seconds=20)  # the status heartbeat is newer than the lease


def test_binder_picks_the_first_node_that_fits() -> None:
    nodes = [node(), {**node(), "metadata": {"name": "node-1", "labels": {}}}]
    p = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "3"}}}]},
    }
    assert binder.choose_node(p, nodes, {}).node == "node-0"
    assert binder.choose_node(p, nodes, {"node-0": {"cpu": 2000}}).node == "node-1"
    placement = binder.choose_node(p, nodes, {"node-0": {"cpu": 2000}, "node-1": {"cpu": 2000}})
    assert placement.node is None
    assert placement.message == "0/2 nodes are available: 2 Insufficient cpu."


def test_binder_respects_taints_selectors_and_scheduler_name() -> None:
    p: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    assert (
        binder.choose_node(p, [node(taints=[{"key": UNREACHABLE, "effect": "NoSchedule"}])], {}).node is None
    )
    assert binder.choose_node(p, [node(ready="Unknown")], {}).node is None
    p["spec"]["nodeSelector"] = {"zone": "b"}
    assert binder.choose_node(p, [node()], {}).node is None
    assert binder.needs_binding({"spec": {"schedulerName": "default-scheduler"}})
    assert binder.needs_binding({"spec": {}})
    assert not binder.needs_binding({"spec": {"schedulerName": "volcano"}})
    assert not binder.needs_binding({"spec": {"nodeName": "node-0"}})


def test_no_execute_taints_evict_pods_that_do_not_tolerate_them_long_enough() -> None:
    added = format_time(NOW - timedelta(seconds=10))
    tainted = node(taints=[{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": added}])

    def bound_pod(name: str, tolerations: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "metadata": {"name": name},
            "spec": {"nodeName": "node-0", "tolerations": tolerations},
            "status": {},
        }

    exists = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    pods = [
        bound_pod("intolerant", []),
        bound_pod("short", [{**exists, "tolerationSeconds": 5}]),
        bound_pod("long", [{**exists, "tolerationSeconds": 300}]),
        bound_pod("forever", [exists]),
    ]
    plan = plan_taint_evictions(tainted, pods, NOW)
    assert [p["metadata"]["name"] for p in plan.evict] == ["intolerant", "short"]
    assert plan.recheck_at == NOW + timedelta(seconds=290)
    assert plan_taint_evictions(node(), pods, NOW).evict == []
