"""Routes and answers of the admission server over TLS: good, bad and malformed reviews."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from whsvc_support import QUEUES, FakeEmitter, job, open_queues, review, running_server

from pyroclast.webhook.audit import VerdictAuditor
from pyroclast.webhook.cluster import QueueCache


def _count(resource: str, verdict: str) -> float:
    labels = {"resource": resource, "verdict": verdict}
    return REGISTRY.get_sample_value("pyroclast_webhook_admission_duration_seconds_count", labels) or 0.0


async def test_mutate_answers_with_volcano_defaults(tmp_path: Path) -> None:
    body = review(job(minAvailable=None))
    async with running_server(tmp_path) as srv:
        status, answer = await srv.post("/jobs/mutate", body)
    assert status == 200
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == body["request"]["uid"]
    assert response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    paths = {op["path"] for op in patch}
    assert {"/spec/queue", "/spec/schedulerName", "/spec/maxRetry"} <= paths


async def test_validate_denies_with_volcano_message(tmp_path: Path) -> None:
    bad = job(minAvailable=5, queue="default")
    before = _count("jobs", "denied")
    async with running_server(tmp_path) as srv:
        status, answer = await srv.post("/jobs/validate", review(bad))
    assert status == 200
    response = answer["response"]
    assert response["allowed"] is False
    assert (
        response["status"]["message"]
        == "job 'minAvailable' should not be greater than total replicas in tasks;"
    )
    assert _count("jobs", "denied") == before + 1


async def test_validate_reads_the_queue_cache(tmp_path: Path) -> None:
    cache = open_queues("default", state="Closed")
    async with running_server(tmp_path, cache) as srv:
        _, closed = await srv.post("/jobs/validate", review(job(queue="default")))
        _, missing = await srv.post("/jobs/validate", review(job(queue="nowhere")))
    assert "queue `default` status is `Closed`" in closed["response"]["status"]["message"]
    assert "unable to find job queue" in missing["response"]["status"]["message"]


async def test_good_job_is_allowed(tmp_path: Path) -> None:
    async with running_server(tmp_path) as srv:
        status, answer = await srv.post("/jobs/validate", review(job(queue="default")))
    assert status == 200
    assert answer["response"]["allowed"] is True
    assert "patch" not in answer["response"]


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
async def test_malformed_json_gets_a_denial_not_a_500(tmp_path: Path, body: bytes) -> None:
    async with running_server(tmp_path) as srv:
        status, answer = await srv.post("/jobs/validate", body)
    assert status == 200
    assert answer["response"]["allowed"] is False
    assert answer["response"]["uid"] == ""
    assert "couldn't decode the AdmissionReview" in answer["response"]["status"]["message"]


@pytest.mark.parametrize("body", [[1, 2], {"kind": "AdmissionReview"}, {"request": "nope"}, "text"])
async def test_reviews_without_a_request_are_denied(tmp_path: Path, body: object) -> None:
    async with running_server(tmp_path) as srv:
        status, answer = await srv.post("/jobs/validate", body)
    assert status == 200
    assert answer["response"] == {
        "uid": "",
        "allowed": False,
        "status": {"metadata": {}, "message": "missing request in AdmissionReview"},
    }


async def test_wrong_resource_for_the_path_is_denied(tmp_path: Path) -> None:
    async with running_server(tmp_path) as srv:
        _, answer = await srv.post("/jobs/validate", review(job(), resource=QUEUES))
    assert answer["response"]["allowed"] is False
    assert answer["response"]["status"]["message"] == "expect resource to be {batch.volcano.sh v1alpha1 jobs}"


async def test_undecodable_object_is_denied_with_its_field(tmp_path: Path) -> None:
    async with running_server(tmp_path) as srv:
        _, answer = await srv.post("/jobs/validate", review(job(minAvailable="three")))
    assert answer["response"]["allowed"] is False
    assert "minAvailable" in answer["response"]["status"]["message"]


def _with_nesting(doc: dict[str, Any], levels: int) -> bytes:
    """``doc`` as JSON with its ``"@"`` string replaced by ``levels`` nested objects."""
    text = json.dumps(doc).encode()
    return text.replace(b'"@"', b'{"a":' * levels + b"1" + b"}" * levels)


async def test_nesting_limit_reads_the_body(tmp_path: Path) -> None:
    """Brackets in strings and wide jobs pass; only objects nested past 200 levels are denied."""
    quoted = job(queue="default", tasks=[dict(job()["spec"]["tasks"][0], name=f"t{i}") for i in range(80)])
    quoted["metadata"]["annotations"] = {"x": "[" * 500 + '\\"{' * 300, "[{": '"'}
    deep_spec = job(queue="default")
    deep_spec["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["extra"] = "@"
    too_deep = _with_nesting(review(deep_spec), 193)  # 8 levels hold it: 201 in all
    just_fits = _with_nesting(review(deep_spec), 192)
    user = {"username": "a", "extra": "@"}
    deep_elsewhere = _with_nesting(review(job(queue="default"), userInfo=user), 400)
    async with running_server(tmp_path) as srv:
        answers = [
            (await srv.post("/jobs/validate", body))[1]["response"]
            for body in (review(quoted), just_fits, deep_elsewhere, too_deep)
        ]
    assert [a["allowed"] for a in answers] == [True, True, True, False]
    assert answers[3]["status"]["message"] == "nesting deeper than 200 levels"


async def test_content_type_size_and_routes(tmp_path: Path) -> None:
    async with running_server(tmp_path, max_body=4096) as srv:
        wrong_type, _ = await srv.post("/jobs/validate", b"{}", content_type="text/plain")
        too_big, _ = await srv.post("/jobs/validate", review(job(pad="x" * 8192)))
        unknown, _ = await srv.post("/pods/mutate", review(job()))
        async with srv.http.get(srv.url + "/jobs/validate", ssl=srv.client_ssl) as resp:
            method = resp.status
    assert (wrong_type, too_big, unknown, method) == (415, 413, 404, 405)


async def test_a_failing_rule_answers_with_a_denial(tmp_path: Path) -> None:
    class Broken(QueueCache):
        def queue(self, name: str) -> None:
            raise RuntimeError("cache exploded")

    cache = Broken()
    cache.replace([])
    async with running_server(tmp_path, cache) as srv:
        status, answer = await srv.post("/jobs/validate", review(job(queue="default")))
    assert status == 200
    assert answer["response"]["allowed"] is False
    assert "cache exploded" in answer["response"]["status"]["message"]


async def test_every_verdict_goes_to_the_auditor(tmp_path: Path) -> None:
    emitter = FakeEmitter()
    auditor = VerdictAuditor(emitter)
    async with running_server(tmp_path, auditor=auditor) as srv:
        await srv.post("/jobs/mutate", review(job()))
        await srv.post("/jobs/validate", review(job(minAvailable=9)))
        await srv.post("/jobs/validate", b"garbage")
    await auditor.flush()
    actions = [(e["action"], e["name"], e["details"]["operation"]) for e in emitter.events]
    assert actions == [("Allowed", "job-1", "CREATE"), ("Denied", "job-1", "CREATE"), ("Denied", "", "")]
    denied = emitter.events[1]
    assert denied["namespace"] == "ns"
    assert denied["reason"] == "jobs"
    assert denied["details"]["user"] == "alice"
    assert denied["details"]["webhook"] == "validatejob.volcano.sh"
    assert denied["message"].startswith("job 'minAvailable' should not be greater")
    assert emitter.events[0]["details"]["patched"] is True


def test_unknown_paths_are_refused() -> None:
    from pyroclast.webhook.server import AdmissionServer

    with pytest.raises(ValueError, match="/nope"):
        AdmissionServer(["/nope"])
