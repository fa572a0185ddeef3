"""Every admission verdict as an audit event, published off the request path.

`VerdictAuditor.record` only puts the verdict on a bounded queue (a full queue drops it and
counts the drop); `run` publishes from the queue until stopped, then flushes what is left. It
publishes in batches (what gathered within a few milliseconds of the first event) so that a
busy server does not pay a wake-up and a NATS write per request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter

from pyroclast.common.bus.names import AuditKind
from pyroclast.common.logging import get_logger

log = get_logger(__name__)

DROPPED = Counter(
    "pyroclast_webhook_audit_dropped_total", "Admission audit events dropped because the queue was full"
)
FAILED = Counter("pyroclast_webhook_audit_failed_total", "Admission audit events that could not be published")

_BATCH = 64
"""Most events published in a row before yielding to the requests."""


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """One admission verdict."""

    allowed: bool
    path: str
    webhook: str
    resource: str
    operation: str
    namespace: str
    name: str
    uid: str = ""
    user: str = ""
    message: str = ""
    patched: bool = False
    dry_run: bool = False

    @property
    def action(self) -> str:
        return "Allowed" if self.allowed else "Denied"

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "webhook": self.webhook,
            "path": self.path,
            "resource": self.resource,
            "operation": self.operation,
            "user": self.user,
        }
        if self.patched:
            out["patched"] = True
        if self.dry_run:
            out["dryRun"] = True
        return out


class Emitter(Protocol):
    """What publishes audit events (`pyroclast.common.bus.audit.AuditPublisher`)."""

    async def emit(
        self,
        kind: AuditKind,
        action: str,
        name: str,
        *,
        namespace: str = ...,
        uid: str = ...,
        reason: str = ...,
        message: str = ...,
        details: Any = ...,
        wait: bool = ...,
        timeout: float | None = ...,  # noqa: ASYNC109 - AuditPublisher's signature
    ) -> Any: ...


class VerdictAuditor:
    """Publishes verdicts through ``emitter`` from a queue of at most ``maxsize`` events."""

    def __init__(
        self, emitter: Emitter, *, maxsize: int = 10_000, flush_timeout: float = 5.0, linger: float = 0.005
    ) -> None:
        self._emitter = emitter
        self._queue: asyncio.Queue[VerdictRecord] = asyncio.Queue(maxsize)
        self._flush_timeout = flush_timeout
        self._linger = linger
        """How long to let events gather after the first one, so that they leave in one write
        (and the NATS server wakes once for them) rather than one write per request."""

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def record(self, verdict: VerdictRecord) -> None:
        """Queue ``verdict`` for publication; never blocks."""
        try:
            self._queue.put_nowait(verdict)
        except asyncio.QueueFull:
            DROPPED.inc()

    async def _publish(self, verdict: VerdictRecord) -> None:
        try:
            await self._emitter.emit(
                AuditKind.ADMISSION,
                verdict.action,
                verdict.name,
                namespace=verdict.namespace,
                uid=verdict.uid,
                reason=verdict.resource,
                message=verdict.message,
                details=verdict.details(),
                wait=False,
            )
        except Exception as exc:  # a lost audit event must never stop the service
            FAILED.inc()
            log.warning("audit event not published", error=repr(exc), key=verdict.name)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish queued verdicts until ``stop`` is set, then flush the rest."""
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                # Wait (a future and asyncio.wait per event are costly) only when idle, then
                # publish what is queued, letting requests in between every few events.
                if self._queue.empty():
                    getter = asyncio.ensure_future(self._queue.get())
                    await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        break
                    if self._linger > 0:
                        await asyncio.wait({stopper}, timeout=self._linger)
                    await self._publish(getter.result())
                for _ in range(_BATCH):
                    if self._queue.empty() or stop.is_set():
                        break
                    await self._publish(self._queue.get_nowait())
                await asyncio.sleep(0)
        finally:
            stopper.cancel()
        await self.flush()

    async def flush(self) -> None:
        """Publish whatever is queued, for at most ``flush_timeout`` seconds."""
        try:
            async with asyncio.timeout(self._flush_timeout):
                while not self._queue.empty():
                    await self._publish(self._queue.get_nowait())
        except TimeoutError:
            log.warning("audit events left unpublished at shutdown", count=self._queue.qsize())
