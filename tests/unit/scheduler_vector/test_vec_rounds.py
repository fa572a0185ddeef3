"""Rounds (:mod:`.framework.vector_rounds`): the searches of a gang's replicas taken at once
decide as the scalar reference does, one search at a time."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vec_support import CORE, Case, assert_same, available_extra, make_conf, run_one

from pyroclast.scheduler.api import snapshot
from pyroclast.scheduler.framework import NodeSearch, vector_gang
from pyroclast.scheduler.framework.vector_rounds import Round, start_round
from pyroclast.scheduler.plugins.nodeorder_norm import normalize, normalize_rows
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster

SETTINGS = settings(
    max_examples=int(os.environ.get("PYROCLAST_VEC_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def round_cases(draw: st.DrawFn) -> Case:
    """Many nodes per search window, big gangs: several windows per walk of the candidates,
    nodes that fill up (pod count, resources) and release, taints and selectors."""
    shape = ClusterShape(
        nodes=draw(st.integers(20, 90)),
        pending_pods=draw(st.integers(40, 400)),
        queues=draw(st.integers(1, 4)),
        max_gang=draw(st.integers(4, 60)),
        running_fill=draw(st.sampled_from([0.0, 0.3, 0.6])),
        releasing=draw(st.sampled_from([0.0, 0.3, 0.7])),
        best_effort=draw(st.sampled_from([0.0, 0.1])),
        pods_per_node=draw(st.integers(2, 20)),
        taints=draw(st.sampled_from([0.0, 0.3])),
        selectors=draw(st.sampled_from([0.0, 0.3])),
        node_scale=draw(st.sampled_from([0.25, 0.5, 1.0])),
        mixed_requests=draw(st.sampled_from([0.0, 0.3])),
    )
    search = NodeSearch(
        min_nodes_to_find=draw(st.integers(1, 8)),
        min_percentage_to_find=draw(st.integers(1, 10)),
        percentage_to_find=draw(st.sampled_from([0, 5, 10])),
        next_index=draw(st.integers(0, 90)),
    )
    return Case(synthetic_cluster(shape, seed=draw(st.integers(0, 2**16))), search, draw(st.booleans()))


@SETTINGS
@given(case=round_cases(), binpack=st.booleans())
def test_rounds_decide_as_the_scalar_reference(case: Case, binpack: bool) -> None:
    extra = [p for p in available_extra() if binpack or p != "binpack"]
    conf = make_conf([list(CORE), extra], cache=case.cache)
    snap = snapshot(case.records)
    assert_same(
        run_one(snap, conf, case.search, vectorised=True), run_one(snap, conf, case.search, vectorised=False)
    )


def test_a_gang_on_a_wide_cluster_is_placed_in_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds: list[Round] = []

    def counted(*args: object, **kwargs: object) -> Round | None:
        found = start_round(*args, **kwargs)  # type: ignore[arg-type]
        if found is not None:
            rounds.append(found)
        return found

    monkeypatch.setattr(vector_gang, "start_round", counted)
    shape = ClusterShape(nodes=80, pending_pods=300, max_gang=40, queues=2)
    conf = make_conf([list(CORE), [p for p in available_extra() if p != "binpack"]])
    snap = snapshot(synthetic_cluster(shape, seed=5))
    search = NodeSearch(min_nodes_to_find=4, min_percentage_to_find=5, percentage_to_find=5)
    vec = run_one(snap, conf, search, vectorised=True)
    assert rounds, "no search was taken in a round"
    assert sum(r.step for r in rounds) > len(rounds)  # rounds served later searches too
    assert_same(vec, run_one(snap, conf, search, vectorised=False))


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(st.integers(0, 300), min_size=6, max_size=6), min_size=1, max_size=5),
    marks=st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=5, max_size=5),
    reverse=st.booleans(),
)
def test_row_normalisation_is_the_normalisation_of_each_group(
    rows: list[list[int]], marks: list[list[bool]], reverse: bool
) -> None:
    scores = np.array(rows, dtype=np.int64)
    within = np.array(marks[: len(rows)], dtype=np.bool_)
    within[:, 0] |= ~within.any(axis=1)  # every row marks some node
    out = normalize_rows(scores, within, reverse=reverse)
    for i in range(len(rows)):
        group = scores[i][within[i]]
        assert out[i][within[i]].tolist() == normalize(group, reverse=reverse).tolist()
