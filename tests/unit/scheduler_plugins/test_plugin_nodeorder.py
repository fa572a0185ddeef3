"""Nodeorder: Kubernetes score formulas, normalisation, weights, and Volcano's session cases."""

from __future__ import annotations

import pytest
from plugin_support import Records, conf_of, node, node_info, pod, podgroup, queue, run, session

from pyroclast.common.bus.messages import NodeRecord, PodRecord
from pyroclast.common.models.core import (
    Affinity,
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    PreferredSchedulingTerm,
    Taint,
    Toleration,
    WeightedPodAffinityTerm,
)
from pyroclast.common.models.meta import LabelSelector
from pyroclast.scheduler.conf import Arguments, SchedulerConf
from pyroclast.scheduler.plugins.nodeorder import (
    NodeOrderPlugin,
    NodeOrderWeights,
    balanced_allocation_score,
    default_normalize,
    least_allocated_score,
    most_allocated_score,
    node_affinity_score,
    taint_toleration_score,
)
from pyroclast.scheduler.plugins.pod_affinity_score import inter_pod_affinity_scores, topology_scores

WEIGHT_KEYS = {
    "least": "leastrequested.weight",
    "most": "mostrequested.weight",
    "balanced": "balancedresource.weight",
    "nodeaffinity": "nodeaffinity.weight",
    "taint": "tainttoleration.weight",
    "podaffinity": "podaffinity.weight",
}


def _conf(**weights: int) -> SchedulerConf:
    args = {key: weights.get(short, 0) for short, key in WEIGHT_KEYS.items()}
    cfg: SchedulerConf = conf_of("allocate", ["gang", {"name": "nodeorder", "arguments": args}])
    return cfg


def test_default_weights() -> None:
    w = NodeOrderWeights(Arguments())
    assert (w.least_requested, w.most_requested, w.balanced_resource) == (1, 0, 1)
    assert (w.node_affinity, w.pod_affinity, w.taint_toleration) == (2, 2, 3)
    assert NodeOrderPlugin(Arguments({"mostrequested.weight": 5})).weights.most_requested == 5


def test_least_and_most_allocated_formulas() -> None:
    n = node_info(node("n", "4", "10"))
    p = pod("ns", "p", cpu="1", memory="2")
    # cpu (4000-1000)*100/4000 = 75, memory (10-2)*100/10 = 80; weighted 50/50 -> 77
    assert least_allocated_score(p, n) == 77
    # cpu 25, memory 20 -> 22
    assert most_allocated_score(p, n) == 22


def test_missing_requests_use_kube_defaults() -> None:
    n = node_info(node("n", "1", "1Gi"))
    p = pod("ns", "p", cpu=None, memory=None)
    # 100m of 1000m -> 90; 200Mi of 1Gi -> (1024-200)*100/1024 = 80
    assert least_allocated_score(p, n) == 85


def test_placed_pods_count_as_requested() -> None:
    busy = node_info(node("b", "4", "8Gi"), pod("ns", "x", cpu="2", memory="4Gi", node_name="b"))
    p = pod("ns", "p", cpu="1", memory="1Gi")
    assert least_allocated_score(p, busy) == 31  # cpu 25, memory 37 -> 31
    assert most_allocated_score(p, busy) == 68


def test_balanced_allocation() -> None:
    n = node_info(node("n", "4", "10"))
    assert balanced_allocation_score(pod("ns", "p", cpu="3", memory="5"), n) == 87
    assert balanced_allocation_score(pod("ns", "p", cpu="2", memory="5"), n) == 100


def test_default_normalize() -> None:
    assert default_normalize([1, 2, 4]) == [25, 50, 100]
    assert default_normalize([0, 0]) == [0, 0]
    assert default_normalize([0, 0], reverse=True) == [100, 100]
    assert default_normalize([0, 1, 3], reverse=True) == [100, 67, 0]


def test_node_affinity_and_taint_raw_scores() -> None:
    term = NodeSelectorTerm(
        match_expressions=[NodeSelectorRequirement(key="zone", operator="In", values=["a"])]
    )
    aff = Affinity(
        node_affinity=NodeAffinity(
            preferred_during_scheduling_ignored_during_execution=[
                PreferredSchedulingTerm(weight=5, preference=term),
                PreferredSchedulingTerm(weight=0, preference=term),
            ]
        )
    )
    p = pod("ns", "p", affinity=aff, tolerations=[Toleration(key="k1", operator="Exists")])
    a = node_info(node("a", labels={"zone": "a"}))
    b = node_info(
        node(
            "b",
            taints=[
                Taint(key="k1", value="v", effect="PreferNoSchedule"),
                Taint(key="k2", value="v", effect="PreferNoSchedule"),
                Taint(key="k3", value="v", effect="NoSchedule"),
            ],
        )
    )
    assert node_affinity_score(p, a) == 5
    assert node_affinity_score(p, b) == 0
    assert taint_toleration_score(p, a) == 0
    assert taint_toleration_score(p, b) == 1


def _one_pod(p: PodRecord, *nodes: NodeRecord) -> Records:
    return [podgroup("c1", "pg1", 0, queue="c1"), queue("c1"), p, *nodes]


def test_volcano_least_allocated_strategy() -> None:
    recs = _one_pod(pod("c1", "p1", "pg1", "1", "1G"), node("n1", "2", "4Gi", 10), node("n2", "4", "8Gi", 10))
    assert run(recs, _conf(least=1)).binds() == {"c1/p1": "n2"}


def test_volcano_most_allocated_strategy() -> None:
    recs = _one_pod(pod("c1", "p1", "pg1", "1", "1G"), node("n1", "2", "4Gi", 10), node("n2", "4", "8Gi", 10))
    assert run(recs, _conf(most=1)).binds() == {"c1/p1": "n1"}


def test_volcano_balanced_allocation() -> None:
    # Volcano's case with the node names swapped, so that name order cannot decide.
    recs = _one_pod(
        pod("c1", "p1", "pg1", "1", "1Gi"), node("n1", "4", "2Gi", 10), node("n2", "2", "2Gi", 10)
    )
    assert run(recs, _conf(balanced=10)).binds() == {"c1/p1": "n2"}


def test_volcano_node_affinity_preference() -> None:
    term = NodeSelectorTerm(
        match_expressions=[NodeSelectorRequirement(key="zone", operator="In", values=["zone1"])]
    )
    aff = Affinity(
        node_affinity=NodeAffinity(
            preferred_during_scheduling_ignored_during_execution=[
                PreferredSchedulingTerm(weight=100, preference=term)
            ]
        )
    )
    recs = _one_pod(
        pod("c1", "p1", "pg1", "1", "1G", affinity=aff),
        node("n1", "2", "4Gi", 10, labels={"zone": "zone2"}),
        node("n2", "2", "4Gi", 10, labels={"zone": "zone1"}),
    )
    assert run(recs, _conf(nodeaffinity=10)).binds() == {"c1/p1": "n2"}


def test_volcano_taint_toleration_preference() -> None:
    recs = _one_pod(
        pod("c1", "p1", "pg1", "1", "1G"),
        node("n0", "2", "4Gi", 10, taints=[Taint(key="key1", value="value1", effect="PreferNoSchedule")]),
        node("n1", "2", "4Gi", 10),
    )
    assert run(recs, _conf(taint=10)).binds() == {"c1/p1": "n1"}


def test_volcano_inter_pod_affinity_preference() -> None:
    term = PodAffinityTerm(
        label_selector=LabelSelector(match_labels={"service": "s1"}), topology_key="kubernetes.io/hostname"
    )
    aff = Affinity(
        pod_affinity=PodAffinity(
            preferred_during_scheduling_ignored_during_execution=[
                WeightedPodAffinityTerm(weight=100, pod_affinity_term=term)
            ]
        )
    )
    recs = [
        podgroup("c1", "pg1", 0, queue="c1"),
        queue("c1"),
        pod("c1", "p1", "pg1", "1", "1G", node_name="n2", phase="Running", labels={"service": "s1"}),
        pod("c1", "p-noise", "pg1", "1", "1G", node_name="n3", phase="Running", labels={"service": "s2"}),
        pod("c1", "p2", "pg1", "1", "1G", affinity=aff),
        *[node(n, "2", "4Gi", 10, labels={"kubernetes.io/hostname": n}) for n in ("n1", "n2", "n3")],
    ]
    assert run(recs, _conf(podaffinity=10)).binds() == {"c1/p2": "n2"}


def test_batch_scores_sum_weighted_plugins() -> None:
    recs = _one_pod(
        pod("c1", "p1", "pg1", "1", "1Gi"), node("n1", "2", "2Gi", 10), node("n2", "4", "2Gi", 10)
    )
    ssn = session(recs, _conf(least=1, balanced=2, taint=3))
    task = next(iter(ssn.jobs["c1/pg1"].tasks.values()))
    scores = ssn.batch_node_order(task, ssn.node_list)
    # n1: least (50+50)/2=50, balanced 100; n2: least (75+50)/2=62, balanced int((1-.125)*100)=87
    assert scores == pytest.approx({"n1": 50 + 200 + 300, "n2": 62 + 174 + 300})


def test_preferred_pod_affinity_and_anti_affinity_scores() -> None:
    sel = LabelSelector(match_labels={"app": "db"})
    term = PodAffinityTerm(label_selector=sel, topology_key="zone")
    aff = Affinity(
        pod_affinity=PodAffinity(
            preferred_during_scheduling_ignored_during_execution=[
                WeightedPodAffinityTerm(weight=10, pod_affinity_term=term)
            ]
        ),
        pod_anti_affinity=PodAntiAffinity(
            preferred_during_scheduling_ignored_during_execution=[
                WeightedPodAffinityTerm(weight=4, pod_affinity_term=term)
            ]
        ),
    )
    db = pod("ns", "db", labels={"app": "db"}, node_name="a")
    nodes = [
        node_info(node("a", labels={"zone": "z1"}), db),
        node_info(node("b", labels={"zone": "z1"})),
        node_info(node("c", labels={"zone": "z2"})),
    ]
    p = pod("ns", "p", affinity=aff)
    assert topology_scores(p, nodes) == {("zone", "z1"): 6}
    assert inter_pod_affinity_scores(p, nodes, nodes) == [100, 100, 0]
    # No term applies: the plugin scores nothing.
    assert inter_pod_affinity_scores(pod("ns", "q"), nodes, nodes) == [0, 0, 0]
