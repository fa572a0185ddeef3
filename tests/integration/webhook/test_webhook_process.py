"""``pyroclast webhook`` as a process: health, readiness after the queue sync, metrics, SIGTERM."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

import pytest
from nats_fixture import NatsServer, find_nats_server
from webhook_process import WebhookProcess, put_queues, unique_prefix, wait_for

from pyroclast.common.bus.messages import QueueRecord

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _post(proc: WebhookProcess, path: str, body: bytes) -> dict[str, object]:
    ctx = ssl.create_default_context(cafile=str(proc.ca_file))
    request = urllib.request.Request(proc.url + path, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5, context=ctx) as resp:
        assert resp.status == 200
        answer: dict[str, object] = json.loads(resp.read())
        return answer


def test_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server binary not available")
    nats = NatsServer(tmp_path / "nats", binary=binary)  # not started yet
    prefix = unique_prefix()
    proc = WebhookProcess(
        tmp_path, ["--nats-servers", nats.url, "--cluster-prefix", prefix, "--register", "false"]
    )
    try:
        wait_for(lambda: proc.get("/healthz")[0] == 200, 20, "healthz")
        status, reason = proc.get("/readyz")
        assert (status, reason.strip()) == (503, "webhook: not connected to NATS")

        nats.start()
        put_queues(nats.url, prefix, QueueRecord(name="default"))
        proc.wait_ready()

        review = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "u-1",
                "resource": {"group": "scheduling.volcano.sh", "version": "v1beta1", "resource": "queues"},
                "operation": "DELETE",
                "name": "default",
                "userInfo": {"username": "bob"},
            },
        }
        answer = _post(proc, "/queues/validate", json.dumps(review).encode())
        assert answer["response"] == {
            "uid": "u-1",
            "allowed": False,
            "status": {"metadata": {}, "message": "`default` queue can not be deleted"},
        }
        put_queues(nats.url, prefix, QueueRecord(name="late", state="Closed"))
        job = {
            "apiVersion": "batch.volcano.sh/v1alpha1",
            "kind": "Job",
            "metadata": {"name": "j", "namespace": "ns"},
            "spec": {
                "minAvailable": 1,
                "queue": "late",
                "tasks": [
                    {"name": "t", "replicas": 1, "template": {"spec": {"containers": [{"name": "c"}]}}}
                ],
            },
        }
        job_review = {
            "request": {
                "uid": "u-2",
                "resource": {"group": "batch.volcano.sh", "version": "v1alpha1", "resource": "jobs"},
                "operation": "CREATE",
                "namespace": "ns",
                "object": job,
            }
        }

        def sees_late_queue() -> bool:
            answer = _post(proc, "/jobs/validate", json.dumps(job_review).encode())
            return "queue `late` status is `Closed`" in json.dumps(answer)

        wait_for(sees_late_queue, 10, "the webhook sees a queue written after it started")
        garbled = _post(proc, "/queues/validate", b"{oops")
        assert garbled["response"]["allowed"] is False  # type: ignore[index]

        status, metrics = proc.get("/metrics")
        assert status == 200
        assert (
            'pyroclast_webhook_admission_duration_seconds_count{resource="queues",verdict="denied"} 2.0'
            in metrics
        )
        assert 'pyroclast_webhook_requests_total{path="/queues/validate",verdict="denied"} 2.0' in metrics
    finally:
        code = proc.terminate()
        nats.stop()
    assert code == 0, proc.log()
    lines = [json.loads(line) for line in proc.log_file.read_text().splitlines() if line.startswith("{")]
    assert any(line["event"] == "webhook stopped" for line in lines)
    denied = [line for line in lines if line["event"] == "denied"]
    assert denied
    assert denied[0]["key"] == "default"
    assert all(line["service"] == "webhook" for line in lines)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_worker_processes_share_the_port(tmp_path: Path, nats_server: NatsServer) -> None:
    prefix = unique_prefix()
    put_queues(nats_server.url, prefix, QueueRecord(name="default"))
    args = ["--nats-servers", nats_server.url, "--cluster-prefix", prefix, "--register", "false"]
    proc = WebhookProcess(tmp_path, [*args, "--workers", "2"])
    try:
        proc.wait_ready()
        (worker,) = _children(proc.process.pid)
        review = {
            "request": {
                "uid": "u",
                "resource": {"group": "scheduling.volcano.sh", "version": "v1beta1", "resource": "queues"},
                "operation": "DELETE",
                "name": "default",
            }
        }
        sent = 40
        for _ in range(sent):  # a new connection each time: the kernel spreads them over both
            answer = _post(proc, "/queues/validate", json.dumps(review).encode())
            assert answer["response"]["allowed"] is False  # type: ignore[index]
        _, metrics = proc.get("/metrics")
        line = 'pyroclast_webhook_requests_total{path="/queues/validate",verdict="denied"} '
        served_here = sum(float(m.split()[-1]) for m in metrics.splitlines() if m.startswith(line))
        assert served_here < sent  # the worker answered the others
    finally:
        code = proc.terminate()
    assert code == 0, proc.log()
    assert not Path(f"/proc/{worker}").exists() or "zombie" in Path(f"/proc/{worker}/status").read_text()
