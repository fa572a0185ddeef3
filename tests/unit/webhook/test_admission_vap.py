"""Volcano's ValidatingAdmissionPolicies, when its chart enables them."""

from __future__ import annotations

from typing import Any

import pytest
from admission_support import FLOW, OPEN_DEFAULT, job, queue, run, task

from pyroclast.webhook.admission import POLICY_PATHS, WEBHOOK_PATHS, Operation, review, rules_for
from pyroclast.webhook.admission.job_validate import UPDATE_FORBIDDEN

JOB, QUEUE = "vap:job-validation-policy", "vap:queue-validation-policy"
POD, FLOWS = "vap:pod-validation-policy", "vap:jobflow-validation-policy"


def denial(policy: str, message: str) -> str:
    return f"ValidatingAdmissionPolicy '{policy}' with binding '{policy}-binding' denied request: {message}"


def pod(annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "annotations": annotations},
        "spec": {"schedulerName": "volcano", "containers": [{"name": "c", "image": "i"}]},
    }


def jobflow(*flows: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": FLOW, "kind": "JobFlow", "metadata": {"name": "f"}, "spec": {"flows": list(flows)}}


CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("job ok", JOB, job(), ""),
    ("negative minAvailable", JOB, job(minAvailable=-1), "job 'minAvailable' must be >= 0"),
    ("negative maxRetry", JOB, job(maxRetry=-1), "'maxRetry' cannot be less than zero"),
    (
        "negative ttl",
        JOB,
        job(ttlSecondsAfterFinished=-1),
        "'ttlSecondsAfterFinished' cannot be less than zero",
    ),
    ("no tasks", JOB, job(tasks=[]), "No task specified in job spec"),
    ("duplicate task", JOB, job(tasks=[task("a"), task("a")]), "duplicated task name found"),
    (
        "task name not a label",
        JOB,
        job(tasks=[task("Task_1")]),
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters",
    ),
    ("negative replicas", JOB, job(tasks=[task(replicas=-1)], minAvailable=0), "'replicas' < 0 in task"),
    ("negative task minAvailable", JOB, job(tasks=[task(minAvailable=-1)]), "'minAvailable' < 0 in task"),
    (
        "task minAvailable above replicas",
        JOB,
        job(tasks=[task(minAvailable=2)]),
        "'minAvailable' is greater than 'replicas' in task",
    ),
    (
        "job minAvailable above replicas",
        JOB,
        job(minAvailable=2),
        "job 'minAvailable' should not be greater than total replicas in tasks",
    ),
    ("policy event", JOB, job(policies=[{"event": "Nope", "action": "AbortJob"}]), "invalid policy event"),
    (
        "partition restart is not in the policy's list",
        JOB,
        job(policies=[{"event": "PodFailed", "action": "RestartPartition"}]),
        "invalid policy action",
    ),
    (
        "event and exit code",
        JOB,
        job(policies=[{"event": "PodFailed", "exitCode": 1, "action": "AbortJob"}]),
        "must not specify event and exitCode simultaneously",
    ),
    ("neither", JOB, job(policies=[{"action": "AbortJob"}]), "either event and exitCode should be specified"),
    (
        "exit code zero",
        JOB,
        job(policies=[{"exitCode": 0, "action": "AbortJob"}]),
        "0 is not a valid error code",
    ),
    (
        "duplicate event",
        JOB,
        job(
            policies=[
                {"event": "PodFailed", "action": "AbortJob"},
                {"event": "PodFailed", "action": "RestartJob"},
            ]
        ),
        "duplicate policy event found",
    ),
    (
        "duplicate exit code",
        JOB,
        job(policies=[{"exitCode": 2, "action": "AbortJob"}, {"exitCode": 2, "action": "RestartJob"}]),
        "duplicate exitCode found",
    ),
    (
        "any event with others",
        JOB,
        job(policies=[{"event": "*", "action": "AbortJob"}, {"event": "PodFailed", "action": "RestartJob"}]),
        "if there's * here, no other policy should be here",
    ),
    (
        "empty mount path",
        JOB,
        job(volumes=[{"mountPath": "", "volumeClaimName": "v"}]),
        "mountPath is required",
    ),
    (
        "duplicate mount path",
        JOB,
        job(
            volumes=[{"mountPath": "/a", "volumeClaimName": "v"}, {"mountPath": "/a", "volumeClaimName": "w"}]
        ),
        "duplicated mountPath found",
    ),
    (
        "volume without claim",
        JOB,
        job(volumes=[{"mountPath": "/a"}]),
        "either VolumeClaim or VolumeClaimName must be specified",
    ),
    ("job name", JOB, job("x" * 64), "job name errors: name part must be no more than 63 bytes"),
    ("queue ok", QUEUE, queue("q", capability={"cpu": 2}, deserved={"cpu": 1}), ""),
    ("queue state", QUEUE, queue("q", state="Closing"), "queue state must be in [Open, Closed]"),
    (
        "empty capability",
        QUEUE,
        queue("q", capability={"cpu": ""}),
        "capability resource values must not be empty",
    ),
    (
        "deserved above capability",
        QUEUE,
        queue("q", capability={"cpu": 1}, deserved={"cpu": 2}),
        "must be <= capability",
    ),
    (
        "guarantee without deserved",
        QUEUE,
        queue("q", guarantee={"resource": {"cpu": 1}}),
        "must be >= guarantee",
    ),
    (
        "hierarchy lengths",
        QUEUE,
        queue("q", annotations={"volcano.sh/hierarchy": "root/a"}),
        "volcano.sh/hierarchy must have the same length with volcano.sh/hierarchy-weights",
    ),
    (
        "hierarchy weight format",
        QUEUE,
        queue("q", annotations={"volcano.sh/hierarchy": "root/a", "volcano.sh/hierarchy-weights": "1/1e2"}),
        "weights in volcano.sh/hierarchy-weights must be larger than 0",
    ),
    ("pod ok", POD, pod({"volcano.sh/jdb-min-available": "50%"}), ""),
    (
        "pod both budgets",
        POD,
        pod({"volcano.sh/jdb-min-available": "1", "volcano.sh/jdb-max-unavailable": "1"}),
        "not allow configure multiple annotations at same time",
    ),
    (
        "pod min budget",
        POD,
        pod({"volcano.sh/jdb-min-available": "100%"}),
        "jdb-min-available must be a positive integer or a valid percentage which between 1% ~ 99%",
    ),
    (
        "pod max budget",
        POD,
        pod({"volcano.sh/jdb-max-unavailable": "0"}),
        "jdb-max-unavailable must be a positive integer or a valid percentage which between 1% ~ 99%",
    ),
    ("flow ok", FLOWS, jobflow({"name": "a"}, {"name": "b", "dependsOn": {"targets": ["a"]}}), ""),
    (
        "flow target undefined",
        FLOWS,
        jobflow({"name": "b", "dependsOn": {"targets": ["a"]}}),
        "jobflow Flow is not DAG: vertex is not defined",
    ),
    (
        "flow self target",
        FLOWS,
        jobflow({"name": "a", "dependsOn": {"targets": ["a"]}}),
        "jobflow Flow is not DAG",
    ),
]


@pytest.mark.parametrize(("path", "manifest", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_policy(path: str, manifest: dict[str, Any], message: str) -> None:
    verdict = run(path, manifest)
    expected = denial(path.removeprefix("vap:"), message) if message else ""
    assert (verdict.allowed, verdict.message) == (not message, expected)


def test_job_policy_on_update() -> None:
    old = job()
    verdict = run(JOB, job(queue="other"), operation=Operation.UPDATE, old=old)
    assert verdict.message == denial("job-validation-policy", UPDATE_FORBIDDEN)
    verdict = run(JOB, job(tasks=[task("a"), task("b")]), operation=Operation.UPDATE, old=old)
    assert verdict.message == denial("job-validation-policy", "job updates may not add or remove tasks")
    assert run(JOB, job(tasks=[task(replicas=3)]), operation=Operation.UPDATE, old=old).allowed


def test_queue_policy_on_delete() -> None:
    verdict = run(QUEUE, None, operation=Operation.DELETE, name="default")
    assert verdict.message == denial("queue-validation-policy", "`default` queue can not be deleted")
    assert run(QUEUE, None, operation=Operation.DELETE, name="q").allowed


def test_policies_run_after_mutation_and_before_webhooks() -> None:
    everything = WEBHOOK_PATHS | POLICY_PATHS
    paths = [r.path for r in rules_for("batch.volcano.sh", "jobs", Operation.CREATE, enabled=everything)]
    assert paths == ["/jobs/mutate", JOB, "/jobs/validate"]
    raw = job(tasks=[task("t"), task("t")], minAvailable=0)
    verdict = review(
        "batch.volcano.sh", "jobs", Operation.CREATE, raw, cluster=OPEN_DEFAULT, enabled=everything
    )
    assert verdict.message == denial("job-validation-policy", "duplicated task name found")
    verdict = review("batch.volcano.sh", "jobs", Operation.CREATE, raw, cluster=OPEN_DEFAULT)
    assert verdict.message == "duplicated task name t;"
