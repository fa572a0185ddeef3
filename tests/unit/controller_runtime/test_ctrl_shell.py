"""The shell of the queue, podgroup and jobflow controllers: retries with backoff, the items
kept for a retry, cache views, and which informer events queue which keys."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from pyroclast.common.models import (
    Command,
    Job,
    JobSpec,
    LifecyclePolicy,
    ObjectMeta,
    OwnerReference,
    Pod,
    PodGroup,
    PodGroupSpec,
    Queue,
    QueueSpec,
)
from pyroclast.common.models.core import PodSpec
from pyroclast.common.models.scheduling import PodGroupStatus, QueueStatus
from pyroclast.controller.job.policies import Request
from pyroclast.controller.jobflows.controller import JobFlowController
from pyroclast.controller.jobs.controller import JobController
from pyroclast.controller.jobs.recorder import Auditor, EventRecorder
from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.kube.factory import InformerFactory
from pyroclast.controller.kube.informer import Cache
from pyroclast.controller.kube.shell import CacheView, KeyedController, RetryItems, ShellSettings, by_name
from pyroclast.controller.podgroups.controller import PodGroupController
from pyroclast.controller.queues.controller import COMMAND_PREFIX, QueueController

FAST = ShellSettings(workers=1, max_requeue=2, base_delay=0.01, max_delay=0.02)


def _pg(name: str, queue: str, phase: str = "Pending") -> PodGroup:
    return PodGroup(
        metadata=ObjectMeta(name=name, namespace="ns", resource_version="1"),
        spec=PodGroupSpec(queue=queue),
        status=PodGroupStatus(phase=phase),
    )


class Flaky(KeyedController[str]):
    name = "flaky"

    def __init__(self, fail: int) -> None:
        super().__init__([], FAST)
        self.fail = fail
        self.calls: list[tuple[str, list[str]]] = []

    async def handle(self, key: str, items: list[str]) -> None:
        self.calls.append((key, list(items)))
        if len(self.calls) <= self.fail:
            raise RetryItems(items[1:], RuntimeError("boom")) if len(items) > 1 else RuntimeError("boom")


async def _drain(controller: KeyedController[Any], calls: int) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(controller.run(stop))
    for _ in range(200):
        if len(cast(Flaky, controller).calls) >= calls:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    stop.set()
    await task


async def test_a_failed_key_is_retried_with_only_the_items_not_done() -> None:
    flaky = Flaky(fail=1)
    flaky.queue.add("k", "a")
    flaky.queue.add("k", "b")
    await _drain(flaky, 2)
    assert flaky.calls == [("k", ["a", "b"]), ("k", ["b"])]
    assert flaky.queue.num_requeues("k") == 0  # forgotten after the success


async def test_a_key_is_dropped_after_max_requeue_failures() -> None:
    flaky = Flaky(fail=100)
    flaky.queue.add("k", "a")
    await _drain(flaky, 3)
    await asyncio.sleep(0.1)
    assert len(flaky.calls) == 3  # the first try and two retries
    assert len(flaky.queue) == 0


def test_cache_view_and_by_name() -> None:
    cache: Cache[PodGroup] = Cache("podgroups")
    cache.replace([_pg("a", "q"), _pg("b", "q")], "1")
    view = CacheView(cache)
    assert sorted(view) == ["ns/a", "ns/b"]
    assert view.get("ns/a") is not None
    assert view.get("ns/zz") is None
    assert sorted(by_name(cache, "ns")) == ["a", "b"]
    assert by_name(cache, "other") == {}


def _factory() -> tuple[KubeClient, InformerFactory, EventRecorder]:
    kube = cast(KubeClient, object())
    return kube, InformerFactory(kube), EventRecorder(kube)


async def test_queue_controller_queues_what_volcano_queues() -> None:
    kube, factory, recorder = _factory()
    ctrl = QueueController(kube, factory, recorder, FAST)
    queue = Queue(metadata=ObjectMeta(name="q", resource_version="1"), spec=QueueSpec(weight=1))
    ctrl.queues.cache.replace([queue], "1")
    assert ctrl.queue.pending("q") == ["SyncQueue"]
    await ctrl.queue.get()
    ctrl.queue.done("q")
    # a status change alone does not resync the queue
    ctrl.queues.cache.apply(
        "MODIFIED",
        Queue(
            metadata=ObjectMeta(name="q", resource_version="2"),
            spec=QueueSpec(weight=1),
            status=QueueStatus(state="Open"),
        ),
    )
    assert len(ctrl.queue) == 0
    ctrl.podgroups.cache.apply("ADDED", _pg("pg", "q"))
    ctrl.podgroups.cache.apply("MODIFIED", _pg("pg", "q", "Running"))
    assert ctrl.queue.pending("q") == ["SyncQueue"]
    job_command = Command(
        metadata=ObjectMeta(name="c1", namespace="ns"),
        action="AbortJob",
        target=OwnerReference(api_version="batch.volcano.sh/v1alpha1", kind="Job", name="j"),
    )
    queue_command = Command(
        metadata=ObjectMeta(name="c2", namespace="ns"),
        action="CloseQueue",
        target=OwnerReference(api_version="scheduling.volcano.sh/v1beta1", kind="Queue", name="q"),
    )
    ctrl.commands.cache.replace([job_command, queue_command], "1")
    assert COMMAND_PREFIX + "ns/c1" not in ctrl.queue._dirty
    assert ctrl.queue.pending(COMMAND_PREFIX + "ns/c2") == []
    assert COMMAND_PREFIX + "ns/c2" in ctrl.queue._dirty


def test_podgroup_controller_queues_pods_of_volcano_without_a_podgroup() -> None:
    kube, factory, _ = _factory()
    ctrl = PodGroupController(kube, factory, FAST)

    def pod(name: str, scheduler: str, annotations: dict[str, str] | None = None) -> Pod:
        return Pod(
            metadata=ObjectMeta(name=name, namespace="ns", annotations=annotations),
            spec=PodSpec(scheduler_name=scheduler, containers=[]),
        )

    ctrl.pods.cache.replace(
        [
            pod("mine", "volcano"),
            pod("other", "default-scheduler"),
            pod("grouped", "volcano", {"scheduling.k8s.io/group-name": "pg"}),
        ],
        "1",
    )
    assert ctrl.queue.pending("ns/mine") == ["Pod"]
    assert "ns/other" not in ctrl.queue._dirty
    assert "ns/grouped" not in ctrl.queue._dirty


def test_jobflow_controller_follows_the_jobs_of_its_flows() -> None:
    kube, factory, recorder = _factory()
    ctrl = JobFlowController(kube, factory, recorder, FAST)
    owned = Job(
        metadata=ObjectMeta(
            name="f-a",
            namespace="ns",
            labels={"volcano.sh/createdByJobTemplate": "ns.a"},
            owner_references=[
                OwnerReference(
                    api_version="flow.volcano.sh/v1alpha1", kind="JobFlow", name="f", controller=True
                )
            ],
        )
    )
    ctrl.jobs.cache.replace([owned, Job(metadata=ObjectMeta(name="plain", namespace="ns"))], "1")
    assert "ns/f" in ctrl.queue._dirty
    assert "ns/plain" not in ctrl.queue._dirty
    assert "ns/a" in ctrl.template_controller.queue._dirty


def _restarting_job_controller() -> JobController:
    """A job controller holding job ns/j, whose policy restarts it when a pod fails."""
    kube, factory, recorder = _factory()
    ctrl = JobController(kube, factory, recorder, Auditor(None))
    job = Job(
        metadata=ObjectMeta(name="j", namespace="ns", uid="u1", resource_version="1"),
        spec=JobSpec(policies=[LifecyclePolicy(event="PodFailed", action="RestartJob")]),
    )
    ctrl.jobs.cache.replace([job], "1")
    return ctrl


def _pod_request(pod: str, event: str) -> Request:
    return Request("ns", "j", job_uid="u1", pod_name=pod, event=event)


async def test_a_burst_of_pod_events_syncs_the_job_once_but_keeps_policy_actions() -> None:

    ctrl = _restarting_job_controller()
    handled: list[Request] = []

    async def handle(key: str, item: Any) -> None:
        handled.append(item)

    ctrl.reconciler.handle = handle  # type: ignore[method-assign]

    burst = [_pod_request(f"p{i}", "PodRunning") for i in range(5)]
    failed = _pod_request("p9", "PodFailed")
    await ctrl._work("ns/j", [*burst, failed, *burst[:2]])
    # the syncs before the policy action collapse into one, the action is kept, then one sync
    assert handled == [burst[4], failed, burst[1]]


async def test_a_burst_resolves_each_request_by_the_policies_once(monkeypatch: Any) -> None:
    from pyroclast.controller.job import policies
    from pyroclast.controller.job.policies import DelayedAction
    from pyroclast.controller.jobs import reconcile
    from pyroclast.controller.jobs.reconcile import Work

    ctrl = _restarting_job_controller()
    resolved: list[Request] = []

    def counting(job: Job, req: Request) -> DelayedAction:
        resolved.append(req)
        return policies.apply_policies(job, req)

    monkeypatch.setattr(reconcile, "apply_policies", counting)
    executed: list[str] = []

    async def execute(job: Job, action: DelayedAction, logger: Any) -> None:
        executed.append(f"{action.action}:{action.pod_name}")

    ctrl.reconciler.execute = execute  # type: ignore[method-assign]

    burst = [_pod_request(f"p{i}", "PodRunning") for i in range(5)]
    failed = _pod_request("p9", "PodFailed")
    work: list[Work] = [*burst, failed, *burst[:2]]
    await ctrl._work("ns/j", work)
    assert executed == ["SyncJob:p4", "RestartJob:p9", "SyncJob:p1"]  # the outcome of the burst test
    # Between two handled items, each request is resolved once though it is asked about as the
    # next item, then as the current one, then handled. Once an item is handled (the job may
    # have changed), the next one is resolved again: p9 after p4, p0 and p1 after p9.
    assert [r.pod_name for r in resolved] == ["p0", "p1", "p2", "p3", "p4", "p9", "p9", "p0", "p1"]
