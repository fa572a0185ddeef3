"""Pods grouped by job and task; delayed actions per job."""
# ruff: noqa: ASYNC110

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import msgspec

from pyroclast.common.models import Pod
from pyroclast.controller.job.policies import DelayedAction
from pyroclast.controller.jobs.index import DelayedActions, PodIndex, pod_job_key


def pod(name: str, task: str, rv: int, job: str = "j", phase: str = "Pending") -> Pod:
    data: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": str(rv),
            "labels": {"volcano.sh/job-name": job},
            "annotations": {"volcano.sh/task-spec": task},
        },
        "status": {"phase": phase},
    }
    return msgspec.convert(data, Pod)


def test_pods_are_grouped_by_job_and_task_and_only_newer_versions_replace() -> None:
    index = PodIndex()
    index.upsert(pod("j-a-0", "a", 5))
    index.upsert(pod("j-b-0", "b", 6))
    index.upsert(pod("k-a-0", "a", 7, job="k"))
    index.upsert(pod("j-a-0", "a", 4, phase="Running"))  # older: ignored
    assert index.job_pods("ns/j")["a"]["j-a-0"].status.phase == "Pending"  # type: ignore[union-attr]
    index.upsert(pod("j-a-0", "a", 8, phase="Running"))
    assert sorted(index.job_pods("ns/j")) == ["a", "b"]
    assert index.task_pods("ns/j", "a")["j-a-0"].status.phase == "Running"  # type: ignore[union-attr]
    assert index.remove(pod("j-a-0", "a", 9))
    assert not index.remove(pod("j-a-0", "a", 9))
    assert index.job_pods("ns/j") == {"a": {}, "b": {"j-b-0": pod("j-b-0", "b", 6)}}
    assert pod_job_key(pod("x", "a", 1, job="k")) == "ns/k"


async def test_delayed_actions_fire_after_their_delay_or_are_cancelled() -> None:
    fired: list[str] = []
    delayed = DelayedActions(lambda action: fired.append(action.action))
    quick = DelayedAction(job_key="ns/j", action="AbortJob", delay=timedelta(milliseconds=20))
    later = DelayedAction(job_key="ns/j", action="RestartJob", delay=timedelta(seconds=10))
    delayed.add(quick)
    delayed.add(later)
    assert delayed.pending("ns/j") == [quick, later]
    delayed.cancel("ns/j", [later])
    async with asyncio.timeout(2):
        while not fired:
            await asyncio.sleep(0.01)
    assert fired == ["AbortJob"]
    assert delayed.pending("ns/j") == []
    delayed.add(later)
    delayed.cancel_all()
    assert delayed.pending("ns/j") == []
