"""Applying decisions: binds, evictions, podgroup statuses, pod conditions and events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from binder_fake import FakeApi, make_pod

from pyroclast.common.bus.decisions import PermanentDecisionError
from pyroclast.common.bus.messages import (
    BindDecision,
    EvictDecision,
    ExplanationRecord,
    PodGroupStatusDecision,
)
from pyroclast.common.models.scheduling import PodGroupCondition
from pyroclast.controller.binder.api import ApiFailure
from pyroclast.controller.binder.apply import Applier
from pyroclast.controller.binder.conditions import merge_conditions

T1 = "2026-01-01T00:00:00Z"


def bind(name: str = "p1", node: str = "n1", uid: str = "") -> BindDecision:
    return BindDecision(
        id=f"s/bind/{name}", namespace="ns", name=name, uid=uid or f"uid-{name}", node_name=node
    )


async def test_bind_binds_and_records_scheduled() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1"))
    applier = Applier(api)
    await applier(bind())
    assert api.pods[("ns", "p1")]["spec"]["nodeName"] == "n1"
    assert api.calls == ["bind_pod"]  # one API call on the way: the event is queued
    await applier.flush()
    assert api.reasons() == [("p1", "Scheduled", "Successfully assigned ns/p1 to n1")]
    assert api.events[0]["type"] == "Normal"
    assert api.events[0]["source"] == {"component": "volcano"}


async def test_bind_of_a_pod_already_on_that_node_is_done() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1", node="n1"))
    applier = Applier(api)
    await applier(bind())
    assert api.calls == ["bind_pod", "get_pod"]  # refused, then read to decide
    await applier.flush()
    assert api.events == []


async def test_bind_conflict_after_our_own_lost_attempt_is_done() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1"))
    api.fail_next["bind_pod"] = ApiFailure(409, "Conflict", "already assigned")
    api.pods[("ns", "p1")]["spec"]["nodeName"] = "n1"  # our earlier attempt went through
    await Applier(api)(bind())
    assert api.calls == ["bind_pod", "get_pod"]


async def test_bind_of_a_pod_that_was_deleted_meanwhile_is_permanent_after_one_look() -> None:
    api = FakeApi()
    with pytest.raises(PermanentDecisionError, match="not found"):
        await Applier(api)(bind())
    assert api.calls == ["bind_pod", "get_pod"]


async def test_bind_server_errors_are_retried_without_reading_the_pod() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1"))
    api.fail_next["bind_pod"] = ApiFailure(500, "InternalError", "boom")
    with pytest.raises(ApiFailure):
        await Applier(api)(bind())
    assert api.calls == ["bind_pod"]


@pytest.mark.parametrize(
    ("pod", "match"),
    [
        (None, "not found"),
        (make_pod("p1", node="n2"), "already bound to node n2"),
        (make_pod("p1", uid="other"), "was recreated"),
    ],
)
async def test_bind_permanent_failures(pod: dict[str, Any] | None, match: str) -> None:
    api = FakeApi()
    if pod is not None:
        api.add_pod(pod)
    with pytest.raises(PermanentDecisionError, match=match):
        await Applier(api)(bind())


async def test_bind_of_a_terminating_pod_is_permanent() -> None:
    api = FakeApi()
    pod = make_pod("p1")
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    api.add_pod(pod)
    with pytest.raises(PermanentDecisionError, match="being deleted"):
        await Applier(api)(bind())


async def test_bind_transient_failure_raises_for_a_retry() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1"))
    api.fail_next["bind_pod"] = ApiFailure(503, "ServiceUnavailable", "etcd")
    with pytest.raises(ApiFailure):
        await Applier(api)(bind())
    await Applier(api)(bind())  # the redelivery succeeds
    assert api.pods[("ns", "p1")]["spec"]["nodeName"] == "n1"


async def test_event_failures_do_not_fail_the_bind() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1"))
    api.fail_next["create_event"] = TimeoutError()
    applier = Applier(api)
    await applier(bind())
    assert api.pods[("ns", "p1")]["spec"]["nodeName"] == "n1"
    await applier.flush()  # the failure is logged, never raised
    assert api.events == []


async def test_evict_records_the_event_and_evicts_and_gone_is_done() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1", node="n1"))
    evict = EvictDecision(id="s/evict/p1", namespace="ns", name="p1", uid="uid-p1", reason="preempt")
    applier = Applier(api)
    await applier(evict)
    assert ("ns", "p1") not in api.pods
    await applier.flush()
    assert api.reasons() == [("p1", "Evict", "Pod is evicted, because of preempt")]
    await Applier(api)(evict)  # again: the pod is gone, nothing to do


async def test_evict_blocked_by_a_budget_retries() -> None:
    api = FakeApi()
    api.add_pod(make_pod("p1", node="n1"))
    api.fail_next["evict_pod"] = ApiFailure(429, "TooManyRequests", "budget")
    with pytest.raises(ApiFailure):
        await Applier(api)(EvictDecision(id="e", namespace="ns", name="p1", uid="uid-p1"))


def cond(type_: str, status: str, reason: str = "", message: str = "", when: str = T1) -> PodGroupCondition:
    return PodGroupCondition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        transition_id="s",
        last_transition_time=when,
    )


def test_merge_conditions_replaces_by_type_and_keeps_unchanged_transition_times() -> None:
    current = [
        {"type": "Scheduled", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"},
        {"type": "Unschedulable", "status": "False", "lastTransitionTime": "2025-01-01T00:00:00Z"},
    ]
    merged = merge_conditions(
        current, [cond("Scheduled", "True", "tasks ready"), cond("Unschedulable", "True")]
    )
    assert merged[0]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert merged[0]["reason"] == "tasks ready"
    assert merged[1]["status"] == "True"
    assert merged[1]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert merge_conditions([], [cond("Ready", "True")])[0]["type"] == "Ready"


def status(phase: str, *conds: PodGroupCondition, uid: str = "pg-pg") -> PodGroupStatusDecision:
    return PodGroupStatusDecision(
        id=f"s/podgroup-status/{phase}",
        namespace="ns",
        name="pg",
        uid=uid,
        phase=phase,
        conditions=list(conds),
    )


async def test_podgroup_status_patches_phase_conditions_and_counts() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg", status={"phase": "Inqueue"})
    d = status("Running", cond("Scheduled", "True"))
    d.running = 2
    await Applier(api)(d)
    pg = api.podgroups[("ns", "pg")]
    assert pg["status"]["phase"] == "Running"
    assert pg["status"]["running"] == 2
    assert [c["type"] for c in pg["status"]["conditions"]] == ["Scheduled"]


async def test_podgroup_status_of_a_recreated_or_deleted_podgroup_is_dropped() -> None:
    api = FakeApi()
    await Applier(api)(status("Running"))
    api.add_podgroup("ns", "pg", uid="new")
    await Applier(api)(status("Running"))
    assert "patch_podgroup" not in api.calls


async def test_podgroup_status_conflict_raises_for_a_retry() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    api.fail_next["patch_podgroup"] = ApiFailure(409, "Conflict", "modified")
    with pytest.raises(ApiFailure):
        await Applier(api)(status("Running"))


async def test_unschedulable_podgroup_marks_its_pending_pods_once() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    api.add_pod(make_pod("a"))
    api.add_pod(make_pod("b"))
    api.add_pod(make_pod("bound", node="n1"))
    api.add_pod(make_pod("other", group="pg2"))
    explanation = ExplanationRecord(
        namespace="ns",
        name="pg",
        message="2/2 tasks in gang unschedulable: 2 Insufficient cpu",
        task_reasons={"a": "Unschedulable: 0/1 nodes are unavailable: 1 Insufficient cpu."},
    )
    asked: list[tuple[str, str]] = []

    async def source(ns: str, name: str) -> ExplanationRecord:
        asked.append((ns, name))
        return explanation

    applier = Applier(api, explanations=source)
    d = status(
        "Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "2/2 tasks in gang unschedulable")
    )
    await applier(d)
    await applier.flush()
    assert asked == [("ns", "pg")]
    conditions = {n: api.pods[("ns", n)]["status"].get("conditions") for n in ("a", "b", "bound", "other")}
    assert conditions["a"][0] == {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are unavailable: 1 Insufficient cpu.",
        "lastTransitionTime": conditions["a"][0]["lastTransitionTime"],
    }
    assert conditions["b"][0]["message"] == "2/2 tasks in gang unschedulable: 2 Insufficient cpu"
    assert conditions["bound"] is None
    assert conditions["other"] is None
    assert sorted(r for r in api.reasons()) == [
        ("a", "FailedScheduling", "0/1 nodes are unavailable: 1 Insufficient cpu."),
        ("b", "FailedScheduling", "2/2 tasks in gang unschedulable: 2 Insufficient cpu"),
        ("pg", "Unschedulable", "2/2 tasks in gang unschedulable: 2 Insufficient cpu"),
    ]
    written = len(api.events)
    api.add_podgroup("ns", "pg")
    await applier(d)  # same message: no new pod event nor write
    await applier.flush()
    assert len(api.events) == written  # the podgroup's repeat is counted into its first Event
    assert [patch["count"] for _, patch in api.event_patches] == [2]


async def test_unschedulable_without_explanation_uses_the_condition_message() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    api.add_pod(make_pod("a"))
    await Applier(api)(
        status("Pending", cond("Unschedulable", "True", "NotEnoughResources", "1/1 tasks waiting"))
    )
    assert api.pods[("ns", "a")]["status"]["conditions"][0]["message"] == "1/1 tasks waiting"


async def test_instrumented_counts_each_delivery_by_result() -> None:
    from pyroclast.controller.binder.worker import DECISIONS, instrumented

    api = FakeApi()
    api.add_pod(make_pod("p1"))
    handler = instrumented(Applier(api))

    def count(result: str) -> float:
        return float(DECISIONS.labels(type="bind", result=result)._value.get())

    before = {r: count(r) for r in ("ok", "retry", "permanent")}
    await handler(bind())
    api.fail_next["get_pod"] = TimeoutError()
    with pytest.raises(TimeoutError):
        await handler(bind("p1"))
    with pytest.raises(PermanentDecisionError):
        await handler(bind("missing"))
    assert {r: count(r) - before[r] for r in before} == {"ok": 1, "retry": 1, "permanent": 1}


async def test_unschedulable_podgroup_of_a_job_lists_only_the_jobs_pods() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg", owner_job="train")
    api.add_pod(make_pod("a", labels={"volcano.sh/job-name": "train"}))
    api.add_pod(make_pod("stray"))  # annotated for the group but not the job's: not even listed
    await Applier(api)(status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "waiting")))
    assert api.selectors == ["volcano.sh/job-name=train"]
    assert api.pods[("ns", "a")]["status"]["conditions"][0]["message"] == "waiting"
    assert "conditions" not in api.pods[("ns", "stray")]["status"]


async def test_a_conflicting_pod_condition_write_is_skipped_without_retry_or_event() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    api.add_pod(make_pod("a"))
    api.add_pod(make_pod("b"))
    api.fail_next["replace_pod_status"] = ApiFailure(409, "Conflict", "the object has been modified")
    applier = Applier(api)
    await applier(status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "waiting")))
    await applier.flush()
    assert api.calls.count("replace_pod_status") == 2  # one try each
    assert [r for r in api.reasons() if r[1] == "FailedScheduling"] == [("b", "FailedScheduling", "waiting")]


async def test_status_decisions_of_one_podgroup_are_applied_one_at_a_time() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    active = peak = 0
    real_get = api.get_podgroup

    async def slow_get(ns: str, name: str) -> dict[str, Any] | None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        found: dict[str, Any] | None = await real_get(ns, name)
        active -= 1
        return found

    api.get_podgroup = slow_get
    applier = Applier(api)
    await asyncio.gather(*(applier(status(phase)) for phase in ("Inqueue", "Running", "Running")))
    assert peak == 1
    assert api.calls.count("patch_podgroup") == 3  # no conflicts between them
    assert applier._podgroup_locks == {}


def _slow_podgroup_reads(api: FakeApi) -> None:
    """Reading the podgroup yields, so that decisions gathered together queue up on its lock."""
    real_get = api.get_podgroup

    async def slow_get(ns: str, name: str) -> dict[str, Any] | None:
        await asyncio.sleep(0.01)
        found: dict[str, Any] | None = await real_get(ns, name)
        return found

    api.get_podgroup = slow_get


def _failing_patch(api: FakeApi, call: int) -> None:
    """The ``call``-th podgroup patch (counting from 1) fails with a server error."""
    real_patch = api.patch_podgroup
    calls = 0

    async def patch(ns: str, name: str, body: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == call:
            raise ApiFailure(503, "ServiceUnavailable", "try again")
        await real_patch(ns, name, body)

    api.patch_podgroup = patch


def _pod_message(api: FakeApi, name: str) -> str | None:
    conditions = api.pods[("ns", name)]["status"].get("conditions") or []
    return next((c["message"] for c in conditions if c["type"] == "PodScheduled"), None)


def _racing_api() -> FakeApi:
    """Podgroup ns/pg with pod a; podgroup reads are slow and the second podgroup patch fails."""
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    api.add_pod(make_pod("a"))
    _slow_podgroup_reads(api)
    _failing_patch(api, call=2)
    return api


async def test_pod_conditions_left_to_a_decision_that_fails_are_still_written() -> None:
    api = _racing_api()
    applier = Applier(api)
    first = status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "first"))
    second = status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "second"))
    second.id = "s2/podgroup-status"
    results = await asyncio.gather(applier(first), applier(second), return_exceptions=True)
    assert results[0] is None
    assert isinstance(results[1], ApiFailure)  # delivered again later
    # the podgroup has the first decision's status: so do its pods
    assert api.podgroups[("ns", "pg")]["status"]["conditions"][0]["message"] == "first"
    assert _pod_message(api, "a") == "first"
    assert applier._left == {}


async def test_pod_conditions_left_pass_to_the_last_decision_waiting() -> None:
    api = _racing_api()
    applier = Applier(api)
    decisions = [
        status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", message))
        for message in ("first", "second", "third")
    ]
    results = await asyncio.gather(*(applier(d) for d in decisions), return_exceptions=True)
    assert isinstance(results[1], ApiFailure)
    assert api.calls.count("replace_pod_status") == 1  # only the last one's
    assert _pod_message(api, "a") == "third"
    assert applier._left == {}


async def test_pod_conditions_are_left_alone_while_the_gang_is_being_bound() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    api.add_pod(make_pod("a"))
    placed = make_pod("b", node="n1")  # bound by a later session, not started yet
    placed["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    api.add_pod(placed)
    applier = Applier(api)
    await applier(status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "waiting")))
    await applier.flush()
    assert "replace_pod_status" not in api.calls
    assert [r[1] for r in api.reasons()] == ["Unschedulable"]  # the podgroup's own event stays
    api.pods[("ns", "b")]["status"]["phase"] = "Running"  # an old member, running: a real wait
    await applier(status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "waiting")))
    assert api.pods[("ns", "a")]["status"]["conditions"][0]["message"] == "waiting"


async def test_a_conflict_with_a_pod_just_bound_leaves_the_rest_of_the_gang() -> None:
    api = FakeApi()
    api.add_podgroup("ns", "pg")
    for name in ("a", "b", "c", "d", "e", "f"):
        api.add_pod(make_pod(name))
    real_replace = api.replace_pod_status

    async def bound_meanwhile(pod: dict[str, Any]) -> None:
        stored = api.pods[("ns", pod["metadata"]["name"])]
        if pod["metadata"]["name"] == "a":  # a later session bound the gang after the list
            stored["spec"]["nodeName"] = "n1"
            stored["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
            stored["metadata"]["resourceVersion"] = "2"
        await real_replace(pod)

    api.replace_pod_status = bound_meanwhile
    await Applier(api)(status("Inqueue", cond("Unschedulable", "True", "NotEnoughResources", "waiting")))
    assert api.calls.count("get_pod") == 1  # the conflict is looked at once
    assert api.calls.count("replace_pod_status") <= 4  # only the writes already in flight
