"""``vcctl pod list``: the pods of Volcano jobs, as kubectl prints pods."""

from __future__ import annotations

import argparse

from pyroclast.cli.vc import kube as k
from pyroclast.cli.vc import output
from pyroclast.cli.vc.errors import VcctlError
from pyroclast.cli.vc.kube import Kube, Obj, dig

JOB_NAME_KEY = "volcano.sh/job-name"
QUEUE_NAME_KEY = "volcano.sh/queue-name"
QUEUE_ANNOTATION_KEY = "scheduling.volcano.sh/queue-name"
HEADERS = ("Name", "Ready", "Status", "Restart", "Age")


def pod_status(pod: Obj) -> str:
    """The STATUS kubectl shows: a waiting or terminated container's reason, else the phase."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    for init in status.get("initContainerStatuses") or []:
        terminated = dig(init, "state", "terminated")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            return "Init:" + (terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}")
        waiting = dig(init, "state", "waiting", "reason")
        if waiting and waiting != "PodInitializing":
            return f"Init:{waiting}"
        return "Init:0/" + str(len(dig(pod, "spec", "initContainers", default=[])))
    for container in reversed(status.get("containerStatuses") or []):
        waiting = dig(container, "state", "waiting", "reason")
        terminated = dig(container, "state", "terminated")
        if waiting:
            reason = waiting
        elif terminated:
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode', 0)}"
    if dig(pod, "metadata", "deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return str(reason)


def pod_row(pod: Obj, all_namespaces: bool = False) -> list[object]:
    """One row of ``pod list``."""
    statuses = dig(pod, "status", "containerStatuses", default=[])
    ready = sum(1 for c in statuses if c.get("ready") and dig(c, "state", "running") is not None)
    total = len(dig(pod, "spec", "containers", default=[]))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    row: list[object] = [
        dig(pod, "metadata", "name", default=""),
        f"{ready}/{total}",
        pod_status(pod),
        restarts,
        output.age(dig(pod, "metadata", "creationTimestamp")),
    ]
    if all_namespaces:
        row.insert(0, dig(pod, "metadata", "namespace", default=""))
    return row


async def list_pods(kube: Kube, args: argparse.Namespace) -> None:
    namespace = None if args.all_namespaces else (args.namespace or kube.namespace)
    if args.job:
        pods = await kube.list(k.PODS, namespace, label_selector=f"{JOB_NAME_KEY}={args.job}")
        queues = {dig(p, "metadata", "labels", QUEUE_NAME_KEY) for p in pods} - {None}
        if args.queue and queues - {args.queue}:
            raise VcctlError(f"the input vcjob {args.job} does not match the queue {args.queue}")
    elif args.queue:
        pods = [
            p
            for p in await kube.list(k.PODS, namespace)
            if args.queue
            in (
                dig(p, "metadata", "labels", QUEUE_NAME_KEY),
                dig(p, "metadata", "annotations", QUEUE_ANNOTATION_KEY),
            )
        ]
    else:
        pods = await kube.list(k.PODS, namespace, label_selector=JOB_NAME_KEY)
    if not pods:
        print("No resources found", flush=True)
        return
    pods.sort(
        key=lambda p: (dig(p, "metadata", "namespace", default=""), dig(p, "metadata", "name", default=""))
    )
    headers = ("Namespace", *HEADERS) if args.all_namespaces else HEADERS
    output.print_table(headers, [pod_row(p, args.all_namespaces) for p in pods])


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``vcctl pod list``."""
    pod = groups.add_parser("pod", help="vcctl command line operation pod")
    sub = pod.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    parser = sub.add_parser("list", help="list pod information created by vcjob", parents=[common])
    parser.set_defaults(func=list_pods)
    parser.add_argument("-q", "--queue", default="", help="list pod with specified queue name")
    parser.add_argument("-j", "--job", default="", help="list pod with specified job name")
    parser.add_argument("-n", "--namespace", default=None, help="the namespace of pod (default: default)")
    parser.add_argument("--all-namespaces", action="store_true", help="list pods in all namespaces")
