"""Benchmark of the sandbox API server: write throughput and watch fan-out latency.

The server runs as its own process (as in the sandbox), so client and server do not share a GIL.
It prints its figures; the only assertions are sanity checks.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from pyroclast.common.net import free_port

pytestmark = pytest.mark.bench

WRITES = int(os.environ.get("PYROCLAST_BENCH_WRITES", "3000"))
CONCURRENCY = 64
WATCHERS = 10
FANOUT_EVENTS = 200


def _cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux /proc), to report load-independent figures."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVER_PID: list[int] = []


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, ssl.SSLContext]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyroclast.sandbox.apiserver",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    SERVER_PID[:] = [proc.pid]
    try:
        kubeconfig = tmp_path / "kubeconfig"
        deadline = time.time() + 30
        while not kubeconfig.exists():
            assert proc.poll() is None, "apiserver exited"
            assert time.time() < deadline, "apiserver did not start"
            time.sleep(0.05)
        token = (tmp_path / "pki" / "admin.token").read_text().strip()
        ctx = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.crt"))
        yield f"https://127.0.0.1:{port}", token, ctx
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _writes(url: str, token: str, ctx: ssl.SSLContext) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, ssl=ctx)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(WRITES):
        queue.put_nowait(i)
    failures = 0

    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                i = queue.get_nowait()
                body = {"metadata": {"name": f"bench-{i}", "labels": {"bench": "w"}}, "data": {"i": str(i)}}
                async with session.post(
                    f"{url}/api/v1/namespaces/default/configmaps", data=json.dumps(body), headers=headers
                ) as resp:
                    await resp.read()
                    if resp.status != 201:
                        failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    assert failures == 0
    return WRITES / elapsed


async def _fanout(url: str, token: str, ctx: ssl.SSLContext) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, float] = {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=WATCHERS + 4, ssl=ctx)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        async with session.post(
            f"{url}/api/v1/namespaces",
            data=json.dumps({"metadata": {"name": "fanout"}}),
            headers={**headers, "Content-Type": "application/json"},
        ) as resp:
            assert resp.status == 201
            rv = (await resp.json())["metadata"]["resourceVersion"]
        ready = asyncio.Event()
        connected = 0

        async def watcher() -> None:
            nonlocal connected
            seen = 0
            async with session.get(
                f"{url}/api/v1/namespaces/fanout/configmaps?watch=1&resourceVersion={rv}", headers=headers
            ) as resp:
                connected += 1
                if connected == WATCHERS:
                    ready.set()
                async for line in resp.content:
                    if not line.strip():
                        continue
                    now = time.perf_counter()
                    event = json.loads(line)
                    name = event["object"]["metadata"]["name"]
                    if name not in sent:  # e.g. the namespace's kube-root-ca.crt
                        continue
                    latencies.append(now - sent[name])
                    seen += 1
                    if seen == FANOUT_EVENTS:
                        return

        tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
        await asyncio.wait_for(ready.wait(), 20)
        await asyncio.sleep(0.2)
        for i in range(FANOUT_EVENTS):
            name = f"fan-{i}"
            sent[name] = time.perf_counter()
            async with session.post(
                f"{url}/api/v1/namespaces/fanout/configmaps",
                data=json.dumps({"metadata": {"name": name}}),
                headers={**headers, "Content-Type": "application/json"},
            ) as resp:
                assert resp.status == 201
            await asyncio.sleep(0.002)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return latencies


def test_apiserver_bench(server: tuple[str, str, ssl.SSLContext]) -> None:
    url, token, ctx = server
    cpu_before = _cpu_seconds(SERVER_PID[0])
    rate = asyncio.run(_writes(url, token, ctx))
    cpu = _cpu_seconds(SERVER_PID[0]) - cpu_before
    latencies = asyncio.run(_fanout(url, token, ctx))
    assert len(latencies) == WATCHERS * FANOUT_EVENTS
    print(f"\napiserver bench: {WRITES} configmap creates, concurrency {CONCURRENCY}: {rate:.0f} writes/s")
    if cpu > 0:
        print(
            f"apiserver bench: server CPU {cpu:.2f} s for {WRITES} writes: "
            f"{WRITES / cpu:.0f} writes per CPU-second (load-independent capacity)"
        )
    print(
        f"apiserver bench: watch fan-out to {WATCHERS} watchers, {FANOUT_EVENTS} events: "
        f"p50 {_pct(latencies, 50) * 1000:.2f} ms, p99 {_pct(latencies, 99) * 1000:.2f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.2f} ms"
    )
    assert rate > 0
