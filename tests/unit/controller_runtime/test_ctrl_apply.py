"""Status writes with optimistic concurrency, and Event aggregation, against a fake API."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from pyroclast.common.models import Job, JobState, JobStatus, ObjectMeta, ObjectReference
from pyroclast.controller.jobs.apply import Applier, ConflictError
from pyroclast.controller.jobs.recorder import EventRecorder
from pyroclast.controller.kube.client import ApiError
from pyroclast.controller.kube.informer import Cache


def job(rv: str, phase: str = "Running", labels: dict[str, str] | None = None) -> Job:
    return Job(
        metadata=ObjectMeta(name="j", namespace="ns", resource_version=rv, labels=labels),
        status=JobStatus(state=JobState(phase=phase)),
    )


class FakeKube:
    def __init__(self, latest: Job, conflicts: int) -> None:
        self.latest = latest
        self.conflicts = conflicts
        self.puts: list[Job] = []
        self.calls: list[tuple[str, Any]] = []

    async def replace(self, rt: Any, obj: Job, *, subresource: str = "") -> Job:
        self.puts.append(obj)
        if self.conflicts:
            self.conflicts -= 1
            raise ApiError(409, "Conflict", "the object has been modified")
        assert obj.metadata is not None
        return msgspec.structs.replace(
            obj, metadata=msgspec.structs.replace(obj.metadata, resource_version="99")
        )

    async def get_or_none(self, rt: Any, namespace: str, name: str) -> Job | None:
        return self.latest

    async def create(self, rt: Any, obj: Any, namespace: str = "") -> Any:
        self.calls.append(("create", obj.reason))
        return obj

    async def patch(self, rt: Any, namespace: str, name: str, patch: Any, **_: Any) -> Any:
        self.calls.append(("patch", patch["count"]))
        return None


def applier(kube: FakeKube) -> tuple[Applier, Cache[Job]]:
    jobs: Cache[Job] = Cache("jobs")
    return Applier(kube, jobs, Cache("podgroups"), lambda pod: None), jobs  # type: ignore[arg-type]


async def test_conflict_with_only_metadata_changed_is_retried_on_the_latest_version() -> None:
    base = job("5")
    wanted = msgspec.structs.replace(base, status=JobStatus(state=JobState(phase="Completed")))
    kube = FakeKube(latest=job("6", labels={"touched": "yes"}), conflicts=1)
    apply, jobs = applier(kube)
    written = await apply.write_status(base, wanted)
    assert [p.metadata.resource_version for p in kube.puts if p.metadata] == ["5", "6"]
    assert written.status == wanted.status
    assert written.metadata is not None
    assert written.metadata.labels == {"touched": "yes"}
    assert jobs.get("ns/j") is written


async def test_conflict_with_a_changed_status_is_left_to_the_next_sync() -> None:
    base = job("5")
    wanted = msgspec.structs.replace(base, status=JobStatus(state=JobState(phase="Completed")))
    kube = FakeKube(latest=job("6", phase="Restarting"), conflicts=1)
    apply, _ = applier(kube)
    with pytest.raises(ConflictError):
        await apply.write_status(base, wanted)
    assert len(kube.puts) == 1


async def test_repeated_events_are_aggregated_into_a_count() -> None:
    kube = FakeKube(latest=job("1"), conflicts=0)
    recorder = EventRecorder(kube)  # type: ignore[arg-type]
    ref = ObjectReference(kind="Job", namespace="ns", name="j", uid="u")
    for _ in range(3):
        await recorder._write(ref, "Warning", "FailedCreate", "boom")
    await recorder._write(ref, "Warning", "FailedCreate", "other")
    assert kube.calls == [("create", "FailedCreate"), ("patch", 2), ("patch", 3), ("create", "FailedCreate")]
