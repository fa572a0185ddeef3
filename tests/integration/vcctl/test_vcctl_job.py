"""``vcctl job run|list|view|suspend|resume|delete`` against the sandbox API server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from apiserver_fixture import ApiServerHandle, LineReader
from vcctl_helpers import one_line_error, popen_vcctl, run_vcctl, table

pytestmark = pytest.mark.integration

Vc = Callable[..., tuple[int, str, str]]
HEADERS = [
    "Name", "Creation", "Phase", "JobType", "Replicas", "Min",
    "Pending", "Running", "Succeeded", "Failed", "Unknown", "RetryCount",
]  # fmt: skip


def set_status(apiserver: ApiServerHandle, name: str, status: dict[str, object], ns: str = "default") -> None:
    apiserver.kubectl(
        "patch", "jobs.batch.volcano.sh", name, "-n", ns, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip


def test_run_and_list_with_the_console_script(apiserver: ApiServerHandle) -> None:
    done = run_vcctl("job", "run", "-N", "sub1", "-r", "3", "-m", "2", kubeconfig=apiserver.kubeconfig)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "run job sub1 successfully"
    set_status(
        apiserver, "sub1",
        {"state": {"phase": "Running"}, "minAvailable": 2, "running": 2, "pending": 1, "retryCount": 1},
    )  # fmt: skip
    listed = run_vcctl("job", "list", kubeconfig=apiserver.kubeconfig)
    assert listed.returncode == 0, listed.stderr
    rows = table(listed.stdout)
    assert rows[0] == HEADERS
    row = next(r for r in rows if r[0] == "sub1")
    assert row[2:] == ["Running", "Batch", "3", "2", "1", "2", "0", "0", "0", "1"]
    job = yaml.safe_load(apiserver.kubectl("get", "jobs.batch.volcano.sh", "sub1", "-o", "yaml").stdout)
    task = job["spec"]["tasks"][0]
    assert job["spec"]["minAvailable"] == 2
    assert job["spec"]["schedulerName"] == "volcano"
    assert task["replicas"] == 3
    container = task["template"]["spec"]["containers"][0]
    assert container["image"] == "busybox"
    assert container["resources"]["requests"] == {"cpu": "1000m", "memory": "100Mi"}


def test_run_from_file_and_list_filters(vc: Vc, tmp_path: Path, apiserver: ApiServerHandle) -> None:
    apiserver.kubectl("create", "namespace", "other")
    manifest = {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": "fromfile", "namespace": "other", "labels": {"volcano.sh/job-type": "MPI"}},
        "spec": {
            "queue": "default",
            "minAvailable": 1,
            "tasks": [
                {
                    "name": "t",
                    "replicas": 1,
                    "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}},
                }
            ],
        },
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(manifest))
    code, out, err = vc("job", "run", "-f", str(path))
    assert (code, out.strip()) == (0, "run job fromfile successfully"), err
    code, out, _ = vc("job", "list", "--all-namespaces")
    rows = table(out)
    assert rows[0] == ["Namespace", *HEADERS]
    assert rows[[r[1] for r in rows].index("fromfile")][:2] == ["other", "fromfile"]
    code, out, _ = vc("job", "list", "-n", "other")
    assert [r[0] for r in table(out)[1:]] == ["fromfile"]
    assert "MPI" in out
    code, out, _ = vc("job", "list", "-n", "other", "--selector", "nomatch")
    assert out.strip() == "No resources found"
    code, out, _ = vc("job", "list", "-n", "other", "-q", "elsewhere")
    assert out.strip() == "No resources found"
    code, out, _ = vc("job", "list", "-n", "other", "-o", "json")
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == ["fromfile"]
    code, _, err = vc("job", "run", "-f", str(tmp_path / "job.txt"))
    assert code == 1
    assert one_line_error(err) == "vcctl: only support yaml file"


def test_view_text_yaml_and_events(vc: Vc, apiserver: ApiServerHandle) -> None:
    assert vc("job", "run", "-N", "viewed", "-r", "2")[0] == 0
    apiserver.kubectl(
        "create", "-f", "-",
        input=yaml.safe_dump({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "viewed.1234", "namespace": "default"},
            "involvedObject": {"kind": "Job", "name": "viewed", "namespace": "default"},
            "type": "Normal", "reason": "ExecuteAction", "message": "Start to execute action SyncJob",
            "source": {"component": "vc-controller-manager"}, "count": 1,
        }),
    )  # fmt: skip
    code, out, err = vc("job", "view", "-N", "viewed")
    assert code == 0, err
    assert "Name:        viewed" in out
    assert "Namespace:   default" in out
    assert "Replicas: 2" in out
    assert "Image: busybox" in out
    assert "ExecuteAction" in out
    assert "Start to execute action SyncJob" in out
    code, out, _ = vc("job", "view", "viewed", "-o", "yaml")
    assert yaml.safe_load(out)["metadata"]["name"] == "viewed"
    code, _, err = vc("job", "view")
    assert code == 1
    assert "mandatory" in one_line_error(err)


def test_suspend_resume_create_commands_and_delete(vc: Vc, apiserver: ApiServerHandle) -> None:
    assert vc("job", "run", "-N", "cmdjob")[0] == 0
    uid = json.loads(apiserver.kubectl("get", "jobs.batch.volcano.sh", "cmdjob", "-o", "json").stdout)[
        "metadata"
    ]["uid"]
    code, out, err = vc("job", "suspend", "-N", "cmdjob")
    assert (code, out.split(" (")[0]) == (0, "suspend job cmdjob successfully"), err
    code, out, err = vc("job", "resume", "-N", "cmdjob")
    assert (code, out.split(" (")[0]) == (0, "resume job cmdjob successfully"), err
    commands = json.loads(apiserver.kubectl("get", "commands.bus.volcano.sh", "-o", "json").stdout)["items"]
    mine = sorted((c for c in commands if c["target"]["name"] == "cmdjob"), key=lambda c: c["action"])
    assert [c["action"] for c in mine] == ["AbortJob", "ResumeJob"]
    for command in mine:
        assert command["metadata"]["name"].startswith(f"cmdjob-{command['action'].lower()}-")
        ref = command["metadata"]["ownerReferences"][0]
        assert ref == command["target"]
        assert (ref["kind"], ref["apiVersion"], ref["uid"], ref["controller"]) == (
            "Job", "batch.volcano.sh/v1alpha1", uid, True,
        )  # fmt: skip
    code, out, _ = vc("job", "delete", "-N", "cmdjob")
    assert (code, out.strip()) == (0, "delete job cmdjob successfully")
    code, _, err = vc("job", "delete", "-N", "cmdjob")
    assert code == 1
    assert one_line_error(err) == 'vcctl: job "cmdjob" not found in namespace "default"'


def test_missing_job_and_bad_flags_with_the_console_script(apiserver: ApiServerHandle) -> None:
    done = run_vcctl("job", "suspend", "-N", "ghost", "-n", "default", kubeconfig=apiserver.kubeconfig)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == 'vcctl: job "ghost" not found in namespace "default"'
    bad = run_vcctl("job", "list", "--frobnicate", kubeconfig=apiserver.kubeconfig)
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: vcctl")
    assert "--frobnicate" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_unreachable_api_server_is_one_line(vc: Vc, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(yaml.safe_dump({
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }))  # fmt: skip
    code, _, err = vc("job", "list", "-k", str(config))
    assert code == 1
    assert one_line_error(err).startswith("vcctl: cannot reach the API server at http://127.0.0.1:1")


def test_list_watch_prints_changes_and_view_watch_ends_with_the_job(
    vc: Vc, apiserver: ApiServerHandle
) -> None:
    assert vc("job", "run", "-N", "watched", "-r", "2")[0] == 0
    set_status(apiserver, "watched", {"state": {"phase": "Pending"}, "pending": 2})
    reader = LineReader(
        popen_vcctl("job", "list", "-w", "--selector", "watched", kubeconfig=apiserver.kubeconfig)
    )
    try:
        reader.wait_for(lambda lines: any(line.startswith("watched") and "Pending" in line for line in lines))
        set_status(apiserver, "watched", {"state": {"phase": "Running"}, "pending": 0, "running": 2})
        lines = reader.wait_for(
            lambda lines: any(line.startswith("watched") and "Running" in line for line in lines)
        )
    finally:
        reader.stop()
    assert lines[0].split() == HEADERS
    view = LineReader(popen_vcctl("job", "view", "-N", "watched", "-w", kubeconfig=apiserver.kubeconfig))
    try:
        view.wait_for(lambda lines: any("phase=Running" in line and "ready=2/2" in line for line in lines))
        set_status(apiserver, "watched", {"state": {"phase": "Completed"}, "running": 0, "succeeded": 2})
        view.wait_for(lambda lines: any("phase=Completed" in line for line in lines))
        deadline = time.monotonic() + 10
        while view.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert view.proc.returncode == 0
    finally:
        view.stop()
