"""The jobflow example (a -> b -> {c, d} -> e) driven through job completions."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobflow_sim import Sim, make_flow, make_template

from pyroclast.common.models import load_manifests
from pyroclast.common.models.flow import JobFlow, JobTemplate
from pyroclast.controller.jobflow import CreateJob, DeleteJob, RecordEvent, UpdateJobFlowStatus

EXAMPLES = Path("/work/shared/volcano-examples/jobflow")


def load_example() -> tuple[JobFlow, dict[str, JobTemplate]]:
    if not EXAMPLES.is_dir():
        pytest.skip("volcano examples not available")
    flow = load_manifests((EXAMPLES / "JobFlow.yaml").read_text())[0]
    templates = load_manifests((EXAMPLES / "JobTemplate.yaml").read_text())
    assert isinstance(flow, JobFlow)
    out: dict[str, JobTemplate] = {}
    for t in templates:
        assert isinstance(t, JobTemplate)
        assert t.metadata is not None
        assert t.metadata.name
        out[t.metadata.name] = t
    return flow, out


def test_flow_example_runs_to_succeed_then_deletes_jobs() -> None:
    flow, templates = load_example()
    sim = Sim(flow, templates)

    plan = sim.sync()
    assert plan.created == ["test-a"]
    assert RecordEvent("Normal", "Created", "create a job named test-a!") in plan.ops
    assert sim.phase == "Pending"  # the new job is not in the cache yet

    sim.sync()
    assert sim.phase == "Pending"
    assert sim.flow.status is not None
    assert sim.flow.status.pending_jobs == ["test-a"]

    sim.set_phase("test-a", "Running")
    assert sim.sync().created == []
    assert sim.phase == "Running"

    sim.set_phase("test-a", "Completed", "1m")
    assert sim.sync().created == ["test-b"]
    sim.set_phase("test-b", "Completed")
    assert sim.sync().created == ["test-c", "test-d"]
    sim.set_phase("test-c", "Completed")
    assert sim.sync().created == []  # e waits for d
    sim.set_phase("test-d", "Completed")
    assert sim.sync().created == ["test-e"]
    assert sim.phase == "Running"
    sim.set_phase("test-e", "Completed")
    sim.sync()
    assert sim.phase == "Succeed"
    st = sim.flow.status
    assert st is not None
    assert st.completed_jobs == ["test-a", "test-b", "test-c", "test-d", "test-e"]
    assert st.conditions is not None
    assert set(st.conditions) == set(st.completed_jobs)
    assert [s.name for s in st.job_status_list or []] == ["test-a", "test-b", "test-c", "test-d", "test-e"]

    plan = sim.sync()  # jobRetainPolicy: delete
    assert [type(op) for op in plan.ops] == [DeleteJob] * 5
    assert sim.jobs == {}
    assert sim.sync().ops == []  # nothing left to delete, status kept
    assert sim.phase == "Succeed"


def test_flow_created_job_is_the_template_with_creator_marks() -> None:
    flow, templates = load_example()
    job = Sim(flow, templates).sync().of(CreateJob)[0].job
    assert job.metadata.name == "test-a"
    assert job.metadata.namespace == "default"
    marks = {"volcano.sh/createdByJobTemplate": "default.a", "volcano.sh/createdByJobFlow": "default.test"}
    assert job.metadata.labels == marks
    assert job.metadata.annotations == marks
    (ref,) = job.metadata.owner_references
    assert (ref.api_version, ref.kind, ref.name, ref.controller, ref.block_owner_deletion) == (
        "flow.volcano.sh/v1alpha1",
        "JobFlow",
        "test",
        True,
        True,
    )
    assert job.spec == templates["a"].spec


def test_flow_failed_dependency_stops_dependants() -> None:
    sim = Sim(make_flow("f", {"a": None, "b": ["a"], "c": ["b"]}), {n: make_template(n) for n in "abc"})
    sim.sync()
    sim.set_phase("f-a", "Completed")
    sim.sync()
    assert sim.phase == "Running"
    sim.set_phase("f-b", "Failed")
    plan = sim.sync()
    assert plan.created == []
    assert sim.phase == "Failed"
    assert sim.flow.status is not None
    assert sim.flow.status.failed_jobs == ["f-b"]
    for _ in range(3):
        assert sim.sync().ops == []  # a Failed flow is left alone
    assert "f-c" not in sim.jobs


def test_flow_pending_flow_fails_on_terminated_job() -> None:
    sim = Sim(make_flow("f", {"a": None, "b": ["a"]}), {n: make_template(n) for n in "ab"})
    sim.sync()
    sim.set_phase("f-a", "Terminated")
    sim.sync()
    assert sim.phase == "Failed"


@pytest.mark.parametrize(("policy", "deleted"), [("retain", False), ("delete", True), (None, False)])
def test_flow_retain_policy(policy: str | None, deleted: bool) -> None:
    sim = Sim(make_flow("f", {"a": None}, policy=policy), {"a": make_template("a")})
    sim.sync()
    sim.set_phase("f-a", "Running")
    sim.sync()
    sim.set_phase("f-a", "Completed")
    sim.sync()
    assert sim.phase == "Succeed"
    plan = sim.sync()
    if deleted:
        assert plan.ops == [DeleteJob("default", "f-a")]
    else:
        assert plan.of(DeleteJob) == []
        assert len(plan.of(UpdateJobFlowStatus)) == 1
        assert "f-a" in sim.jobs


def test_flow_missing_template_is_an_error_without_status() -> None:
    sim = Sim(make_flow("f", {"a": None, "b": None}), {"b": make_template("b")})
    plan = sim.sync()
    assert plan.error
    assert '"a" not found' in plan.error
    assert plan.of(UpdateJobFlowStatus) == []
    assert plan.of(CreateJob) == []
