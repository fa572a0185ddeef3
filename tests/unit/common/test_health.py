"""The health server answers liveness, readiness with reasons, and Prometheus metrics."""

from __future__ import annotations

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from pyroclast.common.health import HealthServer


async def test_health_ready_and_metrics() -> None:
    registry = CollectorRegistry()
    Counter("pyroclast_test_things", "things counted", registry=registry).inc(3)
    state = {"cache": False}
    server = HealthServer(registry=registry)
    server.add_check("cache", lambda: True if state["cache"] else "cache not loaded yet")
    await server.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            async with http.get(server.url + "/healthz") as resp:
                assert resp.status == 200
            async with http.get(server.url + "/readyz") as resp:
                assert resp.status == 503
                assert "cache: cache not loaded yet" in await resp.text()
            state["cache"] = True
            async with http.get(server.url + "/readyz") as resp:
                assert resp.status == 200
            async with http.get(server.url + "/metrics") as resp:
                assert resp.status == 200
                assert "pyroclast_test_things_total 3.0" in await resp.text()
    finally:
        await server.stop()


async def test_a_raising_check_means_not_ready() -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    server = HealthServer(registry=CollectorRegistry())
    server.add_check("broken", broken)
    assert server.failing() == {"broken": "check raised RuntimeError: boom"}
