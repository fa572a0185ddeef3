"""Volcano's Deployment and JobFlow examples end to end: `pyroclast sandbox up --detach`, kubectl.

One sandbox of three nodes of 4 CPUs serves every case:

- examples/deployment: the queue ``test`` (capability 2 CPUs) and a Deployment of the volcano
  scheduler; the PodGroup controller makes the ReplicaSet's PodGroup (Volcano's
  ``podgroup-<ReplicaSet uid>``, queue from the pod annotation), the pod runs, and scaled to 8
  replicas of 300m only 6 run: the queue's capability holds the rest;
- examples/jobflow: the JobTemplates a..e and the flow a -> b -> (c, d) -> e run to Succeed,
  each job created only once its dependencies are Completed, then (``jobRetainPolicy:
  delete``) the jobs are deleted; the templates' ``sleep 10s`` is cut to ``sleep 1s``;
- a flow whose first job fails: its dependant is never created and the flow is Failed, as
  Volcano's jobflow controller sets it (a failed job in a pending or running flow).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import e2e_support
import pytest
import yaml
from e2e_support import detached_sandbox, kubectl_binary, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(180)]

EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "volcano-examples"
needs_examples = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"{EXAMPLES} is absent")
FLOW_LABEL = "volcano.sh/createdByJobFlow"


class Sandbox(e2e_support.Sandbox):
    def phases(self, resource: str, *selector: str) -> dict[str, str]:
        """``{name: phase}`` of the Volcano Jobs (or JobFlows) listed."""
        return {
            item["metadata"]["name"]: str(((item.get("status") or {}).get("state") or {}).get("phase") or "")
            for item in self.get(resource, *selector).get("items") or []
        }

    def flow_phase(self, name: str) -> str:
        return self.phases("jobflows").get(name, "")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("e2e-workloads") / "sandbox"
    with detached_sandbox(data_dir, "--nodes", "3", "--node-cpu", "4") as kubeconfig:
        yield Sandbox(data_dir, kubeconfig, kubectl_binary())


class Watcher:
    """Lists the Volcano Jobs every 0.2 s in a thread and keeps each listing, in order."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.snapshots: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            result = self.sandbox.run("get", "vcjob", "-o", "yaml")
            if result.returncode == 0:
                items = (yaml.safe_load(result.stdout) or {}).get("items") or []
                self.snapshots.append(
                    {
                        i["metadata"]["name"]: str(
                            ((i.get("status") or {}).get("state") or {}).get("phase") or ""
                        )
                        for i in items
                    }
                )
            time.sleep(0.2)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def first_seen(self, name: str) -> int | None:
        return next((i for i, snap in enumerate(self.snapshots) if name in snap), None)


@needs_examples
def test_the_deployment_example_runs_with_a_podgroup_of_the_podgroup_controller(sandbox: Sandbox) -> None:
    sandbox.kubectl("apply", "-f", str(EXAMPLES / "deployment" / "queue.yaml"))
    wait_for(
        lambda: (sandbox.get("queue", "test").get("status") or {}).get("state") == "Open",
        15,
        "the queue test to be Open",
    )
    sandbox.kubectl("apply", "-f", str(EXAMPLES / "deployment" / "deployment.yaml"))
    sandbox.kubectl("rollout", "status", "deployment/deploy-with-volcano", "--timeout=40s")
    (pod,) = sandbox.get("pods", "-l", "app=nginx")["items"]
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["schedulerName"] == "volcano"
    assert pod["spec"]["nodeName"]

    (rs,) = sandbox.get("replicasets", "-l", "app=nginx")["items"]
    pg_name = f"podgroup-{rs['metadata']['uid']}"
    assert pod["metadata"]["annotations"]["scheduling.k8s.io/group-name"] == pg_name
    pg = sandbox.get("podgroup", pg_name)
    (owner,) = pg["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("ReplicaSet", rs["metadata"]["name"], True)
    assert pg["spec"]["minMember"] == 1
    assert pg["spec"]["queue"] == "test"
    assert pg["spec"]["minResources"]["cpu"] == "300m"
    wait_for(
        lambda: (sandbox.get("podgroup", pg_name).get("status") or {}).get("phase") == "Running",
        15,
        "the PodGroup to be Running",
    )

    # 8 pods of 300m against the queue's capability of 2 CPUs: 6 run, 2 wait.
    sandbox.kubectl("scale", "deployment/deploy-with-volcano", "--replicas=8")

    def split() -> tuple[int, int] | None:
        pods = sandbox.get("pods", "-l", "app=nginx")["items"]
        running = sum(1 for p in pods if p["status"].get("phase") == "Running")
        pending = sum(
            1 for p in pods if p["status"].get("phase") == "Pending" and not p["spec"].get("nodeName")
        )
        return (running, pending) if (running, pending) == (6, 2) else None

    wait_for(split, 30, "6 pods Running and 2 held Pending by the queue's capability")
    pods = sandbox.get("pods", "-l", "app=nginx")["items"]
    assert {p["metadata"]["annotations"]["scheduling.k8s.io/group-name"] for p in pods} == {pg_name}
    assert [p["metadata"]["name"] for p in sandbox.get("podgroups")["items"]].count(pg_name) == 1

    sandbox.kubectl("delete", "deployment", "deploy-with-volcano")
    wait_for(
        lambda: not sandbox.get("pods", "-l", "app=nginx")["items"], 30, "the deployment's pods to be gone"
    )


@needs_examples
def test_the_jobflow_example_runs_its_jobs_in_dependency_order(sandbox: Sandbox) -> None:
    templates = (EXAMPLES / "jobflow" / "JobTemplate.yaml").read_text()
    assert templates.count("sleep 10s") == 5
    sandbox.kubectl("apply", "-f", "-", stdin=templates.replace("sleep 10s", "sleep 1s"))
    assert sorted(i["metadata"]["name"] for i in sandbox.get("jobtemplates")["items"]) == list("abcde")

    with Watcher(sandbox) as watcher:
        sandbox.kubectl("apply", "-f", str(EXAMPLES / "jobflow" / "JobFlow.yaml"))
        wait_for(
            lambda: sandbox.flow_phase("test") == "Succeed",
            90,
            "the JobFlow to Succeed",
            lambda: (sandbox.flow_phase("test"), watcher.snapshots[-1:]),
        )
        # jobRetainPolicy: delete: the flow's jobs go once it has succeeded.
        wait_for(
            lambda: not sandbox.get("vcjob", "-l", FLOW_LABEL)["items"], 30, "the flow's jobs to be deleted"
        )

    # Each job appears only once every job it depends on was seen Completed.
    depends = {
        "test-b": ["test-a"],
        "test-c": ["test-b"],
        "test-d": ["test-b"],
        "test-e": ["test-c", "test-d"],
    }
    for job in ("test-a", "test-b", "test-c", "test-d", "test-e"):
        seen = watcher.first_seen(job)
        assert seen is not None, f"{job} never seen: {watcher.snapshots}"
        for target in depends.get(job, []):
            assert watcher.snapshots[seen].get(target) == "Completed", (job, target, watcher.snapshots[seen])
            target_seen = watcher.first_seen(target)
            assert target_seen is not None
            assert target_seen < seen

    status = sandbox.get("jobflow", "test")["status"]
    assert sorted(status["completedJobs"]) == ["test-a", "test-b", "test-c", "test-d", "test-e"]
    assert not status.get("failedJobs")
    created = {name: c["createTime"] for name, c in status["conditions"].items()}
    assert created["test-a"] < created["test-b"] < created["test-c"] < created["test-e"]
    assert created["test-b"] < created["test-d"] < created["test-e"]
    for entry in status["jobStatusList"]:
        states = [h["state"] for h in entry["runningHistories"]]
        assert states[-1] == "Completed", entry
    sandbox.kubectl("delete", "jobflow", "test")


FAILING_FLOW = """
apiVersion: flow.volcano.sh/v1alpha1
kind: JobTemplate
metadata: {name: breaks}
spec:
  minAvailable: 1
  schedulerName: volcano
  queue: default
  tasks:
  - replicas: 1
    name: main
    template:
      spec:
        restartPolicy: Never
        containers:
        - name: main
          image: busybox
          command: [sh, -c, "sleep 1; exit 3"]
          resources: {requests: {cpu: "1"}}
---
apiVersion: flow.volcano.sh/v1alpha1
kind: JobTemplate
metadata: {name: after-breaks}
spec:
  minAvailable: 1
  schedulerName: volcano
  queue: default
  tasks:
  - replicas: 1
    name: main
    template:
      spec:
        restartPolicy: Never
        containers:
        - {name: main, image: busybox, command: [sh, -c, "sleep 1"], resources: {requests: {cpu: "1"}}}
---
apiVersion: flow.volcano.sh/v1alpha1
kind: JobFlow
metadata: {name: broken}
spec:
  jobRetainPolicy: retain
  flows:
  - name: breaks
  - name: after-breaks
    dependsOn: {targets: [breaks]}
"""


def test_a_failed_dependency_stops_its_dependants(sandbox: Sandbox) -> None:
    sandbox.kubectl("apply", "-f", "-", stdin=FAILING_FLOW)
    wait_for(
        lambda: sandbox.flow_phase("broken") == "Failed",
        40,
        "the JobFlow to be Failed",
        lambda: (sandbox.flow_phase("broken"), sandbox.phases("vcjob")),
    )
    wait_for(lambda: sandbox.phases("vcjob").get("broken-breaks") == "Failed", 20, "the failed job's phase")
    status = sandbox.get("jobflow", "broken")["status"]
    assert status["failedJobs"] == ["broken-breaks"]
    assert not status.get("completedJobs")
    assert set(status["conditions"]) == {"broken-breaks"}
    assert status["conditions"]["broken-breaks"]["taskStatusCount"]["main"]["phase"] == {"Failed": 1}
    jobs = sandbox.phases("vcjob", "-l", FLOW_LABEL)
    assert jobs == {"broken-breaks": "Failed"}, "the dependant was created"
    assert sandbox.run("get", "vcjob", "broken-after-breaks").returncode != 0
