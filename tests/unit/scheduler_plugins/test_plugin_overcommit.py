"""Overcommit: enqueue admits podgroups up to ``overcommit-factor`` times the cluster."""

from __future__ import annotations

import pytest
from plugin_support import Option, conf_of, node, pod, podgroup, queue, res, run, session

from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.plugins.fresource import FRes
from pyroclast.scheduler.plugins.overcommit import OvercommitPlugin, reserved_resource


def _tier(factor: float | None) -> list[str | Option]:
    opt: Option = {"name": "overcommit"}
    if factor is not None:
        opt["arguments"] = {"overcommit-factor": factor}
    return [opt]


NORMAL = res(cpu="2000m", memory="2G")
HUGE = res(cpu="20000m", memory="20G")


@pytest.mark.parametrize(
    ("factor", "min_resources", "expected"),
    [
        pytest.param(1.2, NORMAL, True, id="factor-above-one"),
        pytest.param(0.8, NORMAL, True, id="factor-below-one-uses-default"),
        pytest.param(1.2, HUGE, False, id="too-large"),
        pytest.param(1.2, None, True, id="no-min-resources"),
    ],
)
def test_volcano_cases(factor: float, min_resources: dict[str, int] | None, expected: bool) -> None:
    recs = [
        node("n1", "2", "4Gi"),
        node("n2", "4", "16Gi"),
        queue("c1"),
        podgroup("test-namespace", "pg1", 2, queue="c1", phase="Inqueue", min_resources=min_resources),
    ]
    ssn = session(recs, conf_of("enqueue", _tier(factor)))
    for job in ssn.jobs.values():
        ssn.job_enqueued(job)
        assert ssn.job_enqueueable(job) is expected


def test_factor_argument() -> None:
    assert OvercommitPlugin().factor == 1.2
    assert OvercommitPlugin(Arguments({"overcommit-factor": 2})).factor == 2.0
    assert OvercommitPlugin(Arguments({"overcommit-factor": 0.5})).factor == 1.2


def test_enqueue_rejects_beyond_the_factor() -> None:
    # 4 cpu x 1.2 = 4.8 cpu of room: two 2-cpu groups fit, the third does not.
    recs = [node("n1", "4", "16Gi"), queue("default")]
    for i in range(3):
        recs.append(podgroup("ns", f"pg{i}", 1, phase="Pending", min_resources=res(cpu="2"), created=i))
        recs.append(pod("ns", f"p{i}", f"pg{i}", "2", "1Gi", created=i))
    result = run(recs, conf_of("enqueue", ["gang"], _tier(None)))
    phases = {d.name: d.phase for d in result.decisions if hasattr(d, "phase")}
    assert phases == {"pg0": "Inqueue", "pg1": "Inqueue", "pg2": "Pending"}


def test_used_resources_reduce_idle() -> None:
    recs = [
        node("n1", "4", "16Gi"),
        queue("default"),
        podgroup("ns", "run", 1, phase="Running"),
        pod("ns", "r", "run", "4", "1Gi", node_name="n1", phase="Running"),
        podgroup("ns", "new", 1, phase="Pending", min_resources=res(cpu="1")),
    ]
    ssn = session(recs, conf_of("enqueue", _tier(None)))
    # idle = 4.8 - 4 = 0.8 cpu < 1 cpu
    assert ssn.job_enqueueable(ssn.jobs["ns/new"]) is False


def test_running_job_reserves_what_its_min_resources_exceed() -> None:
    recs = [
        node("n1", "8", "16Gi"),
        queue("default"),
        podgroup("ns", "run", 1, phase="Running", min_resources=res(cpu="3")),
        pod("ns", "r", "run", "1", "1Gi", node_name="n1", phase="Running"),
    ]
    ssn = session(recs, conf_of("enqueue", _tier(None)))
    plugin = ssn.plugins["overcommit"]
    assert isinstance(plugin, OvercommitPlugin)
    assert plugin.inqueue.cpu == 2000
    assert reserved_resource(ssn.jobs["ns/run"]).cpu_milli == 2000


def test_only_requested_dimensions_are_compared() -> None:
    req = FRes(1000, 0)
    assert FRes(1000, 1e12).exceeding(FRes(2000, 0), req) == []
    assert FRes(3000, 0).exceeding(FRes(2000, 0), req) == ["cpu"]


def test_idle_keeps_the_fraction_of_the_factor() -> None:
    # 1 byte x 1.5 = 1.5 bytes of room: a 2-byte request exceeds it (rounding to even would say 2).
    recs = [
        node("n1", "1", "1"),
        queue("default"),
        podgroup("ns", "pg", 1, phase="Pending", min_resources={"memory": 2}),
    ]
    ssn = session(recs, conf_of("enqueue", _tier(1.5)))
    assert ssn.job_enqueueable(ssn.jobs["ns/pg"]) is False
