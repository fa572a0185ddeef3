"""Priority queue, tier semantics of the extension points, and session plumbing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sched_support import node, pod, podgroup, queue, session

from pyroclast.scheduler.api import FitError, JobInfo, NodeInfo, SchedulingError, Status, StatusCode, TaskInfo
from pyroclast.scheduler.conf import parse_conf
from pyroclast.scheduler.framework import (
    ABSTAIN,
    PERMIT,
    REJECT,
    PriorityQueue,
    Session,
    open_session,
    register_plugin,
)
from pyroclast.scheduler.framework.registry import PLUGINS, Plugin


def test_priority_queue_pops_in_less_order() -> None:
    q: PriorityQueue[int] = PriorityQueue(lambda a, b: a < b, [5, 3, 8, 1, 9, 2])
    out = [q.pop() for _ in range(len(q))]
    assert out == [1, 2, 3, 5, 8, 9]
    assert q.empty()


def test_priority_queue_clone_is_independent() -> None:
    q: PriorityQueue[int] = PriorityQueue(lambda a, b: a > b, [1, 2, 3])
    c = q.clone()
    assert c.pop() == 3
    assert len(q) == 3


class _Probe(Plugin):
    """A plugin whose functions are set by each test."""

    name = "probe"
    setup: Callable[[Session, str], None] = staticmethod(lambda ssn, name: None)

    def on_session_open(self, ssn: Session) -> None:
        type(self).setup(ssn, self.name)


def _probe(name: str, setup: Callable[[Session, str], None]) -> type[Plugin]:
    return type(name, (_Probe,), {"name": name, "setup": staticmethod(setup)})


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Callable[[Session, str], None]], None]:
    def add(name: str, setup: Callable[[Session, str], None]) -> None:
        monkeypatch.setitem(PLUGINS, name, _probe(name, setup))

    return add


RECORDS = [
    node("n1"),
    queue(),
    podgroup("ns", "a", created=1),
    podgroup("ns", "b", created=2),
    pod("ns", "p", "a"),
]


def _open(text: str) -> Session:
    from sched_support import snap

    cfg = parse_conf(text)
    return open_session(snap(RECORDS), cfg, uid="s", now=None)


def _jobs(ssn: Session) -> tuple[JobInfo, JobInfo]:
    return ssn.jobs["ns/a"], ssn.jobs["ns/b"]


def test_order_first_nonzero_wins_and_fallback_is_creation(probes: Callable[..., None]) -> None:
    probes("zero", lambda ssn, n: ssn.add_job_order_fn(n, lambda lv, rv: 0))
    probes("flip", lambda ssn, n: ssn.add_job_order_fn(n, lambda lv, rv: 1 if lv.name == "a" else -1))
    ssn = _open('actions: "allocate"\ntiers:\n- plugins:\n  - name: zero\n- plugins:\n  - name: flip\n')
    a, b = _jobs(ssn)
    assert ssn.job_order_fn(b, a)
    assert not ssn.job_order_fn(a, b)
    ssn = _open(
        'actions: "allocate"\ntiers:\n- plugins:\n  - name: zero\n  - name: flip\n    enableJobOrder: false\n'
    )
    assert ssn.job_order_fn(a, b)  # disabled: creation time decides


def test_job_ready_needs_every_plugin(probes: Callable[..., None]) -> None:
    probes("ok_ready", lambda ssn, n: ssn.add_job_ready_fn(n, lambda j: True))
    probes("no_ready", lambda ssn, n: ssn.add_job_ready_fn(n, lambda j: False))
    ssn = _open(
        'actions: "allocate"\ntiers:\n- plugins:\n  - name: ok_ready\n- plugins:\n  - name: no_ready\n'
    )
    assert not ssn.job_ready(_jobs(ssn)[0])
    ssn = _open(
        'actions: "allocate"\ntiers:\n- plugins:\n  - name: ok_ready\n- plugins:\n'
        "  - name: no_ready\n    enableJobReady: false\n"
    )
    assert ssn.job_ready(_jobs(ssn)[0])


@pytest.mark.parametrize(
    ("tier1", "tier2", "expected"),
    [
        ([ABSTAIN], [ABSTAIN], True),
        ([PERMIT, ABSTAIN], [REJECT], True),  # a permitting tier decides
        ([ABSTAIN], [REJECT], False),
        ([PERMIT, REJECT], [PERMIT], False),  # any reject before a decision rejects
    ],
)
def test_pipelined_and_enqueueable_votes(
    probes: Callable[..., None], tier1: list[int], tier2: list[int], expected: bool
) -> None:
    names1 = [f"v1x{i}" for i in range(len(tier1))]
    names2 = [f"v2x{i}" for i in range(len(tier2))]
    for name, vote in zip(names1 + names2, tier1 + tier2, strict=True):

        def setup(ssn: Session, n: str, v: int = vote) -> None:
            ssn.add_job_pipelined_fn(n, lambda j: v)
            ssn.add_job_enqueueable_fn(n, lambda j: v)

        probes(name, setup)
    text = 'actions: "allocate"\ntiers:\n- plugins:\n' + "".join(f"  - name: {n}\n" for n in names1)
    text += "- plugins:\n" + "".join(f"  - name: {n}\n" for n in names2)
    ssn = _open(text)
    job = _jobs(ssn)[0]
    assert ssn.job_pipelined(job) is expected
    assert ssn.job_enqueueable(job) is expected


def test_job_starving_first_tier_with_fns_decides(probes: Callable[..., None]) -> None:
    probes("s_no", lambda ssn, n: ssn.add_job_starving_fn(n, lambda j: False))
    probes("s_yes", lambda ssn, n: ssn.add_job_starving_fn(n, lambda j: True))
    ssn = _open('actions: "allocate"\ntiers:\n- plugins:\n  - name: s_yes\n- plugins:\n  - name: s_no\n')
    assert ssn.job_starving(_jobs(ssn)[0])
    ssn = _open('actions: "allocate"\ntiers:\n- plugins:\n  - name: s_no\n  - name: s_yes\n')
    assert not ssn.job_starving(_jobs(ssn)[0])


def _tasks(ssn: Session) -> list[TaskInfo]:
    return list(ssn.jobs["ns/a"].tasks.values())


def test_preemptable_intersects_within_a_tier_and_empty_falls_through(probes: Callable[..., None]) -> None:
    probes("all", lambda ssn, n: ssn.add_preemptable_fn(n, lambda p, ts: (list(ts), PERMIT)))
    probes("none", lambda ssn, n: ssn.add_preemptable_fn(n, lambda p, ts: ([], PERMIT)))
    probes("abstain", lambda ssn, n: ssn.add_preemptable_fn(n, lambda p, ts: ([], ABSTAIN)))
    ssn = _open('actions: "allocate"\ntiers:\n- plugins:\n  - name: abstain\n  - name: all\n')
    tasks = _tasks(ssn)
    assert ssn.preemptable(tasks[0], tasks) == tasks
    ssn = _open('actions: "allocate"\ntiers:\n- plugins:\n  - name: none\n- plugins:\n  - name: all\n')
    assert ssn.preemptable(tasks[0], _tasks(ssn)) == _tasks(ssn)
    ssn = _open('actions: "allocate"\ntiers:\n- plugins:\n  - name: abstain\n')
    assert ssn.preemptable(tasks[0], _tasks(ssn)) is None


def test_predicate_every_plugin_and_scores_sum(probes: Callable[..., None]) -> None:
    def fail(t: TaskInfo, n: NodeInfo) -> FitError | None:
        return FitError.of(t, n, Status(StatusCode.UNSCHEDULABLE, "nope"))

    probes(
        "ok",
        lambda ssn, n: (
            ssn.add_predicate_fn(n, lambda t, nd: None),
            ssn.add_node_order_fn(n, lambda t, nd: 2.0),
        ),
    )
    probes("bad", lambda ssn, n: (ssn.add_predicate_fn(n, fail), ssn.add_node_order_fn(n, lambda t, nd: 3.0)))
    ssn = _open('actions: "allocate"\ntiers:\n- plugins:\n  - name: ok\n- plugins:\n  - name: bad\n')
    task, nd = _tasks(ssn)[0], ssn.nodes["n1"]
    err = ssn.predicate(task, nd)
    assert err is not None
    assert err.reasons() == ["nope"]
    assert ssn.node_order(task, nd) == 5.0


def test_open_session_rejects_unregistered_plugin() -> None:
    from sched_support import snap

    cfg = parse_conf('actions: "allocate"\ntiers:\n- plugins:\n  - name: gang\n')
    with pytest.raises(SchedulingError, match='plugin "gang" is not available'):
        open_session(snap(RECORDS), cfg, plugins={})


def test_register_plugin_makes_it_nameable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pyroclast.scheduler.framework.registry.PLUGINS", dict(PLUGINS))
    from pyroclast.scheduler.framework import registry

    register_plugin("custom", _probe("custom", lambda ssn, n: None))
    assert "custom" in registry.PLUGINS


def test_session_uses_a_clone() -> None:
    from sched_support import snap

    s = snap(RECORDS)
    ssn = open_session(s, parse_conf('actions: "allocate"\n'))
    task = next(iter(ssn.jobs["ns/a"].tasks.values()))
    ssn.statement().allocate(task, ssn.nodes["n1"])
    assert s.nodes["n1"].tasks == {}
    assert session(RECORDS).jobs["ns/a"].count(task.status) == 0
