"""apimachinery texts, JSON patches, and the registry's admission chain."""

from __future__ import annotations

from typing import Any

import pytest
from admission_support import OPEN_DEFAULT, cluster, job, queue, task

from pyroclast.webhook.admission import (
    DEFAULT_ENABLED,
    Operation,
    PatchError,
    apply_patch,
    k8s,
    review,
    rules_for,
)
from pyroclast.webhook.admission.verdict import escape


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("my-name", []),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("a.b", ["must not contain dots"]),
        (
            "Upper",
            [
                k8s.regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                    "or '-', and must start and end with an alphanumeric character",
                    "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
                    "my-name",
                    "123-abc",
                )
            ],
        ),
    ],
)
def test_dns1123_label(value: str, errors: list[str]) -> None:
    assert k8s.is_dns1123_label(value) == errors


def test_qualified_name() -> None:
    assert k8s.is_qualified_name("example.com/MyName") == []
    assert k8s.is_qualified_name("/name") == ["prefix part must be non-empty"]
    assert k8s.is_qualified_name("a/") == [
        "name part must be non-empty",
        "name part "
        + k8s.regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character",
            "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]",
            "MyName",
            "my.name",
            "123-abc",
        ),
    ]
    assert k8s.is_qualified_name("a/b/c")[0].startswith("a valid label key must consist of alphanumeric")
    assert k8s.is_qualified_name("Bad_/x")[0].startswith("prefix part a lowercase RFC 1123 subdomain")
    assert k8s.is_qualified_name("x" * 64) == ["name part must be no more than 63 bytes"]


def test_go_formatting() -> None:
    assert k8s.go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'
    assert k8s.json_quote("<a>&") == '"\\u003ca\\u003e\\u0026"'
    assert k8s.go_list(["a", "b"]) == "[a b]"
    assert k8s.invalid("p", 5, "d") == "p: Invalid value: 5: d"
    assert k8s.invalid("p", "v") == 'p: Invalid value: "v"'
    assert k8s.required("p") == "p: Required value"
    assert k8s.not_supported("p", "x", ["A", "B"]) == 'p: Unsupported value: "x": supported values: "A", "B"'
    assert k8s.aggregate(["a"]) == "a"
    assert k8s.aggregate(["a", "b", "a"]) == "[a, b]"
    assert k8s.multierror(["a", "b"]) == "2 errors occurred:\n\t* a\n\t* b\n\n"
    assert k8s.go_atoi("+12") == 12
    assert k8s.go_atoi("1_0") is None
    assert (
        k8s.atoi_error("99999999999999999999")
        == 'strconv.Atoi: parsing "99999999999999999999": value out of range'
    )


def test_apply_patch() -> None:
    doc: dict[str, Any] = {"a": {"b/c": 1}, "l": [1, 2]}
    ops: list[dict[str, Any]] = [
        {"op": "add", "path": "/a/" + escape("b/c"), "value": 2},
        {"op": "add", "path": "/l/-", "value": 3},
        {"op": "add", "path": "/l/0", "value": 0},
        {"op": "replace", "path": "/l/1", "value": 9},
        {"op": "remove", "path": "/l/3"},
        {"op": "add", "path": "/n", "value": {"x": 1}},
    ]
    assert apply_patch(doc, ops) == {"a": {"b/c": 2}, "l": [0, 9, 2], "n": {"x": 1}}
    assert doc == {"a": {"b/c": 1}, "l": [1, 2]}
    for bad in ({"op": "replace", "path": "/zz", "value": 1}, {"op": "add", "path": "/q/r", "value": 1}):
        with pytest.raises(PatchError):
            apply_patch(doc, [bad])


def test_rules_run_mutating_first_and_honour_enabled_paths() -> None:
    paths = [r.path for r in rules_for("batch.volcano.sh", "jobs", Operation.CREATE)]
    assert paths == ["/jobs/mutate", "/jobs/validate"]
    assert [r.path for r in rules_for("batch.volcano.sh", "jobs", Operation.UPDATE)] == ["/jobs/validate"]
    assert rules_for("flow.volcano.sh", "jobflows", Operation.CREATE, enabled=DEFAULT_ENABLED) == []
    assert rules_for("", "pods", Operation.CREATE, enabled=DEFAULT_ENABLED) == []


def test_chain_validates_the_defaulted_job() -> None:
    raw = job(tasks=[task(None, replicas=2)])
    del raw["spec"]["queue"]
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, raw, cluster=OPEN_DEFAULT)
    assert verdict.allowed, verdict.message
    spec = apply_patch(raw, verdict.patch)["spec"]
    assert (spec["queue"], spec["tasks"][0]["name"]) == ("default", "default0")
    closed = cluster(queue("default", state="Closed"))
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, raw, cluster=closed)
    assert (
        verdict.message
        == "can only submit job to queue with state `Open`, queue `default` status is `Closed`;"
    )


def test_chain_ignores_unknown_fields_as_go_decoding_does() -> None:
    raw = job()
    raw["spec"]["tasks"][0]["template"]["spec"]["priorityClass"] = "high"
    raw["spec"]["futureField"] = {"x": 1}
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, raw, cluster=OPEN_DEFAULT)
    assert verdict.allowed, verdict.message


def test_chain_without_rules_allows() -> None:
    raw = {"apiVersion": "flow.volcano.sh/v1alpha1", "kind": "JobTemplate", "metadata": {"name": "t"}}
    assert review("flow.volcano.sh", "jobtemplates", Operation.CREATE, raw).allowed


def test_chain_denies_unknown_kinds_with_the_decode_error() -> None:
    raw = {"apiVersion": "batch.volcano.sh/v1", "kind": "Job"}
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, raw)
    assert verdict.message == "kind: unknown kind 'Job' for apiVersion 'batch.volcano.sh/v1'"


def test_an_object_of_another_kind_is_denied_as_volcano_does() -> None:
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, queue("q"), cluster=OPEN_DEFAULT)
    assert verdict.message == "expect resource to be {batch.volcano.sh v1alpha1 jobs}"
    verdict = review(
        "scheduling.volcano.sh", "queues", Operation.UPDATE, queue("q"), job(), cluster=OPEN_DEFAULT
    )
    assert verdict.message == "expect resource to be {scheduling.volcano.sh v1beta1 queues}"
