"""Benchmark of the admission webhook: job creates over HTTPS from 100 concurrent clients.

The webhook runs as its own process (``pyroclast webhook``, following a real nats-server) and
the load comes from another process (forked from pytest), so neither shares an event loop or
a GIL with the other. The load generator holds 100 keep-alive HTTPS connections, one per
client, as the kube-apiserver's pool does, and speaks plain HTTP/1.1 over asyncio streams
(a lean client, so that on a small machine the CPU goes to the server). One job create is
what the API server sends for it: a review to ``/jobs/mutate``, then one to
``/jobs/validate`` with the patched job; every create has its own name and uid.

Runs, each printed with its configuration:

* unloaded: one client, creates back to back (the round trip with no queueing);
* (a) saturated: 100 closed-loop clients, each sending its next create as soon as the last
  one is answered; the throughput is the server's capacity, the latency is then queueing
  behind the other 99 clients (Little's law) and says nothing else;
* (b) paced: 100 clients on a fixed schedule (open loop) for a total offered rate; the
  client sending create ``k`` is due at ``start + k / rate`` and the latency is counted from
  that due time, so a create delayed behind a slow one counts its wait (no coordinated
  omission). The p99 target (under 10 ms) is for these runs at loads the server sustains.

Besides the clients' latencies each run reports the server's CPU time per review (from
``/proc``, robust to a busy machine) and the server's own time per review (its latency
histogram, bucket bounds). Settings (environment): ``PYROCLAST_BENCH_WORKERS`` server
processes (1), ``PYROCLAST_BENCH_SECONDS`` per run (10), ``PYROCLAST_BENCH_RATES`` offered
reviews/s of the paced runs ("500,800,1000"), ``PYROCLAST_BENCH_CLIENTS`` (100),
``PYROCLAST_BENCH_GENERATORS`` load generator processes (1), ``PYROCLAST_BENCH_NICE`` their
priority (0; e.g. -10 as root), ``PYROCLAST_BENCH_REALTIME=1`` SCHED_FIFO for them (as root):
on a machine shared with other work, that work's load otherwise shows up as latency (each run
prints the load average and how busy the machine was). Only sanity checks are asserted.
Run with ``PYROCLAST_BENCH=1``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import ssl
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "webhook"))

from nats_fixture import NatsServer, find_nats_server
from webhook_process import WebhookProcess, put_queues, unique_prefix

from pyroclast.common.bus.messages import QueueRecord
from pyroclast.webhook.admission import apply_patch

pytestmark = [
    pytest.mark.bench,
    pytest.mark.timeout(900),
    pytest.mark.skipif(os.environ.get("PYROCLAST_BENCH") != "1", reason="set PYROCLAST_BENCH=1 to run"),
]

WORKERS = int(os.environ.get("PYROCLAST_BENCH_WORKERS", "1"))
"""Server processes (``--workers``)."""
SECONDS = float(os.environ.get("PYROCLAST_BENCH_SECONDS", "10"))
"""Length of each measured run."""
RATES = [float(r) for r in os.environ.get("PYROCLAST_BENCH_RATES", "500,800,1000").split(",") if r]
"""Offered reviews/s of the paced runs (a create is two reviews)."""
CLIENTS = int(os.environ.get("PYROCLAST_BENCH_CLIENTS", "100"))
GENERATORS = int(os.environ.get("PYROCLAST_BENCH_GENERATORS", "1"))
"""Load generator processes sharing the clients."""
NICE = int(os.environ.get("PYROCLAST_BENCH_NICE", "0"))
"""Scheduling priority of the server and load processes (negative, as root: ahead of whatever
else runs on a shared machine); 0 leaves them as they are."""
REALTIME = os.environ.get("PYROCLAST_BENCH_REALTIME") == "1"
"""Run the server and load processes under SCHED_FIFO (as root): what they would see on cores of
their own, whatever else the machine runs."""
TARGET_P99 = 0.010


def _prioritize(pid: int) -> None:
    """Apply `NICE` and `REALTIME` to process ``pid`` (0: this one)."""
    if NICE:
        os.setpriority(os.PRIO_PROCESS, pid, NICE)
    if REALTIME:
        os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(10))


GVR = {"group": "batch.volcano.sh", "version": "v1alpha1", "resource": "jobs"}


# --- the requests ---------------------------------------------------------------------------


def _job(name: str, uid: str) -> dict[str, Any]:
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
        "metadata": {"name": name, "namespace": "bench", "uid": uid},
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


_NAME, _UID = "bench-job-@@@@@@@@", "00000000-0000-0000-0000-@@@@@@@@@@@@"


@dataclass(frozen=True)
class Bodies:
    """Review bodies with placeholders for the job's name and uid, filled per create."""

    mutate: bytes
    validate: bytes

    @staticmethod
    def make(patch: list[dict[str, Any]]) -> Bodies:
        job = _job(_NAME, _UID)
        return Bodies(_review(_UID, job), _review(_UID, apply_patch(job, patch)))

    def for_create(self, number: int) -> tuple[bytes, bytes]:
        name, uid = f"{number:08d}".encode(), f"{number:012d}".encode()

        def fill(body: bytes) -> bytes:
            return body.replace(b"@@@@@@@@@@@@", uid).replace(b"@@@@@@@@", name)

        return fill(self.mutate), fill(self.validate)


# --- the load generator (runs in its own process) -------------------------------------------


class _Connection:
    """One keep-alive HTTPS connection speaking HTTP/1.1, one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host.encode()

    @staticmethod
    async def open(host: str, port: int, ctx: ssl.SSLContext) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
        return _Connection(reader, writer, f"{host}:{port}")

    async def post(self, path: bytes, body: bytes) -> tuple[int, bytes]:
        head = (
            b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (path, self.host, len(body))
        )
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        lowered = header.lower()
        at = lowered.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"no Content-Length in the answer: {header!r}")
        length = int(lowered[at + 17 : lowered.index(b"\r\n", at + 2)])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Load:
    """What a generator process is asked to do."""

    host: str
    port: int
    ca_file: str
    bodies: Bodies
    clients: range
    """Indices of this process's clients among all ``total`` clients."""
    total: int
    seconds: float
    rate: float = 0.0
    """Creates/s offered by all clients together; 0: closed loop."""


@dataclass
class Result:
    """Latencies in seconds, per create and per review, of one run (one or more processes)."""

    creates: list[float] = field(default_factory=list)
    mutates: list[float] = field(default_factory=list)
    validates: list[float] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    """Paced runs: how late each create was sent (the generator's own scheduling delay, or its
    client still busy with the previous create)."""
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def add(self, other: Result) -> None:
        self.creates += other.creates
        self.mutates += other.mutates
        self.validates += other.validates
        self.lag += other.lag
        self.failures += other.failures
        self.elapsed = max(self.elapsed, other.elapsed)


async def _drive(job: Load, pipe: Connection) -> Result:
    ctx = ssl.create_default_context(cafile=job.ca_file)
    conns = [await _Connection.open(job.host, job.port, ctx) for _ in job.clients]
    result = Result()
    mutate_path, validate_path = b"/jobs/mutate", b"/jobs/validate"

    async def create(conn: _Connection, number: int, due: float) -> None:
        mutate, validate = job.bodies.for_create(number)
        status, answer = await conn.post(mutate_path, mutate)
        mutated = time.perf_counter()
        if status != 200 or b'"allowed":true' not in answer or b'"patch"' not in answer:
            result.failures.append(f"mutate {status} {answer[:200]!r}")
        status, answer = await conn.post(validate_path, validate)
        done = time.perf_counter()
        if status != 200 or b'"allowed":true' not in answer:
            result.failures.append(f"validate {status} {answer[:200]!r}")
        result.creates.append(done - due)
        result.mutates.append(mutated - due)
        result.validates.append(done - mutated)

    for index, conn in enumerate(conns):  # warm each connection (TLS session, server caches)
        await create(conn, -1 - index, time.perf_counter())
    result = Result()
    pipe.send("ready")
    start = pipe.recv()  # the same CLOCK_MONOTONIC instant for every generator process
    end = start + job.seconds

    async def closed(conn: _Connection, client: int) -> None:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        number = client
        while time.perf_counter() < end:
            await create(conn, number, time.perf_counter())
            number += job.total

    async def paced(conn: _Connection, client: int) -> None:
        # Create k of the whole run is due at start + k / rate; client c sends k = c, c + total, ...
        number = client
        while (due := start + number / job.rate) < end:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            result.lag.append(time.perf_counter() - due)
            await create(conn, number, due)
            number += job.total

    run = paced if job.rate > 0 else closed
    await asyncio.gather(*(run(conn, client) for conn, client in zip(conns, job.clients, strict=True)))
    result.elapsed = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return result


def _generator(job: Load, pipe: Connection) -> None:
    _prioritize(0)
    try:
        pipe.send(asyncio.run(_drive(job, pipe)))
    except BaseException as exc:
        pipe.send(exc)
        raise


def _generate(
    proc: WebhookProcess, bodies: Bodies, clients: int, seconds: float, rate: float = 0.0
) -> Result:
    """Run ``clients`` clients for ``seconds`` from `GENERATORS` forked processes."""
    context = multiprocessing.get_context("fork")
    processes = min(GENERATORS, clients)
    workers: list[tuple[Any, Connection]] = []
    for part in range(processes):
        ours, theirs = context.Pipe()
        job = Load(
            "127.0.0.1",
            proc.listen_port,
            str(proc.ca_file),
            bodies,
            range(part, clients, processes),
            clients,
            seconds,
            rate,
        )
        worker = context.Process(target=_generator, args=(job, theirs), daemon=True)
        worker.start()
        workers.append((worker, ours))
    for _, pipe in workers:
        answer = pipe.recv()
        if isinstance(answer, BaseException):
            raise answer
    start = time.perf_counter() + 0.2
    for _, pipe in workers:
        pipe.send(start)
    total = Result()
    for worker, pipe in workers:
        answer = pipe.recv()
        if isinstance(answer, BaseException):
            raise answer
        total.add(answer)
        worker.join(10)
    return total


# --- the server -----------------------------------------------------------------------------


def _server_processes(pid: int) -> dict[int, list[str]]:
    """``/proc/<pid>/stat`` fields (after the command) of process ``pid`` and its children."""
    found: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            found[int(entry)] = fields
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its children (the worker processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    return sum((int(f[11]) + int(f[12])) / tick for f in _server_processes(pid).values())


def _machine_busy() -> float:
    """CPU seconds all cores spent outside idle and iowait since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _own_children() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _histogram(metrics: str) -> dict[float, float]:
    """Cumulative bucket counts of the server's time per job review."""
    buckets: dict[float, float] = {}
    prefix = "pyroclast_webhook_admission_duration_seconds_bucket{"
    for line in metrics.splitlines():
        if line.startswith(prefix) and 'resource="jobs"' in line:
            le = line.split('le="')[1].split('"')[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return buckets


def _bucket(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """Upper bound of the bucket holding quantile ``q`` of the reviews between two scrapes."""
    counts = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    total = counts.get(float("inf"), 0.0)
    for bound in sorted(counts):
        if counts[bound] >= q * total:
            return bound
    return float("inf")


@dataclass
class Server:
    proc: WebhookProcess
    bodies: Bodies
    nats_pid: int
    """The nats-server, which stores an audit event per review."""

    def scrape(self) -> tuple[float, float, dict[float, float]]:
        status, metrics = self.proc.get("/metrics")
        assert status == 200
        return _cpu_seconds(self.proc.process.pid), _cpu_seconds(self.nats_pid), _histogram(metrics)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
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
        "--workers",
        str(WORKERS),
    ]
    proc = WebhookProcess(tmp_path, args)
    try:
        proc.wait_ready()
        for pid in _server_processes(proc.process.pid):
            _prioritize(pid)
        assert nats._process is not None
        yield Server(proc, Bodies.make(_mutate_patch(proc)), nats._process.pid)
    finally:
        proc.terminate()
        nats.stop()


def _mutate_patch(proc: WebhookProcess) -> list[dict[str, Any]]:
    """The patch the webhook answers a create with (the validate bodies carry the patched job)."""
    ctx = ssl.create_default_context(cafile=str(proc.ca_file))

    async def ask() -> list[dict[str, Any]]:
        conn = await _Connection.open("127.0.0.1", proc.listen_port, ctx)
        try:
            status, answer = await conn.post(b"/jobs/mutate", _review("u", _job("probe", "u")))
        finally:
            conn.close()
        assert status == 200, answer
        patch: list[dict[str, Any]] = json.loads(base64.b64decode(json.loads(answer)["response"]["patch"]))
        return patch

    return asyncio.run(ask())


# --- the report -----------------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _ms(values: list[float]) -> str:
    return (
        " ".join(
            f"{label} {_quantile(values, q) * 1e3:.2f}"
            for label, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999))
        )
        + f" max {max(values, default=float('nan')) * 1e3:.2f} ms"
    )


def _measure(server: Server, label: str, clients: int, seconds: float, rate: float = 0.0) -> Result:
    load = os.getloadavg()[0]
    cpu_before, nats_before, hist_before = server.scrape()
    busy_before, load_before, wall = _machine_busy(), _own_children(), time.perf_counter()
    result = _generate(server.proc, server.bodies, clients, seconds, rate)
    busy, load_cpu = _machine_busy() - busy_before, _own_children() - load_before
    wall = time.perf_counter() - wall
    cpu_after, nats_after, hist_after = server.scrape()
    reviews = 2 * len(result.creates)
    cpu, nats = cpu_after - cpu_before, nats_after - nats_before
    others = max(0.0, busy - cpu - nats - load_cpu)
    mode = f"open loop, offered {2 * rate:.0f} reviews/s = {rate:.0f} creates/s" if rate else "closed loop"
    lines = [
        f"{label}: {clients} clients ({mode}), {GENERATORS} load process(es), {WORKERS} server process(es), "
        f"{seconds:g}s, nice {NICE}{', SCHED_FIFO' if REALTIME else ''}, load average before {load:.2f}",
        f"  done: {len(result.creates)} creates = {reviews / result.elapsed:.0f} reviews/s "
        f"({len(result.creates) / result.elapsed:.0f} creates/s), {len(result.failures)} failures",
        f"  review latency (mutate from due time, validate from mutate answer): "
        f"{_ms(result.mutates + result.validates)}",
        f"  create latency (mutate + validate, from due time): {_ms(result.creates)}",
        f"  server CPU: {cpu / max(reviews, 1) * 1e6:.0f} us per review, "
        f"{cpu / result.elapsed * 100:.0f}% of one core; server's own time per review "
        f"p50 <= {_bucket(hist_before, hist_after, 0.5) * 1e3:g} ms, "
        f"p99 <= {_bucket(hist_before, hist_after, 0.99) * 1e3:g} ms; "
        f"nats-server CPU (audit events) {nats / max(reviews, 1) * 1e6:.0f} us per review",
        f"  machine over the run (with its set-up): {busy / wall * 100:.0f}% of {os.cpu_count()} cores "
        f"busy; load generator {load_cpu / wall * 100:.0f}%, other work on the machine "
        f"{others / wall * 100:.0f}% (of one core)",
    ]
    if rate:
        lines.append(
            f"  send lag (generator scheduling, or the client's last create unanswered): {_ms(result.lag)}"
        )
        p99 = _quantile(result.mutates + result.validates, 0.99)
        verdict = "met" if p99 < TARGET_P99 else "NOT met"
        lines.append(f"  target review p99 < {TARGET_P99 * 1e3:g} ms: {verdict} ({p99 * 1e3:.2f} ms)")
    print("\n".join(lines), flush=True)
    return result


def test_job_create_admission(server: Server) -> None:
    print(f"\nwebhook bench on {os.cpu_count()} cores")
    _generate(server.proc, server.bodies, CLIENTS, 2.0)  # warm-up
    results = [_measure(server, "unloaded", 1, min(SECONDS, 3.0))]
    saturated = _measure(server, "(a) saturated", CLIENTS, SECONDS)
    results.append(saturated)
    for rate in RATES:
        results.append(_measure(server, "(b) paced", CLIENTS, SECONDS, rate / 2))
    for result in results:
        assert not result.failures, result.failures[:3]
        assert result.creates
