"""The vectorised node search against the scalar helper: same nodes, same rotation, same errors."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from vec_support import CORE, NOW, make_conf

from pyroclast.scheduler.api import FitError, NodeInfo, TaskInfo, TaskStatus, snapshot
from pyroclast.scheduler.framework import NodeSearch, PredicateHelper, open_session, resource_fit
from pyroclast.scheduler.framework.vector_search import vector_search
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    nodes=st.integers(1, 20),
    min_nodes=st.integers(1, 5),
    start=st.integers(0, 30),
    cache=st.booleans(),
    picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=12),
)
def test_vec_search_matches_predicate_helper(
    seed: int, nodes: int, min_nodes: int, start: int, cache: bool, picks: list[int]
) -> None:
    shape = ClusterShape(
        nodes=nodes, pending_pods=40, max_gang=6, node_scale=0.25, running_fill=0.5, mixed_requests=0.3
    )
    snap = snapshot(synthetic_cluster(shape, seed=seed))
    ssn = open_session(snap, make_conf([list(CORE)]), uid="s", now=NOW)
    vec = vector_search(ssn, cache)
    assert vec is not None
    helper = PredicateHelper(cache)
    scalar_search = NodeSearch(min_nodes_to_find=min_nodes, min_percentage_to_find=10, next_index=start)
    vector_search_state = NodeSearch(min_nodes_to_find=min_nodes, min_percentage_to_find=10, next_index=start)
    pending = [t for j in ssn.jobs.values() for t in j.tasks_in(TaskStatus.PENDING).values()]
    stmt = ssn.statement()

    def fn(task: TaskInfo, node: NodeInfo) -> FitError | None:
        return resource_fit(task, node)

    for pick in picks:
        if not pending:
            break
        task = pending[pick % len(pending)]
        feasible, errors = helper.predicate_nodes(task, ssn.node_list, fn, scalar_search)
        selection, vec_errors = vec.predicate_nodes(task, vector_search_state)
        assert [n.name for n in selection] == [n.name for n in feasible]
        assert vector_search_state.next_index == scalar_search.next_index
        if not feasible:
            assert vec_errors.message() == errors.message()
            assert vec_errors.reason_histogram() == errors.reason_histogram()
            assert {k: (v.statuses, v.task_name) for k, v in vec_errors.nodes.items()} == {
                k: (v.statuses, v.task_name) for k, v in errors.nodes.items()
            }
            assert list(vec_errors.nodes) == list(errors.nodes)
            continue
        best = vec.best_node(task, selection)
        assert best is not None
        pending.remove(task)
        if task.init_resreq.less_equal(best.idle):
            stmt.allocate(task, best)
        else:
            stmt.pipeline(task, best.name)
