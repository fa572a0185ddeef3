"""``vcctl queue create|get|list|operate|delete``."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from pyroclast.cli.vc import kube as k
from pyroclast.cli.vc import output
from pyroclast.cli.vc.errors import VcctlError
from pyroclast.cli.vc.kube import Kube, Obj, dig

HEADERS = ("Name", "Weight", "State", "Parent", "Inqueue", "Pending", "Running", "Unknown", "Completed")
PHASES = ("Inqueue", "Pending", "Running", "Unknown", "Completed")
COMMAND_NAMESPACE = "default"
"""Where ``queue operate`` creates its Commands, as Volcano does."""


def queue_row(queue: Obj, counts: Counter[str]) -> list[object]:
    """One row of ``queue list``/``queue get`` (Volcano's ``PrintQueues``)."""
    return [
        dig(queue, "metadata", "name", default=""),
        dig(queue, "spec", "weight", default=0),
        dig(queue, "status", "state", default=""),
        dig(queue, "spec", "parent", default=""),
        *(counts[phase] for phase in PHASES),
    ]


def podgroup_counts(podgroups: list[Obj]) -> dict[str, Counter[str]]:
    """Podgroups per queue and phase."""
    counts: dict[str, Counter[str]] = {}
    for pg in podgroups:
        queue = dig(pg, "spec", "queue", default="default")
        counts.setdefault(queue, Counter())[dig(pg, "status", "phase", default="")] += 1
    return counts


def _name(args: argparse.Namespace, message: str) -> str:
    name: str = args.name or args.queue or ""
    if not name:
        raise VcctlError(message)
    return name


async def create(kube: Kube, args: argparse.Namespace) -> None:
    name = args.queue or args.name
    queue = {"metadata": {"name": name}, "spec": {"weight": args.weight}, "status": {"state": args.state}}
    await kube.create(k.QUEUES, queue)
    print(f"create queue {name} successfully", flush=True)


async def get(kube: Kube, args: argparse.Namespace) -> None:
    name = _name(args, "name is mandatory to get the particular queue details")
    queue = await kube.get(k.QUEUES, name)
    if args.output:
        output.print_objects([queue], args.output)
        return
    counts = podgroup_counts(await kube.list(k.PODGROUPS))
    output.print_table(HEADERS, [queue_row(queue, counts.get(name, Counter()))])


async def list_queues(kube: Kube, args: argparse.Namespace) -> None:
    queues = await kube.list(k.QUEUES)
    if args.output:
        output.print_objects(queues, args.output, list_kind="List")
        return
    if not queues:
        print("No resources found", flush=True)
        return
    counts = podgroup_counts(await kube.list(k.PODGROUPS))
    rows = [queue_row(q, counts.get(dig(q, "metadata", "name", default=""), Counter())) for q in queues]
    output.print_table(HEADERS, rows)


async def operate(kube: Kube, args: argparse.Namespace) -> None:
    name = _name(args, "queue name must be specified")
    if args.action == "update":
        if args.weight <= 0:
            raise VcctlError(
                f"when update queue {name}, weight must be specified, the value must be greater than 0"
            )
        await kube.patch(k.QUEUES, name, {"spec": {"weight": args.weight}})
        print(f"update queue {name} weight to {args.weight} successfully", flush=True)
        return
    if not args.action:
        raise VcctlError("action can not be null")
    if args.action not in ("open", "close"):
        raise VcctlError(f"action {args.action} invalid, valid actions are open, close and update")
    action = "OpenQueue" if args.action == "open" else "CloseQueue"
    queue = await kube.get(k.QUEUES, name)
    ref = k.controller_ref(queue, k.QUEUES)
    command = {
        "metadata": {"generateName": f"{name}-{action.lower()}-", "ownerReferences": [ref]},
        "target": ref,
        "action": action,
    }
    created = await kube.create(k.COMMANDS, command, COMMAND_NAMESPACE)
    print(f"{args.action} queue {name} successfully (command {dig(created, 'metadata', 'name')})", flush=True)


async def delete(kube: Kube, args: argparse.Namespace) -> None:
    name = _name(args, "queue name must be specified")
    await kube.delete(k.QUEUES, name)
    print(f"delete queue {name} successfully", flush=True)


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``vcctl queue ...``; as in Volcano, ``-n`` is the queue's name here."""
    queue = groups.add_parser("queue", help="Queue Operations")
    sub = queue.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    def leaf(name: str, help_: str, func: Any, default_name: str = "") -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_, parents=[common])
        parser.set_defaults(func=func)
        parser.add_argument("-n", "--name", default=default_name, help="the name of queue")
        parser.add_argument("queue", nargs="?", default=None, help=argparse.SUPPRESS)
        return parser

    create_p = leaf("create", "creates queue", create, default_name="test")
    create_p.add_argument("-w", "--weight", type=int, default=1, help="the weight of the queue")
    create_p.add_argument("-S", "--state", default="Open", help="the state of queue")
    leaf("delete", "delete queue", delete)
    operate_p = leaf("operate", "operate queue", operate)
    operate_p.add_argument("-w", "--weight", type=int, default=0, help="the weight of the queue")
    operate_p.add_argument(
        "-a", "--action", default="", help="operate action to queue, valid actions are open, close, update"
    )
    list_p = sub.add_parser("list", help="lists all the queue", parents=[common])
    list_p.set_defaults(func=list_queues)
    list_p.add_argument("-o", "--output", choices=output.FORMATS, help="print the queues as yaml or json")
    get_p = leaf("get", "get a queue", get)
    get_p.add_argument("-o", "--output", choices=output.FORMATS, help="print the queue as yaml or json")
