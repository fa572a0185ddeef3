"""Benchmark of the admission webhook: job creates over HTTPS from 100 concurrent clients.

The webhook runs as its own process (``pyroclast webhook``, following a real nats-server),
so client and server do not share a GIL. One job create is what the API server sends for it:
a review to ``/jobs/mutate``, then one to ``/jobs/validate`` with the patched job. Three runs:
one client back to back (unloaded latency), 100 clients back to back (throughput; latency is
then queueing behind the other 99), and 100 clients paced to half that throughput. Prints the
round-trip latency seen by the clients, the server's own time per review (from its
histogram) and the throughput; the only assertions are sanity checks. Run with
``PYROCLAST_BENCH=1``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "webhook"))

from nats_fixture import NatsServer, find_nats_server
from webhook_process import WebhookProcess, put_queues, unique_prefix

from pyroclast.common.bus.messages import QueueRecord
from pyroclast.webhook.admission import apply_patch

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(os.environ.get("PYROCLAST_BENCH") != "1", reason="set PYROCLAST_BENCH=1 to run"),
]

CREATES = int(os.environ.get("PYROCLAST_BENCH_CREATES", "5000"))
CLIENTS = 100
WORKERS = os.environ.get("PYROCLAST_BENCH_WORKERS", "1")
"""Server processes (``--workers``)."""
PACED_RATE = float(os.environ.get("PYROCLAST_BENCH_RATE", "0"))
"""Creates/s of the paced run; 0: half the saturated throughput."""
GVR = {"group": "batch.volcano.sh", "version": "v1alpha1", "resource": "jobs"}


def _job(name: str) -> dict[str, Any]:
    task = {
        "name": "worker",
        "replicas": 4,
        "template": {
            "spec": {
                "containers": [{"name": "main", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}],
                "restartPolicy": "OnFailure",
            }
        },
    }
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {
            "minAvailable": 4,
            "policies": [{"event": "PodEvicted", "action": "RestartJob"}],
            "tasks": [task],
        },
    }


def _review(uid: str, obj: dict[str, Any]) -> bytes:
    request = {
        "uid": uid,
        "kind": {"group": "batch.volcano.sh", "version": "v1alpha1", "kind": "Job"},
        "resource": GVR,
        "operation": "CREATE",
        "namespace": "bench",
        "name": obj["metadata"]["name"],
        "userInfo": {"username": "bench"},
        "object": obj,
    }
    return json.dumps(
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    ).encode()


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[WebhookProcess]:
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server binary not available")
    nats = NatsServer(tmp_path / "nats", binary=binary)
    nats.start()
    prefix = unique_prefix()
    put_queues(nats.url, prefix, QueueRecord(name="default"))
    args = [
        "--nats-servers",
        nats.url,
        "--cluster-prefix",
        prefix,
        "--register",
        "false",
        "--log-level",
        "warning",
    ]
    proc = WebhookProcess(tmp_path, args)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.terminate()
        nats.stop()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _server_quantiles(metrics: str, q: float) -> float:
    """Upper bound of the histogram bucket holding quantile ``q`` of the server's own time."""
    buckets: dict[float, float] = {}
    prefix = "pyroclast_webhook_admission_duration_seconds_bucket{"
    for line in metrics.splitlines():
        if line.startswith(prefix) and 'resource="jobs"' in line:
            le = line.split('le="')[1].split('"')[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    total = buckets.get(float("inf"), 0.0)
    for bound in sorted(buckets):
        if buckets[bound] >= q * total:
            return bound
    return float("inf")


async def _run(proc: WebhookProcess, creates: int, clients: int, rate: float = 0.0) -> dict[str, Any]:
    """``creates`` job creates from ``clients`` concurrent clients: back to back, or (``rate`` > 0)
    paced to ``rate`` creates/s in all, a create's latency then counted from its scheduled start."""
    ctx = ssl.create_default_context(cafile=str(proc.ca_file))
    mutate_body = _review("bench", _job("bench-job"))
    review_lat: list[float] = []
    create_lat: list[float] = []
    failures: list[str] = []
    remaining = creates
    connector = aiohttp.TCPConnector(limit=clients, ssl=ctx)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.post(proc.url + "/jobs/mutate", data=mutate_body, headers=headers) as resp:
            patch = json.loads(base64.b64decode((await resp.json())["response"]["patch"]))
        validate_body = _review("bench", apply_patch(_job("bench-job"), patch))

        async def post(path: str, body: bytes) -> None:
            started = time.perf_counter()
            async with http.post(proc.url + path, data=body, headers=headers) as resp:
                answer = await resp.read()
            review_lat.append(time.perf_counter() - started)
            if resp.status != 200 or b'"allowed":true' not in answer:
                failures.append(f"{path} {resp.status} {answer[:200]!r}")

        begin = time.perf_counter() + 0.1

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                if rate > 0:
                    started = begin + (creates - remaining - 1) / rate
                    await asyncio.sleep(max(0.0, started - time.perf_counter()))
                await post("/jobs/mutate", mutate_body)
                await post("/jobs/validate", validate_body)
                create_lat.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - begin
    return {"review": review_lat, "create": create_lat, "failures": failures, "elapsed": elapsed}


def _line(label: str, result: dict[str, Any], clients: int) -> str:
    review, create = result["review"], result["create"]
    return (
        f"{label}: {clients} clients, {len(create)} creates in {result['elapsed']:.2f}s = "
        f"{len(create) / result['elapsed']:.0f} creates/s ({len(review) / result['elapsed']:.0f} reviews/s); "
        f"review round trip p50 {statistics.median(review) * 1e3:.2f} ms "
        f"p99 {_quantile(review, 0.99) * 1e3:.2f} ms; "
        f"create (mutate+validate) p50 {statistics.median(create) * 1e3:.2f} ms "
        f"p99 {_quantile(create, 0.99) * 1e3:.2f} ms"
    )


def test_job_create_admission(webhook: WebhookProcess) -> None:
    asyncio.run(_run(webhook, 300, CLIENTS))  # warm-up: connections, caches
    single = asyncio.run(_run(webhook, 500, 1))
    loaded = asyncio.run(_run(webhook, CREATES, CLIENTS))
    rate = PACED_RATE or max(10.0, 0.5 * len(loaded["create"]) / loaded["elapsed"])
    paced = asyncio.run(_run(webhook, int(rate * 10), CLIENTS, rate=rate))
    status, metrics = webhook.get("/metrics")
    assert status == 200
    p50, p99 = _server_quantiles(metrics, 0.5), _server_quantiles(metrics, 0.99)
    print(f"\nwebhook processes: {WORKERS}")
    print(_line("unloaded", single, 1))
    print(_line("saturated", loaded, CLIENTS))
    print(_line(f"paced at {rate:.0f} creates/s", paced, CLIENTS))
    print(
        "server time per review (first process's histogram bucket bounds, all runs): "
        f"p50 <= {p50 * 1e3:g} ms, p99 <= {p99 * 1e3:g} ms"
    )
    assert not single["failures"], single["failures"][:3]
    assert not loaded["failures"], loaded["failures"][:3]
    assert not paced["failures"], paced["failures"][:3]
    assert len(loaded["create"]) == CREATES
