"""``pyroclast controller`` as a process: health endpoints, leadership, the cache, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import eventually
from nats.aio.client import Client
from nats_fixture import NatsServer, free_port

from pyroclast.common.bus import kv
from pyroclast.common.bus.names import BusNames
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def start(
    apiserver: ApiServerHandle, nats: NatsServer, names: BusNames, port: int
) -> subprocess.Popen[bytes]:
    binary = Path(sys.executable).parent / "pyroclast"
    args = [
        str(binary),
        "controller",
        "--kubeconfig",
        str(apiserver.kubeconfig),
        "--nats-servers",
        nats.url,
        "--cluster-prefix",
        names.prefix,
        "--health-port",
        str(port),
        "--lease-name",
        f"lease-{names.prefix}",
        "--retry-period",
        "0.3",
    ]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def get(url: str) -> tuple[int, str]:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, timeout=aiohttp.ClientTimeout(2)) as resp,
        ):
            return resp.status, await resp.text()
    except aiohttp.ClientError:
        return 0, ""


async def test_serves_health_leads_publishes_and_stops_on_sigterm(
    apiserver: ApiServerHandle, nats_server: NatsServer, nc: Client, names: BusNames, kube: KubeClient
) -> None:
    port = free_port()
    proc = start(apiserver, nats_server, names, port)
    base = f"http://127.0.0.1:{port}"
    try:

        async def ready() -> bool:
            return (await get(f"{base}/readyz"))[0] == 200

        await eventually(ready, 30, interval=0.1, what="/readyz 200")
        assert (await get(f"{base}/healthz"))[0] == 200

        async def leading() -> bool:
            status, body = await get(f"{base}/metrics")
            return status == 200 and "pyroclast_controller_is_leader 1.0" in body

        await eventually(leading, 20, interval=0.1, what="leader gauge at 1")
        await eventually(ready, 30, interval=0.1, what="/readyz 200 as the leader")
        lease = await kube.get(resources.LEASES, "kube-system", f"lease-{names.prefix}")
        assert lease.spec is not None
        assert lease.spec.holder_identity

        async def queue_published() -> bool:
            return await kv.CacheWriter(nc, names, kv.QUEUES).get("default") is not None

        await eventually(queue_published, 20, what="default queue in the KV cache")
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 20)
        assert code == 0, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
        released = await kube.get(resources.LEASES, "kube-system", f"lease-{names.prefix}")
        assert released.spec is not None
        assert not released.spec.holder_identity
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
