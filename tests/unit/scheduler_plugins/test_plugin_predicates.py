"""Predicates: each filter's verdict and reason text, the chain's order, and Volcano's session cases."""

from __future__ import annotations

import pytest
from plugin_support import conf_of, node, node_info, pod, podgroup, queue, run, session, task_of

from pyroclast.common.models.core import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    Taint,
    Toleration,
)
from pyroclast.common.models.meta import LabelSelector, LabelSelectorRequirement
from pyroclast.scheduler.api import StatusCode
from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.plugins.predicate_checks import (
    ERR_AFFINITY_RULES,
    ERR_ANTI_AFFINITY_RULES,
    ERR_EXISTING_ANTI_AFFINITY,
    ERR_NODE_AFFINITY,
    ERR_NODE_PORTS,
    ERR_POD_NUMBER_EXCEEDED,
    ERR_UNSCHEDULABLE,
    check_inter_pod_affinity,
    check_node_affinity,
    check_node_ports,
    check_node_unschedulable,
    check_taint_toleration,
    inter_pod_state,
)
from pyroclast.scheduler.plugins.predicates import PredicatesPlugin


def _required(*terms: NodeSelectorTerm) -> Affinity:
    return Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(node_selector_terms=list(terms))
        )
    )


def _expr(key: str, op: str, *values: str) -> NodeSelectorTerm:
    return NodeSelectorTerm(
        match_expressions=[NodeSelectorRequirement(key=key, operator=op, values=list(values) or None)]
    )


LABELS = {"zone": "a", "gen": "5", "gpu": "true"}


@pytest.mark.parametrize(
    ("term", "fits"),
    [
        (_expr("zone", "In", "a", "b"), True),
        (_expr("zone", "In", "b"), False),
        (_expr("zone", "NotIn", "b"), True),
        (_expr("missing", "NotIn", "b"), True),
        (_expr("zone", "NotIn", "a"), False),
        (_expr("gpu", "Exists"), True),
        (_expr("missing", "Exists"), False),
        (_expr("missing", "DoesNotExist"), True),
        (_expr("gpu", "DoesNotExist"), False),
        (_expr("gen", "Gt", "4"), True),
        (_expr("gen", "Gt", "5"), False),
        (_expr("gen", "Lt", "6"), True),
        (_expr("zone", "Gt", "1"), False),
        (_expr("gen", "Gt", "x"), False),
        (_expr("zone", "In"), False),
        (NodeSelectorTerm(), False),
        (
            NodeSelectorTerm(
                match_fields=[NodeSelectorRequirement(key="metadata.name", operator="In", values=["n1"])]
            ),
            True,
        ),
        (
            NodeSelectorTerm(
                match_fields=[NodeSelectorRequirement(key="metadata.name", operator="NotIn", values=["n1"])]
            ),
            False,
        ),
    ],
)
def test_required_node_affinity_operators(term: NodeSelectorTerm, fits: bool) -> None:
    st = check_node_affinity(pod("ns", "p", affinity=_required(term)), node("n1", labels=LABELS))
    assert (st is None) is fits
    if st is not None:
        assert st.reason == ERR_NODE_AFFINITY
        assert st.code is StatusCode.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_terms_are_ored_and_node_selector_anded() -> None:
    aff = _required(_expr("zone", "In", "b"), _expr("zone", "In", "a"))
    assert check_node_affinity(pod("ns", "p", affinity=aff), node("n1", labels=LABELS)) is None
    p = pod("ns", "p", affinity=aff, node_selector={"gen": "4"})
    assert check_node_affinity(p, node("n1", labels=LABELS)) is not None
    assert check_node_affinity(pod("ns", "p", node_selector={"gen": "5"}), node("n1", labels=LABELS)) is None


def test_taints_and_tolerations() -> None:
    n = node(
        "n1",
        taints=[
            Taint(key="soft", value="x", effect="PreferNoSchedule"),
            Taint(key="dedicated", value="gpu", effect="NoSchedule"),
        ],
    )
    st = check_taint_toleration(pod("ns", "p"), n)
    assert st is not None
    assert st.reason == "node(s) had untolerated taint {dedicated: gpu}"
    ok = [Toleration(key="dedicated", operator="Equal", value="gpu", effect="NoSchedule")]
    assert check_taint_toleration(pod("ns", "p", tolerations=ok), n) is None
    assert check_taint_toleration(pod("ns", "p", tolerations=[Toleration(operator="Exists")]), n) is None
    wrong = [Toleration(key="dedicated", value="cpu")]
    assert check_taint_toleration(pod("ns", "p", tolerations=wrong), n) is not None
    noexec = node("n2", taints=[Taint(key="k", effect="NoExecute")])
    assert check_taint_toleration(pod("ns", "p"), noexec) is not None
    exec_tol = [Toleration(key="k", operator="Exists", effect="NoExecute")]
    assert check_taint_toleration(pod("ns", "p", tolerations=exec_tol), noexec) is None


def test_unschedulable_node() -> None:
    cordoned = node("n1", unschedulable=True)
    st = check_node_unschedulable(pod("ns", "p"), cordoned)
    assert st is not None
    assert st.reason == ERR_UNSCHEDULABLE
    tol = [Toleration(key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule")]
    assert check_node_unschedulable(pod("ns", "p", tolerations=tol), cordoned) is None
    assert check_node_unschedulable(pod("ns", "p"), node("n2")) is None


def test_host_ports() -> None:
    existing = [pod("ns", "a", host_ports=[8080])]
    st = check_node_ports(pod("ns", "p", host_ports=[8080]), existing)
    assert st is not None
    assert st.reason == ERR_NODE_PORTS
    assert st.code is StatusCode.UNSCHEDULABLE
    assert check_node_ports(pod("ns", "p", host_ports=[9090]), existing) is None
    assert check_node_ports(pod("ns", "p"), existing) is None


def _anti(key: str = "kubernetes.io/hostname") -> Affinity:
    sel = LabelSelector(
        match_expressions=[LabelSelectorRequirement(key="role", operator="In", values=["worker"])]
    )
    term = PodAffinityTerm(label_selector=sel, topology_key=key)
    return Affinity(
        pod_anti_affinity=PodAntiAffinity(required_during_scheduling_ignored_during_execution=[term])
    )


def _aff(labels: dict[str, str], key: str = "zone") -> Affinity:
    term = PodAffinityTerm(label_selector=LabelSelector(match_labels=labels), topology_key=key)
    return Affinity(pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=[term]))


def test_inter_pod_affinity_and_anti_affinity() -> None:
    n1 = node("n1", labels={"kubernetes.io/hostname": "n1", "zone": "z1"})
    n2 = node("n2", labels={"kubernetes.io/hostname": "n2", "zone": "z2"})
    db = pod("ns", "db", labels={"app": "db"}, node_name="n1")
    worker = pod("ns", "w", labels={"role": "worker"}, node_name="n1", affinity=_anti())
    placed = [(n1, [db, worker]), (n2, [])]

    near_db = pod("ns", "p", affinity=_aff({"app": "db"}))
    st = inter_pod_state(near_db, placed)
    assert check_inter_pod_affinity(st, n1) is None
    fail = check_inter_pod_affinity(st, n2)
    assert fail is not None
    assert fail.reason == ERR_AFFINITY_RULES

    other_ns = pod("other", "p", affinity=_aff({"app": "db"}))
    assert check_inter_pod_affinity(inter_pod_state(other_ns, placed), n1) is not None

    # The first pod of a self-affine group may go anywhere the topology key exists.
    first = pod("ns", "p", labels={"app": "web"}, affinity=_aff({"app": "web"}))
    assert check_inter_pod_affinity(inter_pod_state(first, placed), n2) is None
    assert check_inter_pod_affinity(inter_pod_state(first, placed), node("bare")) is not None

    new_worker = pod("ns", "w2", labels={"role": "worker"}, affinity=_anti())
    st = inter_pod_state(new_worker, placed)
    fail = check_inter_pod_affinity(st, n1)
    assert fail is not None
    assert fail.reason == ERR_ANTI_AFFINITY_RULES
    assert check_inter_pod_affinity(st, n2) is None

    # A plain worker pod is kept off n1 by the existing worker's anti-affinity.
    plain = pod("ns", "w3", labels={"role": "worker"})
    fail = check_inter_pod_affinity(inter_pod_state(plain, placed), n1)
    assert fail is not None
    assert fail.reason == ERR_EXISTING_ANTI_AFFINITY


def test_chain_keeps_pod_count_and_stops_at_unresolvable() -> None:
    full = node_info(
        node("n1", pods=1, taints=[Taint(key="k", effect="NoSchedule")]), pod("ns", "x", node_name="n1")
    )
    plugin = PredicatesPlugin()
    reasons = [s.reason for s in plugin.statuses(task_of(pod("ns", "p", host_ports=[80])), full)]
    assert reasons == [ERR_POD_NUMBER_EXCEEDED, "node(s) had untolerated taint {k: }"]
    err = plugin.predicate(task_of(pod("ns", "p")), full)
    assert err is not None
    assert err.reasons()[0] == ERR_POD_NUMBER_EXCEEDED


def test_arguments_disable_filters() -> None:
    plugin = PredicatesPlugin(Arguments({"predicate.TaintTolerationEnable": False}))
    tainted = node_info(node("n1", taints=[Taint(key="k", effect="NoSchedule")]))
    assert plugin.statuses(task_of(pod("ns", "p")), tainted) == []


def test_fit_error_message_counts_reasons() -> None:
    recs = [
        node("n1", labels={"zone": "a"}),
        node("n2", labels={"zone": "b"}, taints=[Taint(key="k", value="v", effect="NoSchedule")]),
        queue(),
        podgroup("ns", "pg"),
        pod("ns", "p", "pg", node_selector={"zone": "b"}),
    ]
    result = run(recs, conf_of("allocate", ["gang", "predicates"]))
    assert result.binds() == {}
    messages = " ".join(e.message for e in result.explanations)
    assert (
        "0/2 nodes are unavailable: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {k: v}." in messages
    )


# -- Volcano's session cases ---------------------------------------------------------------------


def test_volcano_event_handler_deallocate() -> None:
    recs = [
        node("node1", "14", "14k", 10, labels={"selector": "worker", "kubernetes.io/hostname": "node1"}),
        node("node2", "3", "3k", 10, labels={"kubernetes.io/hostname": "node2"}),
        queue("q1"),
        podgroup("ns1", "pg1", 2, queue="q1"),
        podgroup("ns1", "pg2", 1, queue="q1"),
        pod(
            "ns1",
            "worker-1",
            "pg1",
            "3",
            "3k",
            labels={"role": "worker"},
            node_selector={"selector": "worker"},
            affinity=_anti(),
        ),
        pod("ns1", "worker-2", "pg1", "5", "5k", labels={"role": "worker"}, affinity=_anti()),
        pod("ns1", "worker-3", "pg2", "4", "4k", labels={"role": "worker"}, affinity=_anti()),
    ]
    assert run(recs, conf_of("allocate", ["predicates", "gang"])).binds() == {"ns1/worker-3": "node1"}


def test_volcano_node_num() -> None:
    recs = [
        node("node1", "4", "4k", 2, labels={"selector": "worker"}),
        queue("q1"),
        podgroup("ns1", "pg1", 2, queue="q1"),
        podgroup("ns1", "pg2", 1, queue="q1"),
        pod(
            "ns1",
            "worker-1",
            "pg1",
            None,
            None,
            labels={"role": "worker"},
            node_selector={"selector": "worker"},
        ),
        pod("ns1", "worker-2", "pg1", None, None, labels={"role": "worker"}),
        pod("ns1", "worker-3", "pg2", None, None, labels={"role": "worker"}),
    ]
    binds = run(recs, conf_of("allocate, backfill", ["predicates"])).binds()
    assert binds == {"ns1/worker-1": "node1", "ns1/worker-2": "node1"}


def test_pod_anti_affinity_blocks_the_only_node() -> None:
    recs = [
        node("n1", "12", "12G", 2, labels={"kubernetes.io/hostname": "node1"}),
        queue("q1"),
        podgroup("ns1", "pg1", 0, queue="q1", phase="Running"),
        podgroup("ns1", "pg2", 1, queue="q1"),
        pod(
            "ns1",
            "worker-1",
            "pg1",
            "3",
            "3G",
            node_name="n1",
            phase="Running",
            labels={"role": "worker"},
            affinity=_anti(),
        ),
        pod("ns1", "worker-3", "pg2", "3", "3G", labels={"role": "worker"}, affinity=_anti()),
    ]
    ssn = session(recs, conf_of("allocate", ["predicates"]))
    task = next(iter(ssn.jobs["ns1/pg2"].tasks.values()))
    err = ssn.predicate(task, ssn.nodes["n1"])
    assert err is not None
    assert err.reasons() == [ERR_ANTI_AFFINITY_RULES]


def _fields(op: str, key: str, *values: str) -> NodeSelectorTerm:
    return NodeSelectorTerm(match_fields=[NodeSelectorRequirement(key=key, operator=op, values=list(values))])


def test_match_fields_edge_cases() -> None:
    n = node("n1")
    # Only metadata.name is a node field; other keys read as "".
    assert check_node_affinity(pod("ns", "p", affinity=_required(_fields("NotIn", "spec.x", "v"))), n) is None
    two_values = _required(_fields("In", "metadata.name", "n1", "n2"))
    assert check_node_affinity(pod("ns", "p", affinity=two_values), n)


def test_pre_predicate_rejects_conflicting_node_names() -> None:
    term = NodeSelectorTerm(
        match_fields=[
            NodeSelectorRequirement(key="metadata.name", operator="In", values=["n1"]),
            NodeSelectorRequirement(key="metadata.name", operator="In", values=["n2"]),
        ]
    )
    plugin = PredicatesPlugin()
    msg = plugin.pre_predicate(task_of(pod("ns", "p", affinity=_required(term))))
    assert msg == "plugin NodeAffinity pre-predicates failed pod affinity terms conflict"
    ok = _required(_fields("In", "metadata.name", "n1"), _expr("zone", "In", "a"))
    assert plugin.pre_predicate(task_of(pod("ns", "p", affinity=ok))) is None
    bad = pod("ns", "p", "pg", affinity=_required(term))
    recs = [node("n1"), node("n2"), queue(), podgroup("ns", "pg"), bad]
    result = run(recs, conf_of("allocate", ["gang", "predicates"]))
    assert result.binds() == {}
    expected = "2 plugin NodeAffinity pre-predicates failed pod affinity terms conflict"
    assert expected in result.explanations[0].message


def test_existing_anti_affinity_is_read_on_nodes_listed_at_open() -> None:
    n1 = node("n1", labels={"kubernetes.io/hostname": "n1"})
    worker = pod("ns", "w", labels={"role": "worker"}, node_name="n1", affinity=_anti())
    plain = pod("ns", "p", labels={"role": "worker"})
    listed = inter_pod_state(plain, [(n1, [worker])], anti_nodes={"n1"})
    assert check_inter_pod_affinity(listed, n1) is not None
    unlisted = inter_pod_state(plain, [(n1, [worker])], anti_nodes=set())
    assert check_inter_pod_affinity(unlisted, n1) is None


def test_session_lists_nodes_with_anti_affinity_pods() -> None:
    recs = [
        node("n1", labels={"kubernetes.io/hostname": "n1"}),
        node("n2", labels={"kubernetes.io/hostname": "n2"}),
        queue(),
        podgroup("ns", "run", 1, phase="Running"),
        pod("ns", "w", "run", node_name="n1", phase="Running", labels={"role": "worker"}, affinity=_anti()),
        podgroup("ns", "new", 1),
        pod("ns", "p", "new", labels={"role": "worker"}),
    ]
    ssn = session(recs, conf_of("allocate", ["gang", "predicates"]))
    plugin = ssn.plugins["predicates"]
    assert isinstance(plugin, PredicatesPlugin)
    assert plugin.anti_nodes == {"n1"}
    assert run(recs, conf_of("allocate", ["gang", "predicates"])).binds() == {"ns/p": "n2"}
