"""Invariants of the plugin formulas over generated inputs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from plugin_support import node, node_info, pod

from pyroclast.common.resources import Resource
from pyroclast.scheduler.plugins.fresource import FRes
from pyroclast.scheduler.plugins.nodeorder import (
    balanced_allocation_score,
    default_normalize,
    least_allocated_score,
    most_allocated_score,
)
from pyroclast.scheduler.plugins.proportion import QueueAttr, compute_deserved

amount = st.integers(min_value=0, max_value=64_000)


@settings(max_examples=200, deadline=None)
@given(
    total_cpu=st.integers(min_value=1, max_value=64_000),
    queues=st.lists(st.tuples(st.integers(min_value=1, max_value=10), amount), min_size=1, max_size=6),
)
def test_deserved_never_exceeds_request_or_total(total_cpu: int, queues: list[tuple[int, int]]) -> None:
    attrs = {}
    for i, (weight, request) in enumerate(queues):
        a = QueueAttr(f"q{i}", weight, request=FRes(float(request), 0.0))
        a.real_capability = FRes(float(total_cpu), 0.0)
        attrs[a.name] = a
    compute_deserved(Resource(total_cpu, 0), attrs)
    assert sum(a.deserved.cpu for a in attrs.values()) <= total_cpu + 1e-6
    for a in attrs.values():
        assert a.deserved.cpu <= a.request.cpu + 1e-6
    # Saturated: either every request is met or the cluster is (nearly) all handed out.
    met = all(a.deserved.cpu >= a.request.cpu - 0.1 for a in attrs.values())
    assert met or sum(a.deserved.cpu for a in attrs.values()) >= total_cpu - 0.1 * len(attrs)


@settings(max_examples=200, deadline=None)
@given(
    cpu=st.integers(min_value=1, max_value=64),
    mem_gi=st.integers(min_value=1, max_value=256),
    placed=st.lists(st.tuples(amount, amount), max_size=4),
    req=st.tuples(amount, amount),
)
def test_resource_scores_stay_in_range(
    cpu: int, mem_gi: int, placed: list[tuple[int, int]], req: tuple[int, int]
) -> None:
    pods = [
        pod("ns", f"x{i}", cpu=f"{c}m", memory=f"{m}Mi", node_name="n") for i, (c, m) in enumerate(placed)
    ]
    n = node_info(node("n", str(cpu), f"{mem_gi}Gi"), *pods)
    p = pod("ns", "p", cpu=f"{req[0]}m", memory=f"{req[1]}Mi")
    for score in (least_allocated_score(p, n), most_allocated_score(p, n), balanced_allocation_score(p, n)):
        assert 0 <= score <= 100


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=20), st.booleans())
def test_normalize_range(scores: list[int], reverse: bool) -> None:
    out = default_normalize(scores, reverse=reverse)
    assert len(out) == len(scores)
    assert all(0 <= s <= 100 for s in out)
    if scores and max(scores) > 0:
        top = out[scores.index(max(scores))]
        assert top == (0 if reverse else 100)
