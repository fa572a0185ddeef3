"""The node matrix stays equal to the scalar NodeInfos, and its masks to the scalar fit checks."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from vec_support import CORE, NOW, make_conf

from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import TaskStatus, snapshot
from pyroclast.scheduler.framework import Session, open_session, resource_fit
from pyroclast.scheduler.framework.vector import NodeMatrix
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster


def _session(seed: int, *, vectorised: bool = True) -> Session:
    shape = ClusterShape(
        nodes=8, pending_pods=30, max_gang=5, node_scale=0.25, releasing=0.4, running_fill=0.4
    )
    snap = snapshot(synthetic_cluster(shape, seed=seed))
    return open_session(snap, make_conf([list(CORE)]), uid="s1", now=NOW, vectorised=vectorised)


def _assert_in_step(mat: NodeMatrix) -> None:
    mat.sync()
    space, r = mat.space, mat.zero_row
    for i, node in enumerate(mat.nodes):
        assert mat.idle[:r, i].tolist() == space.to_array(node.idle).tolist()
        assert mat.future[:r, i].tolist() == space.to_array(node.future_idle()).tolist()
        assert mat.allocatable[:r, i].tolist() == space.to_array(node.allocatable).tolist()
        assert int(mat.ntasks[i]) == len(node.tasks)
    assert not mat.idle[r].any()
    assert not mat.future[r].any()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), ops=st.lists(st.integers(0, 10_000), min_size=1, max_size=25))
def test_vec_matrix_follows_statement_operations(seed: int, ops: list[int]) -> None:
    ssn = _session(seed)
    assert ssn.vector is not None
    mat = ssn.vector.matrix
    pending = [t for j in ssn.jobs.values() for t in j.tasks_in(TaskStatus.PENDING).values()]
    running = [t for j in ssn.jobs.values() for t in j.tasks_in(TaskStatus.RUNNING).values()]
    stmt = ssn.statement()
    for op in ops:
        kind = op % 4
        if kind == 0 and pending:
            task = pending.pop(op % len(pending))
            stmt.allocate(task, ssn.node_list[op % len(ssn.node_list)])
        elif kind == 1 and pending:
            task = pending.pop(op % len(pending))
            stmt.pipeline(task, ssn.node_list[op % len(ssn.node_list)].name)
        elif kind == 2 and running:
            stmt.evict(running.pop(op % len(running)), "test")
        elif kind == 3:
            stmt.discard()
        _assert_in_step(mat)
    stmt.commit()
    _assert_in_step(mat)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cpu=st.integers(0, 20_000),
    mem=st.integers(0, 64 * 2**30),
    gpu=st.sampled_from([None, 0, 1000, 4000]),
)
def test_vec_fit_masks_match_scalar(seed: int, cpu: int, mem: int, gpu: int | None) -> None:
    ssn = _session(seed)
    assert ssn.vector is not None
    mat = ssn.vector.matrix
    scalars = {"pods": 1000} if gpu is None else {"pods": 1000, "nvidia.com/gpu": gpu}
    request = Resource(cpu, mem, scalars)
    task = next(t for j in ssn.jobs.values() for t in j.tasks.values())
    task.init_resreq = request
    fit = mat.fit_mask(request)
    idle = mat.idle_mask(request)
    for i, node in enumerate(mat.nodes):
        assert bool(fit[i]) == (resource_fit(task, node) is None)
        assert bool(idle[i]) == request.less_equal(node.idle)
    short = np.flatnonzero(~fit)
    if len(short):
        names = mat.plan(request).names
        for i, j in zip(short.tolist(), mat.first_shortfall(request, short).tolist(), strict=True):
            assert names[j] == request.insufficient(mat.nodes[i].future_idle())[0]


def test_vec_switch_selects_the_scalar_reference() -> None:
    assert _session(1, vectorised=False).vector is None
    assert _session(1, vectorised=True).vector is not None


def test_vec_environment_variable_sets_the_default() -> None:
    code = "from pyroclast.scheduler.framework.vector import VECTORISED_DEFAULT as D; print(D)"
    for value, expected in (("0", "False"), ("1", "True")):
        env = {**os.environ, "PYROCLAST_SCHEDULER_VECTORISED": value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected
