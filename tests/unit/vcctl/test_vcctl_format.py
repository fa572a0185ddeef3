"""Pure formatting of vcctl: ages, table rows, tables, durations, audit lines, kubeconfig."""

from __future__ import annotations

import base64
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pyroclast.cli.vc import output
from pyroclast.cli.vc.errors import VcctlError
from pyroclast.cli.vc.job import job_row, list_headers, resource_list
from pyroclast.cli.vc.kubeconfig import load
from pyroclast.cli.vc.queue import podgroup_counts, queue_row
from pyroclast.cli.vc.tap import format_event, parse_duration, parse_since
from pyroclast.cli.vc.watch import status_line
from pyroclast.common.bus.messages import AuditEvent
from pyroclast.common.bus.names import AuditKind


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (200, "3m20s"),
        (900, "15m"), (3 * 3600, "3h"), (5 * 3600 + 600, "5h10m"), (30 * 3600, "30h"),
        (3 * 86400 + 4 * 3600, "3d4h"), (20 * 86400, "20d"), (800 * 86400, "2y70d"), (3000 * 86400, "8y"),
    ],
)  # fmt: skip
def test_human_duration_matches_kubernetes(seconds: int, text: str) -> None:
    assert output.human_duration(seconds) == text


def test_age_and_date() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert output.age("2026-01-02T03:03:05Z", now) == "60s"
    assert output.age(None) == "<unknown>"
    assert output.date("2026-01-02T03:03:05Z") == "2026-01-02"


def test_job_row_as_volcano_prints_it() -> None:
    job = {
        "metadata": {"name": "j", "namespace": "ns", "creationTimestamp": "2026-03-04T05:06:07Z",
                     "labels": {"volcano.sh/job-type": "MPI"}},
        "spec": {"tasks": [{"replicas": 2}, {"replicas": 3}]},
        "status": {
            "state": {"phase": "Running"}, "minAvailable": 4, "running": 4, "pending": 1, "retryCount": 2,
        },
    }  # fmt: skip
    assert job_row(job) == ["j", "2026-03-04", "Running", "MPI", 5, 4, 1, 4, 0, 0, 0, 2]
    assert job_row(job, all_namespaces=True)[:2] == ["ns", "j"]
    assert job_row({"metadata": {"name": "x"}})[3] == "Batch"
    assert list_headers(True)[0] == "Namespace"
    assert list_headers(False)[-1] == "RetryCount"


def test_queue_row_counts_podgroups_by_phase() -> None:
    pgs = [{"spec": {"queue": "q"}, "status": {"phase": p}} for p in ("Running", "Running", "Inqueue")]
    counts = podgroup_counts([*pgs, {"status": {"phase": "Pending"}}])
    queue = {"metadata": {"name": "q"}, "spec": {"weight": 2, "parent": "root"}, "status": {"state": "Open"}}
    assert queue_row(queue, counts["q"]) == ["q", 2, "Open", "root", 1, 0, 2, 0, 0]
    assert counts["default"] == Counter({"Pending": 1})


def test_render_table_aligns_columns_without_trailing_spaces() -> None:
    text = output.render_table(["Name", "Weight"], [["long-name", 1], ["q", 10]])
    lines = text.splitlines()
    assert lines == ["Name        Weight", "long-name   1", "q           10"]


def test_dump_and_objects(capsys: pytest.CaptureFixture[str]) -> None:
    obj = {"metadata": {"name": "a", "managedFields": [{}]}}
    output.print_objects([obj], "yaml")
    assert yaml.safe_load(capsys.readouterr().out) == {"metadata": {"name": "a"}}
    output.print_objects([obj, obj], "json", list_kind="List")
    assert '"kind": "List"' in capsys.readouterr().out
    with pytest.raises(VcctlError):
        output.dump({}, "xml")


def test_resource_list() -> None:
    assert resource_list("cpu=1000m,memory=100Mi", "--requests") == {"cpu": "1000m", "memory": "100Mi"}
    assert resource_list("", "--requests") is None
    with pytest.raises(VcctlError, match="expected <resource>=<value>"):
        resource_list("cpu", "--requests")
    with pytest.raises(VcctlError, match="--limits"):
        resource_list("cpu=lots", "--limits")


def test_status_line() -> None:
    job = {"spec": {"tasks": [{"replicas": 3}]}, "status": {"state": {"phase": "Running"}, "running": 2}}
    assert status_line(job) == "phase=Running pending=0 running=2 succeeded=0 failed=0 unknown=0 ready=2/3"


def test_durations_and_since() -> None:
    assert parse_duration("10m") == timedelta(minutes=10)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1.5s") == timedelta(seconds=1.5)
    assert parse_since("all") == "all"
    assert parse_since(None) is None
    assert parse_since("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for bad in ("ten", "10", "m", "-5m", ""):
        if bad:
            with pytest.raises(VcctlError, match="expected a duration like 10m or 2h"):
                parse_since(bad)


def test_audit_line() -> None:
    event = AuditEvent(
        time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), kind=AuditKind.JOB, action="Created",
        namespace="default", name="train", actor="controller", reason="JobCreated", message="created",
    )  # fmt: skip
    line = format_event(event)
    assert line.split()[:6] == [
        "2026-01-02T03:04:05.678Z",
        "job",
        "Created",
        "default/train",
        "controller",
        "JobCreated:",
    ]
    assert line.endswith("JobCreated: created")
    bare = AuditEvent(time=event.time, kind=AuditKind.QUEUE, action="Closed", name="q1")
    assert format_event(bare).split()[3:] == ["q1", "-"]


def test_kubeconfig_token_ca_namespace_and_master(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "team"}}],
        "clusters": [{"name": "k", "cluster": {
            "server": "https://h:6443/", "certificate-authority-data": base64.b64encode(b"PEM").decode(),
        }}],
        "users": [{"name": "u", "user": {"token": "secret"}}],
    }  # fmt: skip
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    loaded = load(str(path))
    assert (loaded.server, loaded.namespace, loaded.token, loaded.ca_data) == (
        "https://h:6443",
        "team",
        "secret",
        b"PEM",
    )
    assert load(str(path), "http://other:8080").server == "http://other:8080"
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert load(None).token == "secret"
    with pytest.raises(VcctlError, match="does not exist"):
        load(str(tmp_path / "missing"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(VcctlError, match="no kubeconfig found"):
        load(None)
