"""Binpack: weights from arguments and Volcano's score per task and node."""

from __future__ import annotations

import pytest
from plugin_support import Option, Records, conf_of, node, pod, podgroup, queue, res, run, session

from pyroclast.scheduler.conf import Arguments
from pyroclast.scheduler.plugins.binpack import BinpackPlugin, BinpackWeights, resource_binpack_score


def test_arguments() -> None:
    w = BinpackWeights.from_arguments(
        Arguments(
            {
                "binpack.weight": 10,
                "binpack.cpu": 5,
                "binpack.memory": 2,
                "binpack.resources": "nvidia.com/gpu, example.com/foo",
                "binpack.resources.nvidia.com/gpu": 7,
                "binpack.resources.example.com/foo": -3,
            }
        )
    )
    assert w.weight == 10
    assert w.resources == {"nvidia.com/gpu": 7, "example.com/foo": 1, "cpu": 5, "memory": 2}


def test_defaults_and_disabled() -> None:
    assert BinpackWeights.from_arguments(Arguments()) == BinpackWeights(1, {"cpu": 1, "memory": 1})
    ssn = session(
        [node("n1"), queue()], conf_of("allocate", [{"name": "binpack", "arguments": {"binpack.weight": 0}}])
    )
    assert not ssn.has_fns("node_order")


def test_resource_score() -> None:
    assert resource_binpack_score(1, 4, 1, 2) == 1.0
    assert resource_binpack_score(4, 4, 1, 2) is None
    assert resource_binpack_score(1, 0, 0, 2) == 0.0


GPU, FOO = "nvidia.com/gpu", "example.com/foo"


def _records() -> Records:
    return [
        pod("c1", "p1", "pg1", "1", "1Gi", node_name="n1"),
        pod("c1", "p2", "pg1", "1.5", "0Gi", node_name="n3"),
        pod("c1", "p3", "pg1", "2", "10Gi", extra=res(gpu=2)),
        pod("c1", "p4", "pg1", "3", "4Gi", extra={FOO: 3000}),
        node("n1", "2", "4Gi", 10),
        node("n2", "4", "16Gi", 10, extra=res(gpu=4)),
        node("n3", "2", "4Gi", 10, extra={FOO: 16000}),
        podgroup("c1", "pg1", 0, queue="c1"),
        queue("c1"),
    ]


CASES = [
    (
        {
            "binpack.weight": 10,
            "binpack.cpu": 2,
            "binpack.memory": 3,
            "binpack.resources": "nvidia.com/gpu, example.com/foo",
            "binpack.resources.nvidia.com/gpu": 7,
            "binpack.resources.example.com/foo": 8,
        },
        {
            "c1/p1": {"n1": 700, "n2": 137.5, "n3": 0},
            "c1/p2": {"n1": 0, "n2": 375, "n3": 0},
            "c1/p3": {"n1": 0, "n2": 531.25, "n3": 0},
            "c1/p4": {"n1": 0, "n2": 173.076923076, "n3": 0},
        },
    ),
    (
        {
            "binpack.weight": 1,
            "binpack.cpu": 1,
            "binpack.memory": 1,
            "binpack.resources": "nvidia.com/gpu",
            "binpack.resources.nvidia.com/gpu": 23,
        },
        {
            "c1/p1": {"n1": 75, "n2": 15.625, "n3": 0},
            "c1/p2": {"n1": 0, "n2": 37.5, "n3": 0},
            "c1/p3": {"n1": 0, "n2": 50.5, "n3": 0},
            "c1/p4": {"n1": 0, "n2": 50, "n3": 0},
        },
    ),
]


@pytest.mark.parametrize(("arguments", "expected"), CASES)
def test_volcano_node_scores(arguments: Option, expected: dict[str, dict[str, float]]) -> None:
    ssn = session(_records(), conf_of("allocate", [{"name": "binpack", "arguments": arguments}]))
    assert isinstance(ssn.plugins["binpack"], BinpackPlugin)
    seen = 0
    for job in ssn.jobs.values():
        for task in job.tasks.values():
            for n in ssn.nodes.values():
                assert ssn.node_order(task, n) == pytest.approx(expected[task.key][n.name], abs=1e-8)
                seen += 1
    assert seen == 12


def test_prefers_the_fuller_node() -> None:
    recs = [
        node("empty", "4", "8Gi"),
        node("busy", "4", "8Gi"),
        queue(),
        podgroup("ns", "old", phase="Running"),
        pod("ns", "o", "old", "2", "4Gi", node_name="busy", phase="Running"),
        podgroup("ns", "new"),
        pod("ns", "n", "new", "1", "1Gi"),
    ]
    binds = run(recs, conf_of("allocate", ["gang", "binpack"])).binds()
    assert binds == {"ns/n": "busy"}
