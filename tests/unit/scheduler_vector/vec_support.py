"""Shared pieces of the vectorised-scheduler tests: confs, small random clusters, a paired run."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hypothesis import strategies as st

from pyroclast.scheduler.api import ClusterSnapshot, SnapshotRecord
from pyroclast.scheduler.conf import SchedulerConf, parse_conf
from pyroclast.scheduler.framework import PLUGINS, NodeSearch, SessionResult, load_builtins, run_session
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster

NOW = datetime(2026, 1, 2, tzinfo=UTC)
CORE = ("priority", "gang", "conformance")
#: Volcano's second tier, plus binpack; used when the plugins are available.
EXTRA = ("overcommit", "drf", "predicates", "proportion", "nodeorder", "binpack")


def available_extra() -> list[str]:
    """The plugins of ``EXTRA`` registered (their modules register themselves on import)."""
    load_builtins()
    for name in EXTRA:
        try:
            importlib.import_module(f"pyroclast.scheduler.plugins.{name}")
        except ImportError:
            continue
    return [name for name in EXTRA if name in PLUGINS]


def make_conf(
    tiers: list[list[str]], *, cache: bool = True, actions: str = "enqueue, allocate, backfill"
) -> SchedulerConf:
    lines = [f'actions: "{actions}"', "tiers:"]
    for tier in tiers:
        lines.append("- plugins:")
        lines += [f"  - name: {p}" for p in tier]
    lines += [
        "configurations:",
        "- name: allocate",
        "  arguments:",
        f"    predicateErrorCacheEnable: {'true' if cache else 'false'}",
    ]
    return parse_conf("\n".join(lines) + "\n")


@dataclass(frozen=True)
class Case:
    records: list[SnapshotRecord]
    search: NodeSearch
    cache: bool


@st.composite
def cases(draw: st.DrawFn) -> Case:
    shape = ClusterShape(
        nodes=draw(st.integers(1, 14)),
        pending_pods=draw(st.integers(1, 60)),
        queues=draw(st.integers(1, 3)),
        max_gang=draw(st.integers(1, 10)),
        running_fill=draw(st.sampled_from([0.0, 0.2, 0.5])),
        releasing=draw(st.sampled_from([0.0, 0.3, 0.7])),
        best_effort=draw(st.sampled_from([0.0, 0.2])),
        pods_per_node=draw(st.integers(2, 12)),
        taints=draw(st.sampled_from([0.0, 0.3])),
        selectors=draw(st.sampled_from([0.0, 0.3])),
        node_scale=draw(st.sampled_from([0.1, 0.25, 0.5])),
        mixed_requests=draw(st.sampled_from([0.0, 0.0, 0.3])),
    )
    search = NodeSearch(
        min_nodes_to_find=draw(st.integers(1, 6)),
        min_percentage_to_find=draw(st.integers(1, 40)),
        percentage_to_find=draw(st.sampled_from([0, 0, 20, 50, 100])),
        next_index=draw(st.integers(0, 20)),
    )
    return Case(synthetic_cluster(shape, seed=draw(st.integers(0, 2**16))), search, draw(st.booleans()))


Outcome = tuple[SessionResult, int]


def run_one(snap: ClusterSnapshot, conf: SchedulerConf, search: NodeSearch, *, vectorised: bool) -> Outcome:
    """One session on ``snap`` with a copy of ``search``: its result and the search's next index."""
    ns = replace(search)
    result = run_session(snap, conf, uid="s1", now=NOW, node_search=ns, vectorised=vectorised)
    return result, ns.next_index


def assert_same(vec: Outcome, ref: Outcome) -> None:
    """Identical binds, podgroup statuses, evictions and explanations, and the same search position."""
    (a, ia), (b, ib) = vec, ref
    assert a.binds() == b.binds()
    assert a.decisions == b.decisions
    assert a.explanations == b.explanations
    assert ia == ib
