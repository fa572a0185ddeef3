"""Mutated manifests never make the admission chain raise: each yields a verdict."""

from __future__ import annotations

from typing import Any

from admission_fuzzing import BASES, TEXT, VALUES, mutate
from admission_support import cluster, job, queue
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=st.sampled_from(BASES), operation=st.sampled_from(list(Operation)))
def test_mutated_manifests_yield_verdicts(
    data: st.DataObject, base: tuple[str, str, dict[str, Any]], operation: Operation
) -> None:
    group, resource, doc = base
    mutated = mutate(doc, data)
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
