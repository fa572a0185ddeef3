"""Helpers of the controller integration tests: waiting for conditions, small manifests."""
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import inspect
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, overload

import aiohttp
from nats.aio.client import Client

from pyroclast.common.bus.audit import AuditPublisher
from pyroclast.common.bus.names import BusNames
from pyroclast.common.models import Pod
from pyroclast.common.models.registry import decode_object
from pyroclast.controller.jobs.controller import JobController, JobSettings
from pyroclast.controller.jobs.recorder import Auditor, EventRecorder
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.shell import ShellSettings

T = TypeVar("T")


@overload
async def eventually(
    check: Callable[[], Awaitable[T | None]], timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | None], timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...


async def eventually(
    check: Callable[[], object], timeout: float = 20.0, interval: float = 0.05, what: str = ""
) -> Any:
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
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what or check}: last={last!r}"
        ) from None


def plain_pod(namespace: str, name: str, cpu: str = "100m", memory: str = "64Mi") -> Pod:
    obj = decode_object(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "burst"}},
            "spec": {
                "schedulerName": "volcano",
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox",
                        "resources": {"requests": {"cpu": cpu, "memory": memory}},
                    }
                ],
            },
        }
    )
    assert isinstance(obj, Pod)
    return obj


def job_manifest(
    name: str,
    namespace: str,
    *,
    tasks: tuple[tuple[str, int], ...] = (("ps", 1), ("worker", 2)),
    extra_spec: str = "",
    task_extra: str = "",
) -> str:
    """A Volcano Job with busybox tasks; ``extra_spec``/``task_extra`` are YAML lines to add."""
    total = sum(n for _, n in tasks)
    lines = [
        "apiVersion: batch.volcano.sh/v1alpha1",
        "kind: Job",
        f"metadata: {{name: {name}, namespace: {namespace}}}",
        "spec:",
        f"  minAvailable: {total}",
        "  schedulerName: volcano",
        "  queue: default",
    ]
    lines += [f"  {line}" for line in extra_spec.strip("\n").splitlines() if line.strip()]
    lines.append("  tasks:")
    for task, replicas in tasks:
        lines += [
            f"  - name: {task}",
            f"    replicas: {replicas}",
        ]
        lines += [f"    {line}" for line in task_extra.strip("\n").splitlines() if line.strip()]
        lines += [
            "    template:",
            "      spec:",
            "        restartPolicy: Never",
            "        containers:",
            "        - name: main",
            "          image: busybox",
            "          resources: {requests: {cpu: 100m, memory: 64Mi}}",
        ]
    return "\n".join(lines) + "\n"


def running_status(now: str) -> dict[str, Any]:
    return {
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "busybox",
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
            ],
        }
    }


def finished_status(now: str, exit_code: int) -> dict[str, Any]:
    return {
        "status": {
            "phase": "Succeeded" if exit_code == 0 else "Failed",
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "busybox",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {
                        "terminated": {
                            "exitCode": exit_code,
                            "reason": "Completed" if exit_code == 0 else "Error",
                            "startedAt": now,
                            "finishedAt": now,
                        }
                    },
                }
            ],
        }
    }


async def finalize_terminating(kube: Any, namespace: str, stop: asyncio.Event) -> None:
    """Act as the kubelet for deletions: remove terminating pods for good."""
    from pyroclast.controller.kube import resources

    while not stop.is_set():
        _, pods, _ = resources.PODS.decode_list(await kube.list_raw(resources.PODS, namespace))
        for pod in pods:
            if pod.metadata and pod.metadata.deletion_timestamp:
                await kube.delete(resources.PODS, namespace, pod.metadata.name or "", grace_period=0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)


class Cluster:
    """Test-side actions on the API as the scheduler and the kubelet would take them."""

    def __init__(self, kube: Any, namespace: str) -> None:
        from pyroclast.controller.kube import resources

        self.kube = kube
        self.ns = namespace
        self.rs = resources

    async def job(self, name: str) -> Any:
        return await self.kube.get(self.rs.JOBS, self.ns, name)

    async def phase(self, name: str) -> str:
        job = await self.kube.get_or_none(self.rs.JOBS, self.ns, name)
        state = job.status.state if job and job.status else None
        return (state.phase if state else None) or ""

    async def wait_phase(self, name: str, phase: str, timeout: float = 20.0) -> Any:
        """Wait for ``phase`` (or any of ``"A|B"``)."""

        async def check() -> bool:
            return await self.phase(name) in phase.split("|")

        await eventually(check, timeout, what=f"job {name} {phase}")
        return await self.job(name)

    async def pods(self, job: str) -> dict[str, Any]:
        raw = await self.kube.list_raw(self.rs.PODS, self.ns, labelSelector=f"volcano.sh/job-name={job}")
        _, pods, _ = self.rs.PODS.decode_list(raw)
        return {p.metadata.name: p for p in pods if p.metadata and p.metadata.name}

    async def live_pods(self, job: str) -> dict[str, Any]:
        return {n: p for n, p in (await self.pods(job)).items() if not p.metadata.deletion_timestamp}

    async def wait_pods(self, job: str, count: int, timeout: float = 20.0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            pods = await self.live_pods(job)
            return pods if len(pods) == count else None

        result: dict[str, Any] = await eventually(check, timeout, what=f"{count} pods of {job}")
        return result

    async def admit(self, job: str, timeout: float = 20.0, not_uid: str = "") -> str:
        """Move the job's PodGroup to Inqueue, as the scheduler's enqueue action does; with
        ``not_uid``, wait for a PodGroup other than that one. Returns the PodGroup's uid."""

        async def podgroup() -> Any:
            raw = await self.kube.list_raw(self.rs.PODGROUPS, self.ns)
            _, pgs, _ = self.rs.PODGROUPS.decode_list(raw)
            found = (
                pg for pg in pgs if pg.metadata.name.startswith(f"{job}-") and pg.metadata.uid != not_uid
            )
            return next(found, None)

        pg = await eventually(podgroup, timeout, what=f"podgroup of {job}")
        # PodGroups have no status subresource (as in Volcano): the scheduler patches the object.
        await self.kube.patch(self.rs.PODGROUPS, self.ns, pg.metadata.name, {"status": {"phase": "Inqueue"}})
        uid: str = pg.metadata.uid
        return uid

    async def bind(self, pod: str, node: str = "node-1") -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod, "namespace": self.ns},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        await self.kube.request("POST", self.rs.PODS.path(self.ns, pod, "binding"), body=body)

    async def run(self, pod: str) -> None:
        await self.kube.patch(self.rs.PODS, self.ns, pod, running_status(NOW), subresource="status")

    async def finish(self, pod: str, exit_code: int = 0) -> None:
        status = finished_status(NOW, exit_code)
        await self.kube.patch(self.rs.PODS, self.ns, pod, status, subresource="status")

    async def start_all(self, job: str, count: int) -> dict[str, Any]:
        pods = await self.wait_pods(job, count)
        for name, pod in pods.items():
            if not pod.spec.node_name:
                await self.bind(name)
            await self.run(name)
        return pods


NOW = "2026-01-01T00:00:00Z"


FAST_SETTINGS = JobSettings(workers=4, max_requeue=3, base_delay=0.05, max_delay=0.5)


class ShellHarness:
    """Running queue, podgroup or jobflow controllers (informers, recorder, workers)."""

    def __init__(
        self, kube: KubeClient, build: Callable[[KubeClient, InformerFactory, EventRecorder], Any]
    ) -> None:
        self.kube = kube
        self.factory = InformerFactory(kube, watch_seconds=30)
        self.recorder = EventRecorder(kube)
        self.controller = build(kube, self.factory, self.recorder)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.factory.run(self.stop))
            group.create_task(self.recorder.run(self.stop))
            group.create_task(self.controller.run(self.stop))

    async def start(self) -> ShellHarness:
        self.task = asyncio.create_task(self._run())
        async with asyncio.timeout(20):
            while not self.controller.synced():
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.02)
        return self

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 15)


class Harness(ShellHarness):
    """A running job controller (informers, recorder, workers) with fast retries."""

    def __init__(self, kube: KubeClient, nc: Client | None, names: BusNames, settings: JobSettings) -> None:
        publisher = AuditPublisher(nc, names, actor="controller") if nc is not None else None
        super().__init__(
            kube,
            lambda kube, factory, recorder: JobController(
                kube, factory, recorder, Auditor(publisher), settings
            ),
        )

    async def start(self) -> Harness:
        await super().start()
        return self

    async def settled(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the job work queue has been empty and idle for ``quiet`` seconds, so the
        next change is handled on its own rather than racing requests still queued."""
        queue = self.controller.queue
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            idle_since: float | None = None
            while True:
                if len(queue) == 0 and not queue.processing:
                    idle_since = idle_since if idle_since is not None else loop.time()
                    if loop.time() - idle_since >= quiet:
                        return
                else:
                    idle_since = None
                await asyncio.sleep(0.02)


FAST_SHELL = ShellSettings(workers=2, max_requeue=-1, base_delay=0.05, max_delay=0.5)


def start_controller(
    kubeconfig: Path, nats_url: str, names: BusNames, health_port: int, *extra: str
) -> subprocess.Popen[bytes]:
    """``pyroclast controller`` as a process on ``names``' prefix, with a short Lease retry."""
    binary = Path(sys.executable).parent / "pyroclast"
    args = [
        str(binary), "controller",
        "--kubeconfig", str(kubeconfig),
        "--nats-servers", nats_url,
        "--cluster-prefix", names.prefix,
        "--health-port", str(health_port),
        "--lease-name", f"lease-{names.prefix}",
        "--retry-period", "0.3",
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def http_get(url: str) -> tuple[int, str]:
    """Status and body of a GET, ``(0, "")`` when nothing answers."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, timeout=aiohttp.ClientTimeout(2)) as resp,
        ):
            return resp.status, await resp.text()
    except aiohttp.ClientError:
        return 0, ""
