"""Allocate through plugin hooks: predicates, node order, best node, allocatable, overused, events."""

from __future__ import annotations

import pytest
from sched_support import conf, install_plugin, node, pod, podgroup, queue, run

from pyroclast.common.bus.messages import PodRecord
from pyroclast.scheduler.api import FitError, NodeInfo, Status, StatusCode, TaskInfo
from pyroclast.scheduler.conf import SchedulerConf
from pyroclast.scheduler.framework import Event, EventHandler, Session

RECS = [node("n1"), node("n2"), node("n3"), queue(), podgroup("ns", "pg", 1), pod("ns", "p", "pg")]


def _conf(*plugins: str) -> SchedulerConf:
    cfg: SchedulerConf = conf("enqueue, allocate", plugins=("priority", "gang", *plugins))
    return cfg


def test_predicate_plugin_filters_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    def only_n3(t: TaskInfo, n: NodeInfo) -> FitError | None:
        return None if n.name == "n3" else FitError.of(t, n, Status(StatusCode.UNSCHEDULABLE, "not n3"))

    install_plugin(monkeypatch, "onlyn3", lambda ssn, name: ssn.add_predicate_fn(name, only_n3))
    assert run(RECS, _conf("onlyn3")).binds() == {"ns/p": "n3"}


def test_predicate_failure_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(t: TaskInfo, n: NodeInfo) -> FitError | None:
        return FitError.of(t, n, Status(StatusCode.UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) didn't match"))

    install_plugin(monkeypatch, "never", lambda ssn, name: ssn.add_predicate_fn(name, never))
    res = run(RECS, _conf("never"))
    assert res.binds() == {}
    (exp,) = res.explanations
    assert exp.node_reasons == {"node(s) didn't match": 3}
    assert exp.task_reasons["p"] == "Unschedulable: 0/3 nodes are unavailable: 3 node(s) didn't match."


def test_non_failing_fit_error_codes_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def success(t: TaskInfo, n: NodeInfo) -> FitError | None:
        return FitError.of(t, n, Status(StatusCode.SUCCESS, "fine"))

    install_plugin(monkeypatch, "soft", lambda ssn, name: ssn.add_predicate_fn(name, success))
    assert run(RECS, _conf("soft")).binds() == {"ns/p": "n1"}


def test_node_order_and_batch_scores_pick_the_best(monkeypatch: pytest.MonkeyPatch) -> None:
    def setup(ssn: Session, name: str) -> None:
        ssn.add_node_order_fn(name, lambda t, n: {"n1": 1.0, "n2": 5.0, "n3": 2.0}[n.name])
        ssn.add_batch_node_order_fn(name, lambda t, nodes: {"n3": 10.0})

    install_plugin(monkeypatch, "scorer", setup)
    assert run(RECS, _conf("scorer")).binds() == {"ns/p": "n3"}


def test_best_node_fn_overrides_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    def setup(ssn: Session, name: str) -> None:
        ssn.add_node_order_fn(name, lambda t, n: 9.0 if n.name == "n1" else 0.0)
        ssn.add_best_node_fn(name, lambda t, scores: min(scores.items())[1][-1])

    install_plugin(monkeypatch, "picker", setup)
    assert run(RECS, _conf("picker")).binds() == {"ns/p": "n3"}


def test_idle_nodes_are_preferred_over_releasing_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(
        monkeypatch,
        "favor1",
        lambda ssn, name: ssn.add_node_order_fn(name, lambda t, n: float(n.name == "n1")),
    )
    recs = [
        node("n1", cpu="1"),
        node("n2", cpu="1"),
        queue(),
        podgroup("ns", "old", 1),
        pod("ns", "going", "old", node_name="n1", phase="Running", deleting=True),
        podgroup("ns", "pg", 1),
        pod("ns", "p", "pg"),
    ]
    assert run(recs, _conf("favor1")).binds() == {"ns/p": "n2"}


def test_allocatable_and_overused_gate_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(
        monkeypatch, "deny", lambda ssn, name: ssn.add_allocatable_fn(name, lambda q, t: t.name != "p")
    )
    assert run(RECS, _conf("deny")).binds() == {}
    install_plugin(monkeypatch, "full", lambda ssn, name: ssn.add_overused_fn(name, lambda q: True))
    assert run(RECS, _conf("full")).binds() == {}


def test_event_handler_refusal_skips_the_node_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def refuse(ev: Event) -> None:
        seen.append(ev.task.name)
        ev.err = "no"

    install_plugin(
        monkeypatch, "refuser", lambda ssn, name: ssn.add_event_handler(EventHandler(allocate=refuse))
    )
    assert run(RECS, _conf("refuser")).binds() == {}
    assert seen == ["p"]


def test_pipelined_gang_keeps_its_places_without_binding() -> None:
    recs = [
        node("n1", cpu="1"),
        node("n2", cpu="1"),
        queue(),
        podgroup("ns", "old", 1),
        pod("ns", "going", "old", node_name="n1", phase="Running", deleting=True),
        podgroup("ns", "pg", 2, created=1),
        pod("ns", "pg-t-0", "pg"),
        pod("ns", "pg-t-1", "pg"),
        podgroup("ns", "late", 1, created=2),
        pod("ns", "late-t-0", "late"),
    ]
    res = run(recs, conf("enqueue, allocate"))
    # pg holds n2 (allocated) and n1's releasing cpu (pipelined): nothing left for "late"
    assert res.binds() == {}
    exp = {e.name: e for e in res.explanations}
    assert "once resource is released" in exp["pg"].task_reasons["pg-t-1"]
    assert "Insufficient cpu" in exp["late"].task_reasons["late-t-0"]


def _selector(t: TaskInfo, n: NodeInfo) -> FitError | None:
    if all(n.record.labels.get(k) == v for k, v in t.pod.node_selector.items()):
        return None
    return FitError.of(
        t, n, Status(StatusCode.UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) didn't match selector")
    )


def _role_pod(name: str, role: str) -> PodRecord:
    rec: PodRecord = pod("c1", name, "pg1", "1", "1G", role=role, node_selector={"nodeRole": role})
    return rec


@pytest.mark.parametrize(
    ("min_member", "min_task_member", "pods", "nodes", "expected"),
    [
        # predicate fails for the master: the worker alone meets minMember 1
        (
            1,
            None,
            [("p1", "master"), ("p2", "worker")],
            [("n1", "2", "worker")],
            {"c1/p2": "n1"},
        ),
        # the second master fails, the master minimum is met: continue to a worker
        (
            2,
            {"master": 1, "worker": 1},
            [("p0", "master"), ("p1", "master"), ("p2", "worker"), ("p3", "worker")],
            [("n1", "1", "master"), ("n2", "1", "worker")],
            {"c1/p0": "n1", "c1/p2": "n2"},
        ),
        # the master minimum cannot be met: stop, nothing is bound
        (
            2,
            {"master": 2, "worker": 0},
            [("p0", "master"), ("p1", "master"), ("p2", "worker"), ("p3", "worker")],
            [("n1", "1", "master"), ("n2", "2", "worker")],
            {},
        ),
    ],
)
def test_volcano_role_cases(
    monkeypatch: pytest.MonkeyPatch,
    min_member: int,
    min_task_member: dict[str, int] | None,
    pods: list[tuple[str, str]],
    nodes: list[tuple[str, str, str]],
    expected: dict[str, str],
) -> None:
    install_plugin(monkeypatch, "selector", lambda ssn, name: ssn.add_predicate_fn(name, _selector))
    recs = [
        *(node(n, cpu=cpu, memory="2Gi", labels={"nodeRole": role}) for n, cpu, role in nodes),
        queue("c1"),
        podgroup("c1", "pg1", min_member, queue="c1", min_task_member=min_task_member),
        *(_role_pod(name, role) for name, role in pods),
    ]
    assert run(recs, _conf("selector")).binds() == expected
