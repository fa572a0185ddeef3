"""``vcctl pod list`` against the sandbox API server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from apiserver_fixture import ApiServerHandle
from vcctl_helpers import one_line_error, run_vcctl, table

pytestmark = pytest.mark.integration

Vc = Callable[..., tuple[int, str, str]]


def pod(name: str, job: str | None, queue: str = "default", ns: str = "default") -> str:
    labels = {"volcano.sh/job-name": job, "volcano.sh/queue-name": queue} if job else {}
    annotations = {} if job else {"scheduling.volcano.sh/queue-name": queue}
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    })  # fmt: skip


def test_pod_list_by_job_queue_and_namespace(vc: Vc, apiserver: ApiServerHandle) -> None:
    for name, job, queue in (
        ("a-0", "a", "default"),
        ("a-1", "a", "default"),
        ("b-0", "b", "qb"),
        ("plain", None, "qb"),
    ):
        apiserver.kubectl("create", "-f", "-", input=pod(name, job, queue))
    done = run_vcctl("pod", "list", kubeconfig=apiserver.kubeconfig)
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert rows[0] == ["Name", "Ready", "Status", "Restart", "Age"]
    assert [r[:4] for r in rows[1:]] == [
        ["a-0", "0/1", "Pending", "0"],
        ["a-1", "0/1", "Pending", "0"],
        ["b-0", "0/1", "Pending", "0"],
    ]
    code, out, _ = vc("pod", "list", "-j", "a")
    assert [r[0] for r in table(out)[1:]] == ["a-0", "a-1"]
    code, out, _ = vc("pod", "list", "-q", "qb", "--all-namespaces")
    assert [r[:2] for r in table(out)[1:]] == [["default", "b-0"], ["default", "plain"]]
    code, _, err = vc("pod", "list", "-j", "a", "-q", "qb")
    assert code == 1
    assert one_line_error(err) == "vcctl: the input vcjob a does not match the queue qb"
    code, out, _ = vc("pod", "list", "-j", "nobody")
    assert out.strip() == "No resources found"
