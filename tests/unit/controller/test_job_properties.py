"""Property tests: random event sequences never lose a replica, never leave a finished job
with live pods after one more sync, and never retry beyond maxRetry."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from job_builders import NOW, by_task, context, job, task

from pyroclast.common.models import Action, DependsOn, Job, Pod, PodStatus
from pyroclast.controller.job import spec
from pyroclast.controller.job.initiate import initial_status
from pyroclast.controller.job.state import Operation, Plan, StateAction, Target, TargetType, execute

FINISHED = {"Completed", "Failed", "Terminated", "Aborted"}
ACTIONS = [
    Action.SYNC_JOB,
    Action.RESTART_JOB,
    Action.RESTART_TASK,
    Action.RESTART_POD,
    Action.ABORT_JOB,
    Action.RESUME_JOB,
    Action.TERMINATE_JOB,
    Action.COMPLETE_JOB,
]


@dataclass
class World:
    job: Job
    pods: dict[str, Pod] = field(default_factory=dict)
    pg: str | None = None

    def live(self) -> list[str]:
        return sorted(n for n, p in self.pods.items() if not p.metadata.deletion_timestamp)  # type: ignore[union-attr]

    def run(self, act: StateAction) -> Plan:
        if self.pg is None:
            self.pg = "Pending"  # the controller recreates the PodGroup before syncing
        self.job = initial_status(self.job, NOW)
        ctx = context(self.job, self.pods.values(), pg=self.pg)
        plan = execute(ctx, act)
        assert plan.error is None
        for p in plan.create_pods:
            assert p.metadata is not None
            assert p.metadata.name is not None
            name = p.metadata.name
            assert name not in self.pods
            meta = msgspec.structs.replace(p.metadata, uid=f"{name}-{len(self.pods)}", resource_version="1")
            self.pods[name] = msgspec.structs.replace(p, metadata=meta, status=PodStatus(phase="Pending"))
        for name in plan.delete_pods:
            p = self.pods[name]
            assert p.metadata is not None
            meta = msgspec.structs.replace(p.metadata, deletion_timestamp="2026-01-01T00:00:00Z")
            self.pods[name] = msgspec.structs.replace(p, metadata=meta)
        if plan.status is not None:
            self.job = plan.status
        if plan.delete_podgroup:
            self.pg = None
        if plan.operation is Operation.SYNC and ctx.podgroup_phase not in (None, "Pending"):
            self.check_no_lost_replica(set(plan.deferred_pods))
        assert spec.retry_count(self.job) <= spec.max_retry(self.job)
        return plan

    def check_no_lost_replica(self, deferred: set[str]) -> None:
        for t in spec.tasks(self.job):
            for i in range(spec.replicas(t)):
                name = f"job-{t.name}-{i}"
                assert name in self.pods or name in deferred
                if name in deferred:
                    assert t.depends_on is not None


def phase_of(p: Pod) -> str | None:
    return p.status.phase if p.status else None


events = st.one_of(
    st.tuples(st.just("act"), st.sampled_from(ACTIONS), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.just("advance"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("gone")),
    st.tuples(st.just("evict"), st.integers(0, 5)),
    st.tuples(st.just("admit")),
)


def apply(world: World, event: tuple) -> None:  # type: ignore[type-arg]
    kind = event[0]
    if kind == "act":
        _, action, ti, pi = event
        names = [t.name or "" for t in spec.tasks(world.job)]
        tname = names[ti % len(names)]
        target = None
        if action == Action.RESTART_TASK:
            target = Target(TargetType.TASK, task=tname)
        elif action == Action.RESTART_POD:
            target = Target(TargetType.POD, task=tname, pod=f"job-{tname}-{pi}")
        world.run(StateAction(action, target))
    elif kind == "advance":
        live = world.live()
        if live:
            name = live[event[1] % len(live)]
            p = world.pods[name]
            phase = p.status.phase if p.status else "Pending"
            nxt = {"Pending": "Running", "Running": "Succeeded" if event[2] else "Failed"}.get(
                phase or "", phase
            )
            world.pods[name] = msgspec.structs.replace(p, status=PodStatus(phase=nxt))
    elif kind == "gone":
        world.pods = {n: p for n, p in world.pods.items() if not p.metadata.deletion_timestamp}  # type: ignore[union-attr]
    elif kind == "evict":
        live = world.live()
        if live:
            del world.pods[live[event[1] % len(live)]]
    elif kind == "admit":
        world.pg = {None: "Pending", "Pending": "Inqueue"}.get(world.pg, "Running")


jobs = st.builds(
    lambda r1, r2, extra, retry, min_success, dep: job(
        task("a", r1, min_available=r1 if dep else None),
        task("b", r2, depends_on=DependsOn(name=["a"]) if dep else None),
        min_available=max(0, r1 + r2 - extra),
        max_retry=retry,
        min_success=min_success,
    ),
    st.integers(0, 3),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 4),
    st.none() | st.integers(1, 3),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(jobs, st.lists(events, max_size=40))
def test_random_histories_keep_invariants(j: Job, history: list) -> None:  # type: ignore[type-arg]
    world = World(j)
    world.run(StateAction(Action.SYNC_JOB))
    for event in history:
        apply(world, event)
    if spec.phase(world.job) in FINISHED:
        world.run(StateAction(Action.SYNC_JOB))
        live = [n for n in world.live() if phase_of(world.pods[n]) not in ("Succeeded", "Failed")]
        assert live == []
        assert spec.phase(world.job) in FINISHED


@settings(max_examples=200, deadline=None)
@given(jobs, st.lists(events, max_size=30))
def test_kill_never_touches_retained_or_unknown_pods(j: Job, history: list) -> None:  # type: ignore[type-arg]
    world = World(j)
    for event in history:
        apply(world, event)
    ctx = context(world.job, world.pods.values(), pg=world.pg)
    plan = execute(ctx, StateAction(Action.ABORT_JOB))
    pods = {n: p for ps in by_task(world.pods.values()).values() for n, p in ps.items()}
    for name in plan.delete_pods:
        assert name in pods
        assert not pods[name].metadata.deletion_timestamp
        if spec.phase(world.job) in ("Pending", "Running", ""):
            assert phase_of(pods[name]) not in ("Succeeded", "Failed")


@settings(max_examples=200, deadline=None)
@given(jobs, st.lists(events, max_size=30))
def test_repeated_sync_changes_no_pods(j: Job, history: list) -> None:  # type: ignore[type-arg]
    world = World(j)
    for event in history:
        apply(world, event)
    first = world.run(StateAction(Action.SYNC_JOB))
    again = world.run(StateAction(Action.SYNC_JOB))
    if first.operation is Operation.SYNC and again.operation is Operation.SYNC:
        assert again.create_pods == []
        assert again.delete_pods == []
