"""``vcctl tap``: follow the audit stream live, or replay it from a time, one line per event."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pyroclast.cli.vc import bus
from pyroclast.cli.vc.errors import VcctlError

if TYPE_CHECKING:
    from pyroclast.common.bus.messages import AuditEvent

KINDS = ("job", "queue", "admission", "decision", "command", "podgroup")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> timedelta:
    """A Go-style duration (``90s``, ``10m``, ``1h30m``, ``2d``)."""
    if not _DURATION.match(text):
        raise VcctlError(f'--since: expected a duration like 10m or 2h, got "{text}"')
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _PART.findall(text)))


def parse_since(text: str | None) -> datetime | timedelta | Literal["all"] | None:
    """``--since``: a duration back from now, an RFC 3339 time, or ``all``."""
    if not text:
        return None
    if text == "all":
        return "all"
    if text[:1].isdigit() and ("T" in text or "-" in text):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise VcctlError(
                f'--since: expected a duration like 10m or 2h, or an RFC 3339 time, got "{text}"'
            ) from None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return parse_duration(text)


def format_event(event: AuditEvent) -> str:
    """``time kind action key actor reason[: message]`` with aligned columns."""
    when = event.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    tail = event.reason
    if event.message:
        tail = f"{tail}: {event.message}" if tail else event.message
    line = f"{when}  {event.kind.value:<9} {event.action:<16} {event.ref:<32} {event.actor or '-':<12} {tail}"
    return line.rstrip()


async def tap(_kube: object, args: argparse.Namespace) -> None:
    import nats.errors
    import nats.js.errors

    from pyroclast.common.bus import codec
    from pyroclast.common.bus.audit import audit_follow
    from pyroclast.common.bus.names import AuditKind

    since = parse_since(args.since)
    if args.no_follow and since is None:
        since = "all"
    names = bus.names(args)
    nc = await bus.connect(args)
    try:
        try:
            await nc.jetstream(timeout=bus.REQUEST_TIMEOUT).stream_info(names.audit_stream)
        except nats.js.errors.NotFoundError:
            raise VcctlError(
                f"the audit stream {names.audit_stream} does not exist: is Pyroclast running with "
                f"cluster prefix {names.prefix!r}?"
            ) from None
        except (TimeoutError, nats.errors.Error) as err:
            raise VcctlError(
                f"cannot read the audit stream {names.audit_stream}: {err or type(err).__name__}"
            ) from None
        follower = audit_follow(
            nc,
            names,
            since=since,
            follow=not args.no_follow,
            kind=AuditKind(args.kind) if args.kind else None,
            namespace=args.namespace,
            name=args.name,
        )
        async with follower:
            async for event in follower:
                if args.output == "json":
                    sys.stdout.write(codec.encode_audit(event).decode() + "\n")
                else:
                    sys.stdout.write(format_event(event) + "\n")
                sys.stdout.flush()
    finally:
        await bus.close(nc)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``vcctl tap``."""
    parser = groups.add_parser(
        "tap", help="follow Pyroclast's audit events live, or replay them", parents=[bus.bus_flags()]
    )
    parser.set_defaults(func=tap, needs_kube=False)
    parser.add_argument("--kind", choices=KINDS, help="only events about this kind of object")
    parser.add_argument("-n", "--namespace", default=None, help="only events in this namespace")
    parser.add_argument("--name", default=None, help="only events about objects of this name")
    parser.add_argument(
        "--since", default=None, help="replay from this long ago (10m, 2h), an RFC 3339 time, or all"
    )
    parser.add_argument("--no-follow", action="store_true", help="stop after the replay instead of following")
    parser.add_argument("-o", "--output", choices=("json",), help="print JSON lines")
