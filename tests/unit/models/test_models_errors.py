"""Bad manifests give one ManifestError naming the document, the field and the rule."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pyroclast.common.models import ManifestError, decode_json, decode_object, load_manifests

JOB = "batch.volcano.sh/v1alpha1"


def job(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": JOB, "kind": "Job", "metadata": {"name": "j"}, "spec": spec}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (job({"tasks": [{"replicas": "2"}]}), "spec.tasks[0].replicas: expected an integer, got a string"),
        (job({"foo": 1}), "spec.foo: unknown field"),
        (
            job({"volumes": [{"volumeClaimName": "data"}]}),
            "spec.volumes[0].mountPath: required field is missing",
        ),
        ({"apiVersion": JOB, "kind": "Job", "extra": True}, "extra: unknown field"),
        (job({"minAvailable": 1.5}), "spec.minAvailable: expected an integer, got a number"),
        (job({"tasks": {"name": "a"}}), "spec.tasks: expected a list, got an object"),
        (
            job({"tasks": [{"template": {"spec": {"hostIPC": "yes"}}}]}),
            "spec.tasks[0].template.spec.hostIPC: expected a boolean, got a string",
        ),
        (
            job(
                {"tasks": [{"template": {"spec": {"containers": [{"resources": {"limits": {"cpu": [1]}}}]}}}]}
            ),
            "spec.tasks[0].template.spec.containers[0].resources.limits[cpu]: "
            "expected an integer, a number or a string, got a list",
        ),
        (
            {
                "apiVersion": JOB,
                "kind": "Job",
                "status": {"taskStatusCount": {"a": {}, "b": {"phase": {"Running": "x"}}}},
            },
            "status.taskStatusCount[b].phase[Running]: expected an integer, got a string",
        ),
        (job({"plugins": {"ssh": [], "env": "x"}}), "spec.plugins[env]: expected a list, got a string"),
        ({"kind": "Job"}, "apiVersion: required field is missing"),
        ({"apiVersion": JOB}, "kind: required field is missing"),
        ({"apiVersion": JOB, "kind": 3}, "kind: expected a string, got an integer"),
        ({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow"}, "kind: unknown kind 'Workflow'"),
        ({"apiVersion": "v1", "kind": "Job"}, "kind: unknown kind 'Job' for apiVersion 'v1'"),
    ],
)
def test_decode_object_names_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        decode_object(data, document="job.yaml document 1")
    assert str(caught.value).startswith(f"job.yaml document 1: {message}")
    assert caught.value.document == "job.yaml document 1"


def test_error_carries_path_and_rule() -> None:
    with pytest.raises(ManifestError) as caught:
        decode_object(job({"queue": 7}))
    assert (caught.value.path, caught.value.rule) == ("spec.queue", "expected a string, got an integer")
    assert str(caught.value) == "spec.queue: expected a string, got an integer"


def test_non_object_document() -> None:
    with pytest.raises(ManifestError, match=r"^x\.yaml document 1: expected an object, got a list$"):
        load_manifests("- a\n- b\n", source="x.yaml")


def test_load_manifests_names_the_document() -> None:
    text = f"apiVersion: {JOB}\nkind: Job\n---\n---\napiVersion: {JOB}\nkind: Job\nspec:\n  maxRetry: x\n"
    with pytest.raises(ManifestError) as caught:
        load_manifests(text, source="jobs.yaml")
    assert str(caught.value) == "jobs.yaml document 2: spec.maxRetry: expected an integer, got a string"


def test_malformed_yaml() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifests("apiVersion: v1\nkind: Pod\nspec: [\n", source="pod.yaml")
    assert str(caught.value).startswith("pod.yaml: line ")
    assert "invalid YAML" in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"apiVersion": "v1", "kind": "Pod", "spec": {"nodeName": 3}}', "spec.nodeName: expected a string"),
        (b'{"apiVersion": "v1", "kind": "Pod", "spec": {"bogus": 3}}', "spec.bogus: unknown field"),
        (
            b'{"apiVersion": "v1", "kind": "Pod", "spec": {"nodeSelector": {"a": 1}}}',
            "spec.nodeSelector[a]: expected",
        ),
        (b'{"apiVersion": "v1"', "invalid JSON"),
        (b'{"kind": "Pod"}', "apiVersion: required field is missing"),
        (b"[]", "expected an object, got a list"),
    ],
)
def test_decode_json_errors(raw: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match="^" + re.escape(message)):
        decode_json(raw)
