"""Pull-consumer plumbing under the watchers, followers and the decision consumer.

:class:`Puller` issues pull requests (with idle heartbeats) against one consumer and hands
messages over as they arrive; a missing heartbeat or a reconnection ends a request with
:class:`PullStalled`. :class:`OrderedReader` builds on it an ordered, unacknowledged,
ephemeral consumer that survives reconnections and server restarts: it remembers the last
stream sequence it delivered and, on a stall, a consumer-sequence gap or a lost consumer,
creates a new consumer starting right after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api
from nats.nuid import NUID

from pyroclast.common.bus.connect import Backoff
from pyroclast.common.bus.names import JS_API_PREFIX, consumer_next_subject
from pyroclast.common.logging import get_logger

__all__ = [
    "ConsumerGone",
    "Follower",
    "OrderedReader",
    "PullSettings",
    "PullStalled",
    "Puller",
    "ResumeGapError",
    "StartAt",
]

T = TypeVar("T")

log = get_logger(__name__)

_STATUS = api.Header.STATUS.value
_DESCRIPTION = api.Header.DESCRIPTION.value
RETRYABLE: tuple[type[BaseException], ...] = (asyncio.TimeoutError, nats.errors.Error)
"""Errors of a JetStream API call worth retrying (timeouts, no responders, API errors)."""


class PullStalled(Exception):
    """A pull request went silent (no message nor heartbeat) or the client reconnected."""


class ConsumerGone(Exception):
    """The consumer no longer exists (deleted, expired, or lost with a server restart)."""


class ResumeGapError(Exception):
    """An ordered reader was cut off for longer than it may resume after; start over."""


class _Closed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class PullSettings:
    """``heartbeat``: idle heartbeat asked of the server (a request silent for twice that
    is stalled); ``expires``: lifetime of one pull request; ``request_timeout``: JetStream
    API calls; ``backoff``: between retries of a failed API call."""

    heartbeat: float = 2.0
    expires: float = 30.0
    request_timeout: float = 5.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=0.1, maximum=2.0))

    def __post_init__(self) -> None:
        if self.heartbeat <= 0 or self.expires < 2 * self.heartbeat or self.request_timeout <= 0:
            raise ValueError(f"pull settings: need heartbeat > 0 and expires >= 2 * heartbeat: {self}")


class Puller:
    """Pull requests against ``stream``/``consumer``; each request has its own inbox, so a
    message answering an abandoned request is recognised (and, with ``nak_stale``, handed
    back to JetStream at once)."""

    def __init__(
        self,
        nc: Client,
        stream: str,
        consumer: str,
        settings: PullSettings,
        *,
        nak_stale: bool = False,
        api_prefix: str = JS_API_PREFIX,
    ) -> None:
        self._nc = nc
        self.stream = stream
        self.consumer = consumer
        self._settings = settings
        self._nak_stale = nak_stale
        self._api_prefix = api_prefix
        self._queue: asyncio.Queue[tuple[int, Msg] | None] = asyncio.Queue()
        self._request = 0
        self._closed = False
        self.last_contact = time.monotonic()
        """When the server last answered a pull (a message or a heartbeat)."""

    async def close(self) -> None:
        """Stop: a pull in progress returns and no new one starts."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)

    @property
    def closed(self) -> bool:
        return self._closed

    async def pull(self, batch: int) -> AsyncIterator[Msg]:
        """Ask for up to ``batch`` messages and yield them as they arrive.

        Returns when the batch is complete, the request expired or the puller was closed;
        raises :class:`PullStalled` or :class:`ConsumerGone`.
        """
        if self._closed:
            return
        self._request += 1
        request_id = self._request
        queue = self._queue

        async def deliver(msg: Msg) -> None:
            queue.put_nowait((request_id, msg))

        reply = self._nc.new_inbox()
        reconnects = self._nc.stats["reconnects"]
        request = {
            "batch": batch,
            "expires": int(self._settings.expires * 1e9),
            "idle_heartbeat": int(self._settings.heartbeat * 1e9),
        }
        subject = consumer_next_subject(self.stream, self.consumer, self._api_prefix)
        try:
            sub = await self._nc.subscribe(reply, cb=deliver)
        except nats.errors.Error as err:
            raise PullStalled(f"cannot subscribe: {err!r}") from err
        try:
            await self._nc.publish(subject, json.dumps(request).encode(), reply=reply)
            received = 0
            silence = 2 * self._settings.heartbeat + 0.5
            while received < batch:
                if self._nc.stats["reconnects"] != reconnects:
                    raise PullStalled("client reconnected")
                try:
                    item = await asyncio.wait_for(queue.get(), silence)
                except TimeoutError:
                    raise PullStalled(f"no message nor heartbeat for {silence:.1f}s") from None
                if item is None:
                    return
                answered, msg = item
                if answered != request_id:
                    await self._stale(msg)
                    continue
                status = msg.headers.get(_STATUS) if msg.headers else None
                if status in (None, "100", "404", "408"):
                    self.last_contact = time.monotonic()  # JetStream itself answered
                if status is None:
                    received += 1
                    yield msg
                    continue
                if status == "100":
                    continue
                if status in ("404", "408"):
                    return
                description = (msg.headers or {}).get(_DESCRIPTION, "")
                if status == "503" or (status == "409" and "deleted" in description.lower()):
                    raise ConsumerGone(f"{status} {description}".strip())
                if status == "409":
                    return  # leadership change, max waiting exceeded...: ask again
                raise PullStalled(f"unexpected status {status} {description}".strip())
        except nats.errors.Error as err:
            raise PullStalled(f"pull failed: {err!r}") from err
        finally:
            if not self._nc.is_closed and not self._nc.is_draining:
                with contextlib.suppress(nats.errors.Error):
                    await sub.unsubscribe()

    async def _stale(self, msg: Msg) -> None:
        if self._nak_stale and msg.reply and not (msg.headers and _STATUS in msg.headers):
            with contextlib.suppress(nats.errors.Error):
                await msg.nak()


@dataclass(frozen=True, slots=True)
class StartAt:
    """Where an :class:`OrderedReader` starts."""

    policy: api.DeliverPolicy
    sequence: int | None = None
    time: datetime | None = None

    @classmethod
    def all(cls) -> StartAt:
        return cls(api.DeliverPolicy.ALL)

    @classmethod
    def new(cls) -> StartAt:
        return cls(api.DeliverPolicy.NEW)

    @classmethod
    def last_per_subject(cls) -> StartAt:
        return cls(api.DeliverPolicy.LAST_PER_SUBJECT)

    @classmethod
    def after(cls, sequence: int) -> StartAt:
        """Everything after stream sequence ``sequence``."""
        return cls(api.DeliverPolicy.BY_START_SEQUENCE, sequence=sequence + 1)

    @classmethod
    def since(cls, time: datetime) -> StartAt:
        return cls(api.DeliverPolicy.BY_START_TIME, time=time)


class OrderedReader:
    """An ordered view of ``stream`` (limited to ``filters``) from ``start``.

    Iterating yields each message once, in stream order, across reconnections and server
    restarts, and ``None`` once, the first time the reader has caught up with the stream.
    With ``max_gap``, resuming after more than that many seconds without contact with the
    server raises :class:`ResumeGapError` instead (messages may have expired meanwhile).
    """

    def __init__(
        self,
        nc: Client,
        stream: str,
        filters: Sequence[str],
        start: StartAt,
        *,
        name_prefix: str,
        settings: PullSettings | None = None,
        batch: int = 256,
        inactive_threshold: float = 300.0,
        max_gap: float | None = None,
    ) -> None:
        if not filters:
            raise ValueError("ordered reader: at least one filter subject")
        self._nc = nc
        self._stream = stream
        self._filters = list(filters)
        self._start = start
        self._name_prefix = name_prefix
        self._settings = settings or PullSettings()
        self._batch = batch
        self._inactive = inactive_threshold
        self._max_gap = max_gap
        self._nuid = NUID()
        self._js = nc.jetstream(timeout=self._settings.request_timeout)
        self._consumer = ""
        self._puller = Puller(nc, stream, "", self._settings)
        self._last_stream_seq = 0
        self._resume_after: int | None = None  # once set, a new consumer starts after it
        self._consumer_seq = 0
        self._pending = 0
        self._caught_up = False
        self._closed = False
        self._iterating = False
        self._generator: AsyncGenerator[Msg | None, None] | None = None

    @property
    def last_sequence(self) -> int:
        """Stream sequence of the last message delivered (0 before the first)."""
        return self._last_stream_seq

    @property
    def caught_up(self) -> bool:
        return self._caught_up

    async def close(self) -> None:
        """End the iteration and remove the consumer."""
        self._closed = True
        await self._puller.close()
        await aclose_if_idle(self._generator)

    async def __aenter__(self) -> OrderedReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Msg | None]:
        if self._iterating:
            raise RuntimeError("an OrderedReader can be iterated only once")
        self._iterating = True
        self._generator = self._run()
        return self._generator

    async def _run(self) -> AsyncGenerator[Msg | None, None]:
        try:
            while not self._closed:
                try:
                    await self._create_consumer()
                except _Closed:
                    return
                if self._pending == 0 and not self._caught_up:
                    self._caught_up = True
                    yield None
                try:
                    while not self._closed:
                        async for msg in self._puller.pull(self._batch):
                            meta = msg.metadata
                            if meta.sequence.consumer != self._consumer_seq + 1:
                                raise PullStalled(f"consumer sequence gap at {meta.sequence.consumer}")
                            self._consumer_seq = meta.sequence.consumer
                            self._last_stream_seq = self._resume_after = meta.sequence.stream
                            yield msg
                            if meta.num_pending == 0 and not self._caught_up:
                                self._caught_up = True
                                yield None
                except (PullStalled, ConsumerGone) as err:
                    log.info(
                        "ordered reader resuming",
                        stream=self._stream,
                        after=self._last_stream_seq,
                        why=str(err),
                    )
        finally:
            await self.close()
            await self._delete_consumer(self._consumer)

    def _config(self, name: str) -> api.ConsumerConfig:
        config = api.ConsumerConfig(
            name=name,
            ack_policy=api.AckPolicy.NONE,
            max_deliver=1,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=self._inactive,
        )
        if len(self._filters) == 1:
            config.filter_subject = self._filters[0]
        else:
            config.filter_subjects = self._filters
        if self._resume_after is not None:
            config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = self._resume_after + 1
        else:
            config.deliver_policy = self._start.policy
            config.opt_start_seq = self._start.sequence
            config.opt_start_time = self._start.time
        return config

    async def _create_consumer(self) -> None:
        stale = self._consumer
        attempt = 0
        while True:
            if self._closed:
                raise _Closed
            if self._nc.is_closed:
                raise nats.errors.ConnectionClosedError
            name = f"{self._name_prefix}-{self._nuid.next().decode()}"
            try:
                info = await self._js.add_consumer(self._stream, self._config(name))
            except RETRYABLE as err:
                if isinstance(err, nats.errors.ConnectionClosedError):
                    raise
                delay = self._settings.backoff.delay(attempt)
                attempt += 1
                log.debug(
                    "ordered reader: consumer not created; retrying", stream=self._stream, error=repr(err)
                )
                await asyncio.sleep(delay)
                continue
            break
        gap = time.monotonic() - self._puller.last_contact
        if stale and self._max_gap is not None and gap > self._max_gap:
            await self._delete_consumer(name)
            raise ResumeGapError(f"{self._stream}: no contact for {gap:.0f}s, more than {self._max_gap:.0f}s")
        self._consumer = self._puller.consumer = name
        self._consumer_seq = 0
        self._pending = info.num_pending or 0
        if self._resume_after is None and self._start.policy is api.DeliverPolicy.NEW and info.delivered:
            # Anything published from now on counts, even if this consumer is later replaced.
            self._resume_after = info.delivered.stream_seq
        if stale:
            await self._delete_consumer(stale)

    async def _delete_consumer(self, name: str) -> None:
        if not name or self._nc.is_closed or not self._nc.is_connected:
            return
        # On failure it expires on its own after the inactivity threshold.
        with contextlib.suppress(*RETRYABLE):
            await self._js.delete_consumer(self._stream, name)


class Follower(Generic[T]):
    """Decoded messages of an :class:`OrderedReader`.

    ``decode`` turns a message into a value, or ``None`` to skip it. With
    ``until_caught_up`` the iteration ends once the reader has caught up (a replay);
    otherwise it follows new messages until :meth:`close`.
    """

    def __init__(
        self, reader: OrderedReader, decode: Callable[[Msg], T | None], *, until_caught_up: bool = False
    ) -> None:
        self._reader = reader
        self._decode = decode
        self._until_caught_up = until_caught_up
        self.caught_up = asyncio.Event()
        """Set once every message present when iteration started has been yielded."""
        self._generator: AsyncGenerator[T, None] | None = None

    async def close(self) -> None:
        await self._reader.close()
        await aclose_if_idle(self._generator)

    async def __aenter__(self) -> Follower[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[T]:
        self._generator = self._run()
        return self._generator

    async def _run(self) -> AsyncGenerator[T, None]:
        try:
            async for msg in self._reader:
                if msg is None:
                    self.caught_up.set()
                    if self._until_caught_up:
                        return
                    continue
                value = self._decode(msg)
                if value is not None:
                    yield value
        finally:
            await self._reader.close()


async def aclose_if_idle(generator: AsyncGenerator[Any, None] | None) -> None:
    """Finish a generator parked at a ``yield`` (its ``finally`` runs now, not at garbage
    collection); one in progress ends by itself once its source is closed."""
    if generator is not None and not getattr(generator, "ag_running", False):
        await generator.aclose()
