"""The predicates plugin's count of placed pods with required anti-affinity equals a recount."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from plugin_support import conf_of, node, pod, podgroup, queue, session

from pyroclast.common.models.core import Affinity, PodAffinityTerm, PodAntiAffinity
from pyroclast.common.models.meta import LabelSelector, LabelSelectorRequirement
from pyroclast.scheduler.api import NodeInfo, SchedulingError, TaskStatus
from pyroclast.scheduler.plugins.predicate_checks import required_anti_affinity_terms
from pyroclast.scheduler.plugins.predicates import PredicatesPlugin


def _anti() -> Affinity:
    sel = LabelSelector(
        match_expressions=[LabelSelectorRequirement(key="role", operator="In", values=["worker"])]
    )
    term = PodAffinityTerm(label_selector=sel, topology_key="kubernetes.io/hostname")
    return Affinity(
        pod_anti_affinity=PodAntiAffinity(required_during_scheduling_ignored_during_execution=[term])
    )


def recount(plugin: PredicatesPlugin, nodes: list[NodeInfo]) -> int:
    anti = plugin.anti_nodes or set()
    return sum(
        1 for n in nodes if n.name in anti for t in n.tasks.values() if required_anti_affinity_terms(t.pod)
    )


@settings(max_examples=60, deadline=None)
@given(
    placed=st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=5),
    pending=st.lists(st.booleans(), min_size=1, max_size=5),
    ops=st.lists(
        st.tuples(
            st.sampled_from(["allocate", "pipeline", "evict", "discard", "commit", "ssn_evict"]),
            st.integers(0, 9),
            st.integers(0, 2),
        ),
        max_size=25,
    ),
)
def test_placed_anti_count_equals_a_recount(
    placed: list[tuple[int, bool]], pending: list[bool], ops: list[tuple[str, int, int]]
) -> None:
    recs = [queue()]
    recs += [node(f"n{i}", "64", "64Gi", labels={"kubernetes.io/hostname": f"n{i}"}) for i in range(3)]
    recs.append(podgroup("ns", "run", phase="Running"))
    for k, (where, anti) in enumerate(placed):
        affinity = _anti() if anti else None
        recs.append(
            pod(
                "ns",
                f"r{k}",
                "run",
                node_name=f"n{where}",
                phase="Running",
                labels={"role": "worker"},
                affinity=affinity,
            )
        )
    recs.append(podgroup("ns", "new", 1))
    for k, anti in enumerate(pending):
        recs.append(pod("ns", f"p{k}", "new", labels={"role": "worker"}, affinity=_anti() if anti else None))
    ssn = session(recs, conf_of("allocate", ["predicates"]))
    plugin = ssn.plugins["predicates"]
    assert isinstance(plugin, PredicatesPlugin)
    tasks = [t for j in ssn.jobs.values() for t in j.tasks.values()]
    stmt = ssn.statement()
    assert plugin.placed_anti_count() == recount(plugin, ssn.node_list)
    for op, i, where in ops:
        task = tasks[i % len(tasks)]
        target = ssn.node_list[where]
        try:
            if op == "allocate" and task.status is TaskStatus.PENDING:
                stmt.allocate(task, target)
            elif op == "pipeline" and task.status is TaskStatus.PENDING:
                stmt.pipeline(task, target.name)
            elif op == "evict" and task.status is TaskStatus.RUNNING:
                stmt.evict(task, "test")
            elif op == "ssn_evict" and task.status is TaskStatus.RUNNING:
                ssn.evict(task, "test")
            elif op == "discard":
                stmt.discard()
            elif op == "commit":
                stmt.commit()
        except SchedulingError:
            pass
        count = recount(plugin, ssn.node_list)
        assert plugin.placed_anti_count() == count
        plain = next((t for t in tasks if not required_anti_affinity_terms(t.pod)), None)
        if plain is not None:
            assert plugin.needs_inter_pod(plain) == (count > 0)
