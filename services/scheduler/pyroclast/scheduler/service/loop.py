"""The session loop: every ``period`` (sooner on changes), snapshot -> session -> explanations -> decisions.

Explanations are written before the decisions are published, so a binder applying a
podgroup status finds the explanation of that session. Each bind and evict goes on the audit
stream too, just before it is published (kind ``decision``, actor ``scheduler``), so
``vcctl tap`` shows them beside admissions and phase changes. A session that raises is
logged and counted; the loop goes on. On stop, the session in flight finishes and its decisions
are published before :meth:`SessionLoop.run` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from pyroclast.common.bus.messages import BindDecision, Decision, EvictDecision, ExplanationRecord
from pyroclast.common.bus.names import AuditKind
from pyroclast.common.logging import get_logger
from pyroclast.scheduler.api.snapshot import SnapshotRecord, snapshot
from pyroclast.scheduler.conf import SchedulerConf
from pyroclast.scheduler.framework import NodeSearch, SessionResult, run_session
from pyroclast.scheduler.service.cache import SchedulerCache
from pyroclast.scheduler.service.metrics import SchedulerMetrics

__all__ = ["DecisionSink", "ExplanationSink", "SessionLoop"]

log = get_logger(__name__)

MIN_PERIOD = 0.2
"""Default least time between the starts of two sessions when the cache keeps changing."""
AUDIT_BATCH = 256
"""Most decisions audited at once."""


class DecisionSink(Protocol):
    async def publish_all(
        self,
        decisions: Sequence[Decision],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - DecisionPublisher's signature
    ) -> list[int]: ...


class AuditSink(Protocol):
    async def emit(
        self,
        kind: AuditKind,
        action: str,
        name: str,
        *,
        namespace: str = "",
        uid: str = "",
        reason: str = "",
        message: str = "",
        details: Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - AuditPublisher's signature
    ) -> object: ...


class ExplanationSink(Protocol):
    async def put(self, record: ExplanationRecord) -> int: ...

    async def delete(self, ref: str) -> int: ...


class SessionLoop:
    """Runs sessions on the cache's snapshots and publishes what they decide."""

    def __init__(
        self,
        cache: SchedulerCache,
        conf: Callable[[], SchedulerConf],
        decisions: DecisionSink,
        explanations: ExplanationSink | None,
        metrics: SchedulerMetrics,
        *,
        period: float = 1.0,
        min_period: float | None = None,
        publish_timeout: float = 5.0,
        publish_attempts: int = 3,
        audit: AuditSink | None = None,
    ) -> None:
        self.cache = cache
        self._audit = audit
        self._conf = conf
        self._decisions = decisions
        self._explanations = explanations
        self.metrics = metrics
        self.period = period
        self.min_period = min(period, MIN_PERIOD if min_period is None else min_period)
        self.publish_timeout = publish_timeout
        self.publish_attempts = publish_attempts
        self.node_search = NodeSearch()
        self._explained: dict[str, bytes] = {}  # ref -> explanation as last written (sans time)
        self.sessions = 0
        self.failures = 0
        self.last_result: SessionResult | None = None
        self._failures_counted = 0
        self._last_error = ""

    def adopt_explanations(self, refs: Iterable[str]) -> None:
        """Explanations a previous scheduler left in the bucket: rewritten if still true,
        deleted otherwise."""
        for ref in refs:
            self._explained.setdefault(ref, b"")

    async def run(self, stop: asyncio.Event) -> None:
        """Run sessions once the cache is ready, until ``stop`` is set.

        A session starts ``period`` after the last one started, or sooner when the cache
        changed since the last snapshot, but never less than ``min_period`` after it: a
        pod created or bound is considered within a fraction of the period, and an idle
        cluster costs a session a period.
        """
        while not stop.is_set():
            started = time.monotonic()
            if self.cache.ready() is True:
                self.cache.changed.clear()  # what changes from here on calls for another session
                await self.run_once()
            await self._pause(started, stop)
        log.info("session loop stopped", sessions=self.sessions, failures=self.failures)

    async def _pause(self, started: float, stop: asyncio.Event) -> None:
        """Until the next session is due (or ``stop`` is set)."""
        delay = max(0.0, self.min_period - (time.monotonic() - started))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        remaining = self.period - (time.monotonic() - started)
        if stop.is_set() or remaining <= 0 or self.cache.changed.is_set():
            return
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.cache.changed.wait())]
        try:
            await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def run_once(self) -> SessionResult | None:
        """One session; never raises (a failure is logged and counted)."""
        started = time.perf_counter()
        uid = uuid.uuid4().hex[:12]
        logger = log.bind(session=uid)
        try:
            records = self.cache.snapshot_records()
            self.metrics.set_cache_sizes(self.cache.sizes())
            conf = self._conf()
            # The snapshot is built (off the event loop) for this session alone: no need for
            # the session to clone it.
            result = await asyncio.to_thread(self._decide, records, conf, uid)
        except Exception as err:
            self.failures += 1
            self.metrics.sessions.labels(result="error").inc()
            if repr(err) != self._last_error:  # the traceback once per distinct error
                logger.exception("session failed", error=repr(err))
            else:
                logger.warning("session failed again", error=repr(err))
            self._last_error = repr(err)
            return None
        self._last_error = ""
        self.sessions += 1
        await self._write_explanations(result.explanations)
        await self._publish(result.decisions)
        elapsed = time.perf_counter() - started
        self.metrics.session_duration.observe(elapsed)
        self.metrics.sessions.labels(result="ok").inc()
        self.metrics.decisions_per_session.observe(len(result.decisions))
        for d in result.decisions:
            self.metrics.decisions.labels(type=d.kind.value).inc()
        self.metrics.pending_jobs.set(len(result.explanations))
        self.metrics.decision_failures.inc(self.cache.failures_seen - self._failures_counted)
        self._failures_counted = self.cache.failures_seen
        self.last_result = result
        if result.decisions:
            logger.info(
                "session decided",
                decisions=len(result.decisions),
                binds=len(result.binds()),
                waiting=len(result.explanations),
                seconds=round(elapsed, 4),
            )
        return result

    def _decide(self, records: list[SnapshotRecord], conf: SchedulerConf, uid: str) -> SessionResult:
        snap = snapshot(records, scheduler_names=self.cache.scheduler_names)
        return run_session(snap, conf, uid=uid, node_search=self.node_search, clone=False)

    async def _publish(self, decisions: Sequence[Decision]) -> None:
        if not decisions:
            return
        # Assume first: a decision published but not assumed could place a second pod on
        # the same capacity; one assumed but lost only waits for its timeout.
        self.cache.assume(decisions)
        # Audited before they are published: on the one connection the audit stream gets a
        # bind before the binder can act on it, so the stream never shows its effect first.
        await self._audit_decisions(decisions)
        for attempt in range(1, self.publish_attempts + 1):
            try:
                await self._decisions.publish_all(decisions, timeout=self.publish_timeout)
                return
            except Exception as err:  # re-publishing is idempotent (decision ids)
                self.metrics.publish_failures.inc()
                log.warning(
                    "decisions not confirmed; publishing again",
                    error=repr(err),
                    attempt=attempt,
                    decisions=len(decisions),
                )
                await asyncio.sleep(min(0.2 * attempt, 1.0))
        log.error("decisions not published; their assumptions will time out", decisions=len(decisions))

    async def _audit_decisions(self, decisions: Sequence[Decision]) -> None:
        """Binds and evictions on the audit stream, fire and forget (never fails the session).

        Emitted together, ``AUDIT_BATCH`` at a time, rather than one after the other: all
        are on the connection before the decisions are published, without holding them up
        one emit at a time. An emit that fails loses its event only."""
        if self._audit is None:
            return
        audited = [d for d in decisions if isinstance(d, BindDecision | EvictDecision)]
        failed: list[Exception] = []
        for start in range(0, len(audited), AUDIT_BATCH):
            results = await asyncio.gather(
                *(self._audit_one(d) for d in audited[start : start + AUDIT_BATCH]), return_exceptions=True
            )
            failed += [res for res in results if isinstance(res, Exception)]
        if failed:
            log.warning("decisions not audited", error=repr(failed[0]), decisions=len(failed))

    async def _audit_one(self, d: BindDecision | EvictDecision) -> object:
        assert self._audit is not None
        details: dict[str, str]
        if isinstance(d, BindDecision):
            action, reason, message = "Bind", d.node_name, ""
            details = {"node": d.node_name, "podGroup": d.pod_group}
        else:
            action, reason, message = "Evict", d.reason, d.message
            details = {"preemptor": d.preemptor}
        return await self._audit.emit(
            AuditKind.DECISION,
            action,
            d.name,
            namespace=d.namespace,
            uid=d.uid,
            reason=reason,
            message=message,
            details={**details, "session": d.session, "id": d.id},
            wait=False,
        )

    async def _write_explanations(self, records: Sequence[ExplanationRecord]) -> None:
        if self._explanations is None:
            return
        sink = self._explanations
        current: dict[str, bytes] = {}
        writes: list[ExplanationRecord] = []
        for rec in records:
            digest = msgspec.msgpack.encode(msgspec.structs.replace(rec, session="", time=None))
            current[rec.ref] = digest
            if self._explained.get(rec.ref) != digest:
                writes.append(rec)
        gone = [ref for ref in self._explained if ref not in current]
        results = await asyncio.gather(
            *(sink.put(rec) for rec in writes), *(sink.delete(ref) for ref in gone), return_exceptions=True
        )
        for item, res in zip([*(r.ref for r in writes), *gone], results, strict=True):
            if isinstance(res, BaseException):
                log.warning("explanation not written", key=item, error=repr(res))
                current.pop(item, None)  # try again next session
                if item in gone:
                    current[item] = self._explained[item]
        self._explained = current
