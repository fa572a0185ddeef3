"""JobFlow status bookkeeping, JobTemplate status, patch merge, probes and triggers."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from jobflow_sim import Sim, make_flow, make_template

from pyroclast.common.models import (
    Container,
    Job,
    JobSpec,
    JobState,
    JobStatus,
    ObjectMeta,
    OwnerReference,
    PodSpec,
    PodTemplateSpec,
    TaskSpec,
)
from pyroclast.common.models.batch import TaskState
from pyroclast.common.models.flow import (
    Flow,
    FlowDependsOn,
    FlowJobStatus,
    FlowProbe,
    HttpGet,
    JobFlowState,
    JobFlowStatus,
    JobRunningHistory,
    Patch,
    TaskStatusProbe,
)
from pyroclast.controller.jobflow import (
    FlowOptions,
    RunProbe,
    UpdateJobTemplateStatus,
    build_job,
    compute_status,
    is_controlled_by_jobflow,
    jobflow_of_job,
    jobflow_update_needs_sync,
    next_phase,
    reconcile_jobflow,
    reconcile_jobtemplate,
    template_of_job,
)
from pyroclast.controller.jobflow.reconcile import JobFlowWorld

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def job(name: str, phase: str | None, created: str = "2026-03-01T10:00:00Z", **status: object) -> Job:
    return Job(
        metadata=ObjectMeta(name=name, creation_timestamp=created),
        status=JobStatus(state=JobState(phase=phase), **status),  # type: ignore[arg-type]
    )


def test_flow_status_lists_and_unknown_jobs() -> None:
    jobs = [
        job("p", "Pending"),
        job("r", "Running"),
        job("c", "Completed"),
        job("f", "Failed"),
        job("t", "Terminated"),
        job("cg", "Completing"),
        job("tg", "Terminating"),
        job("ab", "Aborted"),
        job("rs", "Restarting"),
        job("none", None),
    ]
    st = compute_status(None, jobs, NOW)
    assert (st.pending_jobs, st.running_jobs, st.completed_jobs) == (["p"], ["r"], ["c"])
    assert (st.failed_jobs, st.terminated_jobs) == (["f"], ["t"])
    assert st.un_know_jobs == ["ab", "none", "rs"]
    assert st.conditions is not None
    assert len(st.conditions) == 10
    assert st.state is None


def test_flow_job_status_entry_and_histories() -> None:
    j = job(
        "x",
        "Running",
        running_duration="1h30m",
        retry_count=2,
        task_status_count={"t": TaskState(phase={"Running": 1})},
    )
    st = compute_status(None, [j], NOW)
    (entry,) = st.job_status_list or []
    assert entry.start_timestamp == "2026-03-01T10:00:00Z"
    assert entry.end_timestamp == "2026-03-01T11:30:00Z"
    assert entry.restart_count == 2
    assert entry.running_histories == [
        JobRunningHistory(start_timestamp="2026-03-01T12:00:00Z", state="Running")
    ]
    cond = (st.conditions or {})["x"]
    assert cond.create_time == "2026-03-01T10:00:00Z"
    assert cond.running_duration == "1h30m"
    assert cond.task_status_count == {"t": TaskState(phase={"Running": 1})}
    later = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    st2 = compute_status(st, [job("x", "Completed")], later)
    hist = (st2.job_status_list or [])[0].running_histories
    assert hist == [
        JobRunningHistory(
            start_timestamp="2026-03-01T12:00:00Z", end_timestamp="2026-03-01T13:00:00Z", state="Running"
        ),
        JobRunningHistory(start_timestamp="2026-03-01T13:00:00Z", state="Completed"),
    ]
    st3 = compute_status(st2, [job("x", "Completed")], later)
    assert (st3.job_status_list or [])[0].running_histories == hist


def test_flow_job_status_list_keeps_entries_of_deleted_jobs() -> None:
    prev = JobFlowStatus(job_status_list=[FlowJobStatus(name="gone", state="Completed")])
    st = compute_status(prev, [job("x", "Pending")], NOW)
    assert [e.name for e in st.job_status_list or []] == ["gone", "x"]


def test_flow_phase_rules() -> None:
    def status(**lists: list[str]) -> JobFlowStatus:
        return JobFlowStatus(**lists)  # type: ignore[arg-type]

    assert next_phase("", status(), 2) == "Pending"
    assert next_phase("Pending", status(completed_jobs=["a"]), 2) == "Running"
    assert next_phase("Pending", status(running_jobs=["a"], failed_jobs=["b"]), 2) == "Failed"
    assert next_phase("Running", status(completed_jobs=["a", "b"]), 2) == "Succeed"
    assert next_phase("Running", status(completed_jobs=["a"], terminated_jobs=["b"]), 2) == "Failed"
    assert next_phase("Running", status(completed_jobs=["a"]), 2) == "Running"
    assert next_phase("Succeed", status(failed_jobs=["a"]), 2) == "Succeed"


def test_flow_terminating_and_invalid_phases() -> None:
    flow = make_flow("f", {"a": None})
    terminating = msgspec.structs.replace(flow, status=JobFlowStatus(state=JobFlowState(phase="Terminating")))
    assert reconcile_jobflow(terminating, JobFlowWorld(templates={"a": make_template("a")})).ops == []
    bad = msgspec.structs.replace(flow, status=JobFlowStatus(state=JobFlowState(phase="Nope")))
    assert reconcile_jobflow(bad, JobFlowWorld()).error


def test_flow_jobtemplate_status_lists_its_jobs() -> None:
    template = make_template("a")
    marked = Job(metadata=ObjectMeta(name="f-a", labels={"volcano.sh/createdByJobTemplate": "default.a"}))
    other = Job(metadata=ObjectMeta(name="g-b", labels={"volcano.sh/createdByJobTemplate": "default.b"}))
    plan = reconcile_jobtemplate(
        template, {"f-a": marked, "g-b": other, "h-a": msgspec.structs.replace(marked)}
    )
    (op,) = plan.ops
    assert isinstance(op, UpdateJobTemplateStatus)
    assert op.template.status is not None
    assert op.template.status.job_depends_on_list == ["f-a", "h-a"]
    assert reconcile_jobtemplate(template, {"g-b": other}).ops == []
    assert template_of_job(marked) == ("default", "a")
    assert template_of_job(Job(metadata=ObjectMeta(name="x"))) is None


def test_flow_job_ownership_helpers() -> None:
    built = build_job(make_flow("f", {"a": None}), Flow(name="a"), make_template("a"))
    assert is_controlled_by_jobflow(built)
    assert jobflow_of_job(built) == "f"
    plain = Job(metadata=ObjectMeta(name="x", owner_references=[OwnerReference(kind="Pod", controller=True)]))
    assert not is_controlled_by_jobflow(plain)
    assert jobflow_of_job(plain) is None


def test_flow_update_trigger() -> None:
    flow = make_flow("f", {"a": None}, policy="delete")
    succeed = msgspec.structs.replace(
        flow,
        metadata=msgspec.structs.replace(flow.metadata or ObjectMeta(), resource_version="2"),
        status=JobFlowStatus(state=JobFlowState(phase="Succeed")),
    )
    assert jobflow_update_needs_sync(flow, succeed)
    assert not jobflow_update_needs_sync(succeed, succeed)
    assert not jobflow_update_needs_sync(flow, flow)


def _template_with_container() -> JobSpec:
    pod = PodTemplateSpec(spec=PodSpec(containers=[Container(name="main", image="img:1", command=["run"])]))
    return JobSpec(queue="default", tasks=[TaskSpec(name="t", replicas=1, template=pod)])


def test_flow_patch_ignored_by_default_and_merged_on_request() -> None:
    patch_pod = PodTemplateSpec(
        spec=PodSpec(containers=[Container(name="main", image="img:2"), Container(name="side", image="s")])
    )
    patch = Patch(job_spec=JobSpec(queue="fast", tasks=[TaskSpec(name="t", template=patch_pod)]))
    flow = Flow(name="a", patch=patch)
    template = msgspec.structs.replace(make_template("a"), spec=_template_with_container())
    jobflow = make_flow("f", {"a": None})
    assert build_job(jobflow, flow, template).spec == template.spec
    spec = build_job(jobflow, flow, template, apply_patch=True).spec
    assert spec is not None
    assert spec.queue == "fast"
    assert spec.tasks is not None
    (task,) = spec.tasks
    assert task.replicas == 1
    assert task.template is not None
    assert task.template.spec is not None
    containers = task.template.spec.containers or []
    assert [(c.name, c.image, c.command) for c in containers] == [
        ("main", "img:2", ["run"]),
        ("side", "s", None),
    ]


def test_flow_probes_ignored_by_default_and_enforced_on_request() -> None:
    probe = FlowProbe(
        http_get_list=[HttpGet(task_name="t", path="/ready", port=80)],
        task_status_list=[TaskStatusProbe(task_name="t", phase="Running")],
    )
    flow = make_flow("f", {"a": None, "b": ["a"]})
    assert flow.spec is not None
    steps = flow.spec.flows or []
    steps[1] = Flow(name="b", depends_on=FlowDependsOn(targets=["a"], probe=probe))
    templates = {n: make_template(n) for n in "ab"}

    plain = Sim(flow, templates)
    plain.sync()
    plain.set_phase("f-a", "Completed")
    assert plain.sync().created == ["f-b"]

    sim = Sim(flow, templates, FlowOptions(enforce_probes=True))
    sim.sync()
    assert sim.sync().of(RunProbe) == []  # target not done: nothing to probe yet
    sim.set_phase("f-a", "Completed")
    plan = sim.sync()
    assert plan.created == []
    keys = [op.probe.key for op in plan.of(RunProbe)]
    assert keys == ["b/httpGet/0", "b/taskStatus/0"]
    sim.probe_results = {"b/httpGet/0": True, "b/taskStatus/0": False}
    assert sim.sync().created == []
    sim.probe_results["b/taskStatus/0"] = True
    assert sim.sync().created == ["f-b"]
