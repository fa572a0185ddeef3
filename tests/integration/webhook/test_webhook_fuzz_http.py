"""10,000 mutated manifests sent to the running webhook over HTTPS: each gets a verdict.

The manifests come from the same hypothesis strategies as the unit fuzzing of the admission
chain (wrong types, missing fields, huge values, unicode, deep nesting), wrapped in
AdmissionReviews for every operation and sent to one of the webhook paths that serve the
resource. No answer may be a 5xx, a timeout, or a rule's internal error.
"""

from __future__ import annotations

import http.client
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admission_fuzzing import BASES, mutate
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from nats_fixture import NatsServer
from webhook_process import WebhookProcess, put_queues, unique_prefix

from pyroclast.common.bus.messages import QueueRecord
from pyroclast.webhook.admission import WEBHOOK_PATHS, Operation, rules_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

EXAMPLES = 10_000
TIMEOUT = 10.0
"""The API server's longest webhook timeout: an answer slower than this is a failure."""

VERSIONS = {"batch.volcano.sh": "v1alpha1", "scheduling.volcano.sh": "v1beta1", "flow.volcano.sh": "v1alpha1"}


class Client:
    """One keep-alive HTTPS connection to the webhook, reopened if the server closes it."""

    def __init__(self, webhook: WebhookProcess) -> None:
        self.webhook = webhook
        self.context = ssl.create_default_context(cafile=str(webhook.ca_file))
        self.connection = self._connect()
        self.sent = 0

    def _connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            "127.0.0.1", self.webhook.listen_port, context=self.context, timeout=TIMEOUT
        )

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        for attempt in (1, 2):
            try:
                self.connection.request("POST", path, body=body, headers=headers)
                response = self.connection.getresponse()
                self.sent += 1
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                self.connection = self._connect()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture(scope="module")
def client(nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    workdir: Path = tmp_path_factory.mktemp("webhook-fuzz")
    prefix = unique_prefix()
    put_queues(
        nats_server.url,
        prefix,
        QueueRecord(name="default"),
        QueueRecord(name="root", reclaimable=False),
        QueueRecord(name="p", parent="root", capability={"cpu": 4000}),
        QueueRecord(name="c", parent="p"),
    )
    config = workdir / "webhook.json"
    config.write_text(json.dumps({"enabledPaths": sorted(WEBHOOK_PATHS)}))
    args = ["--nats-servers", nats_server.url, "--cluster-prefix", prefix, "--register", "false"]
    webhook = WebhookProcess(workdir, [*args, "--config", str(config)])
    try:
        webhook.wait_ready()
        fuzz_client = Client(webhook)
        yield fuzz_client
        fuzz_client.close()
    finally:
        code = webhook.terminate()
    assert code == 0, webhook.log()


def admission_review(
    group: str, resource: str, kind: str, operation: Operation, obj: Any, old: Any
) -> tuple[str, bytes]:
    uid = str(uuid.uuid4())
    request: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": group, "version": VERSIONS.get(group, "v1"), "kind": kind},
        "resource": {"group": group, "version": VERSIONS.get(group, "v1"), "resource": resource},
        "name": "fuzzed",
        "namespace": "ns",
        "operation": str(operation),
        "userInfo": {"username": "fuzzer", "groups": ["system:authenticated"]},
    }
    if obj is not None:
        request["object"] = obj
    if old is not None:
        request["oldObject"] = old
    body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    # The API server sends JSON: NaN and infinities cannot be in a stored object.
    return uid, json.dumps(body, allow_nan=False).encode()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
    base=st.sampled_from(BASES),
    operation=st.sampled_from([Operation.CREATE, Operation.UPDATE, Operation.DELETE]),
)
def test_every_mutated_manifest_gets_a_verdict(
    client: Client, data: st.DataObject, base: tuple[str, str, dict[str, Any]], operation: Operation
) -> None:
    group, resource, doc = base
    rules = rules_for(group, resource, operation)
    if not rules:
        return  # the API server calls no webhook for this request
    path = data.draw(st.sampled_from([rule.path for rule in rules]))
    mutated = mutate(doc, data)
    obj = None if operation == Operation.DELETE else mutated
    old = None if operation == Operation.CREATE else doc
    try:
        uid, body = admission_review(group, resource, str(doc["kind"]), operation, obj, old)
    except ValueError:
        reject()  # NaN or infinity somewhere: not JSON

    status, answer = client.post(path, body)

    assert status == 200, (path, status, answer[:500])
    result = json.loads(answer)["response"]
    assert result["uid"] == uid
    assert isinstance(result["allowed"], bool)
    if not result["allowed"]:
        message = result["status"]["message"]
        assert message, result
        assert not message.startswith("internal error"), message


def test_the_whole_run_was_answered(client: Client) -> None:
    # Runs after the fuzzing in this module: every request sent got a 200 answer (asserted
    # above), and there were as many as the fuzzing drew requests with a webhook to call.
    assert client.sent >= EXAMPLES // 2
    assert client.webhook.process.poll() is None
