"""Edge cases of flow deployment, the patch merge and the wire shape of what is written."""

from __future__ import annotations

from jobflow_sim import Sim, make_flow, make_template

from pyroclast.common.models import Container, JobSpec, LifecyclePolicy, encode_object
from pyroclast.common.models.flow import Flow, FlowDependsOn
from pyroclast.controller.jobflow import CreateJob, build_job, merge


def test_flow_jobs_before_a_missing_template_are_still_created() -> None:
    sim = Sim(
        make_flow("f", {"a": None, "b": None, "c": None}), {"a": make_template("a"), "c": make_template("c")}
    )
    plan = sim.sync()
    assert plan.created == ["f-a"]
    assert plan.error is not None
    assert '"b" not found' in plan.error


def test_flow_empty_targets_mean_no_dependency() -> None:
    flow = make_flow("f", {"a": None})
    assert flow.spec is not None
    flow.spec.flows = [Flow(name="a", depends_on=FlowDependsOn(targets=[]))]
    assert Sim(flow, {"a": make_template("a")}).sync().created == ["f-a"]


def test_flow_existing_job_of_the_same_name_is_not_recreated() -> None:
    sim = Sim(make_flow("f", {"a": None}), {"a": make_template("a")})
    sim.sync()
    assert sim.sync().of(CreateJob) == []


def test_flow_created_job_wire_shape() -> None:
    job = build_job(make_flow("f", {"a": None}), Flow(name="a"), make_template("a"))
    wire = encode_object(job)
    assert wire["apiVersion"] == "batch.volcano.sh/v1alpha1"
    assert wire["kind"] == "Job"
    assert wire["metadata"]["ownerReferences"][0]["kind"] == "JobFlow"
    assert wire["metadata"]["labels"]["volcano.sh/createdByJobFlow"] == "default.f"
    assert wire["spec"] == {"minAvailable": 1, "queue": "default"}


def test_flow_merge_rules() -> None:
    assert merge({"a": "1", "b": "2"}, {"b": "3"}) == {"a": "1", "b": "3"}
    assert merge(["x"], ["y"]) == ["y"]
    base = JobSpec(policies=[LifecyclePolicy(action="RestartJob", event="PodEvicted")], max_retry=3)
    patched = merge(base, JobSpec(policies=[LifecyclePolicy(action="AbortJob", event="PodFailed")]))
    assert patched.policies == [LifecyclePolicy(action="AbortJob", event="PodFailed")]
    assert patched.max_retry == 3
    merged = merge(
        [Container(name="a", image="1")], [Container(name="a", command=["x"]), Container(name="b")]
    )
    assert merged == [Container(name="a", image="1", command=["x"]), Container(name="b")]
    assert merge(None, 5) == 5
    assert merge(5, None) == 5
