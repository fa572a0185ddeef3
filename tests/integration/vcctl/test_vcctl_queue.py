"""``vcctl queue create|get|list|operate|delete`` against the sandbox API server."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml
from apiserver_fixture import ApiServerHandle
from vcctl_helpers import one_line_error, run_vcctl, table

pytestmark = pytest.mark.integration

Vc = Callable[..., tuple[int, str, str]]
HEADERS = ["Name", "Weight", "State", "Parent", "Inqueue", "Pending", "Running", "Unknown", "Completed"]


def podgroup(name: str, queue: str, phase: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"minMember": 1, "queue": queue}, "status": {"phase": phase},
    })  # fmt: skip


def test_create_list_get_with_podgroup_counts(apiserver: ApiServerHandle) -> None:
    done = run_vcctl("queue", "create", "-n", "q1", "-w", "3", kubeconfig=apiserver.kubeconfig)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "create queue q1 successfully"
    apiserver.kubectl(
        "patch", "queues.scheduling.volcano.sh", "q1", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"state": "Open"}}),
    )  # fmt: skip
    for name, phase in (("pg-a", "Running"), ("pg-b", "Running"), ("pg-c", "Pending"), ("pg-d", "Inqueue")):
        apiserver.kubectl("create", "-f", "-", input=podgroup(name, "q1", phase))
    listed = run_vcctl("queue", "list", kubeconfig=apiserver.kubeconfig)
    assert listed.returncode == 0, listed.stderr
    rows = table(listed.stdout)
    assert rows[0] == HEADERS
    assert ["q1", "3", "Open", "1", "1", "2", "0", "0"] in rows
    assert any(r[0] == "default" for r in rows)
    got = run_vcctl("queue", "get", "-n", "q1", kubeconfig=apiserver.kubeconfig)
    assert table(got.stdout) == [HEADERS, ["q1", "3", "Open", "1", "1", "2", "0", "0"]]


def test_operate_open_close_by_commands_and_update_by_patch(vc: Vc, apiserver: ApiServerHandle) -> None:
    assert vc("queue", "create", "-n", "q2")[0] == 0
    uid = json.loads(apiserver.kubectl("get", "queues.scheduling.volcano.sh", "q2", "-o", "json").stdout)[
        "metadata"
    ]["uid"]
    code, out, err = vc("queue", "operate", "-n", "q2", "-a", "close")
    assert (code, out.split(" (")[0]) == (0, "close queue q2 successfully"), err
    code, out, err = vc("queue", "operate", "-n", "q2", "-a", "open")
    assert (code, out.split(" (")[0]) == (0, "open queue q2 successfully"), err
    commands = json.loads(
        apiserver.kubectl("get", "commands.bus.volcano.sh", "-n", "default", "-o", "json").stdout
    )
    mine = sorted((c for c in commands["items"] if c["target"]["name"] == "q2"), key=lambda c: c["action"])
    assert [c["action"] for c in mine] == ["CloseQueue", "OpenQueue"]
    for command in mine:
        assert command["metadata"]["name"].startswith(f"q2-{command['action'].lower()}-")
        assert command["metadata"]["ownerReferences"] == [command["target"]]
        assert command["target"]["kind"] == "Queue"
        assert command["target"]["uid"] == uid
    code, out, _ = vc("queue", "operate", "-n", "q2", "-a", "update", "-w", "7")
    assert code == 0
    code, out, _ = vc("queue", "get", "-n", "q2", "-o", "json")
    assert json.loads(out)["spec"]["weight"] == 7
    code, _, err = vc("queue", "operate", "-n", "q2", "-a", "update")
    assert code == 1
    assert "weight must be specified" in one_line_error(err)
    code, _, err = vc("queue", "operate", "-n", "q2", "-a", "reopen")
    assert one_line_error(err) == "vcctl: action reopen invalid, valid actions are open, close and update"
    code, _, err = vc("queue", "operate", "-n", "q2")
    assert one_line_error(err) == "vcctl: action can not be null"
    code, out, _ = vc("queue", "list", "-o", "yaml")
    assert "q2" in [q["metadata"]["name"] for q in yaml.safe_load(out)["items"]]


def test_delete_and_missing_queue(vc: Vc, apiserver: ApiServerHandle) -> None:
    assert vc("queue", "create", "-n", "q3")[0] == 0
    code, out, _ = vc("queue", "delete", "-n", "q3")
    assert (code, out.strip()) == (0, "delete queue q3 successfully")
    code, _, err = vc("queue", "get", "-n", "q3")
    assert code == 1
    assert one_line_error(err) == 'vcctl: queue "q3" not found'
    done = run_vcctl("queue", "operate", "-n", "q3", "-a", "open", kubeconfig=apiserver.kubeconfig)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == 'vcctl: queue "q3" not found'
    bad = run_vcctl("queue", "create", "--weight", "heavy", kubeconfig=apiserver.kubeconfig)
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: vcctl queue create")
    assert "invalid int value" in bad.stderr
