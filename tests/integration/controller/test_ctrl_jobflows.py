"""The jobflow controller against the sandbox API server, with Volcano's JobFlow example: the
jobs are created in dependency order as their targets complete (job phases are driven here,
as the job controller would write them), the flow reaches Succeed, and with ``jobRetainPolicy:
delete`` its jobs are deleted. JobTemplates record the jobs made from them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from ctrl_helpers import FAST_SHELL, ShellHarness, eventually

from pyroclast.common.models import load_manifests
from pyroclast.controller.jobflows.controller import JobFlowController
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import KubeClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "volcano-examples" / "jobflow"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def jobflows(kube: KubeClient) -> AsyncIterator[ShellHarness]:
    harness = await ShellHarness(kube, lambda k, f, r: JobFlowController(k, f, r, FAST_SHELL)).start()
    try:
        yield harness
    finally:
        await harness.close()


def in_namespace(obj: Any, namespace: str) -> Any:
    return msgspec.structs.replace(obj, metadata=msgspec.structs.replace(obj.metadata, namespace=namespace))


async def job_names(kube: KubeClient, namespace: str) -> set[str]:
    _, jobs, _ = resources.JOBS.decode_list(await kube.list_raw(resources.JOBS, namespace))
    return {
        j.metadata.name for j in jobs if j.metadata and j.metadata.name and not j.metadata.deletion_timestamp
    }


async def complete(kube: KubeClient, namespace: str, name: str) -> None:
    for phase in ("Running", "Completed"):
        status = {"status": {"state": {"phase": phase}}}
        await kube.patch(resources.JOBS, namespace, name, status, subresource="status")


async def flow_phase(kube: KubeClient, namespace: str) -> str:
    flow = await kube.get(resources.JOBFLOWS, namespace, "test")
    return (flow.status.state.phase if flow.status and flow.status.state else None) or ""


async def test_the_example_flow_runs_its_jobs_in_dependency_order(
    kube: KubeClient, jobflows: ShellHarness
) -> None:
    if not EXAMPLES.is_dir():
        pytest.skip("shared/volcano-examples is not available")
    ns = unique("flow")
    await kube.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "metadata": {"name": ns}})
    for manifest in load_manifests((EXAMPLES / "JobTemplate.yaml").read_text(), source="JobTemplate.yaml"):
        await kube.create(resources.JOBTEMPLATES, in_namespace(manifest, ns), ns)
    (flow,) = load_manifests((EXAMPLES / "JobFlow.yaml").read_text(), source="JobFlow.yaml")
    await kube.create(resources.JOBFLOWS, in_namespace(flow, ns), ns)

    # Each step: the jobs that must exist (and no others) before the listed ones complete.
    steps = [
        ({"test-a"}, ["test-a"]),
        ({"test-a", "test-b"}, ["test-b"]),
        ({"test-a", "test-b", "test-c", "test-d"}, ["test-c"]),
        ({"test-a", "test-b", "test-c", "test-d"}, ["test-d"]),
        ({"test-a", "test-b", "test-c", "test-d", "test-e"}, ["test-e"]),
    ]
    for wanted, to_complete in steps:

        async def created(wanted: set[str] = wanted) -> bool:
            return await job_names(kube, ns) == wanted

        await eventually(created, 20, what=f"jobs {sorted(wanted)}")
        job = await kube.get(resources.JOBS, ns, to_complete[0])
        assert job.metadata is not None
        assert (job.metadata.labels or {}).get("volcano.sh/createdByJobFlow") == f"{ns}.test"
        assert [(o.kind, o.name, o.controller) for o in job.metadata.owner_references or []] == [
            ("JobFlow", "test", True)
        ]
        if to_complete == ["test-a"]:

            async def running_or_pending() -> bool:
                return await flow_phase(kube, ns) in ("Pending", "Running")

            await eventually(running_or_pending, 10, what="the flow Pending or Running")
        for name in to_complete:
            await complete(kube, ns, name)

    async def succeeded() -> bool:
        return await flow_phase(kube, ns) == "Succeed"

    await eventually(succeeded, 20, what="the JobFlow Succeed")
    got = await kube.get(resources.JOBFLOWS, ns, "test")
    assert got.status is not None
    assert sorted(got.status.completed_jobs or []) == ["test-a", "test-b", "test-c", "test-d", "test-e"]

    template = await kube.get(resources.JOBTEMPLATES, ns, "b")
    assert template.status is not None
    assert template.status.job_depends_on_list == ["test-b"]

    async def jobs_deleted() -> bool:  # jobRetainPolicy: delete
        return not await job_names(kube, ns)

    await eventually(jobs_deleted, 20, what="the flow's jobs deleted after it succeeded")
    assert await flow_phase(kube, ns) == "Succeed"
