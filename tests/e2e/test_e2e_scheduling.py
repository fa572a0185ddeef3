"""Scheduling policy end to end, as a user sees it: `pyroclast sandbox up --detach`, real kubectl.

One sandbox of four nodes of 4 CPUs (16 CPUs) serves every case:

- two queues of weights 1 and 3 split a saturated cluster 1:3 (proportion);
- with a full cluster, a high-priority job submitted after a low-priority one runs first when
  capacity frees (priority, in enqueue and allocate);
- a best-effort pod (no requests) is backfilled while a gang waits Unschedulable (backfill).

Capacity is held by a "blocker" job whose pods run until the test deletes it, so every case
waits for conditions rather than for time. Each case deletes its jobs and waits until no pod
is left before the next one starts.

A note on queues: Volcano's webhook admits a job only into a queue whose ``status.state`` is
``Open``, and it is Volcano's queue controller that opens a new queue (its ``openState``
writes ``status.state: Open`` through the status subresource). Pyroclast's queue controller
does not run yet, and the controller's cache projection reads an unset state as ``Open``, so
the webhook already admits jobs into a queue that has no status. The test still opens its
queues the way the queue controller would, with a status patch, so it keeps passing once the
projection follows Volcano.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import e2e_support
import pytest
from e2e_support import detached_sandbox, job, kubectl_binary, phase, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(180)]

NODES, NODE_CPU = 4, 4
CLUSTER_CPU = NODES * NODE_CPU


class Sandbox(e2e_support.Sandbox):
    def running(self, job_name: str) -> list[dict[str, Any]]:
        return [p for p in self.pods(job_name) if phase(p) == "Running"]

    def podgroup_phase(self, job_name: str) -> str:
        return str(((self.podgroup_of(job_name) or {}).get("status") or {}).get("phase") or "")

    def fill_cluster(self, name: str, cpu_per_node: int) -> None:
        """A job of one pod of ``cpu_per_node`` CPUs per node, all Running until it is deleted."""
        self.apply(job(name, replicas=NODES, min_available=NODES, cpu=str(cpu_per_node)))
        pods = wait_for(
            lambda: len(found := self.running(name)) == NODES and found,
            30,
            f"the {name} job to run {NODES} pods",
            self.pod_phases,
        )
        assert len({p["spec"]["nodeName"] for p in pods}) == NODES


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("e2e-scheduling") / "sandbox"
    options = ("--nodes", str(NODES), "--node-cpu", str(NODE_CPU), "--node-memory", "16Gi")
    with detached_sandbox(data_dir, *options) as kubeconfig:
        yield Sandbox(data_dir, kubeconfig, kubectl_binary())


@pytest.fixture
def cluster(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox, emptied of Volcano jobs and their pods after the case."""
    yield sandbox
    sandbox.kubectl("delete", "jobs.batch.volcano.sh", "--all", "--wait=false")
    wait_for(lambda: not sandbox.pods(), 30, "every job's pods to be gone", sandbox.pod_phases)


def test_two_queues_of_weights_1_and_3_split_a_saturated_cluster(cluster: Sandbox) -> None:
    queues = [
        {
            "apiVersion": "scheduling.volcano.sh/v1beta1",
            "kind": "Queue",
            "metadata": {"name": name},
            "spec": {"weight": weight, "reclaimable": True},
        }
        for name, weight in (("light", 1), ("heavy", 3))
    ]
    cluster.apply(*queues)
    for name in ("light", "heavy"):
        # What Volcano's queue controller does to a new queue (openState: SyncQueue).
        cluster.kubectl(
            "patch",
            "queue",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"state":"Open"}}',
        )
    created = {q["metadata"]["name"]: q for q in cluster.get("queues")["items"]}
    assert created["light"]["spec"]["weight"] == 1
    assert created["heavy"]["spec"]["weight"] == 3
    assert created["light"]["status"]["state"] == created["heavy"]["status"]["state"] == "Open"

    # Both queues must be seen wanting the whole cluster before any capacity is free: Volcano's
    # proportion counts a queue's request from its pods, and the job controller creates pods
    # only for enqueued PodGroups; without the reclaim action (not in the default conf) a
    # queue that got ahead keeps what it took (16 single-pod jobs per queue applied at once to
    # the empty cluster ended 10:6 for the light queue). So the cluster is held full, each queue
    # gets a job of one pod per CPU of the cluster, enqueued at once (minAvailable 1 fits the
    # overcommit headroom), and only then is the capacity released.
    cluster.fill_cluster("blocker", NODE_CPU)
    cluster.apply(
        job("light-work", replicas=CLUSTER_CPU, min_available=1, cpu="1", queue="light"),
        job("heavy-work", replicas=CLUSTER_CPU, min_available=1, cpu="1", queue="heavy"),
    )
    wait_for(
        lambda: all(len(cluster.pods(name)) == CLUSTER_CPU for name in ("light-work", "heavy-work")),
        30,
        "both queues' jobs to be enqueued with all their pods created",
        cluster.pod_phases,
    )
    assert not cluster.running("light-work")
    assert not cluster.running("heavy-work")
    cluster.kubectl("delete", "vcjob", "blocker", "--wait=false")

    def full() -> tuple[int, int] | None:
        light, heavy = len(cluster.running("light-work")), len(cluster.running("heavy-work"))
        return (light, heavy) if light + heavy == CLUSTER_CPU else None

    light, heavy = wait_for(full, 40, "the two queues to fill the cluster", cluster.pod_phases)
    print(f"cluster full: {light} pods of queue light (weight 1), {heavy} of queue heavy (weight 3)")
    expected_light = CLUSTER_CPU // 4
    assert abs(light - expected_light) <= 1, f"light {light}, heavy {heavy}: not 1:3"
    assert abs(heavy - (CLUSTER_CPU - expected_light)) <= 1, f"light {light}, heavy {heavy}: not 1:3"
    wait_for(
        lambda: all(cluster.podgroup_phase(name) == "Running" for name in ("light-work", "heavy-work")),
        10,
        "both PodGroups to be Running",
    )
    assert (len(cluster.running("light-work")), len(cluster.running("heavy-work"))) == (light, heavy)


def test_a_high_priority_job_submitted_later_runs_first(cluster: Sandbox) -> None:
    cluster.apply(
        *(
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": name},
                "value": value,
                "description": f"e2e: {name} priority jobs",
            }
            for name, value in (("e2e-low", 10), ("e2e-high", 1000))
        )
    )
    cluster.fill_cluster("blocker", NODE_CPU)
    # Two gangs that each need the whole cluster: only one can run at a time.
    cluster.apply(
        job(
            "low", replicas=NODES, min_available=NODES, cpu=str(NODE_CPU), seconds=2, priority_class="e2e-low"
        )
    )
    wait_for(lambda: cluster.podgroup_phase("low") == "Pending", 20, "the low-priority PodGroup, Pending")
    cluster.apply(
        job(
            "high",
            replicas=NODES,
            min_available=NODES,
            cpu=str(NODE_CPU),
            seconds=2,
            priority_class="e2e-high",
        )
    )
    pg = wait_for(lambda: cluster.podgroup_of("high"), 20, "the high-priority PodGroup")
    assert pg["spec"]["priorityClassName"] == "e2e-high"
    assert (cluster.podgroup_of("low") or {})["spec"]["priorityClassName"] == "e2e-low"
    assert cluster.podgroup_phase("low") == "Pending"
    cluster.kubectl("delete", "vcjob", "blocker", "--wait=false")

    high = wait_for(
        lambda: len(found := cluster.running("high")) == NODES and found,
        30,
        "the high-priority job to run",
        cluster.pod_phases,
    )
    assert not cluster.running("low"), "the low-priority job runs beside the high-priority one"
    # The low-priority job runs once the high-priority one has finished.
    cluster.kubectl("wait", "--for=jsonpath={.status.state.phase}=Completed", "vcjob/low", "--timeout=40s")
    high = cluster.pods("high")
    low = cluster.pods("low")
    high_started = max(p["status"]["startTime"] for p in high)
    high_done = max(p["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] for p in high)
    low_started = min(p["status"]["startTime"] for p in low)
    assert high_started <= low_started
    assert low_started >= high_done


def test_a_best_effort_pod_is_backfilled_while_a_gang_waits(cluster: Sandbox) -> None:
    # 3 of 4 CPUs taken on every node: 1 CPU free on each, none with 2.
    cluster.fill_cluster("blocker", NODE_CPU - 1)
    cluster.apply(job("gang", replicas=2, min_available=2, cpu="2"))

    def unschedulable() -> dict[str, Any] | None:
        conditions = ((cluster.podgroup_of("gang") or {}).get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c.get("type") == "Unschedulable"), None)

    condition = wait_for(unschedulable, 20, "the gang's PodGroup to be Unschedulable", cluster.pod_phases)
    assert condition["reason"] == "NotEnoughResources"

    cluster.apply(job("best-effort", replicas=1, min_available=1, cpu=None))
    (pod,) = wait_for(
        lambda: cluster.running("best-effort"), 20, "the best-effort pod to run", cluster.pod_phases
    )
    assert not pod["spec"]["containers"][0].get("resources", {}).get("requests")
    assert pod["spec"]["schedulerName"] == "volcano"
    assert pod["spec"]["nodeName"]
    gang = cluster.pods("gang")
    assert len(gang) == 2
    assert {phase(p) for p in gang} == {"Pending"}
    assert not any(p["spec"].get("nodeName") for p in gang)
    assert cluster.podgroup_phase("gang") != "Running"
    assert len(cluster.running("blocker")) == NODES
