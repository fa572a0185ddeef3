"""Decisions: the scheduler publishes them, binder workers consume them, failures flow back.

Each decision is consumed once (work-queue stream, one shared durable pull consumer). A
:class:`DecisionConsumer` hands each decision to a handler coroutine and acks it when the
handler returns; on an exception it asks for a delayed redelivery, and once the deliveries
are exhausted (or the handler raised :class:`PermanentDecisionError`) it terminates the
message and reports a :class:`DecisionFailure`, which the scheduler follows with
:func:`follow_failures`. Handlers must be idempotent: a decision whose ack was lost is
delivered again.
"""

# Helpers take a plain ``timeout`` in seconds, as nats-py does.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api

from pyroclast.common.bus import codec
from pyroclast.common.bus.connect import Backoff
from pyroclast.common.bus.messages import Decision, DecisionFailure
from pyroclast.common.bus.names import BusNames
from pyroclast.common.bus.pull import (
    RETRYABLE,
    ConsumerGone,
    Follower,
    OrderedReader,
    Puller,
    PullSettings,
    PullStalled,
    StartAt,
)
from pyroclast.common.logging import get_logger

__all__ = [
    "DecisionConsumer",
    "DecisionHandler",
    "DecisionPublisher",
    "PermanentDecisionError",
    "follow_failures",
    "new_decision_id",
]

log = get_logger(__name__)

DecisionHandler = Callable[[Decision], Awaitable[None]]
"""Carries a decision out (calls the API server); returns once the API accepted it."""


class PermanentDecisionError(Exception):
    """Raised by a handler when retrying cannot help (the pod is gone, the node too...)."""


def new_decision_id() -> str:
    """A fresh decision id (also used to de-duplicate re-published decisions)."""
    return uuid.uuid4().hex


class DecisionPublisher:
    """Publishes decisions (scheduler side) and failures (binder side), waiting for the
    stream's acknowledgement."""

    def __init__(self, nc: Client, names: BusNames, *, timeout: float = 5.0) -> None:
        self._names = names
        self._timeout = timeout
        self._js = nc.jetstream(timeout=timeout)

    async def publish(self, decision: Decision, *, timeout: float | None = None) -> int:
        """Publish ``decision``; returns its stream sequence. Re-publishing the same id
        within the duplicate window is a no-op."""
        ack = await self._js.publish(
            self._names.decision_subject(decision.kind),
            codec.encode(decision),
            timeout=timeout or self._timeout,
            stream=self._names.decisions_stream,
            headers={api.Header.MSG_ID.value: decision.id},
        )
        return ack.seq

    async def publish_all(self, decisions: Sequence[Decision], *, timeout: float | None = None) -> list[int]:
        """Publish several decisions concurrently (one round trip's latency, not one each);
        raises the first error after every publish has finished."""
        results = await asyncio.gather(
            *(self.publish(decision, timeout=timeout) for decision in decisions), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [result for result in results if isinstance(result, int)]

    async def report_failure(self, failure: DecisionFailure, *, timeout: float | None = None) -> int:
        ack = await self._js.publish(
            self._names.decision_failure_subject,
            codec.encode(failure),
            timeout=timeout or self._timeout,
            stream=self._names.results_stream,
            headers={api.Header.MSG_ID.value: f"{failure.decision.id}.failed"},
        )
        return ack.seq


class DecisionConsumer:
    """One binder worker's share of the decisions.

    Up to ``concurrency`` decisions are handled at once. A failed decision is redelivered
    after ``retry.delay(attempt)``; the consumer's ``max_deliver`` bounds the attempts.
    """

    def __init__(
        self,
        nc: Client,
        names: BusNames,
        handler: DecisionHandler,
        *,
        actor: str,
        concurrency: int = 16,
        retry: Backoff | None = None,
        settings: PullSettings | None = None,
        ack_timeout: float = 5.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("decision consumer: concurrency must be at least 1")
        self._nc = nc
        self._names = names
        self._handler = handler
        self._actor = actor
        self._concurrency = concurrency
        self._retry = retry or Backoff(initial=1.0, maximum=30.0)
        self._settings = settings or PullSettings()
        self._ack_timeout = ack_timeout
        self._publisher = DecisionPublisher(nc, names, timeout=ack_timeout)
        self._js = nc.jetstream(timeout=self._settings.request_timeout)
        self._max_deliver = -1
        self._ack_wait = 30.0

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then let the decisions in hand finish."""
        await self._load_consumer(stop)
        puller = Puller(
            self._nc,
            self._names.decisions_stream,
            self._names.binder_consumer,
            self._settings,
            nak_stale=True,
        )
        in_flight: set[asyncio.Task[None]] = set()
        slot_freed = asyncio.Event()

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            slot_freed.set()

        async def stopper() -> None:
            await stop.wait()
            await puller.close()
            slot_freed.set()

        async def pause(delay: float) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

        stop_task = asyncio.create_task(stopper())
        failures = 0  # consecutive pulls that ended in an error
        try:
            while not stop.is_set():
                free = self._concurrency - len(in_flight)
                if free == 0:
                    slot_freed.clear()
                    await slot_freed.wait()
                    continue
                try:
                    async for msg in puller.pull(free):
                        failures = 0
                        task = asyncio.create_task(self._handle(msg))
                        in_flight.add(task)
                        task.add_done_callback(finished)
                except (PullStalled, ConsumerGone) as err:
                    if self._nc.is_closed:
                        raise nats.errors.ConnectionClosedError from err
                    failures += 1
                    # The first stall (typically a reconnection) re-pulls at once.
                    delay = self._settings.backoff.delay(failures - 2) if failures > 1 else 0.0
                    log.info("decision pull restarted", why=str(err), delay=delay)
                    await pause(delay)
        finally:
            stop_task.cancel()
            await puller.close()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _load_consumer(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            try:
                info = await self._js.consumer_info(self._names.decisions_stream, self._names.binder_consumer)
            except RETRYABLE as err:
                if self._nc.is_closed:
                    raise
                delay = self._settings.backoff.delay(attempt)
                attempt += 1
                log.warning("binder consumer not found yet; retrying", error=repr(err), delay=delay)
                await asyncio.sleep(delay)
                continue
            self._max_deliver = info.config.max_deliver or -1
            self._ack_wait = info.config.ack_wait or 30.0
            return

    async def _handle(self, msg: Msg) -> None:
        attempt = msg.metadata.num_delivered
        try:
            decision = codec.decode_decision(msg.data)
        except codec.DecodeError as err:
            log.error("undecodable decision terminated", error=str(err), subject=msg.subject)
            await _quietly(msg.term())
            return
        logger = log.bind(decision=decision.id, type=decision.kind.value, attempt=attempt)
        keepalive = asyncio.create_task(self._keepalive(msg))
        try:
            await self._handler(decision)
        except PermanentDecisionError as err:
            await self._give_up(msg, decision, attempt, err)
        except Exception as err:
            if 0 < self._max_deliver <= attempt:
                await self._give_up(msg, decision, attempt, err)
            else:
                delay = self._retry.delay(attempt - 1)
                logger.warning("decision failed; will retry", error=repr(err), delay=delay)
                await _quietly(msg.nak(delay=delay))
        else:
            try:
                await msg.ack_sync(timeout=self._ack_timeout)
            except (TimeoutError, nats.errors.Error) as err:
                logger.warning("decision ack not confirmed; it may be delivered again", error=repr(err))
        finally:
            keepalive.cancel()

    async def _give_up(self, msg: Msg, decision: Decision, attempt: int, err: Exception) -> None:
        reason = type(err).__name__ if not isinstance(err, PermanentDecisionError) else "Permanent"
        failure = DecisionFailure(
            decision=decision,
            reason=reason,
            message=str(err),
            attempts=attempt,
            actor=self._actor,
            time=datetime.now(UTC),
        )
        log.warning(
            "decision abandoned", decision=decision.id, reason=reason, error=str(err), attempts=attempt
        )
        try:
            await self._publisher.report_failure(failure)
        except (TimeoutError, nats.errors.Error) as report_err:
            log.error("decision failure not reported", decision=decision.id, error=repr(report_err))
        await _quietly(msg.term())

    async def _keepalive(self, msg: Msg) -> None:
        """Tell the server the decision is being worked on, so it is not redelivered."""
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            await _quietly(msg.in_progress())


def follow_failures(
    nc: Client,
    names: BusNames,
    *,
    since: datetime | timedelta | None = None,
    settings: PullSettings | None = None,
) -> Follower[DecisionFailure]:
    """Decision failures reported from now on (or from ``since``), in order, across
    reconnections."""
    start = StartAt.new() if since is None else StartAt.since(_absolute(since))
    reader = OrderedReader(
        nc,
        names.results_stream,
        [names.decision_failure_subject],
        start,
        name_prefix=names.failures_consumer_prefix,
        settings=settings,
    )

    def decode(msg: Msg) -> DecisionFailure | None:
        try:
            return codec.decode_failure(msg.data)
        except codec.DecodeError as err:
            log.error("undecodable decision failure skipped", error=str(err))
            return None

    return Follower(reader, decode)


def _absolute(since: datetime | timedelta) -> datetime:
    return datetime.now(UTC) - since if isinstance(since, timedelta) else since


async def _quietly(ack: Awaitable[None]) -> None:
    """Send an ack/nak/term; a lost one only means a later redelivery."""
    try:
        await ack
    except (TimeoutError, nats.errors.Error) as err:
        log.debug("ack not sent", error=repr(err))
