"""The vector forms of binpack and nodeorder equal their scalar oracles, before and after placements."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from plugin_support import NOW, Records, conf_of, node, pod, podgroup, queue, res, run

from pyroclast.common.models.core import (
    Affinity,
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinityTerm,
    PodAntiAffinity,
    PreferredSchedulingTerm,
    Taint,
    Toleration,
)
from pyroclast.common.models.meta import LabelSelector
from pyroclast.scheduler.api import snapshot
from pyroclast.scheduler.framework import Session, open_session, run_session
from pyroclast.scheduler.framework.vector_errors import ErrorTable
from pyroclast.scheduler.framework.vector_forms import VectorForms
from pyroclast.scheduler.plugins.binpack import BinpackForm, BinpackPlugin, binpack_score
from pyroclast.scheduler.plugins.nodeorder import NodeOrderPlugin, batch_scores
from pyroclast.scheduler.plugins.nodeorder_vector import NodeOrderForm
from pyroclast.scheduler.plugins.predicates import PredicatesPlugin
from pyroclast.scheduler.plugins.predicates_vector import PredicatesForm

NODEORDER = {
    "name": "nodeorder",
    "arguments": {"mostrequested.weight": 2, "leastrequested.weight": 1, "balancedresource.weight": 3},
}
BINPACK = {"name": "binpack", "arguments": {"binpack.resources": "nvidia.com/gpu", "binpack.weight": 3}}


def _anti() -> Affinity:
    term = PodAffinityTerm(
        label_selector=LabelSelector(match_labels={"role": "worker"}), topology_key="kubernetes.io/hostname"
    )
    anti = PodAntiAffinity(required_during_scheduling_ignored_during_execution=[term])
    return Affinity(pod_anti_affinity=anti)


def _prefer_zone(k: int) -> Affinity | None:
    if k % 2:
        return None
    req = NodeSelectorRequirement(key="zone", operator="In", values=["z1"])
    term = NodeSelectorTerm(match_expressions=[req])
    pref = PreferredSchedulingTerm(weight=k + 1, preference=term)
    return Affinity(node_affinity=NodeAffinity(preferred_during_scheduling_ignored_during_execution=[pref]))


def _open(recs: Records) -> Session:
    return open_session(snapshot(recs), conf_of("allocate", [NODEORDER, BINPACK]), now=NOW, vectorised=True)


def _check(ssn: Session) -> None:
    assert ssn.vector is not None
    matrix = ssn.vector.matrix
    no = ssn.plugins["nodeorder"]
    bp = ssn.plugins["binpack"]
    assert isinstance(no, NodeOrderPlugin)
    assert isinstance(bp, BinpackPlugin)
    no_form, bp_form = NodeOrderForm(no, ssn, matrix), BinpackForm(bp, ssn, matrix)
    idx = np.arange(len(ssn.node_list), dtype=np.intp)
    for job in ssn.jobs.values():
        for task in job.tasks.values():
            oracle = batch_scores(task.pod, ssn.node_list, ssn.node_list, no.weights, no.affinity_nodes)
            assert no_form.scores(task, idx).tolist() == [oracle[n.name] for n in ssn.node_list]
            expected = [binpack_score(task.resreq, n.allocatable, n.used, bp.weights) for n in ssn.node_list]
            assert bp_form.scores(task, idx).tolist() == expected
            sub = idx[::2]
            assert no_form.scores(task, sub).tolist() == [
                batch_scores(
                    task.pod, [ssn.node_list[i] for i in sub], ssn.node_list, no.weights, no.affinity_nodes
                )[ssn.node_list[i].name]
                for i in sub
            ]


cpu = st.sampled_from(["0", "100m", "500m", "1", "1500m", "3"])
mem = st.sampled_from(["0", "128Mi", "1Gi", "3Gi"])


@settings(max_examples=40, deadline=None)
@given(
    nodes=st.lists(
        st.tuples(st.sampled_from(["2", "4", "8"]), st.sampled_from(["4Gi", "8Gi"]), st.integers(0, 4)),
        min_size=1,
        max_size=5,
    ),
    placed=st.lists(st.tuples(st.integers(0, 4), cpu, mem, st.integers(0, 2)), max_size=6),
    pending=st.lists(st.tuples(cpu, mem, st.integers(0, 2), st.booleans()), min_size=1, max_size=4),
)
def test_forms_match_scalar(
    nodes: list[tuple[str, str, int]],
    placed: list[tuple[int, str, str, int]],
    pending: list[tuple[str, str, int, bool]],
) -> None:
    recs: Records = [queue()]
    for i, (c, m, gpus) in enumerate(nodes):
        taints = [Taint(key="t", value="v", effect="PreferNoSchedule")] if i % 2 else []
        extra = res(gpu=gpus) if gpus else None
        recs.append(node(f"n{i}", c, m, extra=extra, taints=taints, labels={"zone": f"z{i % 3}"}))
    recs.append(podgroup("ns", "run", phase="Running"))
    for k, (where, c, m, gpus) in enumerate(placed):
        n = f"n{where % len(nodes)}"
        extra = res(gpu=gpus) if gpus else None
        recs.append(pod("ns", f"r{k}", "run", c, m, node_name=n, phase="Running", extra=extra))
    recs.append(podgroup("ns", "new"))
    for k, (c, m, gpus, no_requests) in enumerate(pending):
        if no_requests:
            recs.append(pod("ns", f"p{k}", "new", None, None))
        else:
            extra = res(gpu=gpus) if gpus else None
            recs.append(pod("ns", f"p{k}", "new", c, m, extra=extra, affinity=_prefer_zone(k)))
    ssn = _open(recs)
    _check(ssn)
    # Place pending tasks (as allocate would) and check again against the changed nodes.
    stmt = ssn.statement()
    for task in list(ssn.jobs["ns/new"].tasks.values()):
        for target in ssn.node_list:
            if task.init_resreq.less_equal(target.idle):
                stmt.allocate(task, target)
                break
    _check(ssn)


def test_full_conf_uses_the_vector_scores_and_agrees() -> None:
    recs: Records = [node("a", "4", "8Gi"), node("b", "8", "8Gi"), queue()]
    recs.append(podgroup("ns", "pg", 1))
    recs += [pod("ns", f"p{i}", "pg", "1", "1Gi", created=i) for i in range(6)]
    cfg = conf_of("allocate", ["gang"], [NODEORDER, BINPACK, "predicates"])
    ssn = open_session(snapshot(recs), cfg, now=NOW, vectorised=True)
    assert ssn.vector is not None
    assert VectorForms(ssn, ssn.vector.matrix).scores_vectorised
    vec = run(recs, cfg).binds()
    assert run_session(snapshot(recs), cfg, uid="s1", now=NOW, vectorised=False).binds() == vec


zone = st.sampled_from(["a", "b", "c"])


@settings(max_examples=40, deadline=None)
@given(
    nodes=st.lists(
        st.tuples(zone, st.booleans(), st.booleans(), st.integers(1, 3)),
        min_size=1,
        max_size=5,
    ),
    placed=st.lists(st.tuples(st.integers(0, 4), st.booleans(), st.booleans()), max_size=5),
    pending=st.lists(
        st.tuples(st.sampled_from(["", "a", "b"]), st.booleans(), st.booleans(), st.booleans()),
        min_size=1,
        max_size=4,
    ),
)
def test_predicates_form_matches_scalar(
    nodes: list[tuple[str, bool, bool, int]],
    placed: list[tuple[int, bool, bool]],
    pending: list[tuple[str, bool, bool, bool]],
) -> None:
    recs: Records = [queue()]
    for i, (z, tainted, cordoned, max_pods) in enumerate(nodes):
        taints = [Taint(key="k", value="v", effect="NoSchedule")] if tainted else []
        labels = {"zone": z, "kubernetes.io/hostname": f"n{i}"}
        recs.append(
            node(f"n{i}", "8", "16Gi", max_pods, labels=labels, taints=taints, unschedulable=cordoned)
        )
    recs.append(podgroup("ns", "run", phase="Running"))
    for k, (where, port, anti) in enumerate(placed):
        recs.append(
            pod(
                "ns",
                f"r{k}",
                "run",
                "100m",
                "1Mi",
                node_name=f"n{where % len(nodes)}",
                phase="Running",
                labels={"role": "worker"},
                host_ports=[80] if port else [],
                affinity=_anti() if anti else None,
            )
        )
    recs.append(podgroup("ns", "new"))
    for k, (sel, tolerate, port, anti) in enumerate(pending):
        tol = [Toleration(key="k", operator="Exists")] if tolerate else []
        recs.append(
            pod(
                "ns",
                f"p{k}",
                "new",
                "100m",
                "1Mi",
                node_selector={"zone": sel} if sel else None,
                tolerations=tol,
                host_ports=[80] if port else [],
                labels={"role": "worker"},
                affinity=_anti() if anti else None,
            )
        )
    ssn = open_session(snapshot(recs), conf_of("allocate", ["predicates"]), now=NOW, vectorised=True)
    assert ssn.vector is not None
    plugin = ssn.plugins["predicates"]
    assert isinstance(plugin, PredicatesPlugin)
    form = PredicatesForm(plugin, ssn, ssn.vector.matrix)
    table = ErrorTable()
    idx = np.arange(len(ssn.node_list), dtype=np.intp)
    stmt = ssn.statement()
    for _ in range(2):  # before and after placing the pending tasks where they pass
        for task in list(ssn.jobs["ns/new"].tasks.values()):
            expected = [plugin.statuses(task, n) for n in ssn.node_list]
            assert form.mask(task).tolist() == [not s for s in expected]
            codes = form.codes(task, idx, table)
            assert [table.keys[c][2] for c in codes.tolist()] == [tuple(s) for s in expected]
            if task.node_name:
                continue
            target = next((n for n, st in zip(ssn.node_list, expected, strict=True) if not st), None)
            if target is not None:
                stmt.allocate(task, target)
