"""Shared builders for the webhook service tests: reviews, a TLS server and a client."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from pyroclast.common.bus.messages import QueueRecord
from pyroclast.webhook.admission import DEFAULT_ENABLED
from pyroclast.webhook.audit import VerdictAuditor
from pyroclast.webhook.certs import SelfSignedCerts
from pyroclast.webhook.cluster import QueueCache
from pyroclast.webhook.server import AdmissionServer

BATCH = {"group": "batch.volcano.sh", "version": "v1alpha1", "resource": "jobs"}
QUEUES = {"group": "scheduling.volcano.sh", "version": "v1beta1", "resource": "queues"}


def job(name: str = "job-1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "minAvailable": 1,
        "tasks": [
            {
                "name": "task-1",
                "replicas": 1,
                "template": {"spec": {"containers": [{"name": "main", "image": "busybox"}]}},
            }
        ],
    }
    body.update(spec)
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": body,
    }


def review(
    obj: Any, resource: dict[str, str] = BATCH, operation: str = "CREATE", **extra: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": resource["group"], "version": resource["version"], "kind": "Job"},
        "resource": resource,
        "operation": operation,
        "namespace": "ns",
        "name": (obj or {}).get("metadata", {}).get("name", "") if isinstance(obj, dict) else "",
        "userInfo": {"username": "alice"},
        "object": obj,
        "oldObject": None,
    }
    request.update(extra)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def open_queues(*names: str, state: str = "Open") -> QueueCache:
    cache = QueueCache()
    cache.replace(QueueRecord(name=name, state=state) for name in names)
    return cache


@dataclass
class FakeEmitter:
    """Collects what `VerdictAuditor` publishes."""

    events: list[dict[str, Any]] = field(default_factory=list)
    published: asyncio.Event = field(default_factory=asyncio.Event)

    async def emit(self, kind: Any, action: str, name: str, **kwargs: Any) -> None:
        self.events.append({"kind": kind, "action": action, "name": name, **kwargs})
        self.published.set()

    async def wait_for(self, count: int, limit: float = 5.0) -> None:
        """Return once ``count`` events were published (TimeoutError after ``limit`` seconds)."""
        async with asyncio.timeout(limit):
            while len(self.events) < count:
                self.published.clear()
                await self.published.wait()


@dataclass
class Running:
    server: AdmissionServer
    certs: SelfSignedCerts
    client_ssl: ssl.SSLContext
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.server.url

    async def post(
        self, path: str, body: bytes | Any, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else aiohttp.JsonPayload(body)
        headers = {"Content-Type": content_type}
        async with self.http.post(self.url + path, data=data, headers=headers, ssl=self.client_ssl) as resp:
            text = await resp.text()
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, text


@asynccontextmanager
async def running_server(
    tmp: Path,
    cache: QueueCache | None = None,
    auditor: VerdictAuditor | None = None,
    max_body: int = 3 * 1024 * 1024,
) -> AsyncIterator[Running]:
    certs = SelfSignedCerts(tmp / "pki", ["webhook.test.svc"], ["127.0.0.1"])
    server = AdmissionServer(
        DEFAULT_ENABLED, cluster=cache or open_queues("default"), auditor=auditor, max_body=max_body
    )
    await server.start("127.0.0.1", 0, certs.context)
    client_ssl = ssl.create_default_context(cadata=certs.ca_bundle.decode())
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            yield Running(server, certs, client_ssl, http)
    finally:
        await server.stop()
