"""Benchmark of a scheduling session: the vectorised path, and the scalar reference for the speed-up.

Synthetic clusters (``pyroclast.scheduler.testing.synthetic``): 1,000 nodes x 10,000
pending pods and 5,000 nodes x 50,000 pending pods, gang jobs of 1 to 100 pods, 4 queues,
Volcano's default conf restricted to the registered plugins (``PYROCLAST_BENCH_PLUGINS``,
comma-separated, overrides). Each session starts from the same snapshot with a fresh
node search. Prints decisions per second, session p50/p99 and peak RSS; the scalar
reference runs once on the small shape (also on the large one with
``PYROCLAST_BENCH_SCALAR_LARGE=1``: tens of minutes). Run with ``PYROCLAST_BENCH=1``;
``PYROCLAST_BENCH_SHAPES=1k-nodes`` runs one shape only.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from datetime import UTC, datetime

import pytest

from pyroclast.common import native
from pyroclast.common.bus.messages import BindDecision
from pyroclast.scheduler.api import ClusterSnapshot, snapshot
from pyroclast.scheduler.conf import SchedulerConf, parse_conf
from pyroclast.scheduler.framework import PLUGINS, NodeSearch, SessionResult, load_builtins, run_session
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(os.environ.get("PYROCLAST_BENCH") != "1", reason="set PYROCLAST_BENCH=1 to run"),
]

DEFAULT_TIERS = (
    ("priority", "gang", "conformance"),
    ("overcommit", "drf", "predicates", "proportion", "nodeorder"),
)
NOW = datetime(2026, 1, 2, tzinfo=UTC)
SHAPES = {
    "1k-nodes": (ClusterShape(nodes=1000, pending_pods=10_000, queues=4, max_gang=100), 5),
    "5k-nodes": (ClusterShape(nodes=5000, pending_pods=50_000, queues=4, max_gang=100), 3),
}


def bench_conf() -> tuple[SchedulerConf, list[str]]:
    load_builtins()
    wanted = os.environ.get("PYROCLAST_BENCH_PLUGINS")
    names = {n.strip() for n in wanted.split(",")} if wanted else None
    lines = ['actions: "enqueue, allocate, backfill"', "tiers:"]
    active: list[str] = []
    for tier in DEFAULT_TIERS:
        plugins = [p for p in tier if p in PLUGINS and (names is None or p in names)]
        if plugins:
            lines.append("- plugins:")
            lines += [f"  - name: {p}" for p in plugins]
            active += plugins
    return parse_conf("\n".join(lines) + "\n"), active


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(snap: ClusterSnapshot, conf: SchedulerConf, *, vectorised: bool) -> tuple[float, SessionResult]:
    start = time.perf_counter()
    result = run_session(snap, conf, uid="bench", now=NOW, node_search=NodeSearch(), vectorised=vectorised)
    return time.perf_counter() - start, result


def binds(result: SessionResult) -> int:
    return sum(1 for d in result.decisions if isinstance(d, BindDecision))


def wanted_shapes() -> list[str]:
    """``PYROCLAST_BENCH_SHAPES`` (comma-separated names of ``SHAPES``) picks some; default all."""
    wanted = os.environ.get("PYROCLAST_BENCH_SHAPES")
    return [n.strip() for n in wanted.split(",")] if wanted else list(SHAPES)


# The scalar reference alone takes minutes on a loaded machine.
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("shape_name", wanted_shapes())
def test_scheduler_session_bench(shape_name: str) -> None:
    shape, sessions = SHAPES[shape_name]
    conf, active = bench_conf()
    built = time.perf_counter()
    snap = snapshot(synthetic_cluster(shape, seed=7))
    built = time.perf_counter() - built
    pending = shape.pending_pods
    print(f"\n[{shape_name}] {shape.nodes} nodes, {pending} pending pods, plugins: {', '.join(active)}")
    _, why = native.status()
    print(f"  compiled core (mypyc): {'yes' if native.ACTIVE else 'no'} ({why})")
    print(f"  snapshot built in {built:.2f}s; RSS {rss_mib():.0f} MiB")

    times: list[float] = []
    placed = 0
    first: SessionResult | None = None
    for _ in range(sessions):
        elapsed, result = timed(snap, conf, vectorised=True)
        times.append(elapsed)
        placed = binds(result)
        first = first or result
        assert result.binds() == first.binds()
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    decisions = len(first.decisions) if first else 0
    print(
        f"  vectorised: {placed} binds, {decisions} decisions; session p50 {p50:.2f}s p99 {p99:.2f}s; "
        f"{pending / p50:,.0f} pending pods/s, {placed / p50:,.0f} binds/s, "
        f"{decisions / p50:,.0f} decisions/s; peak RSS {rss_mib():.0f} MiB"
    )
    assert placed > 0

    if shape.nodes <= 1000 or os.environ.get("PYROCLAST_BENCH_SCALAR_LARGE") == "1":
        ref_time, ref = timed(snap, conf, vectorised=False)
        same = first is not None and ref.decisions == first.decisions
        print(
            f"  scalar reference: {ref_time:.2f}s ({pending / ref_time:,.0f} pending pods/s); "
            f"speed-up x{ref_time / p50:.1f}; same decisions: {same}"
        )
        assert same
    else:
        print("  scalar reference: not run on this shape (set PYROCLAST_BENCH_SCALAR_LARGE=1)")
