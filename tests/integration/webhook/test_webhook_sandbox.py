"""``pyroclast webhook`` registered by URL with the sandbox API server, driven by kubectl.

The webhook follows the queues of a real nats-server; Volcano's CRDs are installed; the
Volcano examples are applied as a user would and must get Volcano's answers.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apiserver_fixture import ApiServerHandle
from nats_fixture import NatsServer
from webhook_process import EXAMPLES, REPO, WebhookProcess, put_queues, unique_prefix

from pyroclast.common.bus.audit import audit_follow
from pyroclast.common.bus.connect import close, connect
from pyroclast.common.bus.messages import AuditEvent, QueueRecord
from pyroclast.common.bus.names import AuditKind, BusNames
from pyroclast.common.bus.pull import PullSettings
from pyroclast.webhook.admission import DEFAULT_ENABLED
from pyroclast.webhook.admission.job_checks import POLICY_HINT
from pyroclast.webhook.registration import Target, configuration, configuration_name, register

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DENIED = 'admission webhook "{}" denied the request: {}'
INVALID = {
    "duplicatedPolicyEvent-webhook-deny.yaml": (
        f"1 error occurred:\n\t* duplicate event PodFailed  across different policy\n\n{POLICY_HINT}"
    ),
    "duplicatedTaskName-webhook-deny.yaml": "duplicated task name task-1;",
    "minAvailable-webhook-deny.yaml": (
        "job 'minAvailable' should not be greater than total replicas in tasks;"
    ),
}
LENIENT = "--validate=false"
"""Unknown fields are dropped with a warning, as kube-apiserver prunes them."""

SMALL_JOB = """
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata:
  name: {name}
spec:
  {extra}
  tasks:
    - replicas: 2
      name: work
      template:
        spec:
          containers:
            - name: main
              image: busybox
          restartPolicy: Never
"""


QUEUE = """
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata:
  name: {name}
spec:
  weight: 1
"""


@dataclass
class Stack:
    api: ApiServerHandle
    nats_url: str
    prefix: str
    webhook: WebhookProcess


@pytest.fixture(scope="module")
def stack(
    apiserver: ApiServerHandle, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    apiserver.kubectl("apply", "-f", str(REPO / "deploy" / "crds"))
    prefix = unique_prefix()
    put_queues(nats_server.url, prefix, QueueRecord(name="default", state="Open"))
    args = ["--nats-servers", nats_server.url, "--cluster-prefix", prefix, "--webhook-url", "auto"]
    webhook = WebhookProcess(
        tmp_path_factory.mktemp("webhook"), [*args, "--kubeconfig", str(apiserver.kubeconfig)]
    )
    try:
        webhook.wait_ready()
        yield Stack(apiserver, nats_server.url, prefix, webhook)
    finally:
        code = webhook.terminate()
    assert code == 0, webhook.log()


def _examples() -> Path:
    if not EXAMPLES.is_dir():
        pytest.skip(f"{EXAMPLES} is not available")
    return Path(EXAMPLES)


def _namespace(api: ApiServerHandle, name: str) -> str:
    if api.kubectl("get", "namespace", name, check=False).returncode != 0:
        api.kubectl("create", "namespace", name)
    return name


def _job(api: ApiServerHandle, namespace: str, name: str) -> dict[str, Any]:
    out = api.kubectl("get", "jobs.batch.volcano.sh", name, "-n", namespace, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def test_configurations_are_registered_by_url(stack: Stack) -> None:
    found = {}
    for kind in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        listed = json.loads(stack.api.kubectl("get", kind, "-o", "json").stdout)
        found.update({item["metadata"]["name"]: item for item in listed["items"]})
    assert set(found) == {configuration_name(path) for path in DEFAULT_ENABLED}
    ca = stack.webhook.ca_file.read_bytes()
    for path in DEFAULT_ENABLED:
        (hook,) = found[configuration_name(path)]["webhooks"]
        assert hook["clientConfig"]["url"] == f"{stack.webhook.url}{path}"
        assert base64.b64decode(hook["clientConfig"]["caBundle"]) == ca


@pytest.mark.parametrize("file", sorted(INVALID))
def test_invalid_jobs_get_volcanos_message(stack: Stack, file: str) -> None:
    path = _examples() / "invalid_jobs" / file
    result = stack.api.kubectl("apply", LENIENT, "-f", str(path), check=False)
    assert result.returncode != 0
    assert DENIED.format("validatejob.volcano.sh", INVALID[file]) in result.stderr
    assert stack.api.kubectl("get", "jobs.batch.volcano.sh", "-A", "-o", "name").stdout == ""


@pytest.mark.parametrize("file", sorted(INVALID))
def test_invalid_jobs_with_kubectl_defaults(stack: Stack, file: str) -> None:
    result = stack.api.kubectl("apply", "-f", str(_examples() / "invalid_jobs" / file), check=False)
    assert DENIED.format("validatejob.volcano.sh", INVALID[file]) in result.stderr


def test_example_job_is_stored_with_volcanos_defaults(stack: Stack) -> None:
    namespace = _namespace(stack.api, "examples")
    stack.api.kubectl("apply", LENIENT, "-n", namespace, "-f", str(_examples() / "job.yaml"))
    spec = _job(stack.api, namespace, "test-job")["spec"]
    assert (spec["queue"], spec["schedulerName"], spec["maxRetry"], spec["minAvailable"]) == (
        "default",
        "volcano",
        5,
        3,
    )
    (task,) = spec["tasks"]
    assert (task["name"], task["replicas"], task["minAvailable"], task["maxRetry"]) == (
        "default-nginx",
        6,
        6,
        3,
    )
    assert spec["plugins"] == {"ssh": [], "env": [], "svc": []}
    assert spec["policies"] == [{"event": "PodEvicted", "action": "RestartJob"}]


def test_example_job_with_kubectl_defaults(stack: Stack) -> None:
    namespace = _namespace(stack.api, "plain")
    result = stack.api.kubectl("apply", "-n", namespace, "-f", str(_examples() / "job.yaml"), check=False)
    assert result.returncode == 0, result.stderr
    assert _job(stack.api, namespace, "test-job")["spec"]["tasks"][0]["minAvailable"] == 6


def test_unset_fields_get_defaults(stack: Stack) -> None:
    namespace = _namespace(stack.api, "defaults")
    stack.api.kubectl(
        "apply", LENIENT, "-n", namespace, "-f", "-", input=SMALL_JOB.format(name="small", extra="")
    )
    spec = _job(stack.api, namespace, "small")["spec"]
    assert (spec["queue"], spec["schedulerName"], spec["maxRetry"], spec["minAvailable"]) == (
        "default",
        "volcano",
        3,
        2,
    )
    assert (spec["tasks"][0]["minAvailable"], spec["tasks"][0]["maxRetry"]) == (2, 3)


def test_mutated_job_with_kubectl_defaults(stack: Stack) -> None:
    """No template metadata in the manifest: only the webhook's patch (Volcano's Go encoding of
    the tasks, ``metadata: {creationTimestamp: null}``) brings fields the CRD does not declare."""
    namespace = _namespace(stack.api, "strict")
    manifest = SMALL_JOB.format(name="small", extra="")
    result = stack.api.kubectl("apply", "-n", namespace, "-f", "-", input=manifest, check=False)
    assert result.returncode == 0, result.stderr
    assert _job(stack.api, namespace, "small")["spec"]["tasks"][0]["minAvailable"] == 2


def test_a_job_for_an_unknown_queue_is_denied(stack: Stack) -> None:
    manifest = SMALL_JOB.format(name="lost", extra="queue: nowhere")
    result = stack.api.kubectl("apply", LENIENT, "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert 'admission webhook "validatejob.volcano.sh" denied the request:' in result.stderr
    assert "unable to find job queue" in result.stderr


def test_queue_objects_pass_the_queue_webhooks(stack: Stack) -> None:
    queue = QUEUE.format(name="default")
    stack.api.kubectl("apply", "-f", "-", input=queue)
    stored = json.loads(
        stack.api.kubectl("get", "queues.scheduling.volcano.sh", "default", "-o", "json").stdout
    )
    assert stored["spec"]["reclaimable"] is True
    result = stack.api.kubectl("delete", "queues.scheduling.volcano.sh", "default", check=False)
    assert result.returncode != 0
    assert DENIED.format("validatequeue.volcano.sh", "`default` queue can not be deleted") in result.stderr


async def _admission_events(stack: Stack, namespace: str, wanted: int) -> list[AuditEvent]:
    nc = await connect(stack.nats_url, "webhook-audit-test", max_attempts=3)
    settings = PullSettings(heartbeat=0.25, expires=1.0, request_timeout=2.0)
    events: list[AuditEvent] = []
    try:
        follower = audit_follow(
            nc,
            BusNames(stack.prefix),
            since="all",
            kind=AuditKind.ADMISSION,
            namespace=namespace,
            settings=settings,
        )
        async with follower, asyncio.timeout(15):
            async for event in follower:
                events.append(event)
                if len(events) == wanted:
                    break
    finally:
        await close(nc)
    return events


async def test_every_verdict_is_on_the_audit_stream(stack: Stack) -> None:
    namespace = await asyncio.to_thread(_namespace, stack.api, "audited")
    good = SMALL_JOB.format(name="good", extra="")
    bad = SMALL_JOB.format(name="bad", extra="minAvailable: 9")
    apply = ("apply", LENIENT, "-n", namespace, "-f", "-")
    await asyncio.to_thread(stack.api.kubectl, *apply, input=good)
    await asyncio.to_thread(stack.api.kubectl, *apply, input=bad, check=False)
    events = await _admission_events(stack, namespace, 4)
    seen = [(e.name, e.action, e.details["webhook"], e.details["operation"]) for e in events]
    assert seen == [
        ("good", "Allowed", "mutatejob.volcano.sh", "CREATE"),
        ("good", "Allowed", "validatejob.volcano.sh", "CREATE"),
        ("bad", "Allowed", "mutatejob.volcano.sh", "CREATE"),
        ("bad", "Denied", "validatejob.volcano.sh", "CREATE"),
    ]
    denied = events[-1]
    assert denied.message == "job 'minAvailable' should not be greater than total replicas in tasks;"
    assert (denied.kind, denied.actor, denied.cluster, denied.reason) == (
        AuditKind.ADMISSION,
        "webhook",
        stack.prefix,
        "jobs",
    )
    assert denied.details["user"]


def test_registration_creates_then_updates(stack: Stack) -> None:
    """A configuration that matches nothing, registered twice: created, then replaced in place."""
    obj = configuration("/pods/validate", Target(url="https://127.0.0.1:1"), b"first")
    name = obj["metadata"]["name"] = "pyroclast-registration-test"
    obj["webhooks"][0]["rules"][0]["resources"] = ["nothing"]
    kubeconfig = str(stack.api.kubeconfig)

    def stored() -> dict[str, Any]:
        out = stack.api.kubectl("get", "validatingwebhookconfigurations", name, "-o", "json").stdout
        found: dict[str, Any] = json.loads(out)
        return found

    asyncio.run(register([obj], kubeconfig, deadline=20))
    created = stored()
    obj["webhooks"][0]["clientConfig"]["caBundle"] = base64.b64encode(b"second").decode()
    asyncio.run(register([obj], kubeconfig, deadline=20))
    updated = stored()
    assert base64.b64decode(updated["webhooks"][0]["clientConfig"]["caBundle"]) == b"second"
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    stack.api.kubectl("delete", "validatingwebhookconfigurations", name)
