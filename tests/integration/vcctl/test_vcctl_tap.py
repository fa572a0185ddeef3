"""``vcctl tap``: audit events published with `AuditPublisher`, followed live and replayed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from apiserver_fixture import LineReader
from nats.aio.client import Client
from nats_fixture import NatsServer
from vcctl_helpers import fresh_names, one_line_error, popen_vcctl, run_vcctl, with_bus

from pyroclast.cli.vcctl import main
from pyroclast.common.bus.audit import AuditPublisher
from pyroclast.common.bus.names import AuditKind, BusNames

pytestmark = pytest.mark.integration

Event = tuple[AuditKind, str, str, str, str]
EVENTS: list[Event] = [
    (AuditKind.JOB, "Created", "default", "train", "JobCreated"),
    (AuditKind.QUEUE, "Closed", "", "q1", "CommandIssued"),
    (AuditKind.DECISION, "Bind", "default", "train-worker-0", "Allocated"),
]


def publish(url: str, names: BusNames, events: list[Event], actor: str = "scheduler") -> None:
    async def go(nc: Client) -> None:
        publisher = AuditPublisher(nc, names, actor=actor)
        for kind, action, namespace, name, reason in events:
            await publisher.emit(
                kind, action, name, namespace=namespace, reason=reason, message=f"{action} {name}"
            )

    with_bus(url, names, go)


def tap(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    capsys.readouterr()
    code = main(["tap", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_live_follow_with_the_console_script(nats_server: NatsServer) -> None:
    names = fresh_names()
    publish(nats_server.url, names, [])
    reader = LineReader(
        popen_vcctl("tap", "--nats-servers", nats_server.url, "--cluster-prefix", names.prefix)
    )
    try:
        deadline = time.monotonic() + 20
        while not any("warmup" in line for line in reader.lines):  # until the follower is listening
            assert time.monotonic() < deadline, reader.lines
            publish(nats_server.url, names, [(AuditKind.JOB, "Ping", "default", "warmup", "")])
            try:
                reader.wait_for(lambda lines: any("warmup" in line for line in lines), timeout=1)
            except AssertionError:
                continue
        publish(nats_server.url, names, EVENTS)
        lines = reader.wait_for(lambda lines: any("train-worker-0" in line for line in lines))
    finally:
        reader.stop()
    live = [line.split() for line in lines if "warmup" not in line]
    assert [(f[1], f[2], f[3], f[4], f[5]) for f in live] == [
        ("job", "Created", "default/train", "scheduler", "JobCreated:"),
        ("queue", "Closed", "q1", "scheduler", "CommandIssued:"),
        ("decision", "Bind", "default/train-worker-0", "scheduler", "Allocated:"),
    ]
    assert live[0][0].endswith("Z")
    assert datetime.fromisoformat(live[0][0].replace("Z", "+00:00"))


def test_since_replays_and_filters(capsys: pytest.CaptureFixture[str], nats_server: NatsServer) -> None:
    names = fresh_names()
    bus = ["--nats-servers", nats_server.url, "--cluster-prefix", names.prefix]
    publish(nats_server.url, names, EVENTS[:1])
    time.sleep(1.1)
    middle = datetime.now(UTC)
    publish(nats_server.url, names, EVENTS[1:])
    code, lines, err = tap(capsys, *bus, "--since", "10m", "--no-follow")
    assert code == 0, err
    assert [line.split()[3] for line in lines] == ["default/train", "q1", "default/train-worker-0"]
    code, lines, _ = tap(capsys, *bus, "--since", middle.isoformat(), "--no-follow")
    assert [line.split()[3] for line in lines] == ["q1", "default/train-worker-0"]
    code, lines, _ = tap(capsys, *bus, "--since", "1h", "--no-follow", "--kind", "queue")
    assert [line.split()[1] for line in lines] == ["queue"]
    code, lines, _ = tap(
        capsys, *bus, "--since", "1h", "--no-follow", "-n", "default", "--name", "train", "-o", "json"
    )
    events = [json.loads(line) for line in lines]
    assert [(e["kind"], e["action"], e["name"], e["actor"]) for e in events] == [
        ("job", "Created", "train", "scheduler")
    ]


def test_errors(capsys: pytest.CaptureFixture[str], nats_server: NatsServer) -> None:
    code, _, err = tap(capsys, "--since", "ten", "--nats-servers", nats_server.url)
    assert code == 1
    assert one_line_error(err) == 'vcctl: --since: expected a duration like 10m or 2h, got "ten"'
    code, _, err = tap(capsys, "--nats-servers", nats_server.url, "--cluster-prefix", "nothing-here")
    assert code == 1
    assert "audit stream nothing-here-audit does not exist" in one_line_error(err)
    done = run_vcctl("tap", "--nats-servers", "nats://127.0.0.1:1")
    assert done.returncode == 1
    assert one_line_error(done.stderr).startswith("vcctl: cannot reach NATS at nats://127.0.0.1:1")
    bad = run_vcctl("tap", "--kind", "widget")
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: vcctl tap")
    assert "invalid choice" in bad.stderr


def test_version_with_the_console_script() -> None:
    done = run_vcctl("version")
    assert done.returncode == 0
    assert done.stdout.startswith("Version: ")
