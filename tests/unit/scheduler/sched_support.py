"""Record builders and a one-call session runner for the scheduler tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from pyroclast.common.bus.messages import (
    NodeRecord,
    PodGroupRecord,
    PodRecord,
    PriorityClassRecord,
    QueueRecord,
)
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.common.resources import canonical_amount
from pyroclast.scheduler.api import ClusterSnapshot, SnapshotRecord, snapshot
from pyroclast.scheduler.conf import SchedulerConf, parse_conf
from pyroclast.scheduler.framework import PLUGINS, Plugin, Session, SessionResult, open_session, run_session

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 2, tzinfo=UTC)
GI = 1024**3


def amounts(**resources: str | int) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in resources.items():
        key = name.replace("_", "/") if name == "nvidia_com_gpu" else name
        out[key] = canonical_amount(key, value)
    return out


def node(
    name: str, cpu: str = "2", memory: str = "4Gi", pods: int = 110, labels: dict[str, str] | None = None
) -> NodeRecord:
    return NodeRecord(
        name=name, allocatable=amounts(cpu=cpu, memory=memory, pods=pods), ready=True, labels=labels or {}
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
    priority: int = 0,
    role: str = "",
    deleting: bool = False,
    created: int = 0,
    scheduler: str = "volcano",
    priority_class: str = "",
    node_selector: dict[str, str] | None = None,
) -> PodRecord:
    requests: dict[str, int] = {}
    if cpu is not None:
        requests["cpu"] = canonical_amount("cpu", cpu)
    if memory is not None:
        requests["memory"] = canonical_amount("memory", memory)
    return PodRecord(
        namespace=namespace,
        name=name,
        uid=f"uid-{namespace}-{name}",
        pod_group=group,
        requests=requests,
        node_name=node_name,
        phase=phase,
        priority=priority,
        task_name=role,
        deleting=deleting,
        scheduler_name=scheduler,
        priority_class_name=priority_class,
        node_selector=node_selector or {},
        creation_timestamp=T0 + timedelta(seconds=created),
    )


def podgroup(
    namespace: str,
    name: str,
    min_member: int = 1,
    *,
    queue: str = "default",
    phase: str = "Inqueue",
    priority_class: str = "",
    min_resources: dict[str, int] | None = None,
    min_task_member: dict[str, int] | None = None,
    created: int = 0,
    conditions: Sequence[PodGroupCondition] = (),
) -> PodGroupRecord:
    return PodGroupRecord(
        namespace=namespace,
        name=name,
        uid=f"pg-{namespace}-{name}",
        min_member=min_member,
        queue=queue,
        phase=phase,
        priority_class_name=priority_class,
        min_resources=min_resources or {},
        min_task_member=min_task_member or {},
        creation_timestamp=T0 + timedelta(seconds=created),
        conditions=list(conditions),
    )


def queue(name: str = "default", weight: int = 1) -> QueueRecord:
    return QueueRecord(name=name, weight=weight)


def priority_class(name: str, value: int, *, default: bool = False) -> PriorityClassRecord:
    return PriorityClassRecord(name=name, value=value, global_default=default)


def conf(
    actions: str = "enqueue, allocate, backfill", plugins: Iterable[str] = ("priority", "gang", "conformance")
) -> SchedulerConf:
    lines = [f'actions: "{actions}"', "tiers:", "- plugins:"]
    lines += [f"  - name: {p}" for p in plugins]
    return parse_conf("\n".join(lines) + "\n")


def run(
    records: Iterable[SnapshotRecord], cfg: SchedulerConf | None = None, *, uid: str = "s1"
) -> SessionResult:
    return run_session(snapshot(records), cfg or conf(), uid=uid, now=NOW)


def session(records: Iterable[SnapshotRecord], cfg: SchedulerConf | None = None) -> Session:
    return open_session(snapshot(records), cfg or conf(), uid="s1", now=NOW)


def snap(records: Iterable[SnapshotRecord]) -> ClusterSnapshot:
    return snapshot(records)


def probe_plugin(name: str, setup: Callable[[Session, str], None]) -> type[Plugin]:
    """A plugin class named ``name`` whose ``on_session_open`` runs ``setup(ssn, name)``."""

    def on_session_open(self: Plugin, ssn: Session) -> None:
        setup(ssn, name)

    return type(name, (Plugin,), {"name": name, "on_session_open": on_session_open})


def install_plugin(monkeypatch: pytest.MonkeyPatch, name: str, setup: Callable[[Session, str], None]) -> None:
    monkeypatch.setitem(PLUGINS, name, probe_plugin(name, setup))
