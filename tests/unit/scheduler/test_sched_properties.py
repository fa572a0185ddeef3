"""Properties of whole sessions on random clusters: no node over-committed, no partial gang."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sched_support import GI, NOW, conf, node, pod, podgroup, queue

from pyroclast.common.bus.messages import NodeRecord, PodRecord
from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import SnapshotRecord, TaskStatus, pod_resource, resource_of, snapshot
from pyroclast.scheduler.framework import ACTIONS, close_session, open_session, run_session

CPUS = ["500m", "1", "1500m", "2", "3"]
MEMS = ["512Mi", "1Gi", "2Gi", "3Gi"]


@st.composite
def clusters(draw: st.DrawFn) -> list[SnapshotRecord]:
    n_nodes = draw(st.integers(1, 4))
    nodes = [
        node(
            f"n{i}",
            cpu=str(draw(st.integers(1, 6))),
            memory=f"{draw(st.integers(1, 8))}Gi",
            pods=draw(st.integers(2, 8)),
        )
        for i in range(n_nodes)
    ]
    records: list[SnapshotRecord] = [*nodes, queue(), queue("q2")]
    idle = {n.name: resource_of(n.allocatable) for n in nodes}
    for j in range(draw(st.integers(1, 5))):
        size = draw(st.integers(1, 5))
        min_member = draw(st.integers(0, size))
        roles = [draw(st.sampled_from(["", "ps", "worker"])) for _ in range(size)]
        min_task_member = {
            r: draw(st.integers(0, roles.count(r))) for r in set(roles) if r and draw(st.booleans())
        }
        records.append(
            podgroup(
                "ns",
                f"pg{j}",
                min_member,
                queue=draw(st.sampled_from(["default", "q2"])),
                phase=draw(st.sampled_from(["Pending", "Inqueue", "Running"])),
                created=draw(st.integers(0, 10)),
                min_task_member=min_task_member,
            )
        )
        for t in range(size):
            best_effort = draw(st.integers(0, 9)) == 0
            cpu = None if best_effort else draw(st.sampled_from(CPUS))
            mem = None if best_effort else draw(st.sampled_from(MEMS))
            rec = pod(
                "ns",
                f"pg{j}-t-{t}",
                f"pg{j}",
                cpu,
                mem,
                priority=draw(st.integers(0, 2)),
                created=t,
                role=roles[t],
            )
            if draw(st.integers(0, 3)) == 0:  # already running somewhere it fits
                req = pod_resource(rec.requests)
                fits = [n for n, r in idle.items() if req.less_equal(r)]
                if fits:
                    where = draw(st.sampled_from(fits))
                    idle[where] = idle[where].sub(req)
                    deleting = draw(st.booleans())
                    rec = pod(
                        "ns",
                        rec.name,
                        f"pg{j}",
                        cpu,
                        mem,
                        node_name=where,
                        phase="Running",
                        deleting=deleting,
                        role=roles[t],
                    )
            records.append(rec)
    return records


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), st.booleans())
def test_session_never_overcommits_nor_splits_a_gang(records: list[SnapshotRecord], backfill: bool) -> None:
    """Backfill checks no resources (best-effort pods; the predicates plugin caps pods per node),
    so with it only cpu and memory are held to allocatable."""
    cfg = conf("enqueue, allocate, backfill" if backfill else "enqueue, allocate")
    ssn = open_session(snapshot(records), cfg, uid="p", now=NOW)
    for name in cfg.actions:
        ACTIONS[name]().execute(ssn)
    result = close_session(ssn)
    binds = result.binds()
    bind_refs = [
        f"{d.namespace}/{d.name}" for d in result.decisions if d.__class__.__name__ == "BindDecision"
    ]
    assert len(bind_refs) == len(set(bind_refs))  # one bind per pod

    pods = {f"{r.namespace}/{r.name}": r for r in records if isinstance(r, PodRecord)}
    used: dict[str, Resource] = {}
    for ref, prec in pods.items():
        where = prec.node_name or binds.get(ref, "")
        if where and prec.phase not in ("Succeeded", "Failed"):
            used[where] = used.get(where, Resource()).add(pod_resource(prec.requests))
    for rec in records:
        if isinstance(rec, NodeRecord):
            total, cap = used.get(rec.name, Resource()), resource_of(rec.allocatable)
            if backfill:
                total, cap = Resource(total.cpu_milli, total.memory), Resource(cap.cpu_milli, cap.memory)
            assert total.less_equal(cap), rec.name

    bound_per_job = Counter(pods[ref].pod_group for ref in binds)
    for job in ssn.jobs.values():
        if bound_per_job[job.name]:
            assert ssn.job_ready(job), f"{job.name}: {bound_per_job[job.name]} bound, min {job.min_available}"
        if job.count(TaskStatus.BINDING):
            assert ssn.job_ready(job)
    for ref in binds:
        assert pods[ref].node_name == ""


def test_property_generator_smoke() -> None:
    recs = [
        node("n1", cpu="1", memory="1Gi"),
        queue(),
        podgroup("ns", "pg", 1),
        pod("ns", "a", "pg", "1", "1Gi"),
    ]
    ssn = open_session(snapshot(recs), conf(), uid="p", now=NOW)
    for name in ("enqueue", "allocate", "backfill"):
        ACTIONS[name]().execute(ssn)
    assert close_session(ssn).binds() == {"ns/a": "n1"}
    assert GI == 1024**3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_sessions_are_deterministic_and_leave_the_snapshot_alone(records: list[SnapshotRecord]) -> None:
    snap = snapshot(records)
    before = {
        name: (n.idle, n.used, n.releasing, n.pipelined, set(n.tasks)) for name, n in snap.nodes.items()
    }
    statuses = {uid: {t.uid: t.status for t in job.tasks.values()} for uid, job in snap.jobs.items()}
    first = run_session(snap, conf(), uid="d", now=NOW)
    second = run_session(snap, conf(), uid="d", now=NOW)
    assert first.decisions == second.decisions
    assert first.explanations == second.explanations
    assert before == {
        name: (n.idle, n.used, n.releasing, n.pipelined, set(n.tasks)) for name, n in snap.nodes.items()
    }
    assert statuses == {uid: {t.uid: t.status for t in job.tasks.values()} for uid, job in snap.jobs.items()}
