"""`vcctl` against a live sandbox: `job why` and `tap`, as a user runs them.

One sandbox of three nodes of 4 CPUs (12 CPUs) with Volcano's default scheduler conf:

- `vcctl job why NAME` names the reason, with its numbers, for three staged jobs: a gang of
  more pods than fit (the scheduler's explanation: 3 of 4 fit, each node short of CPU), a job
  bigger than its queue's capability (held at enqueue), and a node selector that matches no
  node (the scheduler's explanation: no node matches);
- `vcctl tap --since ... --no-follow -o json`, after a job has completed, replays its admission
  verdicts, its phase changes and the scheduler's binds in the order they happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import e2e_support
import pytest
from e2e_support import detached_sandbox, kubectl_binary, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

NODES, NODE_CPU = 3, 4


def job(
    name: str,
    *,
    replicas: int,
    cpu: str,
    command: str = "sleep 600",
    queue: str = "default",
    node_selector: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A gang of ``replicas`` pods of ``cpu`` each (all needed), running ``command``."""
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "containers": [
            {
                "name": "main",
                "image": "busybox",
                "command": ["sh", "-c", command],
                "resources": {"requests": {"cpu": cpu}},
            }
        ],
    }
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "minAvailable": replicas,
            "schedulerName": "volcano",
            "queue": queue,
            "tasks": [{"name": "worker", "replicas": replicas, "template": {"spec": spec}}],
        },
    }


class Sandbox(e2e_support.Sandbox):
    def why(self, name: str) -> str:
        result = self.vcctl("job", "why", name)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def explained(self, name: str) -> str:
        """``vcctl job why NAME`` once it shows the live scheduler's explanation."""
        text: str = wait_for(
            lambda: "Scheduler (" in (out := self.why(name)) and out,
            30,
            f"the scheduler's explanation of {name}",
            lambda: self.why(name),
        )
        return text

    def remove(self, name: str) -> None:
        self.kubectl("delete", "vcjob", name, "--wait=false")
        wait_for(lambda: not self.pods(name), 30, f"the pods of {name} to be gone")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("e2e-vcctl") / "sandbox"
    with detached_sandbox(data_dir, "--nodes", str(NODES), "--node-cpu", str(NODE_CPU)) as kubeconfig:
        yield Sandbox(data_dir, kubeconfig, kubectl_binary())


def test_why_a_gang_too_big_for_the_nodes_waits(sandbox: Sandbox) -> None:
    # 4 pods of 3 CPUs: the 12 CPUs of the cluster would hold them (the gang is enqueued and
    # its pods created), but a 4-CPU node holds one, so 3 fit.
    sandbox.apply(job("too-big", replicas=4, cpu="3"))
    out = sandbox.explained("too-big")
    lines = out.splitlines()
    assert lines[0].startswith("Job default/too-big is Pending (podgroup too-big-")
    assert lines[0].endswith("queue default).")
    assert lines[1] == "Why: gang needs 4 pods, 3 fit: 3 nodes lack cpu (need 3, best node has 1)"
    assert "4/4 tasks in gang unschedulable" in out
    assert "  3 Insufficient cpu" in lines
    assert "Note:" not in out
    sandbox.remove("too-big")


def test_why_a_job_over_its_queues_capability_waits(sandbox: Sandbox) -> None:
    sandbox.apply(
        {
            "apiVersion": "scheduling.volcano.sh/v1beta1",
            "kind": "Queue",
            "metadata": {"name": "small"},
            "spec": {"weight": 1, "reclaimable": False, "capability": {"cpu": "2"}},
        }
    )
    wait_for(
        lambda: (sandbox.get("queue", "small").get("status") or {}).get("state") == "Open",
        15,
        "the queue small to be Open",
    )
    # 3 pods of 1 CPU, all needed, in a queue of 2 CPUs: never enqueued, no pod created.
    sandbox.apply(job("capped", replicas=3, cpu="1", queue="small"))
    wait_for(lambda: sandbox.podgroup_of("capped"), 20, "the PodGroup of capped")
    # Volcano's enqueue holds the PodGroup; the scheduler says which vote refused it.
    out = sandbox.explained("capped")
    lines = out.splitlines()
    assert lines[0].startswith("Job default/capped is Pending (podgroup capped-")
    assert lines[0].endswith("queue small).")
    assert lines[1] == "Why: queue small at capability cpu 0/2 used, gang needs 3"
    scheduler = next(line for line in lines if line.startswith("Scheduler ("))
    assert scheduler.endswith(
        "NotEnqueued: queue resource quota insufficient: queue small cpu: this job's minResources 3"
        " + allocated 0 + inqueue 0 > capability 2"
    ), scheduler
    assert not sandbox.pods("capped")
    assert (sandbox.podgroup_of("capped") or {})["status"]["phase"] == "Pending"
    sandbox.remove("capped")


def test_why_a_node_selector_matching_no_node_waits(sandbox: Sandbox) -> None:
    sandbox.apply(job("nowhere", replicas=1, cpu="1", node_selector={"disktype": "ssd"}))
    out = sandbox.explained("nowhere")
    lines = out.splitlines()
    assert lines[1] == "Why: gang needs 1 pod, 0 fit: 3 nodes don't match the node selector disktype=ssd"
    assert "0/3 nodes are unavailable: 3 node(s) didn't match Pod's node affinity/selector." in out
    assert "  3 node(s) didn't match Pod's node affinity/selector" in lines
    assert "Note:" not in out
    sandbox.remove("nowhere")


def test_tap_replays_a_finished_jobs_audit_trail_in_order(sandbox: Sandbox) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sandbox.apply(job("tapped", replicas=2, cpu="1", command="sleep 1"))
    sandbox.kubectl("wait", "--for=jsonpath={.status.state.phase}=Completed", "vcjob/tapped", "--timeout=40s")
    pods = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in sandbox.pods("tapped")}
    assert len(pods) == 2

    def replay(*args: str) -> list[dict[str, Any]]:
        result = sandbox.vcctl("tap", "--no-follow", "-o", "json", *args)
        assert result.returncode == 0, result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        return [e for e in events if e["name"] == "tapped" or (e["kind"] == "decision" and e["name"] in pods)]

    # The controller's Completed may reach the stream just after the job's status does.
    events = wait_for(
        lambda: (found := replay("--since", since)) and found[-1]["action"] == "Completed" and found,
        10,
        "the Completed phase change on the audit stream",
        lambda: replay("--since", since),
    )
    trail = [(e["kind"], e["action"], e["name"]) for e in events]
    print("\n".join(f"{e['time']} {e['kind']} {e['action']} {e['name']} {e['actor']}" for e in events))
    kinds = [kind for kind, _, _ in trail]
    admissions = [e for e in events if e["kind"] == "admission"]
    assert {e["details"]["webhook"] for e in admissions} == {"mutatejob.volcano.sh", "validatejob.volcano.sh"}
    assert all(e["action"] == "Allowed" and e["actor"] == "webhook" for e in admissions)
    phases = [action for kind, action, _ in trail if kind == "job"]
    assert phases == ["Pending", "Running", "Completed"]
    binds = {e["name"]: e["reason"] for e in events if e["kind"] == "decision"}
    assert binds == pods, "one bind per pod, to the node it runs on"
    assert all(e["action"] == "Bind" and e["actor"] == "scheduler" for e in events if e["kind"] == "decision")

    # Admission, then Pending, then the binds, then Running, then Completed.
    last_admission = max(i for i, k in enumerate(kinds) if k == "admission")
    binds_at = [i for i, k in enumerate(kinds) if k == "decision"]
    pending, running, completed = (
        trail.index(("job", p, "tapped")) for p in ("Pending", "Running", "Completed")
    )
    assert last_admission < pending < min(binds_at)
    assert max(binds_at) < running < completed
    times = [e["time"] for e in events]
    assert times == sorted(times)

    # A duration works as well, and the plain output says the same in columns.
    assert [(e["kind"], e["action"], e["name"]) for e in replay("--since", "10m")] == trail
    plain = sandbox.vcctl("tap", "--no-follow", "--since", since, "--name", "tapped")
    assert plain.returncode == 0, plain.stderr
    rows = [line.split() for line in plain.stdout.splitlines()]
    assert [(r[1], r[2]) for r in rows if r[1] == "job"] == [("job", p) for p in phases]
    assert all(r[3] == "default/tapped" for r in rows)
