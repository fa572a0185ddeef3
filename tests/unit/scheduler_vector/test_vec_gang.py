"""The fused job turn of a vectorised allocate (:mod:`.framework.vector_gang`) decides as the
scalar reference does: gangs of mixed shapes, gangs discarded (too big, or their queue
over its share mid-gang), tasks pipelined on releasing resources; and the deferred shares
of drf and proportion equal the eager ones."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vec_support import CORE, Case, assert_same, available_extra, make_conf, run_one

from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import snapshot
from pyroclast.scheduler.framework import NodeSearch
from pyroclast.scheduler.framework.vector_search import VectorSearch
from pyroclast.scheduler.plugins.drf import DrfAttr, calculate_share
from pyroclast.scheduler.plugins.fresource import FRes
from pyroclast.scheduler.plugins.proportion import QueueAttr
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster

SETTINGS = settings(
    max_examples=int(os.environ.get("PYROCLAST_VEC_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def turn_cases(draw: st.DrawFn) -> Case:
    """Big gangs on small nodes, more pods than room (queues reach their deserved share
    mid-gang, gangs are discarded), releasing resources (pipelined tasks), mixed requests
    within a job."""
    shape = ClusterShape(
        nodes=draw(st.integers(4, 40)),
        pending_pods=draw(st.integers(30, 300)),
        queues=draw(st.integers(2, 4)),
        max_gang=draw(st.integers(5, 80)),
        running_fill=draw(st.sampled_from([0.0, 0.3, 0.6])),
        releasing=draw(st.sampled_from([0.0, 0.3, 0.7])),
        best_effort=draw(st.sampled_from([0.0, 0.1])),
        pods_per_node=draw(st.integers(3, 30)),
        taints=draw(st.sampled_from([0.0, 0.3])),
        selectors=draw(st.sampled_from([0.0, 0.3])),
        node_scale=draw(st.sampled_from([0.1, 0.25, 0.5])),
        mixed_requests=draw(st.sampled_from([0.0, 0.3, 0.6])),
    )
    search = NodeSearch(
        min_nodes_to_find=draw(st.integers(1, 20)),
        min_percentage_to_find=draw(st.integers(1, 40)),
        percentage_to_find=draw(st.sampled_from([0, 0, 20, 100])),
        next_index=draw(st.integers(0, 40)),
    )
    return Case(synthetic_cluster(shape, seed=draw(st.integers(0, 2**16))), search, draw(st.booleans()))


@SETTINGS
@given(case=turn_cases(), actions=st.sampled_from(["enqueue, allocate, backfill", "allocate"]))
def test_fused_turns_match_scalar(case: Case, actions: str) -> None:
    conf = make_conf([list(CORE), available_extra()], cache=case.cache, actions=actions)
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )


@SETTINGS
@given(case=turn_cases())
def test_fused_turns_without_scoring_match_scalar(case: Case) -> None:
    """No node order: the first idle node of the window (the generic choice)."""
    extra = [p for p in available_extra() if p not in ("nodeorder", "binpack")]
    conf = make_conf([list(CORE), extra], cache=case.cache)
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )


@pytest.mark.parametrize("taints", [0.0, 0.4])
def test_default_conf_takes_the_fused_choice(monkeypatch: pytest.MonkeyPatch, taints: float) -> None:
    """Volcano's default tiers (binpack's float scores and nodeorder's integer ones, taints
    and selectors as node masks): every search is one kernel call, none the generic one."""
    calls: list[int] = []
    generic = VectorSearch.predicate_nodes

    def counted(*args: object) -> object:
        calls.append(1)
        return generic(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(VectorSearch, "predicate_nodes", counted)
    shape = ClusterShape(nodes=30, pending_pods=200, max_gang=20, taints=taints, selectors=taints)
    conf = make_conf([list(CORE), available_extra()])
    snap = snapshot(synthetic_cluster(shape, seed=11))
    vec = run_one(snap, conf, NodeSearch(), vectorised=True)
    assert not calls
    assert_same(vec, run_one(snap, conf, NodeSearch(), vectorised=False))


amounts = st.integers(0, 2**40).map(float)


@settings(max_examples=200, deadline=None)
@given(
    alloc=st.tuples(amounts, amounts, st.dictionaries(st.sampled_from(["gpu", "pods", "x"]), amounts)),
    deserved=st.tuples(amounts, amounts, st.dictionaries(st.sampled_from(["gpu", "pods", "x"]), amounts)),
    req=st.tuples(amounts, amounts, st.dictionaries(st.sampled_from(["gpu", "pods", "x"]), amounts)),
)
def test_queue_fits_equals_exceeding(
    alloc: tuple[float, float, dict[str, float]],
    deserved: tuple[float, float, dict[str, float]],
    req: tuple[float, float, dict[str, float]],
) -> None:
    attr = QueueAttr("q", 1, allocated=FRes(*alloc), deserved=FRes(*deserved))
    r = FRes(*req)
    assert attr.fits(r) == (not attr.allocated.add(r).exceeding(attr.deserved, r))


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 64_000), st.integers(0, 2**36), st.booleans()), max_size=20))
def test_drf_deferred_share_equals_eager(steps: list[tuple[int, int, bool]]) -> None:
    total = Resource(cpu_milli=64_000, memory=2**38)
    names = total.names()
    lazy = DrfAttr()
    allocated = Resource()
    for cpu, mem, add in steps:
        r = Resource(cpu_milli=cpu, memory=mem)
        allocated = allocated.add(r) if add else allocated.sub_without_assert(r)
        lazy.charge(allocated, total, names)
        dominant, share = calculate_share(allocated, total, names)
        assert (lazy.dominant_resource, lazy.share) == (dominant, share)
