"""Connecting to NATS: retry forever with capped exponential backoff and jitter, log the
connection's life, drain on close.

Both the first connection and every reconnection wait ``Backoff.delay(attempt)`` between
attempts, so a service can start before NATS does and ride out a NATS restart.
"""

# Helpers take a plain ``timeout`` in seconds, as nats-py does.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import nats.errors
from nats.aio.client import Client, Server

from pyroclast.common.logging import get_logger

__all__ = ["Backoff", "close", "connect", "connection"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """``initial * multiplier**attempt`` capped at ``maximum``, then spread by ``jitter``
    (0.2 means a uniformly random value within 20 % either side)."""

    initial: float = 0.2
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum) or self.multiplier < 1 or not (0 <= self.jitter < 1):
            raise ValueError(
                f"backoff: need 0 < initial <= maximum, multiplier >= 1, 0 <= jitter < 1: {self}"
            )

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (counting from 0)."""
        base = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


async def connect(
    servers: str | Sequence[str],
    name: str,
    *,
    connect_timeout: float = 2.0,
    backoff: Backoff = Backoff(),
    max_attempts: int | None = None,
    ping_interval: float = 10.0,
    max_outstanding_pings: int = 3,
    drain_timeout: float = 10.0,
    **options: Any,
) -> Client:
    """A connected client named ``name`` (shown in NATS monitoring).

    The first connection is retried ``max_attempts`` times (``None``: until it works);
    after that the client reconnects forever. ``connect_timeout`` bounds each attempt.
    Extra ``options`` go to ``nats.aio.client.Client.connect`` (credentials, TLS...).
    """
    server_list = [servers] if isinstance(servers, str) else list(servers)
    if not server_list:
        raise ValueError("connect: no NATS server given")
    logger = log.bind(connection=name)

    connected_once = False

    async def on_error(err: Exception) -> None:
        # Failed first attempts are reported once each, below.
        (logger.warning if connected_once else logger.debug)("nats error", error=repr(err))

    async def on_disconnect() -> None:
        if not (nc.is_closed or nc.is_draining):
            logger.warning("nats disconnected")

    async def on_reconnect() -> None:
        logger.info("nats reconnected", server=_server_url(nc))

    async def on_close() -> None:
        logger.info("nats connection closed")

    def choose_server(pool: list[Server], _info: dict[str, Any]) -> tuple[Server | None, float]:
        server = min(pool, key=lambda s: s.reconnects)
        return server, backoff.delay(server.reconnects)

    attempt = 0
    while True:
        nc = Client()
        try:
            # nats-py retries the first connection on its own at a fixed pace; limit it to one
            # quick round over the servers so that the backoff here applies, and switch to
            # reconnecting forever once connected.
            await nc.connect(
                servers=server_list,
                name=name,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
                closed_cb=on_close,
                reconnect_to_server_handler=choose_server,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                **{
                    "reconnect_time_wait": 0,
                    "connect_timeout": connect_timeout,
                    "ping_interval": ping_interval,
                    "max_outstanding_pings": max_outstanding_pings,
                    "drain_timeout": drain_timeout,
                    **options,
                },
            )
        except (TimeoutError, OSError, nats.errors.Error) as err:
            await _quiet_close(nc)
            attempt += 1
            if max_attempts is not None and attempt >= max_attempts:
                raise
            delay = backoff.delay(attempt - 1)
            logger.warning("nats connect failed; retrying", error=repr(err), attempt=attempt, delay=delay)
            await asyncio.sleep(delay)
            continue
        nc.options.update(allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=2)
        connected_once = True
        logger.info("nats connected", server=_server_url(nc))
        return nc


async def close(nc: Client, *, timeout: float = 10.0) -> None:
    """Drain ``nc`` (finish in-flight subscriptions and publishes) and close it.

    A client that is reconnecting cannot drain and is closed directly.
    """
    if nc.is_closed:
        return
    try:
        if nc.is_connected:
            await asyncio.wait_for(nc.drain(), timeout)
            return
    except (TimeoutError, nats.errors.Error) as err:
        log.warning("nats drain failed; closing", error=repr(err))
    await _quiet_close(nc)


@asynccontextmanager
async def connection(servers: str | Sequence[str], name: str, **kwargs: Any) -> AsyncIterator[Client]:
    """``async with connection(...) as nc``: :func:`connect`, then :func:`close` on exit."""
    nc = await connect(servers, name, **kwargs)
    try:
        yield nc
    finally:
        await close(nc)


async def _quiet_close(nc: Client) -> None:
    try:
        await nc.close()
    except Exception as err:  # closing a half-open client must not mask the real error
        log.debug("nats close failed", error=repr(err))


def _server_url(nc: Client) -> str:
    url = nc.connected_url
    return f"{url.hostname}:{url.port}" if url is not None else ""
