"""The plain-words reasons of ``vcctl job why``."""

from __future__ import annotations

from pyroclast.cli.vc.explain import (
    NODE_SELECTOR_REASON,
    NodeFree,
    PodNeed,
    QueueFacts,
    analyse,
    node_phrases,
    queue_phrase,
    summary,
)

CPU4 = {"cpu": 4000, "memory": 8 << 30}


def nodes(count: int, free: dict[str, int] = CPU4, labels: dict[str, str] | None = None) -> list[NodeFree]:
    return [NodeFree(f"n{i}", dict(labels or {}), dict(free)) for i in range(count)]


def test_gang_too_big() -> None:
    pods = [PodNeed("worker", {"cpu": 3000})] * 4
    analysis = analyse(pods, nodes(2), needed=4)
    assert (analysis.fit, analysis.lacking["cpu"], analysis.best_free["cpu"]) == (2, 2, 1000)
    assert summary(analysis) == "gang needs 4 pods, 2 fit: 2 nodes lack cpu (need 3, best node has 1)"


def test_scheduler_counts_take_precedence_and_other_reasons_pass_through() -> None:
    analysis = analyse([PodNeed("w", {"cpu": 5000, "memory": 1 << 30})], nodes(3), needed=1)
    text = summary(analysis, node_reasons={"Insufficient cpu": 3, "node(s) had untolerated taint {a: b}": 1})
    assert text == (
        "gang needs 1 pod, 0 fit: 3 nodes lack cpu (need 5, best node has 4), "
        "1 node(s) had untolerated taint {a: b}"
    )


def test_memory_amounts_print_as_quantities() -> None:
    analysis = analyse([PodNeed("w", {"cpu": 100, "memory": 16 << 30})], nodes(1), needed=1)
    assert node_phrases(analysis) == ["1 node lacks memory (need 16Gi, best node has 8Gi)"]


def test_node_selector_matching_nothing() -> None:
    analysis = analyse(
        [PodNeed("w", {"cpu": 100}, {"disktype": "ssd"})], nodes(3, labels={"zone": "a"}), needed=1
    )
    assert summary(analysis) == "gang needs 1 pod, 0 fit: 3 nodes don't match the node selector disktype=ssd"
    assert summary(analysis, node_reasons={NODE_SELECTOR_REASON: 3}).endswith("selector disktype=ssd")


def test_queue_capability_and_state() -> None:
    queue = QueueFacts("q1", capability={"cpu": 8000}, allocated={"cpu": 8000})
    assert queue_phrase(queue, {"cpu": 1000}) == "queue q1 at capability cpu 8/8 used, gang needs 1"
    empty = QueueFacts("q2", capability={"cpu": 2000, "memory": 2**30})
    assert queue_phrase(empty, {"cpu": 3000, "memory": 2**31}) == (
        "queue q2 at capability cpu 0/2 used, gang needs 3 and memory 0/1Gi used, gang needs 2Gi"
    )
    assert queue_phrase(queue, {}) == ""
    assert queue_phrase(QueueFacts("q1", state="Closed"), {}) == "queue q1 is Closed and admits no new jobs"
    fits = analyse([PodNeed("w", {"cpu": 1000})], nodes(1), needed=1)
    assert (
        summary(fits, queue=queue, request={"cpu": 1000})
        == "queue q1 at capability cpu 8/8 used, gang needs 1"
    )
    both = analyse([PodNeed("w", {"cpu": 9000})], nodes(1), needed=1)
    assert summary(both, queue=queue, request={"cpu": 9000}).endswith(
        "; queue q1 at capability cpu 8/8 used, gang needs 9"
    )


def test_no_nodes_and_nothing_wrong() -> None:
    assert (
        summary(analyse([PodNeed("w", {"cpu": 1})], [], needed=1))
        == "gang needs 1 pod, 0 fit: there are no nodes"
    )
    assert summary(analyse([PodNeed("w", {"cpu": 1})], nodes(1), needed=1)) == ""
    cordoned = [NodeFree("n", {}, CPU4, schedulable=False)]
    assert summary(analyse([PodNeed("w", {"cpu": 1})], cordoned, needed=1)).endswith("1 node is cordoned")


def test_scheduler_view_differs_from_the_api_servers() -> None:
    analysis = analyse([PodNeed("w", {"cpu": 1000})], nodes(2), needed=1)
    assert summary(analysis, node_reasons={"Insufficient cpu": 2}) == (
        "gang needs 1 pod; the scheduler found 2 nodes lack cpu"
    )


def test_why_says_when_the_scheduler_has_not_enqueued_the_podgroup() -> None:
    from pyroclast.cli.vc import bus
    from pyroclast.cli.vc.why import report

    job = {
        "metadata": {"namespace": "default", "name": "capped", "uid": "u1"},
        "spec": {"minAvailable": 3, "queue": "small", "tasks": [
            {"name": "worker", "replicas": 3,
             "template": {"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}}},
        ]},
        "status": {"state": {"phase": "Pending"}},
    }  # fmt: skip
    pg = {
        "metadata": {"name": "capped-u1"},
        "spec": {"minMember": 3, "queue": "small"},
        "status": {"phase": "Pending"},
    }
    queue = QueueFacts("small", capability={"cpu": 2000})
    text = report(job, pg, None, bus.NO_EXPLANATION, [], nodes(3), queue, [])
    lines = text.splitlines()
    assert lines[1] == "Why: queue small at capability cpu 0/2 used, gang needs 3"
    assert lines[2].startswith("Note: the scheduler has not enqueued the PodGroup (Pending, not Inqueue)")
    inqueue = {**pg, "status": {"phase": "Inqueue"}}
    assert f"Note: {bus.NO_EXPLANATION}" in report(
        job, inqueue, None, bus.NO_EXPLANATION, [], nodes(3), queue, []
    )
