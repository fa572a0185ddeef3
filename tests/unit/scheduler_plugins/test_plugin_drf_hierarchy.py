"""Hierarchical DRF: Volcano's HDRF cases (rescaling, blocking nodes), queue order, reclaim."""

from __future__ import annotations

from collections import Counter

from plugin_support import Option, Records, conf_of, node, pod, podgroup, run, session

from pyroclast.common.bus.messages import QueueRecord
from pyroclast.common.resources import Resource
from pyroclast.scheduler.conf import SchedulerConf
from pyroclast.scheduler.plugins.drf import DrfPlugin
from pyroclast.scheduler.plugins.drf_hierarchy import HierarchicalDrf, resource_saturated


def _queue(name: str, path: str, weights: str) -> QueueRecord:
    return QueueRecord(
        name=name,
        annotations={"volcano.sh/hierarchy": path, "volcano.sh/hierarchy-weights": weights},
    )


def _pods(n: int, cpu: str, mem: str, pg: str) -> Records:
    return [pod("default", f"{pg}-p{i}", pg, cpu, mem) for i in range(n)]


def _conf() -> SchedulerConf:
    # Volcano's test builds tiers in code, where an unset switch is off.
    drf: Option = {
        "name": "drf",
        "enableHierarchy": True,
        "enableQueueOrder": True,
        "enableJobOrder": True,
        "enablePreemptable": False,
        "enableReclaimable": True,
    }
    prop: Option = {
        "name": "proportion",
        "enabledAllocatable": False,
        "enabledOverused": False,
        "enableQueueOrder": True,
        "enablePredicate": False,
    }
    cfg: SchedulerConf = conf_of("allocate", [drf], [prop])
    return cfg


def _bound_per_group(recs: Records) -> Counter[str]:
    return Counter(k.split("/")[1].rsplit("-p", 1)[0] for k in run(recs, _conf()).binds())


def test_rescaling() -> None:
    recs = [
        node("n", "10", "10G", 50),
        _queue("root-sci", "root/sci", "100/50"),
        _queue("root-eng-dev", "root/eng/dev", "100/50/50"),
        _queue("root-eng-prod", "root/eng/prod", "100/50/50"),
        podgroup("default", "pg1", 0, queue="root-sci"),
        podgroup("default", "pg21", 0, queue="root-eng-dev"),
        podgroup("default", "pg22", 0, queue="root-eng-prod"),
        *_pods(10, "1", "1G", "pg1"),
        *_pods(10, "1", "0G", "pg21"),
        *_pods(10, "0", "1G", "pg22"),
    ]
    assert _bound_per_group(recs) == {"pg1": 5, "pg21": 5, "pg22": 5}


def test_blocking_nodes() -> None:
    recs = [
        node("n", "30", "30G", 500),
        _queue("root-pg1", "root/pg1", "100/25"),
        _queue("root-pg2", "root/pg2", "100/25"),
        _queue("root-pg3-pg31", "root/pg3/pg31", "100/25/50"),
        _queue("root-pg3-pg32", "root/pg3/pg32", "100/25/50"),
        _queue("root-pg4", "root/pg4", "100/25"),
        podgroup("default", "pg1", 0, queue="root-pg1"),
        podgroup("default", "pg2", 0, queue="root-pg2"),
        podgroup("default", "pg31", 0, queue="root-pg3-pg31"),
        podgroup("default", "pg32", 0, queue="root-pg3-pg31"),
        podgroup("default", "pg4", 0, queue="root-pg4"),
        *_pods(30, "1", "0G", "pg1"),
        *_pods(30, "1", "0G", "pg2"),
        *_pods(30, "1", "0G", "pg31"),
        *_pods(30, "0", "1G", "pg32"),
        *_pods(30, "0", "1G", "pg4"),
    ]
    assert _bound_per_group(recs) == {"pg1": 10, "pg2": 10, "pg31": 10, "pg32": 15, "pg4": 15}


def test_saturation() -> None:
    req = Resource(2000, 0, {"pods": 2000})
    assert resource_saturated({"cpu": 2000.0}, req, {"cpu"})
    assert not resource_saturated({"cpu": 1000.0}, req, {"cpu"})
    assert resource_saturated({"cpu": 1000.0}, req, set())


def test_queue_order_and_reclaim_in_session() -> None:
    recs = [
        node("n", "4", "8Gi", 50),
        _queue("a", "root/a", "1/1"),
        _queue("b", "root/b", "1/1"),
        podgroup("default", "ga", 1, queue="a", phase="Running"),
        podgroup("default", "gb", 1, queue="b"),
        *[pod("default", f"ga-p{i}", "ga", "1", "1Gi", node_name="n", phase="Running") for i in range(4)],
        *_pods(2, "1", "1Gi", "gb"),
    ]
    ssn = session(recs, _conf())
    plugin = ssn.plugins["drf"]
    assert isinstance(plugin, DrfPlugin)
    hdrf = plugin.hierarchy
    assert isinstance(hdrf, HierarchicalDrf)
    qa, qb = ssn.queues["a"], ssn.queues["b"]
    assert hdrf.queue_order(qb, qa) == -1
    reclaimer = next(iter(ssn.jobs["default/gb"].tasks.values()))
    running = list(ssn.jobs["default/ga"].tasks.values())
    victims, _ = hdrf.reclaimable(reclaimer, running)
    assert len(victims) == 4
    assert ssn.reclaimable(reclaimer, running) is not None
