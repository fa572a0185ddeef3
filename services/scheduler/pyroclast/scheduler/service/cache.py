"""The scheduler's cache: the records of five KV buckets, plus what its own decisions assume.

Each bucket is followed by a :class:`CacheWatcher`; the cache is ready once every bucket
has reported ``SYNCED``. A watcher that has to start over (it was cut off for too long)
fills a fresh map and swaps it in at ``SYNCED``, so a snapshot never sees half a bucket.

A published decision is *assumed* until the records show it, as Volcano's cache assumes a
bind: a bind makes its pod count as bound to the node, an eviction makes its pod count as
releasing, a podgroup status overlays the podgroup's phase and conditions. An assumption
ends when a record confirms or contradicts it, when a binder reports a failure for the
decision, or after ``assume_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from nats.aio.client import Client

from pyroclast.common.bus.decisions import follow_failures
from pyroclast.common.bus.kv import (
    NODES,
    PODGROUPS,
    PODS,
    PRIORITY_CLASSES,
    QUEUES,
    BucketSpec,
    CacheWatcher,
    ResumeGapError,
    WatchEvent,
    WatchOp,
)
from pyroclast.common.bus.messages import (
    BindDecision,
    Decision,
    DecisionFailure,
    EvictDecision,
    PodGroupRecord,
    PodGroupStatusDecision,
    PodRecord,
)
from pyroclast.common.bus.names import BusNames, CacheKind
from pyroclast.common.logging import get_logger
from pyroclast.scheduler.api.snapshot import (
    DEFAULT_SCHEDULER_NAMES,
    ClusterSnapshot,
    SnapshotRecord,
    snapshot,
)

__all__ = ["SCHEDULER_BUCKETS", "Assumption", "SchedulerCache"]

log = get_logger(__name__)

SCHEDULER_BUCKETS: tuple[BucketSpec[Any], ...] = (NODES, PODS, PODGROUPS, QUEUES, PRIORITY_CLASSES)


@dataclass
class Assumption:
    """What one published decision is assumed to have done, until the records tell."""

    decision: Decision
    expires: float
    base_version: str = ""
    """Resource version of the podgroup record the status decision was computed from."""

    @property
    def ref(self) -> str:
        return f"{self.decision.namespace}/{self.decision.name}"


@dataclass
class _Assumed:
    binds: dict[str, Assumption] = field(default_factory=dict)
    evictions: dict[str, Assumption] = field(default_factory=dict)
    statuses: dict[str, Assumption] = field(default_factory=dict)

    def all(self) -> Iterable[tuple[dict[str, Assumption], str, Assumption]]:
        for table in (self.binds, self.evictions, self.statuses):
            for ref, a in list(table.items()):
                yield table, ref, a


class SchedulerCache:
    """Records by bucket and key, and the assumptions of the decisions in flight."""

    def __init__(
        self,
        nc: Client | None,
        names: BusNames,
        *,
        assume_timeout: float = 30.0,
        scheduler_names: Sequence[str] = DEFAULT_SCHEDULER_NAMES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nc = nc
        self._names = names
        self.assume_timeout = assume_timeout
        self.scheduler_names = tuple(scheduler_names)
        self._clock = clock
        self.records: dict[CacheKind, dict[str, SnapshotRecord]] = {s.kind: {} for s in SCHEDULER_BUCKETS}
        self.synced: set[CacheKind] = set()
        self._assumed = _Assumed()
        self.failures_seen = 0
        self._created = datetime.now(UTC)
        self.changed = asyncio.Event()
        """Set when a record or a decision failure arrives (the session loop clears it)."""

    # -- state ------------------------------------------------------------------------
    def ready(self) -> bool | str:
        missing = [s.kind.value for s in SCHEDULER_BUCKETS if s.kind not in self.synced]
        return True if not missing else f"cache not synced: {', '.join(missing)}"

    def sizes(self) -> dict[str, int]:
        sizes = {kind.value: len(recs) for kind, recs in self.records.items()}
        sizes["assumed"] = self.assumed_count()
        return sizes

    def assumed_count(self) -> int:
        a = self._assumed
        return len(a.binds) + len(a.evictions) + len(a.statuses)

    def assumed_binds(self) -> dict[str, str]:
        """``namespace/name`` to node of every bind still assumed."""
        out: dict[str, str] = {}
        for ref, a in self._assumed.binds.items():
            assert isinstance(a.decision, BindDecision)
            out[ref] = a.decision.node_name
        return out

    # -- watch events -----------------------------------------------------------------
    def apply(self, kind: CacheKind, event: WatchEvent[Any]) -> None:
        """Apply a PUT or DELETE to the live records (SYNCED marks the bucket synced)."""
        if event.op is WatchOp.SYNCED:
            self.synced.add(kind)
            self.changed.set()
            return
        self.changed.set()
        table = self.records[kind]
        if event.op is WatchOp.PUT and event.record is not None:
            table[event.key] = event.record
        else:
            table.pop(event.key, None)
        if kind is CacheKind.PODS:
            self._pod_changed(event.key, event.record if event.op is WatchOp.PUT else None)
        elif kind is CacheKind.PODGROUPS:
            self._podgroup_changed(event.key, event.record if event.op is WatchOp.PUT else None)

    def replace(self, kind: CacheKind, records: dict[str, SnapshotRecord]) -> None:
        """Swap in a bucket's records after a watcher started over, and mark it synced."""
        self.records[kind] = records
        self.synced.add(kind)
        self.changed.set()
        if kind is CacheKind.PODS:
            for key in {*self._assumed.binds, *self._assumed.evictions}:
                self._pod_changed(key, records.get(key))
        if kind is CacheKind.PODGROUPS:
            for key in list(self._assumed.statuses):
                self._podgroup_changed(key, records.get(key))

    def _pod_changed(self, ref: str, pod: Any) -> None:
        bind = self._assumed.binds.get(ref)
        if bind is not None:
            assert isinstance(bind.decision, BindDecision)
            if pod is None or not isinstance(pod, PodRecord):
                self._drop(self._assumed.binds, ref, "pod deleted")
            elif bind.decision.uid and pod.uid and pod.uid != bind.decision.uid:
                self._drop(self._assumed.binds, ref, "pod recreated")
            elif pod.node_name == bind.decision.node_name:
                self._drop(self._assumed.binds, ref, "bind confirmed")
            elif pod.node_name:
                self._drop(self._assumed.binds, ref, f"pod bound to {pod.node_name} instead")
        evict = self._assumed.evictions.get(ref)
        if evict is not None:
            if pod is None or not isinstance(pod, PodRecord):
                self._drop(self._assumed.evictions, ref, "pod deleted")
            elif pod.deleting or (evict.decision.uid and pod.uid and pod.uid != evict.decision.uid):
                self._drop(self._assumed.evictions, ref, "eviction confirmed")

    def _podgroup_changed(self, ref: str, pg: Any) -> None:
        status = self._assumed.statuses.get(ref)
        if status is None:
            return
        if pg is None or not isinstance(pg, PodGroupRecord) or pg.resource_version != status.base_version:
            self._drop(self._assumed.statuses, ref, "podgroup updated")

    def _drop(self, table: dict[str, Assumption], ref: str, why: str) -> None:
        a = table.pop(ref, None)
        if a is not None:
            log.debug("assumption ended", key=ref, decision=a.decision.id, why=why)

    # -- assumptions ------------------------------------------------------------------
    def assume(self, decisions: Sequence[Decision], base: ClusterSnapshot | None = None) -> None:
        """Assume ``decisions`` (about to be published), unless the records already moved on."""
        expires = self._clock() + self.assume_timeout
        pods = self.records[CacheKind.PODS]
        groups = self.records[CacheKind.PODGROUPS]
        for d in decisions:
            ref = f"{d.namespace}/{d.name}"
            if isinstance(d, BindDecision):
                pod = pods.get(ref)
                if isinstance(pod, PodRecord) and not pod.node_name:
                    self._assumed.binds[ref] = Assumption(d, expires)
            elif isinstance(d, EvictDecision):
                pod = pods.get(ref)
                if isinstance(pod, PodRecord) and not pod.deleting:
                    self._assumed.evictions[ref] = Assumption(d, expires)
            elif isinstance(d, PodGroupStatusDecision):
                pg = groups.get(ref)
                if isinstance(pg, PodGroupRecord):
                    self._assumed.statuses[ref] = Assumption(d, expires, base_version=pg.resource_version)

    def on_failure(self, failure: DecisionFailure) -> None:
        """A binder gave up on a decision: forget what it assumed."""
        self.failures_seen += 1
        self.changed.set()
        d = failure.decision
        ref = f"{d.namespace}/{d.name}"
        for table in (self._assumed.binds, self._assumed.evictions, self._assumed.statuses):
            a = table.get(ref)
            if a is not None and a.decision.id == d.id:
                self._drop(table, ref, f"binder failed: {failure.reason}: {failure.message}")
        log.warning(
            "decision failed",
            key=ref,
            decision=d.id,
            type=d.kind.value,
            reason=failure.reason,
            message=failure.message,
            attempts=failure.attempts,
        )

    def expire(self) -> int:
        """Drop assumptions past their deadline; returns how many."""
        now = self._clock()
        expired = 0
        for table, ref, a in self._assumed.all():
            if a.expires <= now:
                expired += 1
                log.info("assumption timed out", key=ref, decision=a.decision.id, type=a.decision.kind.value)
                table.pop(ref, None)
        return expired

    # -- snapshots --------------------------------------------------------------------
    def records_view(self) -> list[SnapshotRecord]:
        """Every record with the assumptions overlaid (a copy; the cache stays as it is)."""
        out: list[SnapshotRecord] = []
        assumed = self._assumed
        for kind, table in self.records.items():
            for ref, rec in table.items():
                if kind is CacheKind.PODS and isinstance(rec, PodRecord):
                    bind = assumed.binds.get(ref)
                    if bind is not None and isinstance(bind.decision, BindDecision):
                        rec = msgspec.structs.replace(rec, node_name=bind.decision.node_name)
                    if ref in assumed.evictions:
                        rec = msgspec.structs.replace(rec, deleting=True)
                elif kind is CacheKind.PODGROUPS and isinstance(rec, PodGroupRecord):
                    status = assumed.statuses.get(ref)
                    if status is not None and isinstance(status.decision, PodGroupStatusDecision):
                        written = status.decision
                        rec = msgspec.structs.replace(
                            rec,
                            phase=written.phase,
                            conditions=list(written.conditions),
                            running=written.running,
                            succeeded=written.succeeded,
                            failed=written.failed,
                        )
                out.append(rec)
        return out

    def snapshot(self) -> ClusterSnapshot:
        """A consistent view for one session (built without yielding to the event loop)."""
        return snapshot(self.snapshot_records(), scheduler_names=self.scheduler_names)

    def snapshot_records(self) -> list[SnapshotRecord]:
        """What :meth:`snapshot` is built from, taken without yielding to the event loop:
        the records are never changed in place, so the snapshot itself may then be built
        off the loop (``snapshot(records, scheduler_names=cache.scheduler_names)``)."""
        self.expire()
        return self.records_view()

    # -- I/O --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Follow the five buckets and the decision failures until ``stop`` is set."""
        if self.nc is None:
            raise RuntimeError("scheduler cache: no NATS connection to follow")
        async with asyncio.TaskGroup() as group:
            for spec in SCHEDULER_BUCKETS:
                group.create_task(self._follow(spec, stop))
            group.create_task(self._follow_failures(stop))

    async def _follow(self, spec: BucketSpec[Any], stop: asyncio.Event) -> None:
        assert self.nc is not None
        while not stop.is_set():
            watcher: CacheWatcher[Any] = CacheWatcher(self.nc, self._names, spec)
            restarting = spec.kind in self.synced
            staging: dict[str, SnapshotRecord] = {}
            live = False
            try:
                async with _closing_on(stop, watcher.close):
                    async for event in watcher:
                        if live:
                            self.apply(spec.kind, event)
                        elif event.op is WatchOp.SYNCED:
                            live = True
                            if restarting:
                                self.replace(spec.kind, staging)
                            else:
                                for key, rec in staging.items():
                                    self.apply(spec.kind, WatchEvent(WatchOp.PUT, key, rec, 0))
                                self.synced.add(spec.kind)
                            log.info("bucket synced", bucket=spec.kind.value, records=len(staging))
                        elif event.op is WatchOp.PUT and event.record is not None:
                            staging[event.key] = event.record
                        else:
                            staging.pop(event.key, None)
            except ResumeGapError as err:
                log.warning("bucket watch starting over", bucket=spec.kind.value, error=str(err))
                continue
            return

    async def _follow_failures(self, stop: asyncio.Event) -> None:
        assert self.nc is not None
        # From the cache's creation: a failure reported before the follower's consumer
        # exists still ends its assumption.
        follower = follow_failures(self.nc, self._names, since=self._created)
        async with _closing_on(stop, follower.close):
            async for failure in follower:
                self.on_failure(failure)


@contextlib.asynccontextmanager
async def _closing_on(stop: asyncio.Event, close: Callable[[], Any]) -> Any:
    """Call ``close()`` once ``stop`` is set (ends an iteration), and on exit."""

    async def closer() -> None:
        await stop.wait()
        await close()

    task = asyncio.create_task(closer())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await close()
