"""Record builders and a one-call session runner for the scheduler tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import pytest

from pyroclast.common.bus.messages import (
    PriorityClassRecord,
)
from pyroclast.scheduler.api import ClusterSnapshot, SnapshotRecord, snapshot
from pyroclast.scheduler.conf import SchedulerConf, parse_conf
from pyroclast.scheduler.framework import PLUGINS, Plugin, Session, SessionResult, open_session, run_session
from pyroclast.scheduler.testing.records import T0, node, pod, podgroup, queue  # noqa: F401  (re-exported)
from pyroclast.scheduler.testing.records import res as amounts  # noqa: F401

NOW = datetime(2026, 1, 2, tzinfo=UTC)
GI = 1024**3


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
