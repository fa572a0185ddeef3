"""``vcctl jobflow ...`` and ``vcctl jobtemplate ...``: create, list, get, describe, delete."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pyroclast.cli.vc import kube as k
from pyroclast.cli.vc import output
from pyroclast.cli.vc.errors import VcctlError
from pyroclast.cli.vc.kube import Kube, Obj, dig


@dataclass(frozen=True)
class Group:
    """One of the two command groups and how it prints its objects."""

    command: str
    resource: k.Resource
    kind: str
    noun: str
    with_phase: bool

    def headers(self) -> tuple[str, ...]:
        return ("Name", "Namespace", "Phase", "Age") if self.with_phase else ("Name", "Namespace")

    def row(self, obj: Obj) -> list[object]:
        row: list[object] = [
            dig(obj, "metadata", "name", default=""),
            dig(obj, "metadata", "namespace", default=""),
        ]
        if self.with_phase:
            row += [
                dig(obj, "status", "state", "phase", default=""),
                output.age(dig(obj, "metadata", "creationTimestamp")),
            ]
        return row


JOBFLOW = Group("jobflow", k.JOBFLOWS, "JobFlow", "jobflow", with_phase=True)
JOBTEMPLATE = Group("jobtemplate", k.JOBTEMPLATES, "JobTemplate", "job template", with_phase=False)


def _documents(path: str) -> list[Obj]:
    try:
        docs = list(yaml.safe_load_all(Path(path).read_text()))
    except OSError as err:
        raise VcctlError(f"cannot read {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise VcctlError(f"{path} is not valid YAML: {err}") from None
    return [doc for doc in docs if isinstance(doc, dict)]


def _name(group: Group, args: argparse.Namespace, message: str) -> str:
    name: str = args.name or args.object or ""
    if not name:
        raise VcctlError(message.format(noun=group.noun))
    return name


async def create(group: Group, kube: Kube, args: argparse.Namespace) -> None:
    if not args.file:
        raise VcctlError("--file: the path to the YAML file is mandatory")
    failed = 0
    for doc in _documents(args.file):
        namespace = dig(doc, "metadata", "namespace") or "default"
        doc = {key: value for key, value in doc.items() if key not in ("apiVersion", "kind")}
        try:
            await kube.create(group.resource, doc, namespace)
        except k.ApiError as err:
            print(f"Failed to create {group.kind}: {err}", flush=True)
            failed += 1
            continue
        print(f"Created {group.kind}: {namespace}/{dig(doc, 'metadata', 'name')}", flush=True)
    if failed:
        raise VcctlError(f"{failed} {group.noun}(s) could not be created")


async def list_objects(group: Group, kube: Kube, args: argparse.Namespace) -> None:
    namespace = None if getattr(args, "all_namespaces", False) else (args.namespace or kube.namespace)
    items = await kube.list(group.resource, namespace)
    if args.output:
        output.print_objects(items, args.output, list_kind="List")
        return
    if not items:
        print("No resources found", flush=True)
        return
    output.print_table(group.headers(), [group.row(obj) for obj in items])


async def get(group: Group, kube: Kube, args: argparse.Namespace) -> None:
    name = _name(group, args, "name is mandatory to get the particular {noun} details")
    obj = await kube.get(group.resource, name, args.namespace or kube.namespace)
    if args.output:
        output.print_objects([obj], args.output)
        return
    output.print_table(group.headers(), [group.row(obj)])


async def describe(group: Group, kube: Kube, args: argparse.Namespace) -> None:
    namespace = args.namespace or kube.namespace
    name = args.name or args.object
    if name:
        items = [await kube.get(group.resource, name, namespace)]
    else:
        items = await kube.list(group.resource, namespace)
    texts = []
    for obj in items:
        obj = {"apiVersion": group.resource.group_version, "kind": group.kind, **output.clean(obj)}
        texts.append(output.dump(obj, args.format))
    print("\n\n".join(texts), end="", flush=True)


async def delete(group: Group, kube: Kube, args: argparse.Namespace) -> None:
    if args.file:
        for doc in _documents(args.file):
            namespace = dig(doc, "metadata", "namespace") or "default"
            name = dig(doc, "metadata", "name", default="")
            try:
                await kube.delete(group.resource, name, namespace)
            except VcctlError as err:
                print(f"Failed to delete {group.kind}: {err}", flush=True)
                continue
            print(f"Deleted {group.kind}: {namespace}/{name}", flush=True)
        return
    name = _name(group, args, "{noun} name must be specified")
    namespace = args.namespace or kube.namespace
    await kube.delete(group.resource, name, namespace)
    print(f"Deleted {group.kind}: {namespace}/{name}", flush=True)


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, group: Group
) -> None:
    """Add ``vcctl <group> ...``."""
    top = groups.add_parser(group.command, help=f"vcctl command line operation {group.command}")
    sub = top.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    def leaf(verb: str, help_: str, func: Any, *, named: bool = True) -> argparse.ArgumentParser:
        parser = sub.add_parser(verb, help=help_, parents=[common])

        async def bound(kube: Kube, args: argparse.Namespace) -> None:
            await func(group, kube, args)

        parser.set_defaults(func=bound)
        if verb != "create":
            parser.add_argument("-n", "--namespace", default=None, help=f"the namespace of {group.noun}")
        if named:
            parser.add_argument("-N", "--name", default="", help=f"the name of {group.noun}")
            parser.add_argument("object", nargs="?", default=None, help=argparse.SUPPRESS)
        return parser

    fmt_help = f"print the {group.noun} as yaml or json"
    create_p = leaf("create", f"create a {group.noun}", create, named=False)
    create_p.add_argument(
        "-f", "--file", default="", help=f"the path to the YAML file containing the {group.noun}"
    )
    list_p = leaf("list", f"list {group.noun}s", list_objects, named=False)
    if group.with_phase:
        list_p.add_argument(
            "--all-namespaces", action="store_true", help=f"list {group.noun}s in all namespaces"
        )
    list_p.add_argument("-o", "--output", choices=output.FORMATS, help=fmt_help)
    get_p = leaf("get", f"get a {group.noun}", get)
    get_p.add_argument("-o", "--output", choices=output.FORMATS, help=fmt_help)
    describe_p = leaf("describe", f"describe a {group.noun}", describe)
    describe_p.add_argument(
        "-o", "--format", choices=output.FORMATS, default="yaml", help="the format of output"
    )
    delete_p = leaf("delete", f"delete a {group.noun}", delete)
    delete_p.add_argument(
        "-f", "--file", default="", help=f"the path to the YAML file containing the {group.noun}"
    )
