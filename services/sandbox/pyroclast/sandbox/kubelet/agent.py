"""The node agent: one asyncio process that is the kubelet of every simulated node.

For each node it registers the Node, renews its Lease and posts its status; it watches the
pods bound to its nodes and, per node in order, applies :func:`lifecycle.step` to each pod
and writes the result through ``pods/status`` (optimistic concurrency: on a conflict it
re-reads the pod and decides again). The decisions themselves are pure; this module only
moves data between them and the API server.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from pyroclast.sandbox import events
from pyroclast.sandbox.config import NodeSpec, SandboxConfig
from pyroclast.sandbox.kubeclient import ApiError, Informer, KubeClient, api_path, object_key
from pyroclast.sandbox.kubelet import nodes as node_objects
from pyroclast.sandbox.kubelet.lifecycle import (
    RUNNING,
    TERMINAL_PHASES,
    NodeView,
    Policy,
    is_admitted,
    is_terminal,
    kubelet_events,
    log_events,
    step,
)
from pyroclast.sandbox.kubelet.podlogs import Entry, PodLogs
from pyroclast.sandbox.kubelet.workload import plan_containers
from pyroclast.sandbox.resources import Resources, pod_requests
from pyroclast.sandbox.timeutil import now as wall_clock
from pyroclast.sandbox.timeutil import parse_time

log = structlog.stdlib.get_logger(__name__)
TRANSIENT = (ApiError, aiohttp.ClientError, TimeoutError, OSError)
MAX_CONFLICTS = 8
POD_SYNCS = 16
"""Pods of one node synced at once (their status writes overlap)."""
QUIET_AFTER_SECONDS = 10


@dataclass
class SimNode:
    """One simulated node's working state (all of it rebuildable from the API)."""

    spec: NodeSpec
    view: NodeView
    ips: node_objects.AddressPool
    admitted: dict[str, Resources] = field(default_factory=dict)
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    queued: set[str] = field(default_factory=set)
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    uid: str | None = None
    lease: dict[str, Any] | None = None
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name


class NodeAgent:
    def __init__(
        self,
        client: KubeClient,
        config: SandboxConfig,
        *,
        logs_dir: Path,
        policy: Policy | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.client = client
        self.config = config
        self.policy = policy or Policy()
        self.clock = clock
        self.logs = PodLogs(logs_dir)
        self.nodes: dict[str, SimNode] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.events = events.Recorder(client, "kubelet")
        for spec in config.nodes():
            self.nodes[spec.name] = SimNode(
                spec=spec,
                view=node_objects.node_view(spec),
                ips=node_objects.AddressPool(node_objects.pod_cidr(spec.index)),
            )
        # Only bound pods concern a kubelet; each node agent picks out its own nodes' pods.
        self.pods = Informer(client, "v1", "pods", field_selector="spec.nodeName!=")
        self.pods.add_handler(self._on_pod)

    async def run(self) -> None:
        """Register the nodes, then keep them alive and run their pods until cancelled."""
        await asyncio.gather(*(self._register_until_done(node) for node in self.nodes.values()))
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.pods.run())
            tasks.create_task(self._progress_loop())
            for node in self.nodes.values():
                tasks.create_task(self._lease_loop(node))
                tasks.create_task(self._status_loop(node))
                tasks.create_task(self._pod_worker(node))

    # --- node registration and heartbeats ---------------------------------------------------

    async def _register_until_done(self, node: SimNode) -> None:
        delay = 0.2
        while True:
            try:
                await self._register(node)
                return
            except TRANSIENT as exc:
                log.warning("cannot register node yet", key=node.name, error=_describe(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _register(self, node: SimNode) -> None:
        path = api_path("v1", "nodes", name=node.name)
        now = self.clock()
        try:
            existing = await self.client.get(path)
        except ApiError as exc:
            if not exc.not_found:
                raise
            created = await self.client.create(
                api_path("v1", "nodes"), node_objects.node_object(node.spec, now)
            )
            node.uid = created["metadata"].get("uid")
            node.status = created.get("status") or {}
            # Some servers drop the status on create: post it as a kubelet does.
            await self._post_status(node)
            log.info("node registered", key=node.name)
            return
        node.uid = existing["metadata"].get("uid")
        node.status = existing.get("status") or {}
        wanted_taints = [t.to_api() for t in node.spec.pool.taints]
        taints = list((existing.get("spec") or {}).get("taints") or [])
        missing = [t for t in wanted_taints if not any(_same_taint(t, have) for have in taints)]
        patch: dict[str, Any] = {"metadata": {"labels": node_objects.labels(node.spec)}}
        if missing:
            patch["spec"] = {"taints": taints + missing}
        await self.client.patch(path, patch)
        await self._post_status(node)
        log.info("node re-registered", key=node.name)

    async def _post_status(self, node: SimNode) -> None:
        status = node_objects.node_status(node.spec, self.clock(), node.status)
        path = api_path("v1", "nodes", name=node.name, subresource="status")
        try:
            updated = await self.client.patch(path, {"status": status})
        except ApiError as exc:
            if not exc.not_found:
                raise
            await self._register(node)
            return
        node.status = updated.get("status") or status

    async def _status_loop(self, node: SimNode) -> None:
        while True:
            await asyncio.sleep(self.config.timing.status_interval_seconds)
            try:
                await self._post_status(node)
            except TRANSIENT as exc:
                log.warning("node status update failed", key=node.name, error=_describe(exc))

    async def _lease_loop(self, node: SimNode) -> None:
        while True:
            try:
                await self._renew_lease(node)
            except TRANSIENT as exc:
                node.lease = None
                log.warning("lease renewal failed", key=node.name, error=_describe(exc))
            await asyncio.sleep(self.config.timing.renew_interval_seconds)

    async def _renew_lease(self, node: SimNode) -> None:
        namespace = node_objects.LEASE_NAMESPACE
        fresh = node_objects.lease_object(
            node.name, node.uid, self.config.timing.lease_duration_seconds, self.clock()
        )
        path = api_path("coordination.k8s.io/v1", "leases", namespace, node.name)
        if node.lease is None:
            try:
                node.lease = await self.client.get(path)
            except ApiError as exc:
                if not exc.not_found:
                    raise
                await self._ensure_namespace(namespace)
                node.lease = await self.client.create(
                    api_path("coordination.k8s.io/v1", "leases", namespace), fresh
                )
                return
        body = {**node.lease, "spec": {**(node.lease.get("spec") or {}), **fresh["spec"]}}
        try:
            node.lease = await self.client.replace(path, body)
        except ApiError as exc:
            if exc.conflict or exc.not_found:
                node.lease = None
            raise

    async def _ensure_namespace(self, name: str) -> None:
        try:
            await self.client.create(
                api_path("v1", "namespaces"),
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )
        except ApiError as exc:
            if exc.status != 409:
                raise

    # --- pods ---------------------------------------------------------------------------------

    def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        node = self.nodes.get(str((pod.get("spec") or {}).get("nodeName") or ""))
        if node is None:
            return
        uid = str(pod["metadata"].get("uid", ""))
        if kind == "DELETED":
            self._forget(node, uid, object_key(pod))
            task = asyncio.get_running_loop().create_task(
                self.logs.remove(pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        if is_terminal(pod):
            self._release(node, uid)
        elif is_admitted(pod):
            if uid not in node.admitted:  # after a restart: count what the node already runs
                node.admitted[uid] = pod_requests(pod)
            if (pod.get("status") or {}).get("podIP"):
                node.ips.claim(uid, str(pod["status"]["podIP"]))  # keep addresses unique
        self._enqueue(node, object_key(pod))

    def _enqueue(self, node: SimNode, key: str) -> None:
        if key not in node.queued:
            node.queued.add(key)
            node.queue.put_nowait(key)

    def _wake_later(self, node: SimNode, key: str, seconds: float) -> None:
        previous = node.timers.pop(key, None)
        if previous is not None:
            previous.cancel()
        node.timers[key] = asyncio.get_running_loop().call_later(max(seconds, 0.0), self._enqueue, node, key)

    def _release(self, node: SimNode, uid: str) -> None:
        node.admitted.pop(uid, None)
        node.ips.release(uid)

    def _forget(self, node: SimNode, uid: str, key: str) -> None:
        self._release(node, uid)
        timer = node.timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    async def _pod_worker(self, node: SimNode) -> None:
        """Handle the node's pods, up to ``POD_SYNCS`` at once and one at a time per pod.

        Admission is decided without yielding and the admitted pod's resources are held
        before its status is written, so each decision sees every earlier one.
        """
        slots = asyncio.Semaphore(POD_SYNCS)
        syncing: dict[str, asyncio.Task[None]] = {}
        again: set[str] = set()  # queued again while being synced: synced once more after

        def finished(key: str, _task: asyncio.Task[None]) -> None:
            slots.release()
            syncing.pop(key, None)
            if key in again:
                again.discard(key)
                self._enqueue(node, key)

        try:
            while True:
                key = await node.queue.get()
                node.queued.discard(key)
                if key in syncing:
                    again.add(key)
                    continue
                await slots.acquire()
                task = asyncio.get_running_loop().create_task(self._sync_or_retry(node, key))
                syncing[key] = task
                task.add_done_callback(functools.partial(finished, key))
        finally:
            for task in list(syncing.values()):
                task.cancel()

    async def _sync_or_retry(self, node: SimNode, key: str) -> None:
        try:
            await self._sync(node, key)
        except TRANSIENT as exc:
            log.warning("pod sync failed, retrying", key=key, node=node.name, error=_describe(exc))
            self._wake_later(node, key, 0.5 + random.random())
        except Exception:
            log.exception("pod sync crashed, retrying", key=key, node=node.name)
            self._wake_later(node, key, 5.0)

    def _used(self, node: SimNode, exclude: str) -> Resources:
        """What the pods admitted to ``node`` request, apart from ``exclude``.

        ``node.admitted`` holds every admitted pod of the node: those this agent admitted and
        those it found admitted in the API (the pod handler adds them), so no scan of the
        cache is needed.
        """
        total: Resources = {}
        for uid, amounts in node.admitted.items():
            if uid == exclude:
                continue
            for name, amount in amounts.items():
                total[name] = total.get(name, 0) + amount
        return total

    async def _sync(self, node: SimNode, key: str) -> None:
        for _ in range(MAX_CONFLICTS):
            pod = self.pods.get(key)
            if pod is None or (pod.get("spec") or {}).get("nodeName") != node.name:
                return
            uid = str(pod["metadata"].get("uid", ""))
            old_status = pod.get("status") or {}
            if old_status.get("podIP") and is_admitted(pod):
                node.ips.claim(uid, str(old_status["podIP"]))
            now = self.clock()
            decision = step(
                pod,
                node.view,
                now,
                used=self._used(node, uid),
                pod_ip=node.ips.address(uid),
                policy=self.policy,
            )
            current = pod
            if decision.status is not None:
                held = node.admitted.get(uid)
                if _admits(decision.status):
                    # Hold the resources now: the pods synced meanwhile are admitted against them.
                    node.admitted[uid] = pod_requests(pod)
                try:
                    current = await self._write_status(pod, decision.status)
                except BaseException as exc:
                    if held is None:
                        node.admitted.pop(uid, None)
                    else:
                        node.admitted[uid] = held
                    if isinstance(exc, ApiError) and exc.conflict:
                        await self._refresh(key, pod)
                        continue
                    if isinstance(exc, ApiError) and exc.not_found:
                        self._forget(node, uid, key)
                        return
                    raise
                if self._deleted_meanwhile(key, uid):
                    self._forget(node, uid, key)
                    return
                self._remember(key, current)
                new_status = current.get("status") or {}
                await self._log_transition(pod, old_status, new_status, decision.rejection)
                self._report(node, current, kubelet_events(old_status, new_status, killing=decision.delete))
                if self._deleted_meanwhile(key, uid):  # its DELETED event came during the awaits
                    self._forget(node, uid, key)
                    return
            if is_admitted(current):
                node.admitted[uid] = pod_requests(current)
            else:
                self._release(node, uid)
            if decision.delete:
                await self._confirm_deletion(node, current)
                return
            if decision.wake_at is not None:
                self._wake_later(node, key, (decision.wake_at - self.clock()).total_seconds() + 0.02)
            return
        log.warning("pod status kept conflicting, will retry", key=key, node=node.name)
        self._wake_later(node, key, 1.0)

    def _report(self, node: SimNode, pod: dict[str, Any], happenings: list[tuple[str, str, str]]) -> None:
        for event_type, reason, message in happenings:
            self.events.emit(pod, reason, message, kind="Pod", event_type=event_type, host=node.name)

    async def _write_status(self, pod: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        meta = pod["metadata"]
        path = api_path("v1", "pods", meta.get("namespace"), meta["name"], "status")
        body = {**pod, "apiVersion": "v1", "kind": "Pod", "status": status}
        updated = await self.client.replace(path, body)
        log.debug(
            "pod status written",
            key=object_key(pod),
            phase=status.get("phase"),
            reason=status.get("reason"),
            node=pod["spec"].get("nodeName"),
        )
        return updated

    async def _refresh(self, key: str, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        try:
            fresh = await self.client.get(api_path("v1", "pods", meta.get("namespace"), meta["name"]))
        except ApiError as exc:
            if exc.not_found:
                self.pods.store.pop(key, None)
                return
            raise
        self._remember(key, fresh)

    def _deleted_meanwhile(self, key: str, uid: str) -> bool:
        """Whether the pod ``uid`` left the informer's cache (deleted) while a sync awaited."""
        known = self.pods.get(key)
        return known is None or str(known["metadata"].get("uid", "")) != uid

    def _remember(self, key: str, pod: dict[str, Any]) -> None:
        """Keep the newest copy we know of, so the next decision starts from it."""
        cached = self.pods.store.get(key)
        if cached is None or _resource_version(cached) <= _resource_version(pod):
            self.pods.store[key] = pod

    async def _confirm_deletion(self, node: SimNode, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        path = api_path("v1", "pods", meta.get("namespace"), meta["name"])
        try:
            await self.client.delete(path, grace_period_seconds=0, uid=meta.get("uid"))
        except ApiError as exc:
            if not (exc.not_found or exc.conflict):
                raise
        self._forget(node, str(meta.get("uid", "")), object_key(pod))
        log.info("pod deletion confirmed", key=object_key(pod), node=node.name)

    async def _log_transition(
        self, pod: dict[str, Any], old: dict[str, Any], new: dict[str, Any], rejection: object
    ) -> None:
        meta = pod["metadata"]
        namespace, name = str(meta.get("namespace", "")), str(meta["name"])
        events = log_events(old, new)
        # An exit belongs to the run that ended; a restarted container then starts a new log.
        await self.logs.write(
            (namespace, name, c, line) for c, line in events if " exited with code " in line
        )
        before = {cs.get("name"): int(cs.get("restartCount", 0)) for cs in old.get("containerStatuses") or []}
        for cs in new.get("containerStatuses") or []:
            if int(cs.get("restartCount", 0)) > before.get(cs.get("name"), 0):
                await self.logs.rotate(namespace, name, str(cs.get("name")))
        entries: list[Entry] = [
            (namespace, name, c, line) for c, line in events if " exited with code " not in line
        ]
        if rejection is not None:
            for plan in plan_containers(pod):
                entries.append((namespace, name, plan.name, f"pod rejected: {new.get('message')}"))
        await self.logs.write(entries)

    async def _progress_loop(self) -> None:
        """A progress line per second in the log of every running container.

        A container that runs until deleted (a web server) slows down to a line a minute after
        its first ten seconds, so a sandbox left running does not fill the disk.
        """
        while True:
            await asyncio.sleep(1.0)
            now = self.clock()
            entries: list[Entry] = []
            for pod in self.pods.items():
                if (pod.get("spec") or {}).get("nodeName") not in self.nodes:
                    continue
                status = pod.get("status") or {}
                if status.get("phase") != RUNNING or pod["metadata"].get("deletionTimestamp"):
                    continue
                plans = {plan.name: plan for plan in plan_containers(pod)}
                for cs in status.get("containerStatuses") or []:
                    started = parse_time(((cs.get("state") or {}).get("running") or {}).get("startedAt"))
                    if started is None:
                        continue
                    elapsed = int((now - started).total_seconds())
                    plan = plans.get(cs.get("name", ""))
                    endless = plan is None or plan.run_seconds is None
                    if endless and elapsed > QUIET_AFTER_SECONDS and elapsed % 60 != 0:
                        continue
                    total = f"/{plan.run_seconds:g}s" if plan and plan.run_seconds is not None else ""
                    entries.append(
                        (
                            str(pod["metadata"].get("namespace", "")),
                            str(pod["metadata"]["name"]),
                            str(cs.get("name")),
                            f"[{elapsed}s{total}] {cs.get('name')}: working",
                        )
                    )
            try:
                await self.logs.write(entries)
            except OSError as exc:
                log.warning("cannot write pod logs", key=str(self.logs.root), error=str(exc))


def _admits(status: dict[str, Any]) -> bool:
    """A status the kubelet writes when it holds the node's resources for the pod."""
    return bool(status.get("hostIP")) and status.get("phase") not in TERMINAL_PHASES


def _same_taint(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")


def _resource_version(obj: dict[str, Any]) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
