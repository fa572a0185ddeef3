"""`vcctl`, Volcano's command-line tool: jobs, queues, jobflows and job templates, plus
``vcctl job why`` and ``vcctl tap``.

Errors print one line, ``vcctl: <problem>``, and exit 1; bad flags print argparse's usage
and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from collections.abc import Sequence

from pyroclast.cli.vc import flow, job, pod, queue, tap
from pyroclast.cli.vc.errors import VcctlError
from pyroclast.cli.vc.kube import Kube

VERSION = "0.1.0"


def common_flags() -> argparse.ArgumentParser:
    """The flags every Volcano command has: ``--master`` and ``--kubeconfig``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-s", "--master", default="", help="the address of apiserver")
    parser.add_argument(
        "-k", "--kubeconfig", default="", help="(optional) absolute path to the kubeconfig file"
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vcctl", description="Volcano's command-line tool (Pyroclast).")
    groups = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = common_flags()
    job.register(groups, common)
    queue.register(groups, common)
    flow.register(groups, common, flow.JOBTEMPLATE)
    flow.register(groups, common, flow.JOBFLOW)
    pod.register(groups, common)
    tap.register(groups)
    version = groups.add_parser("version", help="Print the version information")
    version.set_defaults(func=None, needs_kube=False)
    return parser


def version_text() -> str:
    return (
        f"Version: {VERSION} (pyroclast)\n"
        f"Python Version: {platform.python_version()}\n"
        f"OS/Arch: {sys.platform}/{platform.machine()}\n"
    )


async def _run(args: argparse.Namespace) -> None:
    if not getattr(args, "needs_kube", True):
        await args.func(None, args)
        return
    kube = await Kube.connect(args.kubeconfig or None, args.master or None)
    async with kube:
        await args.func(kube, args)


def _quiet_logging() -> None:
    """Library warnings (NATS reconnects) go to stderr, and only errors."""
    import logging

    import structlog

    if not structlog.is_configured():
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
            logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        )


def leaf_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the subcommand ``args`` selected (so errors show its usage line)."""
    for dest in ("command", "verb"):
        name = getattr(args, dest, None)
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or name not in subs[0].choices:
            break
        parser = subs[0].choices[name]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
        if extra:
            leaf_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command == "version":
        sys.stdout.write(version_text())
        return 0
    _quiet_logging()
    try:
        asyncio.run(_run(args))
    except VcctlError as err:
        print(f"vcctl: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as err:  # never a traceback for the user; VCCTL_DEBUG=1 shows it
        if os.environ.get("VCCTL_DEBUG"):
            raise
        print(f"vcctl: unexpected error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
