"""``vcctl job run|list|view|suspend|resume|delete`` (``job why`` is in :mod:`why`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from pyroclast.cli.vc import kube as k
from pyroclast.cli.vc import output, watch
from pyroclast.cli.vc.errors import VcctlError
from pyroclast.cli.vc.kube import Kube, Obj, dig
from pyroclast.common.quantity import QuantityError, parse_quantity

LIST_HEADERS = (
    "Name", "Creation", "Phase", "JobType", "Replicas", "Min",
    "Pending", "Running", "Succeeded", "Failed", "Unknown", "RetryCount",
)  # fmt: skip
JOB_TYPE_KEY = "volcano.sh/job-type"
POD_NAME_LABEL = "job.volcano.sh"


def resource_list(spec: str, flag: str) -> dict[str, str] | None:
    """``cpu=1000m,memory=100Mi`` as a resource list (Volcano's ``PopulateResourceListV1``)."""
    if not spec:
        return None
    result: dict[str, str] = {}
    for statement in spec.split(","):
        parts = statement.split("=")
        if len(parts) != 2:
            raise VcctlError(f"{flag}: invalid argument syntax {statement!r}, expected <resource>=<value>")
        try:
            parse_quantity(parts[1])
        except QuantityError as err:
            raise VcctlError(f"{flag}: {err}") from None
        result[parts[0]] = parts[1]
    return result


def job_from_flags(args: argparse.Namespace, namespace: str) -> Obj:
    """The one-task job ``vcctl job run`` builds from its flags."""
    container: Obj = {"name": args.name, "image": args.image, "imagePullPolicy": "IfNotPresent"}
    resources = {
        key: value
        for key, value in (
            ("limits", resource_list(args.limits, "--limits")),
            ("requests", resource_list(args.requests, "--requests")),
        )
        if value
    }
    if resources:
        container["resources"] = resources
    return {
        "metadata": {"name": args.name, "namespace": namespace},
        "spec": {
            "minAvailable": args.min,
            "schedulerName": args.scheduler,
            "tasks": [
                {
                    "replicas": args.replicas,
                    "template": {
                        "metadata": {"name": args.name, "labels": {POD_NAME_LABEL: args.name}},
                        "spec": {"restartPolicy": "Never", "containers": [container]},
                    },
                }
            ],
        },
    }


def read_job_file(filename: str) -> Obj:
    if ".yaml" not in filename and ".yml" not in filename:
        raise VcctlError("only support yaml file")
    try:
        data = yaml.safe_load(Path(filename).read_text())
    except OSError as err:
        raise VcctlError(f"failed to read file {filename}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise VcctlError(f"failed to unmarshal file {filename}: {err}") from None
    if not isinstance(data, dict):
        raise VcctlError(f"failed to unmarshal file {filename}: not a job manifest")
    return data


def replicas(job: Obj) -> int:
    return sum(int(task.get("replicas") or 0) for task in dig(job, "spec", "tasks", default=[]))


def job_row(job: Obj, all_namespaces: bool = False) -> list[object]:
    """One row of ``job list`` (Volcano's ``PrintJobs``)."""
    status = job.get("status") or {}
    row: list[object] = [
        dig(job, "metadata", "name", default=""),
        output.date(dig(job, "metadata", "creationTimestamp")),
        dig(status, "state", "phase", default=""),
        dig(job, "metadata", "labels", JOB_TYPE_KEY) or "Batch",
        replicas(job),
        *(int(status.get(key) or 0) for key in ("minAvailable", "pending", "running", "succeeded")),
        *(int(status.get(key) or 0) for key in ("failed", "unknown", "retryCount")),
    ]
    if all_namespaces:
        row.insert(0, dig(job, "metadata", "namespace", default=""))
    return row


def list_headers(all_namespaces: bool) -> tuple[str, ...]:
    return ("Namespace", *LIST_HEADERS) if all_namespaces else LIST_HEADERS


def job_name(args: argparse.Namespace, verb: str) -> str:
    name: str = args.name or getattr(args, "job", None) or ""
    if not name:
        raise VcctlError(f"job name (specified by --name or -N) is mandatory to {verb} a particular job")
    return name


# --- commands -----------------------------------------------------------------------------


async def run(kube: Kube, args: argparse.Namespace) -> None:
    namespace = args.namespace or kube.namespace
    if not args.name and not args.filename:
        raise VcctlError("job name cannot be left blank")
    if args.filename:
        job = read_job_file(args.filename)
        namespace = dig(job, "metadata", "namespace") or namespace
        job.pop("apiVersion", None)
        job.pop("kind", None)
    else:
        job = job_from_flags(args, namespace)
    created = await kube.create(k.JOBS, job, namespace)
    print(f"run job {dig(created, 'metadata', 'name')} successfully", flush=True)


def _filter(jobs: list[Obj], args: argparse.Namespace) -> list[Obj]:
    def keep(job: Obj) -> bool:
        if args.queue and dig(job, "spec", "queue", default="") != args.queue:
            return False
        if args.scheduler and dig(job, "spec", "schedulerName", default="") != args.scheduler:
            return False
        return not args.selector or args.selector in dig(job, "metadata", "name", default="")

    return [job for job in jobs if keep(job)]


async def list_jobs(kube: Kube, args: argparse.Namespace) -> None:
    namespace = None if args.all_namespaces else (args.namespace or kube.namespace)

    async def fetch() -> list[Obj]:
        return _filter(await kube.list(k.JOBS, namespace), args)

    jobs = await fetch()
    if args.watch:
        await watch.watch_rows(
            fetch, list_headers(args.all_namespaces), lambda j: job_row(j, args.all_namespaces)
        )
        return
    if args.output:
        output.print_objects(jobs, args.output, list_kind="List")
        return
    if not jobs:
        print("No resources found", flush=True)
        return
    output.print_table(list_headers(args.all_namespaces), [job_row(j, args.all_namespaces) for j in jobs])


async def view(kube: Kube, args: argparse.Namespace) -> None:
    name = job_name(args, "view")
    namespace = args.namespace or kube.namespace
    job = await kube.get(k.JOBS, name, namespace)
    if args.watch:
        await watch.watch_job(lambda: kube.get(k.JOBS, name, namespace), job)
        return
    if args.output:
        output.print_objects([job], args.output)
        return
    events = await kube.list(k.EVENTS, namespace)
    events = [e for e in events if dig(e, "metadata", "name", default="").startswith(name + ".")]
    sys.stdout.write(describe_job(job) + describe_events(events))
    sys.stdout.flush()


async def _command(kube: Kube, args: argparse.Namespace, action: str, verb: str) -> None:
    name = job_name(args, verb)
    namespace = args.namespace or kube.namespace
    job = await kube.get(k.JOBS, name, namespace)
    ref = k.controller_ref(job, k.JOBS)
    command = {
        "metadata": {
            "generateName": f"{name}-{action.lower()}-",
            "namespace": namespace,
            "ownerReferences": [ref],
        },
        "target": ref,
        "action": action,
    }
    created = await kube.create(k.COMMANDS, command, namespace)
    print(
        f"{verb} job {name} successfully (command {dig(created, 'metadata', 'name')}: {action})", flush=True
    )


async def suspend(kube: Kube, args: argparse.Namespace) -> None:
    await _command(kube, args, "AbortJob", "suspend")


async def resume(kube: Kube, args: argparse.Namespace) -> None:
    await _command(kube, args, "ResumeJob", "resume")


async def delete(kube: Kube, args: argparse.Namespace) -> None:
    name = args.name or args.job
    if not name:
        raise VcctlError("job name is mandatory to delete a particular job")
    await kube.delete(k.JOBS, name, args.namespace or kube.namespace)
    print(f"delete job {name} successfully", flush=True)


# --- view text ----------------------------------------------------------------------------


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, level: int, text: str) -> None:
        self.lines.append("  " * level + text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _json_or_none(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":")) if value else "<none>"


def describe_job(job: Obj) -> str:
    """The text of ``job view`` (Volcano's ``PrintJobInfo``)."""
    meta, spec, status = job.get("metadata") or {}, job.get("spec") or {}, job.get("status") or {}
    out = _Lines()
    out.add(0, f"Name:        {meta.get('name', '')}")
    out.add(0, f"Namespace:   {meta.get('namespace', '')}")
    out.add(0, f"Labels:      {_json_or_none(meta.get('labels'))}")
    out.add(0, f"Annotations: {_json_or_none(meta.get('annotations'))}")
    out.add(0, f"API Version: {job.get('apiVersion', '')}")
    out.add(0, f"Kind:        {job.get('kind', '')}")
    out.add(0, "Metadata:")
    out.add(1, f"Creation Timestamp: {meta.get('creationTimestamp', '')}")
    out.add(1, f"Generate Name:      {meta.get('generateName', '')}")
    out.add(1, f"Generation:         {meta.get('generation', 0)}")
    out.add(1, f"Resource Version:   {meta.get('resourceVersion', '')}")
    out.add(1, f"UID:                {meta.get('uid', '')}")
    out.add(0, "Spec:")
    out.add(1, f"Min Available:      {spec.get('minAvailable', 0)}")
    out.add(1, "Plugins:")
    plugins = spec.get("plugins") or {}
    for plugin in ("env", "ssh", "svc"):
        if plugin in plugins:
            out.add(2, f"{plugin.capitalize()}: {plugins[plugin]}")
    out.add(1, f"Queue:              {spec.get('queue', '')}")
    out.add(1, f"Scheduler Name:     {spec.get('schedulerName', '')}")
    out.add(1, "Tasks:")
    for task in spec.get("tasks") or []:
        out.add(2, f"Name:     {task.get('name', '')}")
        out.add(2, f"Replicas: {task.get('replicas', 0)}")
        out.add(2, "Template:")
        pod_spec = dig(task, "template", "spec", default={})
        out.add(3, "Spec:")
        out.add(4, "Containers:")
        for container in pod_spec.get("containers") or []:
            if container.get("command"):
                out.add(5, "Command:")
                for part in container["command"]:
                    out.add(6, str(part))
            out.add(5, f"Image: {container.get('image', '')}")
            out.add(5, f"Name:  {container.get('name', '')}")
            for kind in ("limits", "requests"):
                amounts = dig(container, "resources", kind, default={})
                if amounts:
                    out.add(5, f"{kind.capitalize()}:")
                    for resource, amount in amounts.items():
                        out.add(6, f"{resource.capitalize()}: {amount}")
        out.add(4, f"Restart Policy: {pod_spec.get('restartPolicy', '')}")
    out.add(0, "Status:")
    for key, label in (
        ("succeeded", "Succeeded"), ("pending", "Pending"), ("running", "Running"),
        ("failed", "Failed"), ("terminating", "Terminating"), ("unknown", "Unknown"),
        ("retryCount", "RetryCount"), ("minAvailable", "Min Available"), ("version", "Version"),
    ):  # fmt: skip
        if int(status.get(key) or 0) > 0:
            out.add(1, f"{label + ':':<14} {status[key]}")
    out.add(1, "State:")
    out.add(2, f"Phase: {dig(status, 'state', 'phase', default='')}")
    if dig(status, "state", "reason"):
        out.add(2, f"Reason: {status['state']['reason']}")
    if status.get("conditions"):
        out.add(1, "Conditions:")
        out.add(2, "Status      TransitionTime")
        for cond in status["conditions"]:
            out.add(2, f"{cond.get('status', ''):<11} {cond.get('lastTransitionTime', '')}")
    return out.text()


def describe_events(events: list[Obj]) -> str:
    """The events part of ``job view``."""
    if not events:
        return "Events:      <none>\n"
    rows = []
    for event in events:
        first = output.age(event.get("firstTimestamp") or dig(event, "metadata", "creationTimestamp"))
        count = int(event.get("count") or 1)
        interval = (
            first if count <= 1 else f"{output.age(event.get('lastTimestamp'))} (x{count} over {first})"
        )
        source = ", ".join(
            part for part in (dig(event, "source", "component"), dig(event, "source", "host")) if part
        )
        rows.append(
            [
                event.get("type", ""),
                event.get("reason", ""),
                interval,
                source,
                (event.get("message") or "").strip(),
            ]
        )
    return "Events:\n" + output.render_table(["Type", "Reason", "Age", "Form", "Message"], rows) + "\n"


# --- parser -------------------------------------------------------------------------------


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``vcctl job ...`` (except ``why``)."""
    job = groups.add_parser("job", help="vcctl command line operation job")
    sub = job.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    def leaf(name: str, help_: str, func: Any, *, named: bool = True) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_, parents=[common])
        parser.set_defaults(func=func)
        parser.add_argument("-n", "--namespace", default=None, help="the namespace of job (default: default)")
        if named:
            parser.add_argument("-N", "--name", default="", help="the name of job")
            parser.add_argument("job", nargs="?", default=None, help=argparse.SUPPRESS)
        return parser

    run_p = leaf("run", "run job by parameters from the command line", run, named=False)
    run_p.add_argument("-N", "--name", default="", help="the name of job")
    run_p.add_argument("-i", "--image", default="busybox", help="the container image of job")
    run_p.add_argument("-m", "--min", type=int, default=1, help="the minimal available tasks of job")
    run_p.add_argument("-r", "--replicas", type=int, default=1, help="the total tasks of job")
    run_p.add_argument("-R", "--requests", default="cpu=1000m,memory=100Mi", help="the resource request")
    run_p.add_argument("-L", "--limits", default="cpu=1000m,memory=100Mi", help="the resource limit")
    run_p.add_argument("-S", "--scheduler", default="volcano", help="the scheduler for this job")
    run_p.add_argument("-f", "--filename", default="", help="the yaml file of job")

    list_p = leaf("list", "list job information", list_jobs, named=False)
    list_p.add_argument("-q", "--queue", default="", help="list job with specified queue name")
    list_p.add_argument("-S", "--scheduler", default="", help="list job with specified scheduler name")
    list_p.add_argument("--all-namespaces", action="store_true", help="list jobs in all namespaces")
    list_p.add_argument("--selector", default="", help="fuzzy matching jobName")
    list_p.add_argument("-o", "--output", choices=output.FORMATS, help="print the jobs as yaml or json")
    list_p.add_argument("-w", "--watch", action="store_true", help="keep watching the jobs")

    view_p = leaf("view", "show job information", view)
    view_p.add_argument("-o", "--output", choices=output.FORMATS, help="print the job as yaml or json")
    view_p.add_argument("-w", "--watch", action="store_true", help="follow the job's progress live")

    leaf("suspend", "abort a job", suspend)
    leaf("resume", "resume a job", resume)
    leaf("delete", "delete a job", delete)
    from pyroclast.cli.vc import why

    why.register(sub, common)
