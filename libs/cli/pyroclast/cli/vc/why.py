"""``vcctl job why NAME``: why a job is not running.

Reads the scheduler's explanation of the job's podgroup from the NATS explanations bucket,
then the job, its podgroup, queue, pods, nodes and events from the API server, and prints
one line of reasons with numbers followed by the details they come from. Without NATS the
reasons come from the API server alone, and the output says so.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from pyroclast.cli.vc import bus, explain, output
from pyroclast.cli.vc import kube as k
from pyroclast.cli.vc.errors import VcctlError
from pyroclast.cli.vc.kube import Kube, Obj, dig

if TYPE_CHECKING:
    from pyroclast.common.bus.messages import ExplanationRecord

RUNNING_PHASES = frozenset({"Running", "Completing"})
FINISHED_PHASES = frozenset({"Completed", "Failed", "Terminated"})
SUSPENDED_PHASES = frozenset({"Aborted", "Aborting"})
DONE_POD_PHASES = frozenset({"Succeeded", "Failed"})


def _amounts(resources: dict[str, Any] | None) -> dict[str, int]:
    from pyroclast.common.resources import canonical_amount

    result: dict[str, int] = {}
    for name, value in (resources or {}).items():
        try:
            result[name] = canonical_amount(name, value)
        except ValueError:
            continue
    return result


def pod_requests(spec: Obj) -> dict[str, int]:
    """The sum of the containers' requests of a pod spec."""
    total: dict[str, int] = {}
    for container in spec.get("containers") or []:
        for name, value in _amounts(dig(container, "resources", "requests")).items():
            total[name] = total.get(name, 0) + value
    return total


def find_podgroup(job: Obj, podgroups: list[Obj]) -> Obj | None:
    """The podgroup the job owns, else the one named ``<job>-<uid>`` or ``<job>``."""
    uid = dig(job, "metadata", "uid", default="")
    name = dig(job, "metadata", "name", default="")
    for pg in podgroups:
        if any(ref.get("uid") == uid for ref in dig(pg, "metadata", "ownerReferences", default=[])):
            return pg
    by_name = {dig(pg, "metadata", "name"): pg for pg in podgroups}
    return by_name.get(f"{name}-{uid}") or by_name.get(name)


def waiting_pods(job: Obj, pods: list[Obj]) -> tuple[list[explain.PodNeed], int]:
    """The job's pods still to place (from its pods, or its spec before they exist) and how
    many are already placed."""
    if pods:
        placed = [
            p for p in pods if dig(p, "spec", "nodeName") and dig(p, "status", "phase") not in DONE_POD_PHASES
        ]
        waiting = [
            explain.PodNeed(
                task=dig(p, "metadata", "annotations", "volcano.sh/task-spec", default=""),
                requests=pod_requests(p.get("spec") or {}),
                selector=dig(p, "spec", "nodeSelector", default={}),
            )
            for p in pods
            if not dig(p, "spec", "nodeName") and dig(p, "status", "phase") not in DONE_POD_PHASES
        ]
        return waiting, len(placed)
    needs = []
    for task in dig(job, "spec", "tasks", default=[]):
        spec = dig(task, "template", "spec", default={})
        need = explain.PodNeed(
            task.get("name") or "", pod_requests(spec), dig(spec, "nodeSelector", default={})
        )
        needs += [need] * int(task.get("replicas") or 0)
    return needs, 0


def node_facts(nodes: list[Obj], pods: list[Obj]) -> list[explain.NodeFree]:
    """Each node's allocatable resources less the requests of the pods bound to it."""
    used: dict[str, dict[str, int]] = {}
    for pod in pods:
        node = dig(pod, "spec", "nodeName")
        if node and dig(pod, "status", "phase") not in DONE_POD_PHASES:
            for name, value in pod_requests(pod.get("spec") or {}).items():
                used.setdefault(node, {})[name] = used.setdefault(node, {}).get(name, 0) + value
    result = []
    for node in nodes:
        name = dig(node, "metadata", "name", default="")
        free = _amounts(dig(node, "status", "allocatable"))
        for resource, value in used.get(name, {}).items():
            free[resource] = free.get(resource, 0) - value
        result.append(
            explain.NodeFree(
                name=name,
                labels=dig(node, "metadata", "labels", default={}),
                free=free,
                schedulable=not dig(node, "spec", "unschedulable", default=False),
            )
        )
    return result


def queue_facts(queue: Obj | None, podgroups: list[Obj], pods: list[Obj]) -> explain.QueueFacts | None:
    """The queue's capability and what is allocated in it (``status.allocated``, else the
    requests of the bound pods of its podgroups)."""
    if queue is None:
        return None
    name = dig(queue, "metadata", "name", default="")
    allocated = _amounts(dig(queue, "status", "allocated"))
    if not allocated:
        groups = {
            dig(pg, "metadata", "name")
            for pg in podgroups
            if dig(pg, "spec", "queue", default="default") == name
        }
        for pod in pods:
            group = dig(pod, "metadata", "annotations", "scheduling.k8s.io/group-name")
            if (
                group in groups
                and dig(pod, "spec", "nodeName")
                and dig(pod, "status", "phase") not in DONE_POD_PHASES
            ):
                for resource, value in pod_requests(pod.get("spec") or {}).items():
                    allocated[resource] = allocated.get(resource, 0) + value
    return explain.QueueFacts(
        name=name,
        state=dig(queue, "status", "state", default="Open") or "Open",
        capability=_amounts(dig(queue, "spec", "capability")),
        allocated=allocated,
    )


def gang_request(pg: Obj | None, pods: list[explain.PodNeed], needed: int) -> dict[str, int]:
    """What the queue must admit: the podgroup's minResources, else ``needed`` pods' requests."""
    min_resources = _amounts(dig(pg, "spec", "minResources")) if pg else {}
    if min_resources:
        return min_resources
    total: dict[str, int] = {}
    for pod in pods[:needed]:
        for name, value in pod.requests.items():
            total[name] = total.get(name, 0) + value
    return total


async def why(kube: Kube, args: argparse.Namespace) -> None:
    namespace = args.namespace or kube.namespace
    name = args.name or args.job
    if not name:
        raise VcctlError("job name is mandatory: vcctl job why NAME [-n NAMESPACE]")
    job = await kube.get(k.JOBS, name, namespace)
    podgroups = await kube.list(k.PODGROUPS, namespace)
    pg = find_podgroup(job, podgroups)
    queue_name = dig(pg, "spec", "queue") or dig(job, "spec", "queue") or "default"
    explained = asyncio.ensure_future(
        bus.explanation(args, namespace, dig(pg, "metadata", "name", default=name))
    )
    queue = await kube.get_or_none(k.QUEUES, queue_name)
    pods, all_pods, nodes, all_groups, events = await asyncio.gather(
        kube.list(k.PODS, namespace, label_selector=f"volcano.sh/job-name={name}"),
        kube.list(k.PODS),
        kube.list(k.NODES),
        kube.list(k.PODGROUPS),
        kube.list(k.EVENTS, namespace),
    )
    record, nats_note = await explained
    sys.stdout.write(
        report(
            job,
            pg,
            record,
            nats_note,
            pods,
            node_facts(nodes, all_pods),
            queue_facts(queue, all_groups, all_pods),
            events,
        )
    )
    sys.stdout.flush()


def report(
    job: Obj,
    pg: Obj | None,
    record: ExplanationRecord | None,
    nats_note: str,
    pods: list[Obj],
    nodes: list[explain.NodeFree],
    queue: explain.QueueFacts | None,
    events: list[Obj],
) -> str:
    """The text ``job why`` prints."""
    ns, name = dig(job, "metadata", "namespace", default=""), dig(job, "metadata", "name", default="")
    phase = dig(job, "status", "state", "phase", default="Pending") or "Pending"
    pg_name = dig(pg, "metadata", "name", default="<none>") if pg else "<none>"
    pg_phase = dig(pg, "status", "phase", default="") if pg else ""
    queue_name = queue.name if queue else (dig(job, "spec", "queue") or "default")
    pg_text = f"{pg_name} {pg_phase}" if pg_phase else pg_name
    lines = [f"Job {ns}/{name} is {phase} (podgroup {pg_text}, queue {queue_name})."]
    running = int(dig(job, "status", "running", default=0) or 0)
    needed = int(dig(pg, "spec", "minMember", default=0) or 0) if pg else 0
    needed = needed or int(dig(job, "spec", "minAvailable", default=0) or 0)
    waiting, placed = waiting_pods(job, pods)
    if phase in RUNNING_PHASES and running >= needed:
        lines.append(f"Nothing holds it: {running} pod(s) running, the gang needs {needed}.")
        return "\n".join(lines) + "\n"
    if phase in FINISHED_PHASES:
        lines.append(f"It has finished ({phase}); it will not run again unless it is restarted.")
        return "\n".join(lines) + "\n"
    if phase in SUSPENDED_PHASES:
        lines.append(f"It was suspended ({phase}): resume it with `vcctl job resume -N {name} -n {ns}`.")
        return "\n".join(lines) + "\n"
    analysis = explain.analyse(waiting, nodes, needed, already=placed)
    text = explain.summary(
        analysis,
        node_reasons=record.node_reasons if record else None,
        queue=queue,
        request=gang_request(pg, waiting, needed),
    )
    lines.append("Why: " + (text or "no reason found yet: the scheduler has not reported on this job"))
    if nats_note == bus.NO_EXPLANATION and pg_phase == "Pending" and not pods:
        # Volcano's enqueue action has not admitted the PodGroup: the scheduler explains only
        # the jobs it tried to place, and the job controller creates no pod before Inqueue.
        nats_note = (
            "the scheduler has not enqueued the PodGroup (Pending, not Inqueue): it waits until "
            "its minResources fit the queue and the cluster, and no pod is created before"
        )
    if nats_note:
        lines.append(f"Note: {nats_note}")
    if pg is None:
        lines.append("Note: the job has no PodGroup yet: is the job controller running?")
    if record is not None:
        when = output.age(record.time.isoformat() if record.time else None)
        lines.append(f"Scheduler ({when} ago): {record.reason}: {record.message}")
        for task, reason in sorted(record.task_reasons.items()):
            if not reason.endswith(record.message):
                lines.append(f"  task {task}: {reason}")
        for reason, count in sorted(record.node_reasons.items()):
            lines.append(f"  {count} {reason}")
    for cond in dig(pg, "status", "conditions", default=[]) if pg else []:
        if cond.get("status") == "True" and cond.get("type") != "Scheduled":
            detail = ": ".join(part for part in (cond.get("reason"), cond.get("message")) if part)
            lines.append(f"PodGroup condition {cond.get('type')}: {detail}")
    pod_names = {dig(p, "metadata", "name") for p in pods} | {pg_name}
    for event in events:
        if dig(event, "involvedObject", "name") in pod_names and event.get("type") == "Warning":
            lines.append(f"Event {event.get('reason', '')}: {(event.get('message') or '').strip()}")
    return "\n".join(lines) + "\n"


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``vcctl job why``."""
    parser = sub.add_parser("why", help="explain why a job is not running", parents=[common, bus.bus_flags()])
    parser.set_defaults(func=why)
    parser.add_argument("job", nargs="?", default=None, metavar="NAME", help="the name of job")
    parser.add_argument("-N", "--name", default="", help=argparse.SUPPRESS)
    parser.add_argument("-n", "--namespace", default=None, help="the namespace of job (default: default)")
