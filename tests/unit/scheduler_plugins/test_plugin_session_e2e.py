"""The full default conf (plus binpack) end to end through ``run_session``."""

from __future__ import annotations

import pytest
from plugin_support import FULL_CONF, Records, node, pod, podgroup, queue, res, run

from pyroclast.common.bus.messages import PodGroupStatusDecision
from pyroclast.common.models.core import Taint
from pyroclast.scheduler.conf import default_conf, parse_conf


def _per_queue(binds: dict[str, str]) -> dict[str, int]:
    return {q: sum(1 for k in binds if k.startswith(f"ns/{q}-")) for q in ("q1", "q2")}


def _cluster() -> Records:
    recs: Records = [node(f"n{i}", "2", "4Gi") for i in range(4)]
    return [*recs, queue("q1", 1), queue("q2", 3)]


def test_many_jobs_split_one_to_three() -> None:
    recs = _cluster()
    for q in ("q1", "q2"):
        for i in range(8):
            recs.append(podgroup("ns", f"{q}-pg{i}", 1, queue=q, phase="Pending", created=i))
            recs.append(pod("ns", f"{q}-{i}", f"{q}-pg{i}", "1", "1Gi", created=i))
    result = run(recs, parse_conf(FULL_CONF))
    assert _per_queue(result.binds()) == {"q1": 2, "q2": 6}
    phases = {d.name: d.phase for d in result.decisions if isinstance(d, PodGroupStatusDecision)}
    assert all(p == "Inqueue" for p in phases.values())
    assert len(phases) == 16


def test_one_elastic_job_per_queue_splits_one_to_three() -> None:
    recs = _cluster()
    for q in ("q1", "q2"):
        recs.append(podgroup("ns", f"{q}-pg", 1, queue=q, phase="Inqueue"))
        recs += [pod("ns", f"{q}-{i}", f"{q}-pg", "1", "1Gi", created=i) for i in range(8)]
    assert _per_queue(run(recs, parse_conf(FULL_CONF)).binds()) == {"q1": 2, "q2": 6}


def test_binpack_fills_nodes_in_turn() -> None:
    recs = [node("a", "4", "8Gi"), node("b", "4", "8Gi"), queue("q1")]
    recs.append(podgroup("ns", "q1-pg", 1, queue="q1"))
    recs += [pod("ns", f"q1-{i}", "q1-pg", "1", "1Gi", created=i) for i in range(4)]
    conf = FULL_CONF.replace(
        "  - name: binpack\n", "  - name: binpack\n    arguments:\n      binpack.weight: 10\n"
    )
    binds = run(recs, parse_conf(conf)).binds()
    assert sorted(binds.values()) == ["a"] * 4


def test_predicates_and_overcommit_in_the_full_conf() -> None:
    recs = [
        node("tainted", "8", "16Gi", taints=[Taint(key="k", value="v", effect="NoSchedule")]),
        node("small", "2", "4Gi"),
        queue("q1"),
        podgroup("ns", "gang", 3, queue="q1", phase="Pending", min_resources=res(cpu="3")),
        *[pod("ns", f"q1-{i}", "gang", "1", "1Gi") for i in range(3)],
    ]
    result = run(recs, parse_conf(FULL_CONF))
    assert result.binds() == {}
    text = " ".join(e.message for e in result.explanations)
    assert "untolerated taint {k: v}" in text


@pytest.mark.parametrize("conf_text", [None, FULL_CONF])
def test_volcano_default_conf_runs(conf_text: str | None) -> None:
    cfg = default_conf() if conf_text is None else parse_conf(conf_text)
    recs = [node("n1"), queue("default"), podgroup("ns", "pg", 1), pod("ns", "p", "pg")]
    assert run(recs, cfg).binds() == {"ns/p": "n1"}
