"""Gangs of identical tasks on the vectorised path: cached per-shape node values patched
node by node decide as the scalar reference does, and the one-node patch equals the array."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vec_support import CORE, NOW, Case, assert_same, available_extra, make_conf, run_one

from pyroclast.scheduler.api import TaskStatus, snapshot
from pyroclast.scheduler.framework import NodeSearch, Session, open_session
from pyroclast.scheduler.framework.vector_batch import CandidateRuns
from pyroclast.scheduler.framework.vector_cache import ColumnCache
from pyroclast.scheduler.framework.vector_forms import VectorForms
from pyroclast.scheduler.plugins import nodeorder_resources
from pyroclast.scheduler.plugins.binpack import BinpackForm
from pyroclast.scheduler.plugins.nodeorder_vector import NodeOrderForm
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def gang_cases(draw: st.DrawFn) -> Case:
    """Fewer, bigger gangs than the general cases: many replicas of one request per role,
    small nodes that fill up mid-gang, gangs too big to fit (discarded), mixed requests."""
    shape = ClusterShape(
        nodes=draw(st.integers(8, 60)),
        pending_pods=draw(st.integers(20, 240)),
        queues=draw(st.integers(1, 3)),
        max_gang=draw(st.integers(8, 60)),
        running_fill=draw(st.sampled_from([0.0, 0.3])),
        releasing=draw(st.sampled_from([0.0, 0.3])),
        best_effort=draw(st.sampled_from([0.0, 0.1])),
        pods_per_node=draw(st.integers(3, 20)),
        taints=draw(st.sampled_from([0.0, 0.3])),
        selectors=draw(st.sampled_from([0.0, 0.3])),
        node_scale=draw(st.sampled_from([0.1, 0.25, 0.5])),
        mixed_requests=draw(st.sampled_from([0.0, 0.0, 0.2])),
    )
    search = NodeSearch(
        min_nodes_to_find=draw(st.integers(1, 20)),
        min_percentage_to_find=draw(st.integers(1, 40)),
        percentage_to_find=draw(st.sampled_from([0, 0, 20, 100])),
        next_index=draw(st.integers(0, 60)),
    )
    return Case(synthetic_cluster(shape, seed=draw(st.integers(0, 2**16))), search, draw(st.booleans()))


@SETTINGS
@given(case=gang_cases())
def test_vec_gangs_match_scalar(case: Case) -> None:
    conf = make_conf([list(CORE), available_extra()], cache=case.cache)
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )


@SETTINGS
@given(case=gang_cases())
def test_vec_gangs_allocate_only_match_scalar(case: Case) -> None:
    conf = make_conf([list(CORE), available_extra()], cache=case.cache, actions="allocate")
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )


def _forms(seed: int, scale: float) -> tuple[Session, VectorForms]:
    """A vectorised session on a small cluster with every plugin, and its vector forms."""
    shape = ClusterShape(
        nodes=30, pending_pods=80, max_gang=10, running_fill=0.5, best_effort=0.2, node_scale=scale
    )
    conf = make_conf([list(CORE), available_extra()])
    ssn = open_session(snapshot(synthetic_cluster(shape, seed=seed)), conf, uid="t", now=NOW, vectorised=True)
    assert ssn.vector is not None
    return ssn, VectorForms(ssn, ssn.vector.matrix)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([0.1, 0.5, 1.0]))
def test_nodeorder_one_node_patch_equals_array(seed: int, scale: float) -> None:
    ssn, forms = _forms(seed, scale)
    form = next(f for f in forms.batch if isinstance(f, NodeOrderForm))
    every = np.arange(len(ssn.node_list), dtype=np.intp)
    for job in ssn.jobs.values():
        for task in job.tasks_in(TaskStatus.PENDING).values():
            requests = form._requests(task.pod)
            # (least requested, most requested, balanced allocation)
            for weights in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (2, 3, 4)):
                array = np.empty(len(every), dtype=np.int64)
                nodeorder_resources.scores(form.rows, every, array, requests, weights)
                one = [nodeorder_resources.score_at(form.rows, i, requests, weights) for i in every.tolist()]
                assert one == array.tolist()


def test_column_cache_patches_changed_nodes_only() -> None:
    shape = ClusterShape(nodes=40, pending_pods=10)
    ssn = open_session(
        snapshot(synthetic_cluster(shape, seed=3)), make_conf([list(CORE)]), uid="t", vectorised=True
    )
    assert ssn.vector is not None
    matrix = ssn.vector.matrix
    calls: list[list[int]] = []
    state = np.arange(40, dtype=np.int64)

    def compute(idx: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        calls.append(idx.tolist())
        picked: npt.NDArray[np.int64] = state[idx].copy()
        return picked

    cache: ColumnCache[np.int64] = ColumnCache(matrix)
    assert cache.get("k", compute).tolist() == list(range(40))
    state[[3, 7]] = 100
    matrix.log.extend([7, 3, 7])
    assert cache.get("k", compute).tolist() == state.tolist()
    assert calls[-1] == [3, 7]
    state[5] = -1
    matrix.log.append(5)
    assert cache.get("k", compute, lambda i: float(state[i])).tolist() == state.tolist()
    assert calls[-1] == [3, 7]  # the one-node patch used the scalar function
    matrix.log.extend(range(40))  # beyond the patch limit: recomputed whole
    state[:] = 1
    assert cache.get("k", compute).tolist() == [1] * 40
    assert len(calls[-1]) == 40


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    steps=st.lists(st.tuples(st.integers(0, 39), st.booleans(), st.booleans()), max_size=30),
)
def test_candidate_runs_match_the_masks(seed: int, steps: list[tuple[int, bool, bool]]) -> None:
    """Patched candidates equal ``flatnonzero(fit & ok & pmask)`` after every change."""
    shape = ClusterShape(nodes=40, pending_pods=5)
    ssn = open_session(
        snapshot(synthetic_cluster(shape, seed=seed)), make_conf([list(CORE)]), uid="t", vectorised=True
    )
    assert ssn.vector is not None
    matrix = ssn.vector.matrix
    rng = np.random.default_rng(seed)
    fit = rng.random(40) < 0.7
    pmask = rng.random(40) < 0.8
    ok = rng.random(40) < 0.9
    runs = CandidateRuns(matrix)
    version = 0
    held = runs.candidates(fit, pmask, ok, version)
    before = held.copy()
    for node, to_fit, to_pass in steps:
        fit[node], pmask[node] = to_fit, to_pass
        matrix.log.append(node)
        if node % 7 == 0:  # the error cache changed: a new run
            ok[node] = False
            version += 1
        got = runs.candidates(fit, pmask, ok, version)
        assert got.tolist() == np.flatnonzero(fit & pmask & ok).tolist()
    assert held.tolist() == before.tolist()  # an array handed out is never changed


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([0.1, 0.5, 1.0]))
def test_binpack_one_node_patch_equals_array(seed: int, scale: float) -> None:
    if "binpack" not in available_extra():
        return
    ssn, forms = _forms(seed, scale)
    form = next(f for f in forms.node_order if isinstance(f, BinpackForm))
    every = np.arange(len(ssn.node_list), dtype=np.intp)
    for job in ssn.jobs.values():
        for task in job.tasks_in(TaskStatus.PENDING).values():
            array = form._scores(task.resreq, every).tolist()
            assert [form._score_at(task.resreq, i) for i in every.tolist()] == array
