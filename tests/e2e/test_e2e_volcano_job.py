"""A Volcano Job end to end, as a user runs it: `pyroclast sandbox up --detach`, real kubectl.

One sandbox (three nodes of 8 CPUs) serves every case: Volcano's example job is admitted with
Volcano's defaults and runs to Completed; a gang that only fits once another job has finished
waits with its PodGroup Unschedulable, then completes; Volcano's invalid examples are denied
with Volcano's messages; `pyroclast sandbox down` leaves no process behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import e2e_support
import pytest
import yaml
from e2e_support import detached_sandbox, kubectl_binary, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "volcano-examples"
RUN_SECONDS = "sandbox.pyroclast.dev/run-seconds"
needs_examples = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"{EXAMPLES} is absent")

DENIALS = {
    "duplicatedPolicyEvent-webhook-deny.yaml": "duplicate event PodFailed  across different policy",
    "duplicatedTaskName-webhook-deny.yaml": "duplicated task name task-1",
    "minAvailable-webhook-deny.yaml": "job 'minAvailable' should not be greater than total replicas in tasks",
}


def gang_job(name: str, replicas: int, cpu: str, seconds: int) -> str:
    """A job of ``replicas`` pods of ``cpu`` each, all needed at once, each sleeping ``seconds``."""
    return f"""
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata:
  name: {name}
spec:
  minAvailable: {replicas}
  schedulerName: volcano
  queue: default
  tasks:
  - name: worker
    replicas: {replicas}
    template:
      spec:
        restartPolicy: OnFailure
        containers:
        - name: main
          image: busybox
          command: ["sh", "-c", "sleep {seconds}"]
          resources:
            requests:
              cpu: "{cpu}"
"""


class Sandbox(e2e_support.Sandbox):
    def job_phase(self, name: str) -> str:
        return str(((self.get("vcjob", name).get("status") or {}).get("state") or {}).get("phase") or "")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("e2e-vcjob") / "sandbox"
    with detached_sandbox(data_dir) as kubeconfig:
        yield Sandbox(data_dir, kubeconfig, kubectl_binary())


def test_the_services_are_up_and_the_default_queue_is_open(sandbox: Sandbox) -> None:
    state = json.loads((sandbox.data_dir / "run" / "state.json").read_text())
    running = {p["name"] for p in state["processes"] if p["status"] == "running"}
    assert {"controller", "scheduler", "webhook"} <= running
    queues = {q["metadata"]["name"]: q for q in sandbox.get("queues")["items"]}
    assert set(queues) >= {"root", "default"}
    assert queues["default"]["spec"]["reclaimable"] is True
    assert queues["root"]["spec"]["reclaimable"] is False
    assert queues["default"]["status"]["state"] == "Open"


@needs_examples
def test_the_example_job_runs_to_completed(sandbox: Sandbox) -> None:
    manifest = yaml.safe_load((EXAMPLES / "job.yaml").read_text())
    template = manifest["spec"]["tasks"][0]["template"]
    template.setdefault("metadata", {}).setdefault("annotations", {})[RUN_SECONDS] = "3"
    sandbox.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))

    # Admitted with Volcano's defaults: each task's minAvailable is its replicas.
    job = sandbox.get("vcjob", "test-job")
    assert job["spec"]["tasks"][0]["minAvailable"] == 6
    assert job["spec"]["maxRetry"] == 5
    pg = wait_for(lambda: sandbox.podgroup_of("test-job"), 20, "the job's PodGroup")
    assert pg["spec"]["minMember"] == 3
    assert pg["spec"]["queue"] == "default"

    sandbox.kubectl(
        "wait", "--for=jsonpath={.status.state.phase}=Completed", "vcjob/test-job", "--timeout=60s"
    )
    status = sandbox.get("vcjob", "test-job")["status"]
    assert status["succeeded"] == 6
    pods = sandbox.get("pods", "-l", "volcano.sh/job-name=test-job")["items"]
    assert len(pods) == 6
    assert {p["status"]["phase"] for p in pods} == {"Succeeded"}
    assert len({p["spec"]["nodeName"] for p in pods}) > 1

    header, row = sandbox.kubectl("get", "vcjob", "test-job").splitlines()
    assert header.split() == ["NAME", "STATUS", "MINAVAILABLE", "RUNNINGS", "AGE"]
    assert row.split()[:3] == ["test-job", "Completed", "3"]


def test_a_gang_waits_unschedulable_until_the_first_job_finishes(sandbox: Sandbox) -> None:
    # Three 5-CPU pods take one node each and leave 3 CPUs per node: the 4-CPU pods of the
    # second gang fit nowhere, although the cluster as a whole has room for them.
    sandbox.kubectl("apply", "-f", "-", stdin=gang_job("gang-first", 3, "5", 8))
    sandbox.kubectl(
        "wait", "--for=jsonpath={.status.state.phase}=Running", "vcjob/gang-first", "--timeout=30s"
    )
    sandbox.kubectl("apply", "-f", "-", stdin=gang_job("gang-second", 2, "4", 2))

    def unschedulable() -> dict[str, Any] | None:
        pg = sandbox.podgroup_of("gang-second")
        conditions = ((pg or {}).get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c.get("type") == "Unschedulable"), None)

    condition = wait_for(unschedulable, 20, "the second gang's PodGroup to be Unschedulable")
    assert condition["reason"] == "NotEnoughResources"
    assert "2/2 tasks in gang unschedulable" in condition["message"]
    assert sandbox.job_phase("gang-first") == "Running"
    assert sandbox.job_phase("gang-second") == "Pending"

    sandbox.kubectl(
        "wait", "--for=jsonpath={.status.state.phase}=Completed", "vcjob/gang-second", "--timeout=60s"
    )
    assert sandbox.job_phase("gang-first") == "Completed"
    first = sandbox.get("pods", "-l", "volcano.sh/job-name=gang-first")["items"]
    second = sandbox.get("pods", "-l", "volcano.sh/job-name=gang-second")["items"]
    # One finished 5-CPU pod frees a whole node, where both 4-CPU pods fit: the second gang may
    # start as soon as the first pod of the first job has finished, not before.
    first_freed = min(p["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] for p in first)
    second_started = min(p["status"]["startTime"] for p in second)
    assert second_started >= first_freed


@needs_examples
@pytest.mark.parametrize("example", sorted(DENIALS))
def test_an_invalid_job_is_denied_with_volcanos_message(sandbox: Sandbox, example: str) -> None:
    result = sandbox.run("apply", "-f", str(EXAMPLES / "invalid_jobs" / example))
    assert result.returncode != 0
    assert 'admission webhook "validatejob.volcano.sh" denied the request' in result.stderr
    assert DENIALS[example] in result.stderr
    assert sandbox.run("get", "vcjob", "test-job-webhook-disallow").returncode != 0
