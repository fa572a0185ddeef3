"""Helpers of the scheduler service integration tests: a scheduler and binders in-process,
pods in the API server mirrored into the KV buckets."""
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from kubernetes_asyncio import client as k8s
from nats.aio.client import Client

from pyroclast.common.bus.decisions import DecisionPublisher
from pyroclast.common.bus.kv import EXPLANATIONS, NODES, PODGROUPS, PODS, QUEUES, CacheWriter
from pyroclast.common.bus.messages import NodeRecord, PodGroupRecord, PodRecord, QueueRecord
from pyroclast.common.bus.names import BusNames
from pyroclast.common.resources import canonical_amount
from pyroclast.controller.binder.api import BinderApi
from pyroclast.controller.binder.worker import BinderSettings, run_binder
from pyroclast.scheduler.conf import parse_conf
from pyroclast.scheduler.service.cache import SchedulerCache
from pyroclast.scheduler.service.loop import SessionLoop
from pyroclast.scheduler.service.metrics import SchedulerMetrics

T = TypeVar("T")
NS = "default"
CONF_TEXT = """\
actions: "enqueue, allocate, backfill"
tiers:
- plugins:
  - name: priority
  - name: gang
  - name: conformance
"""


async def eventually(check: Callable[[], T | Awaitable[T]], timeout: float = 20.0, what: str = "") -> T:
    """Poll ``check`` until it returns a truthy value; fail with ``what`` after ``timeout``."""
    last: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = check()
                if inspect.isawaitable(result):
                    result = await result
                last = result
                if result:
                    return result
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what or check}: last {last!r}") from None


def cpu(amount: str) -> int:
    return canonical_amount("cpu", amount)


def node_record(name: str, cpus: str) -> NodeRecord:
    allocatable = {"cpu": cpu(cpus), "memory": canonical_amount("memory", "8Gi"), "pods": 110_000}
    return NodeRecord(name=name, allocatable=allocatable, ready=True)


class Cluster:
    """Writes the records the controller would publish, and creates the matching objects."""

    def __init__(self, nc: Client, names: BusNames, api: k8s.ApiClient) -> None:
        self.nodes = CacheWriter(nc, names, NODES)
        self.pods = CacheWriter(nc, names, PODS)
        self.groups = CacheWriter(nc, names, PODGROUPS)
        self.queues = CacheWriter(nc, names, QUEUES)
        self.explanations = CacheWriter(nc, names, EXPLANATIONS)
        self.core = k8s.CoreV1Api(api)
        self.custom = k8s.CustomObjectsApi(api)
        self.allocatable: dict[str, int] = {}
        self.requests: dict[str, int] = {}
        self.records: dict[str, PodRecord] = {}

    async def node(self, name: str, cpus: str) -> None:
        self.allocatable[name] = cpu(cpus)
        await self.nodes.put(node_record(name, cpus))

    async def queue(self, name: str = "default") -> None:
        await self.queues.put(QueueRecord(name=name))

    async def gang(self, group: str, size: int, min_member: int, cpus: str | None = "1") -> list[str]:
        body = {
            "apiVersion": "scheduling.volcano.sh/v1beta1",
            "kind": "PodGroup",
            "metadata": {"name": group, "namespace": NS},
            "spec": {"minMember": min_member, "queue": "default"},
        }
        pg = await self.custom.create_namespaced_custom_object(
            "scheduling.volcano.sh", "v1beta1", NS, "podgroups", body
        )
        await self.groups.put(
            PodGroupRecord(
                namespace=NS,
                name=group,
                uid=pg["metadata"]["uid"],
                min_member=min_member,
                phase="Inqueue",
                resource_version=pg["metadata"]["resourceVersion"],
            )
        )
        names = [f"{group}-{i}" for i in range(size)]
        for name in names:
            await self.pod(name, group, cpus)
        return names

    async def pod(self, name: str, group: str, cpus: str | None) -> None:
        resources = {"requests": {"cpu": cpus}} if cpus else {}
        body: Any = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": NS,
                "annotations": {"scheduling.k8s.io/group-name": group},
            },
            "spec": {
                "schedulerName": "volcano",
                "containers": [{"name": "main", "image": "busybox", "resources": resources}],
            },
        }
        created = await self.core.create_namespaced_pod(NS, body)
        self.requests[name] = cpu(cpus) if cpus else 0
        record = PodRecord(
            namespace=NS,
            name=name,
            uid=created.metadata.uid,
            pod_group=group,
            requests={"cpu": cpu(cpus)} if cpus else {},
            scheduler_name="volcano",
        )
        self.records[name] = record
        await self.pods.put(record)

    async def placement(self, names: list[str]) -> dict[str, str]:
        """Pod name to node name (empty when unbound), read from the API server."""
        out: dict[str, str] = {}
        for name in names:
            pod = await self.core.read_namespaced_pod(name, NS)
            out[name] = pod.spec.node_name or ""
        return out

    async def mirror(self, stop: asyncio.Event) -> None:
        """Publish bound pods' records, as the controller's publisher would."""
        while not stop.is_set():
            listed = await self.core.list_namespaced_pod(NS)
            for pod in listed.items:
                rec = self.records.get(pod.metadata.name)
                if rec is not None and pod.spec.node_name and rec.node_name != pod.spec.node_name:
                    rec = msgspec.structs.replace(rec, node_name=pod.spec.node_name)
                    self.records[pod.metadata.name] = rec
                    await self.pods.put(rec)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    async def assert_not_overcommitted(self) -> None:
        used: dict[str, int] = {}
        listed = await self.core.list_namespaced_pod(NS)
        for pod in listed.items:
            if pod.spec.node_name and pod.metadata.name in self.requests:
                used[pod.spec.node_name] = used.get(pod.spec.node_name, 0) + self.requests[pod.metadata.name]
        for node, amount in used.items():
            assert amount <= self.allocatable[node], (
                f"{node} over-committed: {amount} > {self.allocatable[node]}"
            )


class Scheduler:
    """The cache and the session loop of one scheduler, in-process."""

    def __init__(self, nc: Client, names: BusNames, period: float = 0.2) -> None:
        self.cache = SchedulerCache(nc, names, assume_timeout=30.0)
        conf = parse_conf(CONF_TEXT)
        self.loop = SessionLoop(
            self.cache,
            lambda: conf,
            DecisionPublisher(nc, names),
            CacheWriter(nc, names, EXPLANATIONS),
            SchedulerMetrics(),
            period=period,
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.cache.run(self.stop))
            group.create_task(self.loop.run(self.stop))

    def start(self) -> Scheduler:
        self.task = asyncio.create_task(self._run())
        return self

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 15)


class Binder:
    """One in-process binder replica."""

    def __init__(
        self, nc: Client, names: BusNames, kubeconfig: str, actor: str, api: BinderApi | None = None
    ) -> None:
        self.settings = BinderSettings(kubeconfig=kubeconfig, actor=actor, concurrency=4)
        self.nc, self.names, self.api = nc, names, api
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Binder:
        self.task = asyncio.create_task(
            run_binder(self.stop, nc=self.nc, names=self.names, settings=self.settings, api=self.api)
        )
        return self

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 15)
