"""Reaching Pyroclast's NATS: ``--nats-servers`` (``PYROCLAST_NATS_SERVERS``) and
``--cluster-prefix`` (``PYROCLAST_CLUSTER_PREFIX``); one quick connection attempt, so a
command that can do without NATS says so at once instead of waiting."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from pyroclast.cli.vc.errors import VcctlError

if TYPE_CHECKING:
    from nats.aio.client import Client

    from pyroclast.common.bus.messages import ExplanationRecord
    from pyroclast.common.bus.names import BusNames

DEFAULT_SERVERS = "nats://127.0.0.1:4222"
NO_EXPLANATION = "the scheduler has written no explanation for this job"
CONNECT_TIMEOUT = 2.0
REQUEST_TIMEOUT = 3.0


def bus_flags() -> argparse.ArgumentParser:
    """A parent parser with the NATS flags."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--nats-servers",
        default=os.environ.get("PYROCLAST_NATS_SERVERS", DEFAULT_SERVERS),
        help="comma-separated NATS URLs (env PYROCLAST_NATS_SERVERS)",
    )
    parser.add_argument(
        "--cluster-prefix",
        default=os.environ.get("PYROCLAST_CLUSTER_PREFIX", "pyroclast"),
        help="the cluster prefix of the NATS names (env PYROCLAST_CLUSTER_PREFIX)",
    )
    return parser


def servers(args: argparse.Namespace) -> list[str]:
    result = [s.strip() for s in str(args.nats_servers).split(",") if s.strip()]
    if not result:
        raise VcctlError("--nats-servers: expected one or more NATS URLs")
    return result


def names(args: argparse.Namespace) -> BusNames:
    from pyroclast.common.bus.names import BusNames, InvalidPrefixError

    try:
        return BusNames(args.cluster_prefix)
    except InvalidPrefixError as err:
        raise VcctlError(f"--cluster-prefix: {err}") from None


async def connect(args: argparse.Namespace) -> Client:
    """A connection, or :class:`VcctlError` naming the servers that could not be reached."""
    import nats.errors

    from pyroclast.common.bus.connect import connect as bus_connect

    urls = servers(args)
    try:
        return await bus_connect(urls, "vcctl", connect_timeout=CONNECT_TIMEOUT, max_attempts=1)
    except (TimeoutError, OSError, nats.errors.Error) as err:
        detail = str(err) or type(err).__name__
        raise VcctlError(f"cannot reach NATS at {', '.join(urls)}: {detail}") from None


async def close(nc: Client) -> None:
    from pyroclast.common.bus.connect import close as bus_close

    await bus_close(nc, timeout=REQUEST_TIMEOUT)


async def explanation(
    args: argparse.Namespace, namespace: str, podgroup: str
) -> tuple[ExplanationRecord | None, str]:
    """The scheduler's explanation for a podgroup, and a note when NATS could not say."""
    import nats.errors

    from pyroclast.common.bus.kv import EXPLANATIONS, CacheWriter

    bus_names = names(args)
    try:
        nc = await connect(args)
    except VcctlError as err:
        return None, (
            f"{err}; without the scheduler's explanation the reasons come from the PodGroup conditions, "
            "pod events, nodes and queue only"
        )
    try:
        found = await CacheWriter(nc, bus_names, EXPLANATIONS, timeout=REQUEST_TIMEOUT).get(
            f"{namespace}/{podgroup}", timeout=REQUEST_TIMEOUT
        )
    except (TimeoutError, nats.errors.Error) as err:
        return (
            None,
            f"cannot read the explanations bucket {bus_names.explanations_bucket}: "
            f"{err or type(err).__name__}",
        )
    finally:
        await close(nc)
    if found is None:
        return None, NO_EXPLANATION
    return found[0], ""
