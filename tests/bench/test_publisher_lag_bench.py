"""Benchmark of the cache publisher: lag from a pod change in the API to its record in KV.

The sandbox API server runs as its own process (as in the sandbox) and nats-server as its
own; the publisher (informers + bucket writers) runs in this process with a
:class:`CacheWatcher` following the pods bucket. Each change carries a unique label, so the
watcher knows which change a put is; a delete is its key's DELETE. The lag of a change is
the time from the API's response to the change (the API event) to the watcher seeing it in
KV; the publisher's own histogram (informer event -> KV put acknowledged) is printed next to
it. Two runs of 1,000 changes each (400 creates, 400 patches, 200 deletes): paced at
``PYROCLAST_BENCH_RATE`` changes/s (default 200), then all at once (64 in flight). Prints
p50/p99/max; the only assertions are sanity checks. Run with ``PYROCLAST_BENCH=1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from nats.aio.client import Client
from prometheus_client import REGISTRY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from nats_fixture import NatsServer, find_nats_server, free_port

from pyroclast.common.bus import kv
from pyroclast.common.bus.connect import Backoff, close, connect
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.setup import ensure_jetstream
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.publisher import BucketPublisher, CachePublisher

pytestmark = [
    pytest.mark.bench,
    pytest.mark.timeout(600),
    pytest.mark.skipif(os.environ.get("PYROCLAST_BENCH") != "1", reason="set PYROCLAST_BENCH=1 to run"),
]

RATE = float(os.environ.get("PYROCLAST_BENCH_RATE", "200"))
PODS = 400
CONCURRENCY = 64
DELETED = "<deleted>"
HISTOGRAM = "pyroclast_controller_publisher_lag_seconds"
CRDS = Path(__file__).resolve().parents[2] / "deploy" / "crds"


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    """The sandbox API server as its own process; its kubeconfig."""
    data = tmp_path / "apiserver"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyroclast.sandbox.apiserver",
            "--data-dir",
            str(data),
            "--port",
            str(free_port()),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        config = data / "kubeconfig"
        deadline = time.time() + 30
        while not config.exists():
            assert proc.poll() is None, "apiserver exited"
            assert time.time() < deadline, "apiserver did not start"
            time.sleep(0.05)
        yield config
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server binary not available")
    server = NatsServer(tmp_path / "nats", binary=binary)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


async def install_crds(kube: KubeClient) -> None:
    """Volcano's CRDs (the publisher follows PodGroups and Queues), once they are served."""
    for path in sorted(CRDS.glob("*.yaml")):
        body = yaml.safe_load(path.read_text())
        await kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=body)
    async with asyncio.timeout(30):
        while True:
            try:
                await kube.list_raw(resources.PODGROUPS)
                await kube.list_raw(resources.QUEUES)
                return
            except ApiError:
                await asyncio.sleep(0.1)


@dataclass
class Seen:
    """When the watcher first saw each ``(key, label or DELETED)`` in the bucket."""

    at: dict[tuple[str, str], float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


async def follow(nc: Client, names: BusNames, seen: Seen, ready: asyncio.Event) -> None:
    async with kv.CacheWatcher(nc, names, kv.PODS) as watcher:
        async for event in watcher:
            now = time.monotonic()
            if event.op == kv.WatchOp.SYNCED:
                ready.set()
            elif event.op == kv.WatchOp.DELETE:
                seen.at.setdefault((event.key, DELETED), now)
            elif event.record is not None:
                seen.at.setdefault((event.key, event.record.labels.get("gen", "")), now)
            seen.changed.set()


@contextlib.asynccontextmanager
async def publishing(
    kube: KubeClient, nc: Client, names: BusNames
) -> AsyncIterator[tuple[Seen, BucketPublisher[Any, Any]]]:
    """A running publisher and a watcher of the pods bucket, both synced."""
    factory = InformerFactory(kube)
    publisher = CachePublisher(factory, nc, names)
    stop = asyncio.Event()
    seen, ready = Seen(), asyncio.Event()

    async def run() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(factory.run(stop))
            group.create_task(publisher.run(stop))

    task = asyncio.create_task(run())
    watch = asyncio.create_task(follow(nc, names, seen, ready))
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(ready.wait(), *(b.resynced.wait() for b in publisher.buckets))
        yield seen, publisher.buckets[1]
    finally:
        stop.set()
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
        await asyncio.wait_for(task, 10)


@dataclass(frozen=True)
class Change:
    pod: int
    op: str  # create | patch | delete

    @property
    def token(self) -> str:
        return {"create": "c", "patch": "p", "delete": DELETED}[self.op]


def changes() -> list[Change]:
    """1,000 changes, interleaved: pod i is created, patched 20 changes later and, for odd i,
    deleted 40 changes later (400 creates, 400 patches, 200 deletes)."""
    out = []
    for step in range(PODS + 40):
        if step < PODS:
            out.append(Change(step, "create"))
        if 20 <= step < PODS + 20:
            out.append(Change(step - 20, "patch"))
        if step >= 40 and (step - 40) % 2 == 1:
            out.append(Change(step - 40, "delete"))
    return out


def pod_body(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"gen": "c"}},
        "spec": {
            "schedulerName": "volcano",
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                }
            ],
        },
    }


async def apply(kube: KubeClient, namespace: str, change: Change) -> None:
    name = f"p{change.pod}"
    if change.op == "create":
        await kube.request("POST", resources.PODS.path(namespace), body=pod_body(namespace, name))
    elif change.op == "patch":
        await kube.request(
            "PATCH",
            resources.PODS.path(namespace, name),
            body={"metadata": {"labels": {"gen": "p"}}},
            content_type="application/merge-patch+json",
        )
    else:
        await kube.delete(resources.PODS, namespace, name, grace_period=0)


def histogram(bucket: str = "pods") -> dict[float, float]:
    """Cumulative counts of the publisher's lag histogram by upper bound."""
    out: dict[float, float] = {}
    for metric in REGISTRY.collect():
        if metric.name != HISTOGRAM:
            continue
        for sample in metric.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("bucket") == bucket:
                out[float(sample.labels["le"])] = sample.value
    return out


def histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> str:
    """The upper bound of the bucket holding quantile ``q`` of the observations in between."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return "n/a"
    for bound, count in zip(bounds, counts, strict=True):
        if count >= q * total:
            return "> 5 s" if bound == float("inf") else f"<= {bound * 1000:g} ms"
    return "n/a"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


RANK = {"c": 0, "p": 1, DELETED: 2}


async def measure(
    kube: KubeClient,
    seen: Seen,
    pods: BucketPublisher[Any, Any],
    namespace: str,
    issue: Callable[[list[Change], Callable[[Change], Awaitable[None]]], Awaitable[None]],
) -> tuple[list[float], int, float]:
    """Runs the changes through ``issue``; returns the lags in seconds, the number of changes
    the publisher coalesced away (created and deleted before any write) and the elapsed time.

    The publisher is level-triggered: a change overtaken by the next change of the same pod
    before it was written is never put; its lag is until the later state appeared.
    """
    await kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
    plan = changes()
    answered: dict[tuple[str, str], float] = {}
    previous: dict[int, asyncio.Task[None]] = {}

    async def one(change: Change, earlier: asyncio.Task[None] | None) -> None:
        if earlier is not None:
            await earlier  # a pod's changes stay in order
        await apply(kube, namespace, change)
        answered[(f"{namespace}/p{change.pod}", change.token)] = time.monotonic()

    async def chained(change: Change) -> None:
        task = asyncio.ensure_future(one(change, previous.get(change.pod)))
        previous[change.pod] = task
        await task

    final = {f"{namespace}/p{c.pod}": c.token for c in plan}

    def reflected(key: str, token: str) -> float | None:
        times = [seen.at[(key, t)] for t in RANK if RANK[t] >= RANK[token] and (key, t) in seen.at]
        return min(times) if times else None

    def done() -> bool:
        for key, token in final.items():
            if reflected(key, token) is not None:
                continue
            never_written = not any((key, t) in seen.at for t in RANK)
            if token == DELETED and never_written and key not in pods.written and key not in pods.dirty:
                continue
            return False
        return True

    started = time.monotonic()
    await issue(plan, chained)

    async def settle() -> None:
        while not done():
            seen.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.changed.wait(), 0.1)

    async with asyncio.timeout(60):
        await settle()
        await asyncio.sleep(0.2)  # a put in flight when done() first held
        await settle()
    elapsed = time.monotonic() - started
    assert len(answered) == 1000
    lags = []
    for (key, token), at in answered.items():
        when = reflected(key, token)
        if when is not None:
            lags.append(when - at)
    return lags, len(answered) - len(lags), elapsed


async def paced(plan: list[Change], run: Callable[[Change], Awaitable[None]]) -> None:
    start = time.monotonic()
    tasks = []
    for index, change in enumerate(plan):
        delay = start + index / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(run(change)))
    await asyncio.gather(*tasks)


async def burst(plan: list[Change], run: Callable[[Change], Awaitable[None]]) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def bounded(change: Change) -> None:
        async with semaphore:
            await run(change)

    await asyncio.gather(*(bounded(c) for c in plan))


def report(title: str, lags: list[float], coalesced: int, elapsed: float, before: dict[float, float]) -> None:
    after = histogram()
    ms = [lag * 1000 for lag in lags]
    print(
        f"\n{title}: 1000 changes ({coalesced} coalesced away) in {elapsed:.2f}s; "
        f"API response -> KV seen by a watcher: "
        f"p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, max {max(ms):.1f} ms; "
        f"publisher histogram (informer event -> put acked): "
        f"p50 {histogram_quantile(before, after, 0.5)}, p99 {histogram_quantile(before, after, 0.99)}"
    )


async def test_publisher_lag(kubeconfig: Path, nats_url: str) -> None:
    names = BusNames(f"b{os.getpid()}")
    kube = await KubeClient.connect(str(kubeconfig))
    nc = await connect(nats_url, "bench", backoff=Backoff(initial=0.05, maximum=0.5), max_attempts=3)
    try:
        await ensure_jetstream(nc.jetstream(), names)
        await install_crds(kube)
        async with publishing(kube, nc, names) as (seen, pods):
            before = histogram()
            lags, coalesced, elapsed = await measure(kube, seen, pods, "lag-paced", paced)
            report(f"paced at {RATE:g}/s", lags, coalesced, elapsed, before)
            assert pct(lags, 50) < 5.0

            before = histogram()
            lags, coalesced, elapsed = await measure(kube, seen, pods, "lag-burst", burst)
            report(f"burst, {CONCURRENCY} in flight", lags, coalesced, elapsed, before)
            assert pct(lags, 50) < 10.0
    finally:
        await close(nc)
        await kube.close()
