"""Record builders and session helpers for the scheduler plugin tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import yaml

import pyroclast.scheduler.actions
import pyroclast.scheduler.plugins
import pyroclast.scheduler.plugins.binpack
import pyroclast.scheduler.plugins.drf
import pyroclast.scheduler.plugins.nodeorder
import pyroclast.scheduler.plugins.overcommit
import pyroclast.scheduler.plugins.predicates
import pyroclast.scheduler.plugins.proportion  # noqa: F401
from pyroclast.common.bus.messages import NodeRecord, PodRecord
from pyroclast.scheduler.api import NodeInfo, SnapshotRecord, TaskInfo, snapshot
from pyroclast.scheduler.conf import SchedulerConf, parse_conf
from pyroclast.scheduler.framework import Session, SessionResult, open_session, run_session
from pyroclast.scheduler.testing.records import T0, node, pod, podgroup, queue, res  # noqa: F401  (re-exported)

NOW = datetime(2026, 1, 2, tzinfo=UTC)

Records = list[SnapshotRecord]
Option = dict[str, Any]

FULL_CONF = """\
actions: "enqueue, allocate, backfill"
tiers:
- plugins:
  - name: priority
  - name: gang
  - name: conformance
- plugins:
  - name: overcommit
  - name: drf
  - name: predicates
  - name: proportion
  - name: nodeorder
  - name: binpack
"""


def conf_of(actions: str, *tiers: list[str | Option]) -> SchedulerConf:
    """A conf from tiers of plugin names or plugin option mappings."""
    doc = {
        "actions": actions,
        "tiers": [{"plugins": [p if isinstance(p, dict) else {"name": p} for p in tier]} for tier in tiers],
    }
    return parse_conf(yaml.safe_dump(doc))


def run(records: Iterable[Any], cfg: SchedulerConf) -> SessionResult:
    return run_session(snapshot(records), cfg, uid="s1", now=NOW)


def session(records: Iterable[Any], cfg: SchedulerConf) -> Session:
    return open_session(snapshot(records), cfg, uid="s1", now=NOW)


def task_of(p: PodRecord) -> TaskInfo:
    return TaskInfo.from_pod(p)


def node_info(n: NodeRecord, *placed: PodRecord) -> NodeInfo:
    info = NodeInfo(n)
    for p in placed:
        info.add_task(TaskInfo.from_pod(p))
    return info
