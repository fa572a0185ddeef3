"""Node search (how many feasible nodes, where it resumes), predicate error cache, scoring."""

from __future__ import annotations

import pytest
from sched_support import node, pod

from pyroclast.scheduler.api import FitError, NodeInfo, Status, StatusCode, TaskInfo
from pyroclast.scheduler.framework import NodeSearch, PredicateHelper, resource_fit, select_best_node


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [(1, 1), (100, 100), (101, 100), (1000, 420), (5000, 500), (20000, 1000)],
)
def test_num_to_find_matches_volcano_defaults(nodes: int, expected: int) -> None:
    assert NodeSearch().num_to_find(nodes) == expected


def test_num_to_find_with_fixed_percentage() -> None:
    assert NodeSearch(percentage_to_find=100).num_to_find(5000) == 5000
    assert NodeSearch(percentage_to_find=10, min_nodes_to_find=10).num_to_find(500) == 50


def _nodes(n: int) -> list[NodeInfo]:
    return [NodeInfo(node(f"n{i:02d}")) for i in range(n)]


def _ok(t: TaskInfo, n: NodeInfo) -> FitError | None:
    return None


def test_search_stops_early_and_resumes_where_it_stopped() -> None:
    nodes = _nodes(10)
    task = TaskInfo.from_pod(pod("ns", "p", "pg"))
    search = NodeSearch(min_nodes_to_find=3, percentage_to_find=30)
    found, _ = PredicateHelper().predicate_nodes(task, nodes, _ok, search)
    assert [n.name for n in found] == ["n00", "n01", "n02"]
    assert search.next_index == 4  # the fourth feasible node ends the search
    found, _ = PredicateHelper().predicate_nodes(task, nodes, _ok, search)
    assert [n.name for n in found] == ["n04", "n05", "n06"]
    search.next_index = 9
    found, _ = PredicateHelper().predicate_nodes(task, nodes, _ok, search)
    assert [n.name for n in found] == ["n00", "n01", "n09"]  # wrapped, reported in node order


def test_small_clusters_check_every_node() -> None:
    nodes = _nodes(5)
    search = NodeSearch(next_index=3)
    task = TaskInfo.from_pod(pod("ns", "p", "pg"))
    found, _ = PredicateHelper().predicate_nodes(task, nodes, _ok, search)
    assert len(found) == 5
    assert search.next_index == 3


def test_error_cache_reuses_failures_per_role() -> None:
    calls: list[str] = []

    def only_last(t: TaskInfo, n: NodeInfo) -> FitError | None:
        calls.append(n.name)
        return None if n.name == "n02" else FitError.of(t, n, Status(StatusCode.UNSCHEDULABLE, "no"))

    nodes = _nodes(3)
    helper = PredicateHelper()
    a = TaskInfo.from_pod(pod("ns", "a", "pg", role="w"))
    b = TaskInfo.from_pod(pod("ns", "b", "pg", role="w"))
    helper.predicate_nodes(a, nodes, only_last)
    found, errors = helper.predicate_nodes(b, nodes, only_last)
    assert [n.name for n in found] == ["n02"]
    assert calls == ["n00", "n01", "n02", "n02"]
    assert errors.message() == "0/2 nodes are unavailable: 2 no."
    loner = TaskInfo.from_pod(pod("ns", "c", "pg"))  # no role: no cache
    helper.predicate_nodes(loner, nodes, only_last)
    assert calls[-3:] == ["n00", "n01", "n02"]


def test_resource_fit_names_the_first_short_resource() -> None:
    n = NodeInfo(node("n", cpu="1", memory="1Gi"))
    err = resource_fit(TaskInfo.from_pod(pod("ns", "p", "pg", cpu="2", memory="2Gi")), n)
    assert err is not None
    assert err.reasons() == ["Insufficient cpu"]
    assert resource_fit(TaskInfo.from_pod(pod("ns", "q", "pg", cpu="1", memory="1Gi")), n) is None


def test_select_best_node_takes_first_of_highest_score() -> None:
    a, b, c = _nodes(3)
    assert select_best_node({1.0: [a], 3.0: [b, c]}) is b
    assert select_best_node({}) is None
