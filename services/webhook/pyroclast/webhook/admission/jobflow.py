"""Volcano's JobFlow rule: flows and their ``dependsOn.targets`` form a DAG of defined flows."""

from __future__ import annotations

from pyroclast.common.models import JobFlow
from pyroclast.webhook.admission.request import AdmissionInput, Operation, wrong_object
from pyroclast.webhook.admission.verdict import ALLOW, Verdict

NOT_DAG = "jobflow Flow is not DAG"


def _has_cycle(graph: dict[str, list[str]]) -> bool:
    """Whether some path of ``dependsOn`` edges comes back to a flow already on it."""
    done: set[str] = set()
    for start in graph:
        if start in done:
            continue
        on_path = {start}
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            vertex, index = stack.pop()
            edges = graph[vertex]
            if index >= len(edges):
                on_path.discard(vertex)
                done.add(vertex)
                continue
            stack.append((vertex, index + 1))
            target = edges[index]
            if target in on_path:
                return True
            if target not in done:
                on_path.add(target)
                stack.append((target, 0))
    return False


def validate_jobflow(request: AdmissionInput) -> Verdict:
    """``/jobflows/validate`` (CREATE, UPDATE)."""
    if request.operation not in (Operation.CREATE, Operation.UPDATE):
        return Verdict.deny("expect operation to be 'CREATE' or 'UPDATE'")
    flow = request.obj
    if not isinstance(flow, JobFlow):
        return Verdict.deny(wrong_object(JobFlow))
    graph: dict[str, list[str]] = {}
    for item in (flow.spec.flows if flow.spec else None) or []:
        targets = item.depends_on.targets if item.depends_on else None
        graph[item.name] = list(targets or [])
    for targets in graph.values():
        for target in targets:
            if target not in graph:
                return Verdict.deny(f"{NOT_DAG}: vertex is not defined: {target}")
    return Verdict.deny(NOT_DAG) if _has_cycle(graph) else ALLOW
