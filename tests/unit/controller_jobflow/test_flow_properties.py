"""Property: a flow step's job is created only once every target's job has Completed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from jobflow_sim import Sim, make_flow, make_template

from pyroclast.controller.jobflow import CreateJob, reconcile_jobflow


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str] | None]:
    n = draw(st.integers(1, 6))
    names = [f"s{i}" for i in range(n)]
    steps: dict[str, list[str] | None] = {}
    for i, name in enumerate(names):
        targets = draw(st.lists(st.sampled_from(names[:i]), unique=True, max_size=3)) if i else []
        steps[name] = targets or None
    order = draw(st.permutations(names))
    return {name: steps[name] for name in order}


@settings(max_examples=60, deadline=None)
@given(
    steps=dags(),
    moves=st.lists(
        st.tuples(st.integers(0, 10), st.sampled_from(["Running", "Completed", "Failed"])), max_size=25
    ),
)
def test_flow_jobs_created_only_after_dependencies_completed(
    steps: dict[str, list[str] | None], moves: list[tuple[int, str]]
) -> None:
    sim = Sim(make_flow("f", steps), {n: make_template(n) for n in steps})
    for pick, phase in [(0, "Running"), *moves]:
        plan = reconcile_jobflow(sim.flow, sim.world())
        for op in plan.of(CreateJob):
            step = op.job.metadata.name.removeprefix("f-")
            for target in steps[step] or []:
                target_job = sim.jobs.get(f"f-{target}")
                assert target_job is not None
                assert target_job.status.state.phase == "Completed"
        sim.sync()
        live = sorted(sim.jobs)
        if live and pick < 10:
            sim.set_phase(live[pick % len(live)], phase)
    assert len(sim.created_order) == len(set(sim.created_order))
    if sim.phase == "Succeed":
        assert set(sim.created_order) == {f"f-{s}" for s in steps}
