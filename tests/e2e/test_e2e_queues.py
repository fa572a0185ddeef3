"""Queues end to end, as a user runs them: `pyroclast sandbox up --detach`, real kubectl, `vcctl`.

One sandbox of three nodes of 8 CPUs (24 CPUs), started with a scheduler conf of its own
(``--scheduler-conf``: drf with ``enableHierarchy: true``, no proportion, as Volcano's HDRF
design asks), serves both cases:

- closing a queue while a job runs in it: the queue is Closing, the webhook refuses a new job
  with Volcano's message, the queue is Closed once the job has ended (Volcano's job controller
  deletes a finished job's PodGroup, and a Closing queue without PodGroups is Closed), and
  `vcctl queue operate -a open` opens it again for a new job;
- hierarchical queues (``volcano.sh/hierarchy`` / ``volcano.sh/hierarchy-weights``) share a
  saturated cluster as Volcano's hierarchical DRF orders them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import e2e_support
import pytest
from e2e_support import LONG, detached_sandbox, job, kubectl_binary, phase, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(180)]

NODES, NODE_CPU = 3, 8
CLUSTER_CPU = NODES * NODE_CPU
HIERARCHY = "volcano.sh/hierarchy"
WEIGHTS = "volcano.sh/hierarchy-weights"

# Volcano's HDRF conf (docs/design/hdrf.md): drf with the hierarchy, proportion left out.
HDRF_CONF = """\
actions: "enqueue, allocate, backfill"
tiers:
- plugins:
  - name: priority
  - name: gang
  - name: conformance
- plugins:
  - name: drf
    enableHierarchy: true
  - name: predicates
  - name: nodeorder
"""


def queue(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "Queue",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"weight": 1, "reclaimable": True},
    }


class Sandbox(e2e_support.Sandbox):
    def queue_state(self, name: str) -> str:
        return str((self.get("queue", name).get("status") or {}).get("state") or "")

    def wait_queue_state(self, name: str, state: str, timeout: float, what: str) -> None:
        wait_for(lambda: self.queue_state(name) == state, timeout, what, lambda: self.queue_state(name))

    def job_phase(self, name: str) -> str:
        return str(((self.get("vcjob", name).get("status") or {}).get("state") or {}).get("phase") or "")

    def running(self, job_name: str) -> int:
        return sum(1 for p in self.pods(job_name) if phase(p) == "Running")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    base = tmp_path_factory.mktemp("e2e-queues")
    conf = base / "volcano-scheduler.conf"
    conf.write_text(HDRF_CONF)
    options = ("--nodes", str(NODES), "--node-cpu", str(NODE_CPU), "--scheduler-conf", str(conf))
    with detached_sandbox(base / "sandbox", *options) as kubeconfig:
        yield Sandbox(base / "sandbox", kubeconfig, kubectl_binary())


def test_the_scheduler_runs_the_conf_given_to_sandbox_up(sandbox: Sandbox) -> None:
    log = (sandbox.data_dir / "run" / "scheduler.log").read_text()
    loaded = [json.loads(line) for line in log.splitlines() if "scheduler conf loaded" in line]
    assert loaded, log[-2000:]
    assert loaded[0]["source"].endswith("volcano-scheduler.conf")
    assert "proportion" not in loaded[0]["plugins"]
    assert "drf" in loaded[0]["plugins"]


def test_a_closed_queue_refuses_jobs_until_it_is_opened_again(sandbox: Sandbox) -> None:
    sandbox.apply(queue("closing-q"))
    wait_for(lambda: sandbox.queue_state("closing-q") == "Open", 15, "the queue controller to open the queue")

    # The job runs long enough for the queue to be closed and a second job tried meanwhile.
    sandbox.apply(job("holder", queue="closing-q", replicas=1, min_available=1, cpu="1", seconds=8))
    sandbox.kubectl("wait", "--for=jsonpath={.status.state.phase}=Running", "vcjob/holder", "--timeout=30s")
    closed = sandbox.vcctl("queue", "operate", "-n", "closing-q", "-a", "close")
    assert closed.returncode == 0, closed.stderr
    sandbox.wait_queue_state("closing-q", "Closing", 10, "the queue to be Closing")

    late = json.dumps(job("late", queue="closing-q", replicas=1, min_available=1, cpu="1", seconds=1))
    refused = sandbox.run("apply", "-f", "-", stdin=late)
    assert refused.returncode != 0
    assert 'admission webhook "validatejob.volcano.sh" denied the request' in refused.stderr
    assert "can only submit job to queue with state `Open`, queue `closing-q` status is `Closing`" in (
        refused.stderr
    )
    assert sandbox.run("get", "vcjob", "late").returncode != 0
    assert sandbox.job_phase("holder") == "Running", "the running job is left to finish"

    sandbox.kubectl("wait", "--for=jsonpath={.status.state.phase}=Completed", "vcjob/holder", "--timeout=40s")
    sandbox.wait_queue_state("closing-q", "Closed", 15, "the queue to be Closed once its job has ended")
    still = sandbox.run("apply", "-f", "-", stdin=late)
    assert still.returncode != 0
    assert "queue `closing-q` status is `Closed`" in still.stderr

    opened = sandbox.vcctl("queue", "operate", "-n", "closing-q", "-a", "open")
    assert opened.returncode == 0, opened.stderr
    sandbox.wait_queue_state("closing-q", "Open", 15, "the queue to be Open again")
    shown = sandbox.vcctl("queue", "get", "-n", "closing-q")
    assert shown.returncode == 0, shown.stderr
    row = shown.stdout.splitlines()[1]
    assert row.split()[:3] == ["closing-q", "1", "Open"], shown.stdout

    sandbox.kubectl("apply", "-f", "-", stdin=late)
    sandbox.kubectl("wait", "--for=jsonpath={.status.state.phase}=Completed", "vcjob/late", "--timeout=40s")
    sandbox.kubectl("delete", "vcjob", "holder", "late")


def test_hierarchical_queues_share_the_cluster_by_the_hierarchy_weights(sandbox: Sandbox) -> None:
    """Volcano's hierarchical DRF (pkg/scheduler/plugins/drf, docs/design/hdrf.md): queues
    compare level by level by ``share / weight`` of their path's nodes, and an inner node's
    share is its children's allocations rescaled to the smallest child share (HDRF).

    The tree: ``root/eng/dev`` (weights 1/2/1), ``root/eng/prod`` (1/2/3), ``root/sci`` (1/1,
    given as ``sci`` and ``1``: the queue webhook adds the root). Saturating 24 CPUs with
    1-CPU pods, allocation stops where no queue is ahead of another:

    - siblings dev and prod: ``dev/1 = prod/3``, so prod runs three times dev's pods;
    - eng against sci: eng's share is dev's and prod's rescaled to the smaller (dev's), so
      ``2 * dev / 2 = sci / 1``: sci runs as many pods as dev.

    That is dev = sci = 24/5 = 4.8 and prod = 14.4: integer pods land within 1.5 of each.
    Without the hierarchy (drf or proportion, all three queues of weight 1) it is 8/8/8.
    """
    sandbox.apply(
        queue("dev", {HIERARCHY: "root/eng/dev", WEIGHTS: "1/2/1"}),
        queue("prod", {HIERARCHY: "root/eng/prod", WEIGHTS: "1/2/3"}),
        queue("sci", {HIERARCHY: "sci", WEIGHTS: "1"}),
    )
    sci = sandbox.get("queue", "sci")["metadata"]["annotations"]
    assert (sci[HIERARCHY], sci[WEIGHTS]) == ("root/sci", "1/1")
    for name in ("dev", "prod", "sci"):

        def is_open(name: str = name) -> bool:
            return sandbox.queue_state(name) == "Open"

        wait_for(is_open, 15, f"queue {name} to be Open")

    # Hold the cluster full while every queue's job is enqueued with all its pods created, so
    # that all three are seen wanting the whole cluster when the capacity frees.
    sandbox.apply(
        job("blocker", queue="default", replicas=NODES, min_available=NODES, cpu=str(NODE_CPU), seconds=LONG)
    )
    wait_for(
        lambda: sandbox.running("blocker") == NODES, 30, "the blocker to fill the cluster", sandbox.pod_phases
    )
    names = {"dev": "dev-work", "prod": "prod-work", "sci": "sci-work"}
    sandbox.apply(
        *(
            job(work, queue=q, replicas=CLUSTER_CPU, min_available=1, cpu="1", seconds=LONG)
            for q, work in names.items()
        )
    )
    wait_for(
        lambda: all(len(sandbox.pods(work)) == CLUSTER_CPU for work in names.values()),
        40,
        "every queue's job to be enqueued with all its pods created",
        sandbox.pod_phases,
    )
    assert not any(sandbox.running(work) for work in names.values())
    sandbox.kubectl("delete", "vcjob", "blocker", "--wait=false")

    def full() -> dict[str, int] | None:
        counts = {q: sandbox.running(work) for q, work in names.items()}
        return counts if sum(counts.values()) == CLUSTER_CPU else None

    counts = wait_for(full, 60, "the three queues to fill the cluster", sandbox.pod_phases)
    print(f"cluster full: {counts} (dev root/eng/dev 1/2/1, prod root/eng/prod 1/2/3, sci root/sci 1/1)")
    expected = {"dev": CLUSTER_CPU / 5, "prod": 3 * CLUSTER_CPU / 5, "sci": CLUSTER_CPU / 5}
    for name, want in expected.items():
        assert abs(counts[name] - want) <= 1.5, f"{counts}: expected about {expected}"
    assert counts["prod"] > counts["dev"]
    assert counts["prod"] > counts["sci"]
    sandbox.kubectl("delete", "vcjob", *names.values(), "--wait=false")
    wait_for(lambda: not sandbox.pods(), 40, "every job's pods to be gone", sandbox.pod_phases)
