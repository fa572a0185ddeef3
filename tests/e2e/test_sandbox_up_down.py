"""The sandbox as a user drives it: `pyroclast sandbox up --detach`, real kubectl, `down`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import kubectl_binary, process_groups_alive, pyroclast, wait_for

from pyroclast.sandbox.state import pid_alive

pytestmark = pytest.mark.e2e

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: e2e-hello
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo hello; sleep 2; exit 0"]
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "sandbox"
    yield directory
    pyroclast("sandbox", "down", "--data-dir", str(directory), timeout=60)


def test_up_kubectl_down_leaves_no_process(data_dir: Path) -> None:
    up = pyroclast("sandbox", "up", "--detach", "--data-dir", str(data_dir), "--nodes", "2")
    assert up.returncode == 0, up.stdout + up.stderr
    kubeconfig = data_dir / "kubeconfig"
    assert f"export KUBECONFIG={kubeconfig}" in up.stdout

    state = json.loads((data_dir / "run" / "state.json").read_text())
    assert state["status"] == "ready"
    pids = {p["pid"] for p in state["processes"] if p["pid"]}
    assert {"nats", "apiserver", "nodes", "kube-controllers"} <= {
        p["name"] for p in state["processes"] if p["status"] == "running"
    }

    def kubectl(*args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [kubectl_binary(), "--kubeconfig", str(kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            env={**os.environ, "HOME": str(data_dir)},
        )
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    assert kubectl("get", "nodes", "-o", "name").split() == ["node/node-0", "node/node-1"]
    kubectl("apply", "-f", "-", stdin=POD)
    kubectl("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/e2e-hello", "--timeout=60s")
    assert "exited with code 0" in kubectl("logs", "e2e-hello")

    # The API server crashes: the supervisor restarts it, and the nodes and controllers reconnect.
    os.kill(next(p["pid"] for p in state["processes"] if p["name"] == "apiserver"), signal.SIGKILL)
    wait_for(lambda: _restarted(data_dir, "apiserver"), 30, "the API server to be restarted")
    wait_for(lambda: _answers(kubeconfig), 30, "the restarted API server to answer")
    kubectl("apply", "-f", "-", stdin=POD.replace("e2e-hello", "e2e-after-restart"))
    kubectl("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/e2e-after-restart", "--timeout=60s")
    state = json.loads((data_dir / "run" / "state.json").read_text())
    pids |= {p["pid"] for p in state["processes"] if p["pid"]}

    status = pyroclast("sandbox", "status", "--data-dir", str(data_dir))
    assert status.returncode == 0, status.stderr
    assert "2 Ready" in status.stdout

    down = pyroclast("sandbox", "down", "--data-dir", str(data_dir), timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
    everyone = pids | {state["supervisor_pid"]}
    wait_for(lambda: not [pid for pid in everyone if pid_alive(pid)], 5, "every sandbox process to be gone")
    wait_for(lambda: not process_groups_alive(pids), 5, "every child's process group to be gone")
    after = pyroclast("sandbox", "status", "--data-dir", str(data_dir))
    assert after.returncode == 1
    assert "not running" in after.stdout


def test_ctrl_c_in_the_foreground_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "fg"
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyroclast.cli.main",
            "sandbox",
            "up",
            "--data-dir",
            str(data_dir),
            "--nodes",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: _status(data_dir) == "ready", 60, "the foreground sandbox to be ready")
        state = json.loads((data_dir / "run" / "state.json").read_text())
        pids = {p["pid"] for p in state["processes"] if p["pid"]}
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=30)
        assert up.returncode == 0, output
        assert "sandbox stopped." in output
        wait_for(lambda: not [pid for pid in pids if pid_alive(pid)], 5, "every sandbox process to be gone")
        wait_for(lambda: not process_groups_alive(pids), 5, "every child's process group to be gone")
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(10)
            pyroclast("sandbox", "down", "--data-dir", str(data_dir), timeout=60)


def _status(data_dir: Path) -> str | None:
    try:
        return str(json.loads((data_dir / "run" / "state.json").read_text())["status"])
    except (OSError, ValueError, KeyError):
        return None


def _answers(kubeconfig: Path) -> bool:
    result = subprocess.run(
        [kubectl_binary(), "--kubeconfig", str(kubeconfig), "get", "--raw", "/readyz"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def _restarted(data_dir: Path, name: str) -> bool:
    state = json.loads((data_dir / "run" / "state.json").read_text())
    process = next(p for p in state["processes"] if p["name"] == name)
    return bool(process["restarts"] >= 1 and process["status"] == "running" and process["pid"])


def test_bad_flags_are_one_line_errors(tmp_path: Path) -> None:
    result = pyroclast("sandbox", "up", "--nodes", "0", "--data-dir", str(tmp_path / "x"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pyroclast sandbox: error: --nodes: must be at least 1, got 0"
    ]
    result = pyroclast("sandbox", "up", "--node-memory", "lots", "--data-dir", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "--node-memory: invalid quantity 'lots'" in result.stderr
    assert "Traceback" not in result.stderr
