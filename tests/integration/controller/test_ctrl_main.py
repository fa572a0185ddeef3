"""``pyroclast controller`` as a process: health endpoints, leadership, the cache, SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import pytest
from apiserver_fixture import ApiServerHandle
from ctrl_helpers import eventually, http_get, start_controller
from nats.aio.client import Client
from nats_fixture import NatsServer, free_port

from pyroclast.common.bus import kv
from pyroclast.common.bus.names import BusNames
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


async def test_serves_health_leads_publishes_and_stops_on_sigterm(
    apiserver: ApiServerHandle, nats_server: NatsServer, nc: Client, names: BusNames, kube: KubeClient
) -> None:
    port = free_port()
    proc = start_controller(apiserver.kubeconfig, nats_server.url, names, port)
    base = f"http://127.0.0.1:{port}"
    try:

        async def ready() -> bool:
            return bool((await http_get(f"{base}/readyz"))[0] == 200)

        await eventually(ready, 30, interval=0.1, what="/readyz 200")
        assert (await http_get(f"{base}/healthz"))[0] == 200

        async def leading() -> bool:
            status, body = await http_get(f"{base}/metrics")
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
