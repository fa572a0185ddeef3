"""DRF: dominant shares, job order, share updates on events, preemptable victims."""

from __future__ import annotations

from plugin_support import Records, conf_of, node, pod, podgroup, queue, run, session

from pyroclast.common.resources import Resource
from pyroclast.scheduler.framework import Event
from pyroclast.scheduler.plugins.drf import DrfPlugin, calculate_share, share


def test_share_helper() -> None:
    assert share(0, 0) == 0.0
    assert share(1, 0) == 1.0
    assert share(1, 4) == 0.25


def test_dominant_resource() -> None:
    total = Resource(4000, 16, {"pods": 10000})
    assert calculate_share(Resource(1000, 8, {"pods": 1000}), total) == ("memory", 0.5)
    assert calculate_share(Resource(3000, 8), total) == ("cpu", 0.75)
    assert calculate_share(Resource(), total) == ("", 0.0)


def _records() -> Records:
    return [
        node("n1", "4", "8Gi", 10),
        queue(),
        podgroup("ns", "a", 1, phase="Running", created=0),
        pod("ns", "a0", "a", "2", "1Gi", node_name="n1", phase="Running"),
        pod("ns", "a1", "a", "1", "1Gi", created=1),
        podgroup("ns", "b", 1, created=5),
        pod("ns", "b0", "b", "1", "1Gi", created=5),
    ]


def test_job_order_by_share_and_events() -> None:
    ssn = session(_records(), conf_of("allocate", ["drf"]))
    plugin = ssn.plugins["drf"]
    assert isinstance(plugin, DrfPlugin)
    a, b = ssn.jobs["ns/a"], ssn.jobs["ns/b"]
    assert plugin.job_attrs[a.uid].share == 0.5
    assert plugin.job_attrs[b.uid].share == 0.0
    assert plugin.job_order(b, a) == -1
    assert plugin.job_order(a, b) == 1
    assert ssn.job_order_fn(b, a)

    task = next(iter(b.tasks.values()))
    plugin.on_allocate(Event(task))
    assert plugin.job_attrs[b.uid].share == 0.25
    assert plugin.job_attrs[b.uid].dominant_resource == "cpu"
    plugin.on_deallocate(Event(task))
    assert plugin.job_attrs[b.uid].share == 0.0


def test_lower_share_job_is_allocated_first() -> None:
    # One cpu left: without drf the older job a takes it; with drf, b (share 0) does.
    recs = [*_records(), pod("ns", "filler", "a", "1", "1Gi", node_name="n1", phase="Running")]
    assert run(recs, conf_of("allocate", ["priority"])).binds() == {"ns/a1": "n1"}
    assert run(recs, conf_of("allocate", ["priority", "drf"])).binds() == {"ns/b0": "n1"}


def test_preemptable_by_share() -> None:
    ssn = session(_records(), conf_of("allocate", ["drf"]))
    plugin = ssn.plugins["drf"]
    assert isinstance(plugin, DrfPlugin)
    a, b = ssn.jobs["ns/a"], ssn.jobs["ns/b"]
    running = [t for t in a.tasks.values() if t.node_name]
    preemptor = next(iter(b.tasks.values()))
    # b after taking 1 cpu: 0.25; a after losing 2 cpu: 0 -> not a victim.
    victims, _ = plugin.preemptable(preemptor, running)
    assert victims == []
    # a preempting b: a would hold 3 cpu (0.75) against b's 0 -> no victim either way round.
    small = next(t for t in a.tasks.values() if not t.node_name)
    plugin.on_allocate(Event(preemptor))
    plugin.on_allocate(Event(preemptor))
    plugin.on_allocate(Event(preemptor))
    victims, _ = plugin.preemptable(small, [preemptor])
    # b holds 3 cpu (0.75) -> 2 after losing one (0.5); a would be at 0.75: not a victim.
    assert victims == []
    plugin.on_allocate(Event(preemptor))
    victims, _ = plugin.preemptable(small, [preemptor])
    # b holds 4 cpu -> 3 after (0.75) >= a's 0.75 within delta: victim.
    assert victims == [preemptor]
