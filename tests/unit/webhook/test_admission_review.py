"""AdmissionReview requests in, responses out, as Volcano's webhook server answers them."""

from __future__ import annotations

import base64
import json
from typing import Any

from admission_support import OPEN_DEFAULT, job, queue, task

from pyroclast.webhook.admission import BY_PATH, Operation, apply_patch, review
from pyroclast.webhook.admission.admission_review import denial_text, handle

JOBS = {"group": "batch.volcano.sh", "version": "v1alpha1", "resource": "jobs"}


def admission_review(obj: dict[str, Any] | None, operation: str = "CREATE", **request: Any) -> dict[str, Any]:
    body = {
        "uid": "u-1",
        "operation": operation,
        "resource": JOBS,
        "object": obj,
        "namespace": "ns",
        **request,
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": body}


def test_mutation_answers_with_a_base64_json_patch() -> None:
    manifest = job(tasks=[task(None)])
    answer = handle(admission_review(manifest), "/jobs/mutate", cluster=OPEN_DEFAULT)
    body = answer["response"]
    assert (answer["kind"], body["uid"], body["allowed"], body["patchType"]) == (
        "AdmissionReview",
        "u-1",
        True,
        "JSONPatch",
    )
    patch = json.loads(base64.b64decode(body["patch"]))
    assert apply_patch(manifest, patch)["spec"]["tasks"][0]["name"] == "default0"


def test_denial_answers_with_a_status_message() -> None:
    answer = handle(admission_review(job(minAvailable=3)), "/jobs/validate", cluster=OPEN_DEFAULT)
    assert answer["response"] == {
        "uid": "u-1",
        "allowed": False,
        "status": {
            "metadata": {},
            "message": "job 'minAvailable' should not be greater than total replicas in tasks;",
        },
    }


def test_allowance_without_patch() -> None:
    answer = handle(admission_review(job()), "/jobs/validate", cluster=OPEN_DEFAULT)
    assert answer["response"] == {"uid": "u-1", "allowed": True}


def test_wrong_resource_and_undecodable_objects() -> None:
    queues = {"group": "scheduling.volcano.sh", "version": "v1beta1", "resource": "queues"}
    answer = handle(admission_review(queue("q"), resource=queues), "/jobs/validate")
    assert answer["response"]["status"]["message"] == "expect resource to be {batch.volcano.sh v1alpha1 jobs}"
    bad = job()
    bad["spec"]["tasks"][0]["replicas"] = "x"
    answer = handle(admission_review(bad), "/jobs/validate")
    assert (
        answer["response"]["status"]["message"] == "spec.tasks[0].replicas: expected an integer, got a string"
    )
    assert handle({}, "/jobs/validate")["response"]["allowed"] is False


def test_update_and_delete_requests() -> None:
    old, new = job(), job(queue="other")
    answer = handle(admission_review(new, "UPDATE", oldObject=old), "/jobs/validate")
    assert answer["response"]["status"]["message"].startswith("job updates may not change fields other than")
    queues = {"group": "scheduling.volcano.sh", "version": "v1beta1", "resource": "queues"}
    answer = handle(admission_review(None, "DELETE", resource=queues, name="default"), "/queues/validate")
    assert answer["response"]["status"]["message"] == "`default` queue can not be deleted"


def test_denial_text_as_the_api_server_reports_it() -> None:
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, job(minAvailable=3), cluster=OPEN_DEFAULT)
    assert verdict.source == "/jobs/validate"
    assert denial_text(BY_PATH[verdict.source], verdict.message) == (
        'admission webhook "validatejob.volcano.sh" denied the request: '
        "job 'minAvailable' should not be greater than total replicas in tasks;"
    )
    policy = BY_PATH["vap:job-validation-policy"]
    assert denial_text(policy, "x") == "x"
