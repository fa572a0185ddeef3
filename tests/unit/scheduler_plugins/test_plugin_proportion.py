"""Proportion: deserved by weight, capability and guarantee; enqueue and allocate limits."""

from __future__ import annotations

import pytest
from plugin_support import Option, Records, conf_of, node, pod, podgroup, queue, res, run, session

from pyroclast.common.resources import Resource
from pyroclast.scheduler.api import SnapshotRecord
from pyroclast.scheduler.plugins.fresource import FRes, fmax
from pyroclast.scheduler.plugins.proportion import ProportionPlugin, QueueAttr, compute_deserved

GI = float(2**30)


def _attr(name: str, weight: int, request: FRes, **kw: FRes) -> QueueAttr:
    a = QueueAttr(name, weight, request=request)
    a.real_capability = kw.get("cap", FRes(1e12, 1e15))
    if "guarantee" in kw:
        a.guarantee = kw["guarantee"]
    return a


TOTAL = Resource(8000, 8 * 2**30)


def test_saturated_cluster_splits_by_weight() -> None:
    attrs = {"q1": _attr("q1", 1, FRes(8000, 8 * GI)), "q2": _attr("q2", 3, FRes(8000, 8 * GI))}
    compute_deserved(TOTAL, attrs)
    assert attrs["q1"].deserved == FRes(2000, 2 * GI)
    assert attrs["q2"].deserved == FRes(6000, 6 * GI)


def test_fractions_are_kept() -> None:
    attrs = {q: _attr(q, 1, FRes(8000, 8 * GI)) for q in ("a", "b", "c")}
    compute_deserved(TOTAL, attrs)
    assert attrs["a"].deserved.cpu == 8000 / 3


def test_unused_share_flows_to_the_hungry_queue() -> None:
    attrs = {"small": _attr("small", 1, FRes(1000, GI)), "big": _attr("big", 1, FRes(8000, 8 * GI))}
    compute_deserved(TOTAL, attrs)
    assert attrs["small"].deserved == FRes(1000, GI)
    assert attrs["big"].deserved == FRes(7000, 7 * GI)


def test_capability_caps_and_the_rest_goes_elsewhere() -> None:
    attrs = {
        "capped": _attr("capped", 3, FRes(8000, 8 * GI), cap=FRes(1000, 1e15)),
        "other": _attr("other", 1, FRes(8000, 8 * GI)),
    }
    compute_deserved(TOTAL, attrs)
    assert attrs["capped"].deserved.cpu == 1000
    assert attrs["other"].deserved.cpu == 7000


def test_guarantee_raises_deserved() -> None:
    attrs = {
        "g": _attr("g", 1, FRes(4000, 4 * GI), guarantee=FRes(3000, 3 * GI)),
        "h": _attr("h", 7, FRes(8000, 8 * GI)),
    }
    compute_deserved(TOTAL, attrs)
    assert attrs["g"].deserved.cpu >= 3000


def test_max_drops_negative_scalars() -> None:
    m = fmax(FRes(1, 5, {"a": -1, "b": 2}), FRes(3, 2, {"b": 1, "c": 4}))
    assert m == FRes(3, 5, {"b": 2, "c": 4})


def _two_queue_cluster(pending: int = 8) -> Records:
    recs: Records = [node("n1", "4", "8Gi"), node("n2", "4", "8Gi"), queue("q1", 1), queue("q2", 3)]
    for q in ("q1", "q2"):
        recs.append(podgroup("ns", f"pg-{q}", 1, queue=q))
        recs += [pod("ns", f"{q}-{i}", f"pg-{q}", "1", "1Gi") for i in range(pending)]
    return recs


def test_session_attrs_and_queue_order() -> None:
    cfg = conf_of("allocate", ["gang", "proportion"])
    ssn = session(_two_queue_cluster(), cfg)
    plugin = ssn.plugins["proportion"]
    assert isinstance(plugin, ProportionPlugin)
    assert plugin.attrs["q1"].deserved.cpu == 2000
    assert plugin.attrs["q2"].deserved.cpu == 6000
    assert not ssn.overused(ssn.queues["q1"])


def test_allocate_splits_saturated_cluster_one_to_three() -> None:
    cfg = conf_of("allocate", ["gang", "proportion"])
    binds = run(_two_queue_cluster(), cfg).binds()
    per_queue = {q: sum(1 for k in binds if k.startswith(f"ns/{q}-")) for q in ("q1", "q2")}
    assert per_queue == {"q1": 2, "q2": 6}


# -- Volcano's TestEnqueueAndAllocable ------------------------------------------------------

G = "2G"


def _enqueue_records(*names: str) -> Records:
    r1c2g, r2c1g = res(cpu="1", memory="2G"), res(cpu="2", memory="1G")
    r1c0g, r0c1g, r1c1g = res(cpu="1", memory="0G"), res(cpu="0", memory="1G"), res(cpu="1", memory="1G")
    all_records: dict[str, SnapshotRecord] = {
        "p1": pod("ns1", "pod1", "pg1", "1", "2G", node_name="n1", phase="Running"),
        "p2": pod("ns1", "pod2", "pg2", "2", "1G", node_name="n2", phase="Running"),
        "p3": pod("ns1", "pod3", "pg3", "1", "0G"),
        "p4": pod("ns1", "pod4", "pg4", "0", "1G"),
        "p5": pod("ns1", "pod5", "pg5", "1", "1G"),
        "p6": pod("ns1", "pod6", "pg6", "1", "1G"),
        "pg1": podgroup("ns1", "pg1", queue="q1", phase="Running", min_resources=r1c2g),
        "pg2": podgroup("ns1", "pg2", queue="q2", phase="Running", min_resources=r2c1g),
        "pg3": podgroup("ns1", "pg3", queue="q1", phase="Pending", min_resources=r1c0g),
        "pg4": podgroup("ns1", "pg4", queue="q2", phase="Pending", min_resources=r0c1g),
        "pg5": podgroup("ns1", "pg5", queue="q1", phase="Pending", min_resources=r1c1g),
        "pg6": podgroup("ns1", "pg6", queue="q3", phase="Pending", min_resources=r1c1g),
    }
    recs: Records = [
        node("n1", "2", G, 10),
        node("n2", "2", G, 10),
        queue("q1", 1, capability=res(cpu="2", memory="2G")),
        queue("q2", 1, capability=res(cpu="3", memory="3G")),
        queue("q3", 1, capability=res(cpu="3", memory="3G"), state="Closed"),
    ]
    return recs + [all_records[n] for n in names]


def _tier(allocatable: bool, overused: bool, enqueued: bool) -> Option:
    return {
        "name": "proportion",
        "enabledAllocatable": allocatable,
        "enabledOverused": overused,
        "enableJobEnqueued": enqueued,
    }


@pytest.mark.parametrize(
    ("names", "switches", "expected"),
    [
        pytest.param(
            ("p1", "p2", "p3", "pg1", "pg2", "pg3"), (True, True, True), {"ns1/pod3": "n1"}, id="cpu-only"
        ),
        pytest.param(
            ("p1", "p2", "p4", "pg1", "pg2", "pg4"), (True, True, True), {"ns1/pod4": "n2"}, id="mem-only"
        ),
        pytest.param(
            ("p1", "p2", "p5", "pg1", "pg2", "pg5"), (False, False, True), {}, id="exceed-capability"
        ),
        pytest.param(("p1", "p2", "p5", "pg1", "pg2", "pg5"), (True, False, False), {}, id="exceed-deserved"),
        pytest.param(("p6", "pg6"), (False, False, True), {}, id="closed-queue"),
    ],
)
def test_enqueue_and_allocatable(
    names: tuple[str, ...], switches: tuple[bool, bool, bool], expected: dict[str, str]
) -> None:
    cfg = conf_of("enqueue, allocate", [_tier(*switches)])
    assert run(_enqueue_records(*names), cfg).binds() == expected


def test_reclaimable_takes_from_queue_above_deserved() -> None:
    recs = [
        node("n1", "4", "8Gi"),
        queue("q1", 1),
        queue("q2", 1),
        podgroup("ns", "a", queue="q1", phase="Running"),
        podgroup("ns", "b", queue="q2"),
        *[pod("ns", f"a{i}", "a", "1", "1Gi", node_name="n1", phase="Running") for i in range(4)],
        *[pod("ns", f"b{i}", "b", "1", "1Gi") for i in range(4)],
    ]
    ssn = session(recs, conf_of("allocate", ["proportion"]))
    plugin = ssn.plugins["proportion"]
    assert isinstance(plugin, ProportionPlugin)
    running = [t for t in ssn.jobs["ns/a"].tasks.values()]
    reclaimer = next(iter(ssn.jobs["ns/b"].tasks.values()))
    victims, _ = plugin.reclaimable(reclaimer, running)
    assert len(victims) == 2


def test_real_capability_keeps_scalars_the_capability_leaves_out() -> None:
    # Volcano's realcapability case: q2 caps cpu, memory, pods and GPUs but not rdma/hca.
    rdma = {"rdma/hca": 1000, **res(gpu=1)}
    recs = [
        node("node1", "4", "4k", 15, labels={"selector": "worker"}),
        node("node2", "3", "3k", 15),
        node("node3", "4", "4k", 15, extra={"rdma/hca": 1_000_000, **res(gpu=8)}),
        queue("q1"),
        queue("q2", capability={**res(cpu="2", memory="2k", pods=10), **res(gpu=4)}),
        podgroup("ns1", "pg3", 1, queue="q2", min_resources={**res(cpu="1", memory="1k"), **rdma}),
        pod("ns1", "rdma-demo", "pg3", "1", "1k", extra=rdma),
    ]
    cfg = conf_of("allocate", ["proportion", "gang", "priority"])
    ssn = session(recs, cfg)
    plugin = ssn.plugins["proportion"]
    assert isinstance(plugin, ProportionPlugin)
    assert plugin.attrs["q2"].real_capability.get("rdma/hca") == 1_000_000.0
    assert run(recs, cfg).binds() == {"ns1/rdma-demo": "node3"}
