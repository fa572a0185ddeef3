"""Record builders and session helpers for the scheduler plugin tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
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
from pyroclast.common.bus.messages import HostPort, NodeRecord, PodGroupRecord, PodRecord, QueueRecord
from pyroclast.common.models.core import Affinity, Taint, Toleration
from pyroclast.common.resources import canonical_amount
from pyroclast.scheduler.api import NodeInfo, SnapshotRecord, TaskInfo, snapshot
from pyroclast.scheduler.conf import SchedulerConf, parse_conf
from pyroclast.scheduler.framework import Session, SessionResult, open_session, run_session

T0 = datetime(2026, 1, 1, tzinfo=UTC)
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


def res(**resources: str | int) -> dict[str, int]:
    """``res(cpu="1", memory="1Gi", gpu=1)`` in canonical units (``gpu`` is ``nvidia.com/gpu``)."""
    out: dict[str, int] = {}
    for name, value in resources.items():
        key = "nvidia.com/gpu" if name == "gpu" else name
        out[key] = canonical_amount(key, value)
    return out


def node(
    name: str,
    cpu: str = "2",
    memory: str = "4Gi",
    pods: int = 110,
    *,
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    unschedulable: bool = False,
    extra: Mapping[str, int] | None = None,
) -> NodeRecord:
    alloc = res(cpu=cpu, memory=memory, pods=pods)
    alloc.update(extra or {})
    return NodeRecord(
        name=name,
        allocatable=alloc,
        ready=True,
        labels=dict(labels or {}),
        taints=list(taints),
        unschedulable=unschedulable,
    )


def pod(
    namespace: str,
    name: str,
    group: str = "",
    cpu: str | None = "1",
    memory: str | None = "1Gi",
    *,
    node_name: str = "",
    phase: str = "Pending",
    labels: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    affinity: Affinity | None = None,
    tolerations: Iterable[Toleration] = (),
    host_ports: Iterable[int] = (),
    extra: Mapping[str, int] | None = None,
    created: int = 0,
) -> PodRecord:
    requests: dict[str, int] = {}
    if cpu is not None:
        requests["cpu"] = canonical_amount("cpu", cpu)
    if memory is not None:
        requests["memory"] = canonical_amount("memory", memory)
    requests.update(extra or {})
    return PodRecord(
        namespace=namespace,
        name=name,
        uid=f"uid-{namespace}-{name}",
        pod_group=group,
        requests=requests,
        node_name=node_name,
        phase=phase,
        scheduler_name="volcano",
        labels=dict(labels or {}),
        node_selector=dict(node_selector or {}),
        affinity=affinity,
        tolerations=list(tolerations),
        host_ports=[HostPort(port=p) for p in host_ports],
        creation_timestamp=T0 + timedelta(seconds=created),
    )


def podgroup(
    namespace: str,
    name: str,
    min_member: int = 1,
    *,
    queue: str = "default",
    phase: str = "Inqueue",
    min_resources: dict[str, int] | None = None,
    created: int = 0,
) -> PodGroupRecord:
    return PodGroupRecord(
        namespace=namespace,
        name=name,
        uid=f"pg-{namespace}-{name}",
        min_member=min_member,
        queue=queue,
        phase=phase,
        min_resources=min_resources or {},
        creation_timestamp=T0 + timedelta(seconds=created),
    )


def queue(
    name: str = "default",
    weight: int = 1,
    *,
    capability: dict[str, int] | None = None,
    guarantee: dict[str, int] | None = None,
    state: str = "Open",
    priority: int = 0,
) -> QueueRecord:
    return QueueRecord(
        name=name,
        weight=weight,
        capability=capability or {},
        guarantee=guarantee or {},
        state=state,
        priority=priority,
    )


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
