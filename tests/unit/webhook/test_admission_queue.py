"""``/queues/validate`` and ``/queues/mutate``: resources, state, hierarchy, deletion, defaults."""

from __future__ import annotations

from typing import Any

import pytest
from admission_support import cluster, queue, run

from pyroclast.webhook.admission import AdmissionConfig, Operation, apply_patch
from pyroclast.webhook.admission.queue_validate import go_parse_float

ANN = "requestBody.metadata.annotations"


def hier(path: str, weights: str) -> dict[str, str]:
    return {"volcano.sh/hierarchy": path, "volcano.sh/hierarchy-weights": weights}


def res(cpu: Any, memory: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"cpu": cpu}
    if memory is not None:
        out["memory"] = memory
    return out


TREE = cluster(
    queue("default"),
    queue("root"),
    queue("busy", parent="root"),
    queue("busy-leaf", parent="root"),
    queue("with-child", parent="root"),
    queue("child", parent="with-child"),
    queue("ordinary", annotations=hier("root/node1/node2", "1/2/3")),
    queue(
        "capped",
        parent="root",
        capability=res(10),
        guarantee={"resource": res(8, "16Gi")},
        deserved=res(100, "100Gi"),
    ),
    queue("capped-child", parent="capped", guarantee={"resource": res(4, "8Gi")}, deserved=res(4, "8Gi")),
    queue("uncapped", parent="capped"),
    queue("l1", parent="root"),
    queue("l2", parent="l1"),
    queue("l3", parent="l2"),
)
# Allocated pods are status the scheduler writes.
for name in ("busy", "busy-leaf"):
    _status = TREE.queues_by_name[name].status
    assert _status is not None
    _status.allocated = {"pods": "1"}

CREATE_DENIED: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown state",
        queue("q", state="wrong"),
        'requestBody.spec.state: Invalid value: "wrong": queue state must be in [Open Closed]',
    ),
    (
        "guarantee without deserved",
        queue("q", guarantee={"resource": res(1)}),
        'requestBody.spec.deserved.cpu: Invalid value: "<nil>": deserved[cpu] must be >= guarantee[cpu]=1',
    ),
    (
        "deserved above capability",
        queue("q", capability=res(1), deserved=res(2)),
        'requestBody.spec.deserved.cpu: Invalid value: "2": deserved[cpu]=2 must be <= capability[cpu]=1',
    ),
    (
        "deserved below guarantee",
        queue("q", guarantee={"resource": {"memory": "3Gi"}}, deserved={"memory": "1024Mi"}),
        'requestBody.spec.deserved.memory: Invalid value: "1Gi": '
        "deserved[memory]=1Gi must be >= guarantee[memory]=3Gi",
    ),
    (
        "negative capability",
        queue("q", capability=res("-10")),
        'requestBody.spec.capability.cpu: Invalid value: "-10": must be greater than or equal to 0',
    ),
    (
        "negative deserved",
        queue("q", deserved=res("-5")),
        'requestBody.spec.deserved.cpu: Invalid value: "-5": must be greater than or equal to 0',
    ),
    (
        "negative guarantee",
        queue("q", guarantee={"resource": res("-2")}),
        '[requestBody.spec.guarantee.resource.cpu: Invalid value: "-2": must be greater than or equal to 0, '
        'requestBody.spec.deserved.cpu: Invalid value: "<nil>": deserved[cpu] must be >= guarantee[cpu]=-2]',
    ),
    (
        "fractional extended resource",
        queue("q", capability={"nvidia.com/gpu": "0.5"}),
        'requestBody.spec.capability.nvidia.com/gpu: Invalid value: "500m": must be an integer',
    ),
    (
        "hierarchy lengths differ",
        queue("q", annotations=hier("root/a/b", "1/2")),
        f'{ANN}: Invalid value: "root/a/b": volcano.sh/hierarchy must have the same length with '
        "volcano.sh/hierarchy-weights",
    ),
    (
        "negative weight",
        queue("q", annotations=hier("root/a/b", "1/-1/3")),
        f'{ANN}: Invalid value: "1/-1/3": -1 in the 1/-1/3 must be larger than 0',
    ),
    (
        "weight not a number",
        queue("q", annotations=hier("root/a/b", "1/a/3")),
        f'{ANN}: Invalid value: "1/a/3": a in the 1/a/3 is invalid number: '
        'strconv.ParseFloat: parsing "a": invalid syntax',
    ),
    (
        "hierarchy above another queue",
        queue("q", annotations=hier("root/node1", "1/2")),
        f'{ANN}: Invalid value: "root/node1": root/node1 is not allowed to be in the sub path of '
        "root/node1/node2 of queue ordinary",
    ),
    ("itself as parent", queue("q", parent="q"), "queue q cannot use itself as parent"),
    (
        "parent with pods",
        queue("q", parent="busy"),
        "queue busy cannot be the parent queue of queue q because it has allocated Pods: 1",
    ),
    (
        "missing parent",
        queue("q", parent="missing"),
        'failed to get parent queue missing of queue q: queue.scheduling.volcano.sh "missing" not found',
    ),
    ("too deep", queue("q", parent="l3"), "queue q exceeds the maximum allowed depth of 3"),
    (
        "capability above ancestor",
        queue("q", parent="uncapped", capability=res(20)),
        "queue q capability[cpu]=20 exceeds its ancestor's capability=10",
    ),
    (
        "siblings guarantee above parent",
        queue("q", parent="capped", guarantee={"resource": res(5, "10Gi")}, deserved=res(5, "10Gi")),
        "parent queue capped validation failed: "
        "sum of children's guarantee (cpu 9000.00, memory 19327352832.00) "
        "exceeds parent's guarantee limit (cpu 8000.00, memory 17179869184.00)",
    ),
    (
        "deserved under a parent without deserved",
        queue("q", parent="with-child", deserved=res(1)),
        "parent queue with-child validation failed: sum of children's deserved (cpu 1000.00, memory 0.00) "
        "exceeds parent's deserved limit (cpu 0.00, memory 0.00)",
    ),
]

CREATE_ALLOWED: list[tuple[str, dict[str, Any]]] = [
    ("no state", queue("q", state=None)),
    ("open", queue("q")),
    ("closed", queue("q", state="Closed")),
    (
        "resources in order",
        queue("q", capability=res(4, "8Gi"), deserved=res(2, "4Gi"), guarantee={"resource": res(1)}),
    ),
    ("hierarchy", queue("q", annotations=hier("root/sci", "1/2"))),
    ("hierarchy prefix by name only", queue("q", annotations=hier("root/node", "1/2"))),
    ("special float weights", queue("q", annotations=hier("root/a", "1e2/NaN"))),
    ("parent root", queue("q", parent="root")),
    ("parent with children and pods", queue("q", parent="with-child")),
    ("child within ancestor capability", queue("q", parent="uncapped", capability=res(10))),
    ("depth limit", queue("q", parent="l2")),
]

CONFIG = AdmissionConfig(max_queue_depth=3)


@pytest.mark.parametrize(
    ("manifest", "message"), [c[1:] for c in CREATE_DENIED], ids=[c[0] for c in CREATE_DENIED]
)
def test_create_denied(manifest: dict[str, Any], message: str) -> None:
    verdict = run("/queues/validate", manifest, view=TREE, config=CONFIG)
    assert (verdict.allowed, verdict.message) == (False, message)


@pytest.mark.parametrize("manifest", [c[1] for c in CREATE_ALLOWED], ids=[c[0] for c in CREATE_ALLOWED])
def test_create_allowed(manifest: dict[str, Any]) -> None:
    verdict = run("/queues/validate", manifest, view=TREE, config=CONFIG)
    assert verdict.allowed, verdict.message


def _update(old: dict[str, Any], new: dict[str, Any], config: AdmissionConfig = CONFIG) -> tuple[bool, str]:
    verdict = run("/queues/validate", new, operation=Operation.UPDATE, old=old, view=TREE, config=config)
    return verdict.allowed, verdict.message


def test_update_parent_capability_below_a_child() -> None:
    old = queue("capped", parent="root", capability=res(10))
    tree = cluster(
        old, queue("root"), queue("a", parent="capped", capability=res(12)), queue("b", parent="capped")
    )
    new = queue("capped", parent="root", capability=res(11))
    verdict = run("/queues/validate", new, operation=Operation.UPDATE, old=old, view=tree)
    assert (
        verdict.message
        == "queue capped capability[cpu]=11 is smaller than its descendants' max capability=12"
    )
    grandchild = cluster(old, queue("a", parent="capped"), queue("aa", parent="a", capability=res(50)))
    verdict = run("/queues/validate", new, operation=Operation.UPDATE, old=old, view=grandchild)
    assert (
        verdict.message
        == "queue capped capability[cpu]=11 is smaller than its descendants' max capability=50"
    )


def test_update_children_guarantee_above_parent() -> None:
    old = queue("p", guarantee={"resource": res(20, "40Gi")}, deserved=res(20, "40Gi"))
    new = queue("p", guarantee={"resource": res(10, "20Gi")}, deserved=res(20, "40Gi"))
    tree = cluster(
        old,
        queue("a", parent="p", guarantee={"resource": res(6, "12Gi")}, deserved=res(6, "12Gi")),
        queue("b", parent="p", guarantee={"resource": res(7, "14Gi")}, deserved=res(7, "14Gi")),
    )
    verdict = run("/queues/validate", new, operation=Operation.UPDATE, old=old, view=tree)
    assert verdict.message == (
        "queue p validation failed: sum of children's guarantee (cpu 13000.00, memory 27917287424.00) "
        "exceeds parent's guarantee limit (cpu 10000.00, memory 21474836480.00)"
    )


def test_update_without_resource_or_parent_change_skips_hierarchy_checks() -> None:
    old = queue("busy-leaf", parent="root", weight=1)
    assert _update(old, queue("busy-leaf", parent="root", weight=4)) == (True, "")
    assert _update(queue("q", parent="root"), queue("q", parent="busy")) == (
        False,
        "queue busy cannot be the parent queue of queue q because it has allocated Pods: 1",
    )


def test_root_queue_resources_are_protected() -> None:
    old, new = queue("root"), queue("root", capability=res(1))
    message = "root queue's resource attributes (capability, deserved, guarantee) cannot be modified"
    assert _update(old, new) == (False, message)
    assert _update(old, new, AdmissionConfig(enable_root_queue_protection=False)) == (True, "")
    assert _update(queue("root", capability=res("1")), queue("root", capability=res("1000m"))) == (True, "")


def _delete(name: str, config: AdmissionConfig = CONFIG) -> tuple[bool, str]:
    verdict = run("/queues/validate", None, operation=Operation.DELETE, name=name, view=TREE, config=config)
    return verdict.allowed, verdict.message


def test_delete() -> None:
    assert _delete("default") == (False, "`default` queue can not be deleted")
    assert _delete("root") == (False, "`root` queue can not be deleted")
    assert _delete("missing") == (False, 'queue.scheduling.volcano.sh "missing" not found')
    assert _delete("with-child") == (
        False,
        "queue with-child can not be deleted because it has 1 child queues: child",
    )
    assert _delete("capped") == (
        False,
        "queue capped can not be deleted because it has 2 child queues: capped-child, uncapped",
    )
    assert _delete("busy-leaf") == (True, "")
    checked = AdmissionConfig(enable_queue_allocated_pods_check=True)
    assert _delete("busy-leaf", checked) == (
        False,
        "queue busy-leaf cannot be deleted because it has allocated Pods: 1",
    )
    assert _delete("child") == (True, "")


def test_connect_is_refused() -> None:
    verdict = run("/queues/validate", queue("q"), operation=Operation.CONNECT)
    assert (
        verdict.message
        == "invalid operation `CONNECT`, expect operation to be `CREATE`, `UPDATE` or `DELETE`"
    )


def test_go_parse_float() -> None:
    assert go_parse_float("1.5") == (1.5, "")
    assert go_parse_float("1_0") == (None, 'strconv.ParseFloat: parsing "1_0": invalid syntax')
    assert go_parse_float(" 1") == (None, 'strconv.ParseFloat: parsing " 1": invalid syntax')
    assert go_parse_float("1e400") == (None, 'strconv.ParseFloat: parsing "1e400": value out of range')
    assert go_parse_float("-Inf")[0] == float("-inf")


# --- mutate -----------------------------------------------------------------------------------


def _mutated(manifest: dict[str, Any]) -> dict[str, Any]:
    verdict = run("/queues/mutate", manifest)
    assert verdict.allowed
    result: dict[str, Any] = apply_patch(manifest, verdict.patch)
    return result


def test_mutate_defaults_weight_and_reclaimable() -> None:
    out = _mutated(queue("q", state=None))
    assert out["spec"] == {"reclaimable": True, "weight": 1}
    out = _mutated(queue("q", state=None, weight=4, reclaimable=False))
    assert out["spec"] == {"weight": 4, "reclaimable": False}
    out = _mutated(
        {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "metadata": {"name": "q"}}
    )
    assert out["spec"] == {"reclaimable": True, "weight": 1}


def test_mutate_roots_the_hierarchy() -> None:
    out = _mutated(queue("q", annotations=hier("sci/dev", "8/2")))
    assert out["metadata"]["annotations"] == hier("root/sci/dev", "1/8/2")
    out = _mutated(queue("q", annotations=hier("root/sci", "1/8")))
    assert out["metadata"]["annotations"] == hier("root/sci", "1/8")
    out = _mutated(queue("q", annotations={"volcano.sh/hierarchy": "sci"}))
    assert out["metadata"]["annotations"] == {"volcano.sh/hierarchy": "sci"}


def test_mutate_only_on_create() -> None:
    verdict = run("/queues/mutate", queue("q"), operation=Operation.UPDATE)
    assert verdict.message == "invalid operation `UPDATE`, expect operation to be `CREATE`"


def test_capability_messages_print_amounts_as_volcano_does() -> None:
    tree = cluster(
        queue("p", parent="root", capability={"memory": "10Gi", "nvidia.com/gpu": 2, "cpu": "500m"})
    )
    cases = {
        "memory": ({"memory": "20Gi"}, "capability[memory]=20Gi exceeds its ancestor's capability=10Gi"),
        "gpu": (
            {"nvidia.com/gpu": 4},
            "capability[nvidia.com/gpu]=4000.00 exceeds its ancestor's capability=2000.00",
        ),
        "cpu": ({"cpu": "1500m"}, "capability[cpu]=1500m exceeds its ancestor's capability=500m"),
    }
    for name, (capability, message) in cases.items():
        verdict = run("/queues/validate", queue("q", parent="p", capability=capability), view=tree)
        assert verdict.message == f"queue q {message}", name


def test_a_capability_beyond_int64_is_held_to_int64_not_an_error() -> None:
    # Volcano's MilliValue saturates at int64; a queue asking for 1E400 CPUs under a capped
    # parent is compared with that, and denied as above its ancestor (never an internal error).
    verdict = run("/queues/validate", queue("q", parent="capped", capability={"cpu": "1E400"}), view=TREE)
    assert not verdict.allowed
    assert "exceeds its ancestor's capability" in verdict.message
