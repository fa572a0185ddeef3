"""Verdicts are published off the request path: queued, bounded, flushed at stop."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY
from whsvc_support import FakeEmitter

from pyroclast.common.bus.names import AuditKind
from pyroclast.webhook.audit import VerdictAuditor, VerdictRecord


def _verdict(name: str, allowed: bool = True) -> VerdictRecord:
    return VerdictRecord(
        allowed=allowed,
        path="/jobs/validate",
        webhook="validatejob.volcano.sh",
        resource="jobs",
        operation="CREATE",
        namespace="ns",
        name=name,
        user="alice",
        message="" if allowed else "no",
    )


async def test_published_as_admission_events() -> None:
    emitter = FakeEmitter()
    auditor = VerdictAuditor(emitter)
    stop = asyncio.Event()
    task = asyncio.create_task(auditor.run(stop))
    auditor.record(_verdict("a"))
    auditor.record(_verdict("b", allowed=False))
    await emitter.wait_for(2)
    stop.set()
    await task
    first, second = emitter.events
    assert first["kind"] is AuditKind.ADMISSION
    assert (first["action"], second["action"]) == ("Allowed", "Denied")
    assert second["message"] == "no"
    assert second["details"] == {
        "webhook": "validatejob.volcano.sh",
        "path": "/jobs/validate",
        "resource": "jobs",
        "operation": "CREATE",
        "user": "alice",
    }
    assert first["wait"] is False


async def test_a_full_queue_drops_and_counts() -> None:
    before = REGISTRY.get_sample_value("pyroclast_webhook_audit_dropped_total") or 0.0
    auditor = VerdictAuditor(FakeEmitter(), maxsize=2)
    for name in "abc":
        auditor.record(_verdict(name))
    assert auditor.pending == 2
    assert REGISTRY.get_sample_value("pyroclast_webhook_audit_dropped_total") == before + 1


async def test_what_is_queued_at_stop_is_flushed() -> None:
    emitter = FakeEmitter()
    auditor = VerdictAuditor(emitter)
    for name in "abc":
        auditor.record(_verdict(name))
    stop = asyncio.Event()
    stop.set()
    await auditor.run(stop)
    assert [e["name"] for e in emitter.events] == ["a", "b", "c"]


async def test_a_failing_publisher_does_not_stop_the_auditor() -> None:
    class Failing:
        calls = 0

        async def emit(self, *args: Any, **kwargs: Any) -> None:
            Failing.calls += 1
            raise ConnectionError("nats gone")

    auditor = VerdictAuditor(Failing())
    auditor.record(_verdict("a"))
    auditor.record(_verdict("b"))
    await auditor.flush()
    assert Failing.calls == 2
    assert auditor.pending == 0
