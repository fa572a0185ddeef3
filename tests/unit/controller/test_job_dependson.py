"""dependsOn: a task's pods wait for their dependencies' pods to be ready."""

from __future__ import annotations

from job_builders import job, pod, task

from pyroclast.common.models import DependsOn, Job, Pod
from pyroclast.controller.job.dependson import blocked_tasks, may_create, task_ready


def build(iteration: str | None = None, names: list[str] | None = None) -> Job:
    built: Job = job(
        task("a", 2, min_available=2),
        task("b", 1, min_available=1),
        task("c", 1, depends_on=DependsOn(name=names or ["a", "b"], iteration=iteration)),
    )
    return built


def named(*pods: Pod) -> dict[str, Pod]:
    return {p.metadata.name or "": p for p in pods if p.metadata}


def test_ready_needs_min_available_running_and_ready_or_succeeded() -> None:
    j = build()
    assert not task_ready(j, "a", {})
    assert not task_ready(j, "a", named(pod(j, "a", 0, ready=True), pod(j, "a", 1, "Pending")))
    assert not task_ready(j, "a", named(pod(j, "a", 0, ready=True), pod(j, "a", 1, ready=False)))
    assert task_ready(j, "a", named(pod(j, "a", 0, ready=True), pod(j, "a", 1, "Succeeded")))
    # Running with no container status reported counts as ready.
    assert task_ready(j, "a", named(pod(j, "a", 0), pod(j, "a", 1)))


def test_task_without_min_available_is_ready_at_once() -> None:
    j = build(names=["c"])
    assert task_ready(j, "c", {})


def test_all_and_any_iterations() -> None:
    only_b = named(pod(j := build(), "b", 0, ready=True))
    assert not may_create(j, j.spec.tasks[2], only_b)  # type: ignore[index,union-attr]
    both = {**only_b, **named(pod(j, "a", 0, ready=True), pod(j, "a", 1, ready=True))}
    assert may_create(j, j.spec.tasks[2], both)  # type: ignore[index,union-attr]
    k = build("any")
    assert may_create(k, k.spec.tasks[2], only_b)  # type: ignore[index,union-attr]
    assert not may_create(k, k.spec.tasks[2], {})  # type: ignore[index,union-attr]
    assert blocked_tasks(j, only_b) == {"c"}
    assert blocked_tasks(j, both) == set()


def test_any_with_single_dependency_behaves_as_all() -> None:
    j = build("any", names=["a"])
    assert not may_create(j, j.spec.tasks[2], named(pod(j, "a", 0, ready=True)))  # type: ignore[index,union-attr]


def test_unknown_dependency_blocks() -> None:
    j = build(names=["zzz"])
    assert blocked_tasks(j, {}) == {"c"}
