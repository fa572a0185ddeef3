"""Mutated manifests never make the admission chain raise: each yields a verdict."""

from __future__ import annotations

import copy
from typing import Any

from admission_support import BATCH, FLOW, SCHEDULING, cluster, job, queue, task
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyroclast.webhook.admission import (
    POLICY_PATHS,
    WEBHOOK_PATHS,
    AdmissionConfig,
    Operation,
    ResourceGroup,
    Verdict,
    review,
)

VIEW = cluster(
    queue("default"), queue("root"), queue("p", parent="root", capability={"cpu": 4}), queue("c", parent="p")
)
CONFIG = AdmissionConfig(
    resource_groups=(ResourceGroup("rg", labels={"a": "b"}, tolerations=({"key": "k"},), affinity="{}"),),
    scheduling_gates_queue_admission=True,
)

EVERYTHING = WEBHOOK_PATHS | POLICY_PATHS

BASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "batch.volcano.sh",
        "jobs",
        job(
            tasks=[
                task(
                    "a",
                    replicas=2,
                    dependsOn={"name": ["b"]},
                    policies=[{"event": "PodFailed", "action": "RestartJob"}],
                ),
                task("b"),
            ],
            plugins={"mpi": ["--master=a"]},
            volumes=[{"mountPath": "/d", "volumeClaimName": "pvc"}],
            policies=[{"exitCode": 3, "action": "AbortJob"}],
        ),
    ),
    (
        "scheduling.volcano.sh",
        "queues",
        queue(
            "q",
            parent="p",
            capability={"cpu": 2, "memory": "4Gi"},
            deserved={"cpu": 1},
            guarantee={"resource": {"cpu": 1}},
            annotations={"volcano.sh/hierarchy": "a/b", "volcano.sh/hierarchy-weights": "1/2"},
        ),
    ),
    (
        "scheduling.volcano.sh",
        "podgroups",
        {
            "apiVersion": SCHEDULING,
            "kind": "PodGroup",
            "metadata": {"name": "pg"},
            "spec": {"queue": "default", "minMember": 1},
        },
    ),
    (
        "flow.volcano.sh",
        "jobflows",
        {
            "apiVersion": FLOW,
            "kind": "JobFlow",
            "metadata": {"name": "f"},
            "spec": {"flows": [{"name": "a"}, {"name": "b", "dependsOn": {"targets": ["a"]}}]},
        },
    ),
    (
        "batch.volcano.sh",
        "cronjobs",
        {
            "apiVersion": BATCH,
            "kind": "CronJob",
            "metadata": {"name": "c"},
            "spec": {"schedule": "* * * * *", "timeZone": "UTC", "jobTemplate": {}},
        },
    ),
    (
        "",
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "p",
                "annotations": {
                    "volcano.sh/jdb-min-available": "1",
                    "scheduling.volcano.sh/queue-allocation-gate": "true",
                },
            },
            "spec": {"schedulerName": "volcano", "containers": [{"name": "c", "image": "i"}]},
        },
    ),
]

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["", "*", "-1", "1e400", "Open", "root", "default", "a/b", "1/0", "50%"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


def _mutate(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p and p[0] not in ("apiVersion", "kind")]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent: Any = doc
        for token in path[:-1]:
            parent = parent[token]
        action = data.draw(st.sampled_from(["set", "delete", "nest"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "nest":
            value: Any = data.draw(SCALARS)
            for _ in range(data.draw(st.integers(1, 30))):
                value = data.draw(st.sampled_from([[value], {"spec": value}]))
            parent[path[-1]] = value
        else:
            parent[path[-1]] = data.draw(VALUES)
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=st.sampled_from(BASES), operation=st.sampled_from(list(Operation)))
def test_mutated_manifests_yield_verdicts(
    data: st.DataObject, base: tuple[str, str, dict[str, Any]], operation: Operation
) -> None:
    group, resource, doc = base
    mutated = _mutate(doc, data)
    old = doc if operation in (Operation.UPDATE, Operation.DELETE) else None
    raw = None if operation == Operation.DELETE else mutated
    for enabled in (WEBHOOK_PATHS, EVERYTHING):
        verdict = review(
            group,
            resource,
            operation,
            raw,
            old,
            name="q",
            namespace="ns",
            cluster=VIEW,
            config=CONFIG,
            enabled=enabled,
        )
        assert isinstance(verdict, Verdict)
        assert isinstance(verdict.message, str)
        assert verdict.allowed or verdict.message
    if operation == Operation.UPDATE:
        swapped = review(
            group,
            resource,
            operation,
            doc,
            mutated,
            name="q",
            cluster=VIEW,
            config=CONFIG,
            enabled=EVERYTHING,
        )
        assert isinstance(swapped, Verdict)


@settings(max_examples=100, deadline=None)
@given(body=st.dictionaries(TEXT, VALUES, max_size=6), base=st.sampled_from(BASES))
def test_arbitrary_objects_of_each_kind_yield_verdicts(
    body: dict[str, Any], base: tuple[str, str, dict[str, Any]]
) -> None:
    group, resource, doc = base
    raw = {**body, "apiVersion": doc["apiVersion"], "kind": doc["kind"]}
    verdict = review(group, resource, Operation.CREATE, raw, cluster=VIEW, config=CONFIG, enabled=EVERYTHING)
    assert verdict.allowed or verdict.message


def test_decode_failures_name_the_field() -> None:
    raw = job()
    raw["spec"]["tasks"][0]["replicas"] = "two"
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, raw, cluster=VIEW)
    assert (verdict.allowed, verdict.message) == (
        False,
        "spec.tasks[0].replicas: expected an integer, got a string",
    )


@settings(max_examples=60, deadline=None)
@given(
    target=st.sampled_from(BASES), source=st.sampled_from(BASES), operation=st.sampled_from(list(Operation))
)
def test_objects_sent_to_another_resource_yield_verdicts(
    target: tuple[str, str, dict[str, Any]], source: tuple[str, str, dict[str, Any]], operation: Operation
) -> None:
    group, resource, _ = target
    doc = source[2]
    verdict = review(
        group, resource, operation, doc, doc, name="q", cluster=VIEW, config=CONFIG, enabled=EVERYTHING
    )
    assert verdict.allowed or verdict.message


def test_deep_nesting_is_denied_or_handled_without_recursion_errors() -> None:
    for levels, denied in ((190, False), (5000, True)):
        value: Any = "leaf"
        for _ in range(levels):
            value = {"a": value}
        raw = job()
        raw["metadata"]["annotations"] = {"x": "y"}
        raw["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["unknown"] = value
        for enabled in (WEBHOOK_PATHS, EVERYTHING):
            verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, raw, cluster=VIEW, enabled=enabled)
            assert (verdict.message == "nesting deeper than 200 levels") is denied
