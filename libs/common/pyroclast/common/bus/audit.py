"""Audit events: JSON on ``<prefix>.audit.<kind>.<namespace>.<name>``, kept by the audit
stream so they can be followed live (``vcctl tap``, ``nats sub``) or replayed (``--since``).
"""

# Helpers take a plain ``timeout`` in seconds, as nats-py does.
# ruff: noqa: ASYNC109

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from nats.aio.client import Client
from nats.aio.msg import Msg

from pyroclast.common.bus import codec
from pyroclast.common.bus.messages import AuditEvent
from pyroclast.common.bus.names import AuditKind, BusNames
from pyroclast.common.bus.pull import Follower, OrderedReader, PullSettings, StartAt
from pyroclast.common.logging import get_logger

__all__ = ["AuditPublisher", "audit_follow"]

log = get_logger(__name__)


class AuditPublisher:
    """Publishes the audit events of one component (``actor``, e.g. ``scheduler``)."""

    def __init__(self, nc: Client, names: BusNames, *, actor: str, timeout: float = 2.0) -> None:
        self._nc = nc
        self._names = names
        self._actor = actor
        self._timeout = timeout
        self._js = nc.jetstream(timeout=timeout)

    async def publish(self, event: AuditEvent, *, wait: bool = True, timeout: float | None = None) -> None:
        """Publish ``event``. With ``wait`` return once the audit stream stored it;
        without, fire and forget (the stream still captures it)."""
        subject = self._names.audit_subject(event.kind, event.namespace, event.name)
        data = codec.encode_audit(event)
        if wait:
            await self._js.publish(
                subject, data, timeout=timeout or self._timeout, stream=self._names.audit_stream
            )
        else:
            await self._nc.publish(subject, data)

    async def emit(
        self,
        kind: AuditKind,
        action: str,
        name: str,
        *,
        namespace: str = "",
        uid: str = "",
        reason: str = "",
        message: str = "",
        details: Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> AuditEvent:
        """Build an event stamped with now, this actor and the cluster prefix; publish it."""
        event = AuditEvent(
            time=datetime.now(UTC),
            kind=kind,
            action=action,
            namespace=namespace,
            name=name,
            uid=uid,
            actor=self._actor,
            reason=reason,
            message=message,
            details=dict(details or {}),
            cluster=self._names.prefix,
        )
        await self.publish(event, wait=wait, timeout=timeout)
        return event


def audit_follow(
    nc: Client,
    names: BusNames,
    *,
    since: datetime | timedelta | Literal["all"] | None = None,
    follow: bool = True,
    kind: AuditKind | None = None,
    namespace: str | None = None,
    name: str | None = None,
    settings: PullSettings | None = None,
) -> Follower[AuditEvent]:
    """Audit events, oldest first, from an ordered ephemeral consumer.

    ``since``: ``None`` for new events only, a time or an age to replay from, ``"all"`` for
    everything the stream keeps. ``follow=False`` stops once the replay has caught up.
    ``kind``, ``namespace`` and ``name`` narrow the subjects (``None`` matches any).
    """
    if since is None:
        start = StartAt.new()
    elif since == "all":
        start = StartAt.all()
    elif isinstance(since, timedelta):
        start = StartAt.since(datetime.now(UTC) - since)
    else:
        start = StartAt.since(since)
    reader = OrderedReader(
        nc,
        names.audit_stream,
        [names.audit_filter(kind, namespace, name)],
        start,
        name_prefix=names.tap_consumer_prefix,
        settings=settings,
    )

    def decode(msg: Msg) -> AuditEvent | None:
        try:
            return codec.decode_audit(msg.data)
        except codec.DecodeError as err:
            log.warning("undecodable audit event skipped", subject=msg.subject, error=str(err))
            return None

    return Follower(reader, decode, until_caught_up=not follow)
