"""Helpers the end-to-end tests share: run `pyroclast`, find kubectl, wait, check processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pyroclast.sandbox.state import pid_alive


def pyroclast(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `pyroclast` command of this interpreter's installation, as a user does: with
    the compiled scheduler core when the installation has a usable build (the in-process
    tests run the sources)."""
    return subprocess.run(
        [sys.executable, "-m", "pyroclast.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYROCLAST_NATIVE": "1"},
    )


def kubectl_binary() -> str:
    """The kubectl beside this interpreter (the venv's), else on the PATH; skip if none."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed")
    return found


def wait_for(
    probe: Callable[[], Any], within: float, what: str, last: Callable[[], Any] | None = None
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` (and ``last()``)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.2)
    seen = f"; last seen: {last()}" if last is not None else ""
    raise AssertionError(f"timed out after {within}s waiting for {what}{seen}")


def process_groups_alive(pgids: set[int]) -> list[int]:
    """Pids of live (non-zombie) processes whose process group is one of ``pgids``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


@contextmanager
def detached_sandbox(data_dir: Path, *options: str) -> Iterator[Path]:
    """`pyroclast sandbox up --detach` in ``data_dir``; on exit `down`, then check that no
    sandbox process and no child's process group is left. Yields the kubeconfig path."""
    up = pyroclast("sandbox", "up", "--detach", "--data-dir", str(data_dir), *options)
    if up.returncode != 0:
        pyroclast("sandbox", "down", "--data-dir", str(data_dir), timeout=60)
        pytest.fail(f"sandbox up failed: {up.stdout}{up.stderr}")
    try:
        yield data_dir / "kubeconfig"
    finally:
        state = json.loads((data_dir / "run" / "state.json").read_text())
        pids = {p["pid"] for p in state["processes"] if p["pid"]} | {state["supervisor_pid"]}
        down = pyroclast("sandbox", "down", "--data-dir", str(data_dir), timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
    wait_for(lambda: not [pid for pid in pids if pid_alive(pid)], 10, "every sandbox process to be gone")
    wait_for(lambda: not process_groups_alive(pids), 10, "every child's process group to be gone")


@dataclass
class Sandbox:
    """A running sandbox seen through the real kubectl."""

    data_dir: Path
    kubeconfig: Path
    kubectl_path: str

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.kubectl_path, "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            env={**os.environ, "HOME": str(self.data_dir)},
        )

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def apply(self, *objects: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def vcctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The `vcctl` console script of this installation, pointed at the sandbox's API
        server (KUBECONFIG) and NATS (PYROCLAST_NATS_SERVERS), as its README tells a user."""
        state = json.loads((self.data_dir / "run" / "state.json").read_text())
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PYROCLAST_NATS_SERVERS": state["nats_url"]}
        return subprocess.run(
            [str(Path(sys.executable).parent / "vcctl"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def podgroup_of(self, job: str) -> dict[str, Any] | None:
        """The PodGroup owned by the Volcano Job ``job``, if any."""
        for pg in self.get("podgroups").get("items") or []:
            owners = pg["metadata"].get("ownerReferences") or []
            if any(o.get("kind") == "Job" and o.get("name") == job for o in owners):
                return dict(pg)
        return None

    def pods(self, job_name: str | None = None) -> list[dict[str, Any]]:
        """The pods of Volcano Job ``job_name`` (of every Volcano Job when None)."""
        selector = f"{JOB_NAME}={job_name}" if job_name else JOB_NAME
        return list(self.get("pods", "-l", selector).get("items") or [])

    def pod_phases(self) -> dict[str, dict[str, int]]:
        """``{job: {phase: count}}`` of every Volcano pod: the picture a failure message shows."""
        out: dict[str, dict[str, int]] = {}
        for pod in self.pods():
            counts = out.setdefault(pod["metadata"]["labels"][JOB_NAME], {})
            counts[phase(pod)] = counts.get(phase(pod), 0) + 1
        return out


def phase(pod: dict[str, Any]) -> str:
    """A pod's phase, ``Terminating`` once it is being deleted."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str((pod.get("status") or {}).get("phase") or "Pending")


JOB_NAME = "volcano.sh/job-name"
RUN_SECONDS = "sandbox.pyroclast.dev/run-seconds"
"""The simulated kubelet runs a pod this many seconds."""
LONG = 600
"""Seconds: pods that run until the test deletes their job."""


def job(
    name: str,
    *,
    replicas: int,
    min_available: int,
    cpu: str | None,
    seconds: int = LONG,
    queue: str = "default",
    priority_class: str | None = None,
) -> dict[str, Any]:
    """A Volcano Job of one task: ``replicas`` pods of ``cpu`` each (no requests when None)."""
    container: dict[str, Any] = {"name": "main", "image": "busybox", "command": ["sh", "-c", "true"]}
    if cpu is not None:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict[str, Any] = {
        "minAvailable": min_available,
        "schedulerName": "volcano",
        "queue": queue,
        "tasks": [
            {
                "name": "worker",
                "replicas": replicas,
                "template": {
                    "metadata": {"annotations": {RUN_SECONDS: str(seconds)}},
                    "spec": {
                        "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 0,
                        "containers": [container],
                    },
                },
            }
        ],
    }
    if priority_class is not None:
        spec["priorityClassName"] = priority_class
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": spec,
    }
